# Helpers for qlisp guest test cases (busybox sh).  Sourced by /init and by
# every case; fd 3 is the host channel (/dev/ttyS1, raw) opened by /init.
#
# Host channel protocol, one line each way:
#   guest -> host  @@START <case>            a case begins
#                  @@RESULT <case> PASS|FAIL <reason>
#                  @@LOG <text>              copied into the runner's log
#                  @@QMP qom-get <path> <property>
#                  @@QMP qom-set <path> <property> <value>
#                  @@QMP hmp <command line>
#                  @@QMP wakeup-after <seconds>  system_wakeup then (S3)
#                  @@QMP wakeups             the run states seen at those
#                  @@QMP throttle <qdev id> <bytes/s>  read throttle (0: off)
#                  @@GET <key>               a suite value (e.g. dmesg_allow)
#                  @@DONE bound|unbound      all cases ran (is the HBA's
#                                            driver bound, before power-off)
#   host -> guest  @@REPLY <json or text>    answer to @@QMP/@@GET
#                  @@REPLY ERROR <text>      the request failed
#
# Disk layout: VMT_DISKS="T:L:MIB,..." in the order the runner attached
# them; index 0 is disk A, 1 disk B; the first with LUN > 0 is disk C.

VMT_DIR=/qlisp
# busybox-static prefers its own applets over PATH: real tools by full path.
# (mke2fs is also a busybox applet; fio, e2fsck and sg_* are not.)
RESULT_FILE=/tmp/result
: "${CASE:=unknown}"
: "${CASE_TAG:=$CASE}"
DMESG_ALLOW='^qlisp-never-matches$'
# A suite may scale the cases' sizes (e.g. on the slow debug kernel) with
# vmt_env=NAME=VALUE:NAME=VALUE on the kernel command line: SG_DD_MIB,
# FIO_SIZE, RELOAD_COUNT ...
if [ -n "${VMT_ENV:-}" ]; then
	for _kv in $(echo "$VMT_ENV" | tr ':' ' '); do
		case $_kv in [A-Z]*=*) export "${_kv?}" ;; esac
	done
fi

say() { echo "[qlisp] $*"; }

chan_send() { printf '%s\n' "$*" >&3; }

# lock_take DIR / lock_drop DIR: a lock between a case and its background
# jobs (busybox has no flock; mkdir is atomic).  No holder is killed within
# a case (init.sh clears the locks after it kills what a case left
# running), so a lock is never taken from its holder on a guess: a pid
# check would race with a holder that has just dropped it and the next
# that has just taken it.  Only one held for 900 s (a wedged holder; a
# migration waits 600 s) is taken, with a message.
lock_take() {
	_lt0=$(date +%s)
	until mkdir "$1" 2>/dev/null; do
		if [ $(($(date +%s) - _lt0)) -gt 900 ]; then
			say "lock $1: held for 900 s, taken" >&2
			rm -rf "$1"
			_lt0=$(date +%s)
			continue
		fi
		usleep 20000
	done
}
lock_drop() { rm -rf "$1"; }

# host_request LINE: send a request, print the reply text (without "@@REPLY ").
# Returns 1 when the host answered ERROR or did not answer in 60 s.
host_request() { host_request_wait 60 "$@"; }
# host_request_wait SECS LINE: host_request, waiting up to SECS for the reply
# (a migration or a snapshot under TCG takes minutes).
# One request is out at a time (a background fio_pass asks the host too, and
# a reply would go to whichever reader took it first), and each carries a
# number that its reply repeats ("@@QMP#12 qom-get ..." gets "@@REPLY#12
# ..."), so a late answer to a request that timed out is never taken as the
# answer to the next.
host_request_wait() {
	_hw=$1
	shift
	_hl="$*"
	lock_take /tmp/chan.lock
	_hn=$(($(cat /tmp/chan.seq 2>/dev/null || echo 0) + 1))
	echo "$_hn" >/tmp/chan.seq
	case $_hl in
	*" "*) chan_send "${_hl%% *}#$_hn ${_hl#* }" ;;
	*) chan_send "$_hl#$_hn" ;;
	esac
	_hend=$(($(date +%s) + _hw))
	_hrc=1
	while :; do
		_hleft=$((_hend - $(date +%s)))
		line=
		if [ "$_hleft" -le 0 ] || ! IFS= read -r -t "$_hleft" line <&3; then
			say "no reply from host to: $_hl"
			break
		fi
		line=$(printf '%s' "$line" | tr -d '\r')
		case $line in
		"@@REPLY#$_hn ERROR"*) printf '%s\n' "${line#"@@REPLY#$_hn "}"; break ;;
		"@@REPLY#$_hn "*) printf '%s\n' "${line#"@@REPLY#$_hn "}"; _hrc=0; break ;;
		"@@REPLY#$_hn") _hrc=0; break ;;
		"@@REPLY"*) say "skipped a late host reply: $line" >&2 ;;
		esac
	done
	lock_drop /tmp/chan.lock
	return $_hrc
}

host_qom_get() { host_request "@@QMP qom-get $VMT_QOM $1"; }
host_qom_set() { host_request "@@QMP qom-set $VMT_QOM $1 $2"; }
host_qom_get_path() { host_request "@@QMP qom-get $1 $2"; }
host_qom_set_path() { host_request "@@QMP qom-set $1 $2 $3"; }
host_hmp() { host_request "@@QMP hmp $*"; }
host_get() { host_request "@@GET $1"; }
host_log() { chan_send "@@LOG $CASE: $*"; }

# pass [note] / fail reason: report the verdict and end the case.
pass() {
	echo PASS >"$RESULT_FILE"
	chan_send "@@RESULT $CASE PASS ${*:-ok}"
	say "PASS $CASE ${*:-}"
	exit 0
}
fail() {
	echo FAIL >"$RESULT_FILE"
	msg=$(printf '%s' "$*" | tr '\n' ' ' | cut -c1-300)
	chan_send "@@RESULT $CASE FAIL $msg"
	say "FAIL $CASE: $msg"
	# a failed fault case must not leave its fault armed for the next
	case $CASE in fault_*|soak|eyes_*|sense_keys) host_qom_set x-fault clear >/dev/null 2>&1 ;; esac
	say "--- dmesg since case start:"
	dmesg_since_start | tail -n 40
	exit 1
}

# run CMD...: run a command with its output saved in /tmp/run.out (and shown
# on the console when it fails); returns the command's status.
run() {
	"$@" >/tmp/run.out 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		say "command failed ($rc): $*"
		tail -n 30 /tmp/run.out
	fi
	return $rc
}
# must CMD...: run, and fail the case if the command fails.
must() {
	run "$@" || fail "$1 exited $rc: $(grep -v '^$' /tmp/run.out | tail -n 2 | tr '\n' ' ')"
}

# --- dmesg ----------------------------------------------------------------
dmesg_since_start() {
	dmesg | sed -n "/qlisp: case-start $CASE_TAG\$/,\$p"
}
# dmesg_allow REGEX: lines matching REGEX (grep -E) are not errors.
dmesg_allow() { DMESG_ALLOW="$DMESG_ALLOW|$1"; }
# Kernel splats: never allowed, whatever the case expects (lockdep, KASAN,
# DMA-API debugging (a WARNING), DEBUG_OBJECTS and sleep-in-atomic reports
# all come as one of these).
SPLAT_RE='BUG:|kernel BUG at|WARNING|Oops|Call Trace|[Hh]ung task|[Ss]oft lockup|KASAN:|kmemleak: [0-9]+ new suspected|ODEBUG:|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context'
# check_dmesg_clean: fail on any warning or error qlisp printed (kernel
# log level 0-4: dev_warn, dev_err, pr_err ...), on timeout/abort/error
# lines from anyone, since the case started, except the lines the case
# names (dmesg_allow: keep each pattern to the message it expects), and on
# any splat.
check_dmesg_clean() {
	dmesg -r | sed -n "/qlisp: case-start $CASE_TAG\$/,\$p" >/tmp/dmesg.raw
	sed 's/^<[0-9]*>//' /tmp/dmesg.raw >/tmp/dmesg.case
	grep -q "qlisp: case-start $CASE_TAG\$" /tmp/dmesg.case ||
		fail "dmesg: start marker of $CASE_TAG lost (ring buffer overrun?)"
	{
		# <0>..<4>: the kernel facility at warning level or above
		# (the module loader's taint notes name the module: not qlisp's)
		grep -E '^<[0-4]>(\[[ 0-9.]*\] )?qlisp[ :]' /tmp/dmesg.raw |
			sed 's/^<[0-9]*>//' |
			grep -vE 'qlisp: (loading out-of-tree module taints kernel|module verification failed: )' |
			grep -vE "$DMESG_ALLOW"
		grep -iE 'timeout|timed out|abort|error' /tmp/dmesg.case |
			grep -v 'qlisp: \(case-start\|case-end\|reset-mark\) ' | grep -vE "$DMESG_ALLOW"
		grep -E "$SPLAT_RE" /tmp/dmesg.case
	} | awk '!seen[$0]++' >/tmp/dmesg.bad
	if [ -s /tmp/dmesg.bad ]; then
		say "unexpected kernel messages:"
		cat /tmp/dmesg.bad
		fail "dmesg: $(head -n 1 /tmp/dmesg.bad)"
	fi
}
# Checks of one driver's own messages and statistics: the fault cases run
# with qlisp and with qla1280 (see Documentation/scsi/qlisp.rst).
is_qlisp() { [ "$VMT_DRIVER" = qlisp ]; }
# qom_num KEY: a counter of the model as a number; prints nothing and
# returns 1 if it cannot be read or is not a number (use: x=$(qom_num K) ||
# fail ...), so that a failed read never passes a comparison.
qom_num() {
	_v=$(host_qom_get "$1") || return 1
	case $_v in '' | *[!0-9]*) return 1 ;; esac
	echo "$_v"
}
# recoveries: what the model saw of error recovery, whichever driver runs it
# (ABORTs that found their command, device/target resets, bus resets, chip
# soft resets), as one number; returns 1 (and prints nothing) if a counter
# cannot be read.
recoveries() {
	n=0
	for c in x-stat-aborts x-stat-device-resets x-stat-bus-resets x-stat-chip-resets; do
		v=$(qom_num $c) || return 1
		n=$((n + v))
	done
	echo $n
}
# host_stat KEY: one counter of qlisp's stats attribute (sysfs) of this HBA
host_stat() { tr ' ' '\n' <"/sys/class/scsi_host/host$(hba_host)/stats" | sed -n "s/^$1=//p"; }
# model_counters: the model's register reads, register writes, interrupts
# and commands, on one line; fails if any of them cannot be read
model_counters() {
	for _c in x-stat-reg-reads x-stat-reg-writes x-stat-irqs x-stat-cmds; do
		_v=$(host_qom_get $_c) || return 1
		printf '%s ' "$_v"
	done
	echo
}
# The suite may add allowed patterns ("dmesg_allow" in the suite file).
_allow=$(host_get dmesg_allow 2>/dev/null) && [ -n "$_allow" ] && dmesg_allow "$_allow"

# --- disks ------------------------------------------------------------------
ndisks() { echo "$VMT_DISKS" | tr ',' '\n' | grep -c .; }
disk_spec() { echo "$VMT_DISKS" | tr ',' '\n' | sed -n "$(($1 + 1))p"; }
disk_target() { disk_spec "$1" | cut -d: -f1; }
disk_lun() { disk_spec "$1" | cut -d: -f2; }
disk_bytes() { echo $(( $(disk_spec "$1" | cut -d: -f3) * 1048576 )); }
# disk C: the first disk with LUN > 0, or the last disk when the HBA has no
# LUNs > 0 (e.g. QEMU's lsi53c895a)
disk_c() {
	i=0
	n=$(ndisks)
	while [ $i -lt "$n" ]; do
		[ "$(disk_lun $i)" != 0 ] && { echo $i; return 0; }
		i=$((i + 1))
	done
	[ "$n" -gt 0 ] && echo $((n - 1))
}

# scsi host number of the driver under test (proc_name == VMT_PROC)
hba_host() {
	for h in /sys/class/scsi_host/host*; do
		[ -e "$h/proc_name" ] || continue
		if [ "$(cat "$h/proc_name")" = "$VMT_PROC" ]; then
			echo "${h##*/host}"
			return 0
		fi
	done
	return 1
}
# (DISK_CHANNEL: the SCSI channel of the disks; megaraid_sas puts its
# pass-through disks on channel 2)
disk_hctl() { echo "$(hba_host):${DISK_CHANNEL:-0}:$(disk_target "$1"):$(disk_lun "$1")"; }
# /dev/sdX and /dev/sgN of disk I (sysfs walk, like sg_map)
disk_sd() {
	d=/sys/class/scsi_disk/$(disk_hctl "$1")/device/block
	[ -d "$d" ] || return 1
	echo "/dev/$(ls "$d" | head -n 1)"
}
disk_sg() {
	d=/sys/bus/scsi/devices/$(disk_hctl "$1")/scsi_generic
	[ -d "$d" ] || return 1
	echo "/dev/$(ls "$d" | head -n 1)"
}
# every scsi device of the HBA under test, as H:C:T:L lines
hba_devices() {
	h=$(hba_host) || return 0
	for d in /sys/bus/scsi/devices/$h:*; do
		[ -e "$d" ] && echo "${d##*/}"
	done
}

# wait_disks [SECONDS]: wait until every disk has a /dev/sdX and /dev/sgN node
wait_disks() {
	t=${1:-60}
	while [ "$t" -gt 0 ]; do
		ok=1
		i=0
		while [ $i -lt "$(ndisks)" ]; do
			sd=$(disk_sd $i) && [ -b "$sd" ] || ok=0
			sg=$(disk_sg $i) && [ -c "$sg" ] || ok=0
			i=$((i + 1))
		done
		[ $ok = 1 ] && return 0
		sleep 1
		t=$((t - 1))
	done
	return 1
}

driver_loaded() { [ -d "/sys/module/$VMT_DRIVER" ]; }
load_driver() {
	# shellcheck disable=SC2046
	modprobe "$VMT_DRIVER" $(echo "${VMT_MODARGS:-}" | tr ':' ' ')
}
# need_disks: for cases after attach (or run alone): driver loaded, disks there.
need_disks() {
	if ! driver_loaded; then
		run load_driver || fail "modprobe $VMT_DRIVER failed"
	fi
	wait_disks 60 || fail "disks did not appear (have: $(hba_devices | tr '\n' ' '))"
}

# A file of N MiB of random data, made once per boot.
pattern() {
	f=/tmp/pattern.$1.$2
	[ -f "$f" ] || dd if=/dev/urandom of="$f" bs=1M count="$2" 2>/dev/null
	echo "$f"
}

# --- fresh data, and data the host can check ---------------------------------
# next_seed: a seed no earlier call in this boot returned (a random base per
# boot, then one more per call; kept in a file, as cases are subshells).
next_seed() {
	lock_take /tmp/seed.lock
	[ -f /tmp/seed.next ] ||
		echo $(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 1000000000 + 1 )) >/tmp/seed.next
	_s=$(cat /tmp/seed.next)
	echo $((_s + 1)) >/tmp/seed.next
	lock_drop /tmp/seed.lock
	echo "$_s"
}

# fio_pass NAME FIO-ARGS...: one fio pass that writes and verifies (crc32c)
# with a seed no earlier pass in this boot used, so the blocks it writes
# differ from whatever an earlier pass left there: a write that is lost or
# lands elsewhere fails its verify.  The seed is printed and logged on the
# host.  FIO-ARGS: job options (options before the first --name apply to
# every job).  Output in /tmp/fio.NAME.out.  Returns 0 only if fio exited
# 0, printed no verify error and every job reported err=0.
# A write-only job runs as rw=(rand)rw with rwmixwrite=100: fio (3.33)
# checks each block's header seed against the pass's own only in jobs that
# read and write; in a plain (rand)write job a block left from an earlier
# pass (a lost write) verifies (measured: stale 1 MiB in a randwrite pass
# verified, the same with randrw,rwmixwrite=100 failed "bad header
# rand_seed").
# fio_forget FIO-ARGS...: before fio writes, the host forgets the patterns
# recorded where it may write (host_wrote), so that a later check does not
# take fio's data for a lost pattern: with one --filename and a --size in
# k/m/g or bytes, the range from --offset (default 0); else the whole of
# each disk named.
fio_forget() {
	_ff=
	_fsz=
	_foff=0
	_fn_n=0
	_fsz_n=0
	for _a in "$@"; do
		case $_a in
		--filename=*) _ff="$_ff ${_a#--filename=}"; _fn_n=$((_fn_n + 1)) ;;
		--size=*) _fsz=${_a#--size=}; _fsz_n=$((_fsz_n + 1)) ;;
		--offset=*) _foff=${_a#--offset=} ;;
		esac
	done
	_fsec() {
		case $1 in
		*[kK]) echo $((${1%?} * 2)) ;;
		*[mM]) echo $((${1%?} * 2048)) ;;
		*[gG]) echo $((${1%?} * 2097152)) ;;
		*[!0-9]*|'') return 1 ;;
		*) echo $(($1 / 512)) ;;
		esac
	}
	_flba=0
	_fcnt=1099511627776
	if [ "$_fn_n" = 1 ] && [ "$_fsz_n" = 1 ] &&
	   _fs=$(_fsec "$_fsz") && _fo0=$(_fsec "$_foff"); then
		_flba=$_fo0
		_fcnt=$((_fs + 1))
	fi
	for _f in $_ff; do
		for _i in $(all_disks); do
			[ "$(disk_sd "$_i")" = "$_f" ] &&
				host_forget "$_i" "$_flba" "$_fcnt"
		done
	done
	return 0
}
fio_pass() {
	_fn=$1
	shift
	_n=$#
	while [ "$_n" -gt 0 ]; do
		_a=$1
		shift
		case $_a in
		--rw=randwrite) set -- "$@" --rw=randrw --rwmixwrite=100 ;;
		--rw=write) set -- "$@" --rw=rw --rwmixwrite=100 ;;
		*) set -- "$@" "$_a" ;;
		esac
		_n=$((_n - 1))
	done
	fio_forget "$@"
	_seed=$(next_seed)
	_fo=/tmp/fio.$_fn.out
	say "fio $_fn: seed $_seed"
	host_log "fio $_fn seed $_seed"
	/usr/bin/fio --verify=crc32c --verify_fatal=1 --do_verify=1 \
		--verify_state_save=0 --randseed="$_seed" "$@" >"$_fo" 2>&1
	_frc=$?
	FIO_WHY=
	if [ $_frc -ne 0 ]; then
		FIO_WHY="fio $_fn (seed $_seed) exited $_frc: $(grep -m 1 -iE 'verify:|error' "$_fo")"
	elif grep -iE 'verify: bad|crc32c: (verify|mismatch)|bad magic|verify failed|bad header' "$_fo" >/dev/null; then
		FIO_WHY="fio $_fn (seed $_seed): verification errors"
	elif grep -E 'err= *[1-9]' "$_fo" >/dev/null || ! grep -E 'err= *0' "$_fo" >/dev/null; then
		FIO_WHY="fio $_fn (seed $_seed): error status"
	fi
	[ -z "$FIO_WHY" ] && return 0
	say "$FIO_WHY"
	tail -n 20 "$_fo"
	echo "$FIO_WHY" >/tmp/fio.$_fn.why
	return 1
}
# fio_why NAME: why fio_pass NAME failed (for a background pass)
fio_why() { cat "/tmp/fio.$1.why" 2>/dev/null || echo "fio $1 failed"; }

# fio_passes_start NAME FIO-ARGS...: fio_pass NAME1, NAME2, ... one after
# another in the background (each with a seed of its own, verified at its
# end) until fio_passes_stop NAME.  With FIO_PASSES_JOBS=N every pass must
# also show N jobs verified.  The first failure ends the passes and is kept
# for fio_passes_failed; fio_passes_done prints the passes completed.
# FIO_PASSES_PID is the background job.
fio_passes_start() {
	_pn=$1
	shift
	rm -f "/tmp/passes.$_pn".*
	(
		k=0
		while [ ! -f "/tmp/passes.$_pn.stop" ]; do
			k=$((k + 1))
			fio_pass "$_pn$k" "$@" ||
				{ fio_why "$_pn$k" >"/tmp/passes.$_pn.failed"; exit 1; }
			if [ -n "$FIO_PASSES_JOBS" ]; then
				_pv=$(grep -c 'err= *0' "/tmp/fio.$_pn$k.out")
				[ "$_pv" -eq "$FIO_PASSES_JOBS" ] || {
					echo "$_pn$k: $_pv of $FIO_PASSES_JOBS jobs verified" >"/tmp/passes.$_pn.failed"
					exit 1
				}
			fi
			echo "$k" >"/tmp/passes.$_pn.done"
		done
	) &
	FIO_PASSES_PID=$!
}
# fio_passes_stop NAME: the pass under way finishes and verifies; wait for it
fio_passes_stop() { touch "/tmp/passes.$1.stop"; wait "$FIO_PASSES_PID"; }
# fio_passes_failed NAME: print why a pass failed; false if none did
fio_passes_failed() { cat "/tmp/passes.$1.failed" 2>/dev/null; }
fio_passes_done() { cat "/tmp/passes.$1.done" 2>/dev/null || echo 0; }

# tpat SEED LBA COUNT: COUNT 512-byte sectors of the test pattern for LBAs
# LBA.. under SEED.  Each sector names its seed and LBA ("%08x:%012d;"),
# then a filler made of the seed, and a newline; tests/run-vm.py
# (truth_pattern) makes the same bytes on the host.  A sector that was not
# written, was written to another LBA or by another pass does not match.
tpat() {
	awk -v s="$1" -v l="$2" -v n="$3" 'BEGIN {
		f = sprintf("qlisp-%08x-", s)
		while (length(fill) < 489)
			fill = fill f
		fill = substr(fill, 1, 489)
		for (i = 0; i < n; i++)
			printf "%08x:%012d;%s\n", s, l + i, fill
	}'
}
# host_wrote DISK LBA COUNT SEED: tell the host that disk index DISK now
# holds tpat SEED LBA COUNT there; after the guest powers off the host
# checks the image against it (and host_truth checks at once).
host_wrote() { host_request "@@WROTE $1 $2 $3 $4" >/dev/null; }
# host_forget DISK LBA COUNT: those sectors no longer hold a pattern
host_forget() { host_request "@@FORGET $1 $2 $3" >/dev/null; }
# host_truth DISK: the host compares the image of disk DISK with every
# pattern the guest said it wrote there; prints the host's answer, returns
# non-zero on a mismatch (or no answer)
host_truth() { host_request "@@TRUTH $1"; }

# rw_check DISK LBA COUNT BPT: the sg_dd data check: write COUNT sectors of
# a fresh pattern at LBA of disk index DISK through its sg node with BPT
# sectors per command, tell the host, read them back the same way and
# compare.  Returns 0 if the data read back is right; else 1, with the
# reason in RW_WHY.
rw_check() {
	_sg=$(disk_sg "$1") || { RW_WHY="no sg node for disk $1"; return 1; }
	_seed=$(next_seed)
	RW_SEED=$_seed
	tpat "$_seed" "$2" "$3" >/tmp/rw.pat
	RW_WHY=
	if ! run sg_dd if=/tmp/rw.pat of="$_sg" bs=512 bpt="$4" count="$3" seek="$2"; then
		RW_WHY="sg_dd write to $_sg failed"
	elif ! host_wrote "$1" "$2" "$3" "$_seed"; then
		RW_WHY="host did not take the record of the write"
	elif ! run sg_dd if="$_sg" of=/tmp/rw.rb bs=512 bpt="$4" count="$3" skip="$2"; then
		RW_WHY="sg_dd read from $_sg failed"
	elif ! cmp /tmp/rw.pat /tmp/rw.rb >/tmp/cmp.out 2>&1; then
		RW_WHY="data mismatch on $_sg (LBA $2, $3 sectors, bpt=$4, seed $_seed): $(head -n 1 /tmp/cmp.out)"
	fi
	rm -f /tmp/rw.pat /tmp/rw.rb
	[ -z "$RW_WHY" ] && return 0
	say "$RW_WHY"
	return 1
}

# big_rw_check DEV KB MIB: the continuation data check: write MIB MiB of a
# fresh pattern from the start of DEV with KB-KiB O_DIRECT commands (a
# buffer of scattered user pages: many segments each), read it back the
# same way and compare.  Returns 0 if right; else 1 with BIG_WHY.
big_rw_check() {
	_seed=$(next_seed)
	tpat "$_seed" 0 $(($3 * 2048)) >/tmp/big.pat
	BIG_WHY=
	if ! run dd if=/tmp/big.pat of="$1" bs="$2"k count=$(($3 * 1024 / $2)) oflag=direct; then
		BIG_WHY="dd write to $1 failed"
	elif ! run dd if="$1" of=/tmp/big.rb bs="$2"k count=$(($3 * 1024 / $2)) iflag=direct; then
		BIG_WHY="dd read from $1 failed"
	elif ! cmp /tmp/big.pat /tmp/big.rb >/tmp/cmp.out 2>&1; then
		BIG_WHY="data mismatch on $1 (${2} KiB commands, seed $_seed): $(head -n 1 /tmp/cmp.out)"
	fi
	rm -f /tmp/big.pat /tmp/big.rb
	[ -z "$BIG_WHY" ] && return 0
	say "$BIG_WHY"
	return 1
}

# --- residuals ----------------------------------------------------------------
# sg_in_bytes SG ALLOC CDB-BYTES...: send the CDB (hex bytes) through SG_IO
# with a data-in buffer of ALLOC bytes (sg_raw); prints how many bytes the
# kernel says arrived: ALLOC minus the residual the driver reported.  The
# data is in /tmp/sgraw.data.  Returns 1 if the command failed.
sg_in_bytes() {
	_sg=$1 _al=$2
	shift 2
	rm -f /tmp/sgraw.data
	/usr/bin/sg_raw -r "$_al" -o /tmp/sgraw.data "$_sg" "$@" >/tmp/sgraw.out 2>&1 || return 1
	if grep -q 'No data received' /tmp/sgraw.out; then
		echo 0
		return 0
	fi
	sed -n 's/^Writing \([0-9][0-9]*\) bytes of data.*/\1/p' /tmp/sgraw.out | grep . || return 1
}
# underrun_check DISK: the residual check: a READ(10) of 128 sectors (64
# KiB) through sg while the model's underrun fault reports 4096 bytes not
# moved must arrive as exactly 61440 bytes: the driver passed the residual
# on.  Returns 0 if so; else 1 with RESID_WHY.
underrun_check() {
	_sg=$(disk_sg "$1") || { RESID_WHY="no sg node for disk $1"; return 1; }
	host_qom_set x-fault "underrun 4096 1" >/dev/null || { RESID_WHY="cannot arm underrun"; return 1; }
	if ! _got=$(sg_in_bytes "$_sg" 65536 28 00 00 00 00 40 00 00 80 00); then
		host_qom_set x-fault clear >/dev/null
		RESID_WHY="READ(10) with an underrun failed: $(tail -n 2 /tmp/sgraw.out | tr '\n' ' ')"
		return 1
	fi
	RESID_WHY=
	[ "$_got" = 61440 ] && return 0
	RESID_WHY="READ(10) of 65536 bytes with a 4096-byte underrun: the kernel says $_got bytes arrived, want 61440"
	say "$RESID_WHY"
	return 1
}

# --- resets: markers and unit attentions ---------------------------------------
# After a bus reset, a target or device reset (mailbox command or async
# event) or the firmware's timeout reset, the firmware starts no command for
# the nexus until the driver queues a marker (isp-hw-reference 9.3; the
# model holds them, and counts markers: x-stat-markers).  A chip reset alone
# needs none.  Every LUN a bus or target reset reached answers its next
# command with UNIT ATTENTION 29/xx.  The midlayer reports each such sense as
# "sd H:C:T:L: Power-on or device reset occurred" (scsi_report_sense, at
# warning level) before it decides what to do with the command, so the line
# is there even where the command is retried silently (expecting_cc_ua after
# a reset the driver reported) or is the error handler's own TEST UNIT
# READY.  A LUN that has had no command since the reset is sent a TEST UNIT
# READY (ua_touch) before its log is read.
RESET_STATS="x-stat-markers x-stat-bus-resets x-stat-device-resets x-stat-timeouts x-stat-chip-resets"
# reset_begin NAME: before the reset(s) a case causes: note the model's
# marker and reset counters, and mark the kernel log
reset_begin() {
	for _k in $RESET_STATS; do
		_v=$(qom_num "$_k") || fail "cannot read the model's $_k"
		echo "$_v" >"/tmp/reset.$1.$_k"
	done
	for _d in $(all_disks); do
		rm -f "/tmp/reset.$1.io$_d"
		_sd=$(disk_sd "$_d") && io_count "$_sd" >"/tmp/reset.$1.io$_d"
	done
	echo "qlisp: reset-mark $CASE_TAG $1" >/dev/kmsg
}
# reset_grew NAME KEY: how much the model's counter KEY grew since
# reset_begin NAME (fails the case if it cannot be read)
reset_grew() {
	_v=$(qom_num "$2") || fail "cannot read the model's $2"
	echo $((_v - $(cat "/tmp/reset.$1.$2")))
}
dmesg_since_mark() { dmesg | sed -n "/qlisp: reset-mark $CASE_TAG $1\$/,\$p"; }
# ua_count NAME DISK: UNIT ATTENTIONs 29/xx disk index DISK reported since
# reset_begin NAME
ua_count() {
	dmesg_since_mark "$1" |
		grep -c "sd $(disk_hctl "$2"): Power-on or device reset occurred\$"
}
# ua_touch DISK: one TEST UNIT READY, so that a pending unit attention is
# reported (its status does not matter: a unit attention fails it)
ua_touch() { _sg=$(disk_sg "$1") && /usr/bin/sg_turs "$_sg" >/dev/null 2>&1; }
# expect_ua NAME DISK...: each disk reported a UNIT ATTENTION 29/xx since
# reset_begin NAME (after a TEST UNIT READY if it had none yet).
# qla1280 drops the sense of a CHECK CONDITION on a data command that moved
# less than the command's underflow (the model moves nothing for it) and
# returns DID_ERROR, which the midlayer retries: there the unit attention
# shows only as qla1280's "Underflow detected - retrying command", which
# names no LUN.  With qla1280 that line stands in for a disk that completed
# block I/O after the reset; the disks the reset reached without I/O still
# report theirs through the midlayer, on the TEST UNIT READY.
# Not with qla1280, though: it does not always queue a sync-all marker
# after an async bus reset (qla1280_rst_aen does nothing while its
# reset_active or abort_isp_active flag is set), so a LUN its error handler
# did not reset itself may stay held for a marker.  Measured in
# qla1280-faults: in one run of fault_busreset a TEST UNIT READY to the idle
# 0:0:3:0 got no answer in 60 s, and the model's trace showed a sync-all
# marker after the first bus reset but only sync-ID markers for target 0
# (from qla1280's device reset) after the second; another run sent one
# marker per reset.  With qla1280 a disk without block I/O since the mark
# is therefore not checked (and not sent a command that could hang); qlisp
# gets every disk checked.
expect_ua() {
	_m=$1
	shift
	for _d in "$@"; do
		[ "$(ua_count "$_m" "$_d")" -gt 0 ] && continue
		if ! is_qlisp && { [ ! -f "/tmp/reset.$_m.io$_d" ] || ! _sd=$(disk_sd "$_d") ||
			[ "$(io_count "$_sd")" -le "$(cat "/tmp/reset.$_m.io$_d")" ]; }; then
			say "$(disk_hctl "$_d"): no I/O since $_m: not checked with qla1280 (it may be held for a marker qla1280 never sends)"
			host_log "$(disk_hctl "$_d"): unit attention not checked with qla1280 (no I/O since $_m)"
			continue
		fi
		ua_touch "$_d"
		[ "$(ua_count "$_m" "$_d")" -gt 0 ] && continue
		if ! is_qlisp && [ -f "/tmp/reset.$_m.io$_d" ] && _sd=$(disk_sd "$_d") &&
			[ "$(io_count "$_sd")" -gt "$(cat "/tmp/reset.$_m.io$_d")" ] &&
			dmesg_since_mark "$_m" | grep -q 'scsi: Underflow detected - retrying command\.$'; then
			say "$(disk_hctl "$_d"): unit attention hidden by qla1280 as an underflow retry"
			continue
		fi
		fail "no UNIT ATTENTION (29/xx) from $(disk_hctl "$_d") after $_m"
	done
}
# expect_no_ua NAME DISK...: no disk reported a UNIT ATTENTION since
# reset_begin NAME, a TEST UNIT READY to each included (an abort resets
# nothing)
expect_no_ua() {
	_m=$1
	shift
	for _d in "$@"; do
		# (with qla1280 an idle disk may be held for a marker: see expect_ua)
		is_qlisp && ua_touch "$_d"
		[ "$(ua_count "$_m" "$_d")" -eq 0 ] ||
			fail "UNIT ATTENTION from $(disk_hctl "$_d") after $_m, which reset nothing"
	done
}
# expect_markers NAME INJECTED [MIN]: after the resets since reset_begin
# NAME that call for a marker (the model's bus, device and target resets,
# its timeout resets, and INJECTED async bus resets the case posted) the
# driver queued a marker: at least one if there was any such reset, and at
# least MIN (a case that let I/O run between MIN resets: one marker each).
# Sets RESETS_N (such resets) and MARKERS_N (markers queued).
expect_markers() {
	RESETS_N=$(($(reset_grew "$1" x-stat-bus-resets) + $(reset_grew "$1" x-stat-device-resets) +
		$(reset_grew "$1" x-stat-timeouts) + $2))
	MARKERS_N=$(reset_grew "$1" x-stat-markers)
	say "after $1: $RESETS_N resets that call for a marker, $MARKERS_N markers"
	[ "$RESETS_N" -eq 0 ] || [ "$MARKERS_N" -gt 0 ] ||
		fail "$RESETS_N resets after $1 called for a marker; the model counted none"
	[ "$MARKERS_N" -ge "${3:-0}" ] ||
		fail "$MARKERS_N markers after $1, want at least ${3:-0}"
}
# expect_reset_effects NAME INJECTED DISK...: after whatever recovery the
# driver chose since reset_begin NAME (INJECTED async bus resets posted by
# the case): markers as expect_markers; if the bus was reset (a BUS_RESET
# mailbox command, a timeout reset or an injected reset) every DISK
# reported a UNIT ATTENTION; if nothing was reset at all (no bus, device,
# target, timeout or chip reset: aborts only) none did.  A device reset
# alone may be an abort of the LUN's tasks (ABORT_DEVICE, no unit
# attention) or a target reset: not checked here.
expect_reset_effects() {
	_m=$1 _inj=$2
	shift 2
	expect_markers "$_m" "$_inj"
	_bus=$(($(reset_grew "$_m" x-stat-bus-resets) + $(reset_grew "$_m" x-stat-timeouts) + _inj))
	_any=$((_bus + $(reset_grew "$_m" x-stat-device-resets) + $(reset_grew "$_m" x-stat-chip-resets)))
	if [ "$_bus" -gt 0 ]; then
		expect_ua "$_m" "$@"
		say "after $_m: $_bus bus resets, unit attention from every disk"
	elif [ "$_any" -eq 0 ]; then
		expect_no_ua "$_m" "$@"
		say "after $_m: nothing reset, no unit attention"
	fi
}
# all_disks: every disk index, for expect_ua and friends
all_disks() {
	_i=0
	while [ $_i -lt "$(ndisks)" ]; do
		echo $_i
		_i=$((_i + 1))
	done
}

# --- waiting on conditions, not for fixed times ------------------------------
# io_count DEV: I/Os (reads + writes) completed on block device DEV
io_count() {
	read -r _r1 _r2 _r3 _r4 _w1 _rest <"/sys/block/${1#/dev/}/stat"
	echo $((_r1 + _w1))
}
# uptime_s: whole seconds since boot (no process started: cheap in a loop)
uptime_s() {
	read -r _up _rest </proc/uptime
	echo "${_up%.*}"
}
# wait_io DEV N [SECONDS] [PID]: wait until DEV has completed N more I/Os
# than when called (I/O running in the background is under way, or going
# again after a fault); returns 1 if that takes longer than SECONDS (default
# 60).  With PID (the fio doing the I/O), its end counts as done too: it
# completed all it had (its verify is the caller's to check), and a stalled
# command keeps it running.
wait_io() {
	_b=$(io_count "$1")
	_end=$(($(uptime_s) + ${3:-60}))
	while [ $(($(io_count "$1") - _b)) -lt "$2" ]; do
		[ -z "$4" ] || kill -0 "$4" 2>/dev/null || return 0
		[ "$(uptime_s)" -lt $_end ] || return 1
		sleep 0.1
	done
}
# wait_idle [SECONDS]: wait until no disk of the HBA has a request
# outstanding (block layer in-flight counts 0); 1 after SECONDS (60)
wait_idle() {
	_end=$(($(uptime_s) + ${1:-60}))
	while :; do
		_busy=0
		for _i in $(all_disks); do
			_sd=$(disk_sd "$_i") || continue
			[ "$(awk '{ print $1 + $2 }' "/sys/block/${_sd#/dev/}/inflight")" = 0 ] || _busy=1
		done
		[ $_busy = 0 ] && return 0
		[ "$(uptime_s)" -lt $_end ] || return 1
		sleep 0.1
	done
}

# --- system sleep (pm_suspend, pm_freeze) --------------------------------------
# pm_counters_before: note qlisp's re-initialisations before the sleep
pm_counters_before() {
	PM_R0=$(host_stat resets)
	[ -n "$PM_R0" ] || fail "no resets counter in the host's stats"
	PM_FW0=$(cat "/sys/class/scsi_host/host$(hba_host)/fw_version")
}
# pm_check_back: after the wakeup: the firmware runs on the chip, the driver
# re-initialised it (resets counted), with the same firmware as before, and
# is in service, and every disk answers
# a read within 60 s (a driver that left the chip stopped holds the read
# for ever: it is left behind, the case fails).  Sets PM_NOTE.
pm_check_back() {
	_r=$(host_qom_get fw-ready) || fail "cannot read the model's fw-ready"
	[ "$_r" = true ] || fail "no firmware running on the chip after the wakeup (fw-ready $_r)"
	# the re-initialisation, and the bus reset unless bus_reset=0
	_r1=$(host_stat resets)
	[ "$_r1" -gt "$PM_R0" ] || fail "no re-initialisation over the sleep (resets $PM_R0 -> $_r1)"
	_fw=$(cat "/sys/class/scsi_host/host$(hba_host)/fw_version")
	[ "$_fw" = "$PM_FW0" ] || fail "firmware $PM_FW0 before the sleep, $_fw after"
	[ "$(host_stat dead)" = 0 ] || fail "adapter out of service after the wakeup"
	_n=$(ndisks)
	_i=0
	while [ $_i -lt "$_n" ]; do
		_d=$(disk_sd $_i) || fail "disk $_i gone after the wakeup"
		rm -f /tmp/pm.rd.$_i
		( dd if="$_d" of=/dev/null bs=4k count=4 iflag=direct 2>/dev/null &&
			echo ok >/tmp/pm.rd.$_i ) &
		_t=600
		while ! [ -e /tmp/pm.rd.$_i ] && kill -0 $! 2>/dev/null; do
			_t=$((_t - 1))
			[ $_t -gt 0 ] || fail "disk $_i ($_d) did not answer a read within 60 s after the wakeup"
			sleep 0.1
		done
		[ -e /tmp/pm.rd.$_i ] || fail "a read of disk $_i ($_d) failed after the wakeup"
		_i=$((_i + 1))
	done
	PM_NOTE="firmware $_fw running, resets $PM_R0 -> $_r1, $_n disk(s) answered"
}
# pm_wait_fio PID NAME WHAT: the fio pass NAME running in the background as
# PID must end within 120 s and verify
pm_wait_fio() {
	_t=1200
	while kill -0 "$1" 2>/dev/null; do
		_t=$((_t - 1))
		[ $_t -gt 0 ] || fail "fio $2 $3 still running 120 s after the wakeup"
		sleep 0.1
	done
	wait "$1" || fail "fio $2 $3: $(fio_why "$2")"
}
