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
#                  @@GET <key>               a suite value (e.g. dmesg_allow)
#                  @@DONE                    all cases ran
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

# host_request LINE: send a request, print the reply text (without "@@REPLY ").
# Returns 1 when the host answered ERROR or did not answer in 60 s.
host_request() {
	chan_send "$*"
	while :; do
		line=
		IFS= read -r -t 60 line <&3 || { say "no reply from host to: $*"; return 1; }
		line=$(printf '%s' "$line" | tr -d '\r')
		case $line in
		"@@REPLY ERROR"*) printf '%s\n' "${line#@@REPLY }"; return 1 ;;
		"@@REPLY "*) printf '%s\n' "${line#@@REPLY }"; return 0 ;;
		"@@REPLY") return 0 ;;
		esac
	done
}

host_qom_get() { host_request "@@QMP qom-get $VMT_QOM $1"; }
host_qom_set() { host_request "@@QMP qom-set $VMT_QOM $1 $2"; }
host_qom_get_path() { host_request "@@QMP qom-get $1 $2"; }
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
	case $CASE in fault_*|soak) host_qom_set fault clear >/dev/null 2>&1 ;; esac
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
# check_dmesg_clean: fail on timeout/abort/error lines logged since the case
# started, except allowed ones, and on any splat.
check_dmesg_clean() {
	dmesg_since_start >/tmp/dmesg.case
	grep -q "qlisp: case-start $CASE_TAG\$" /tmp/dmesg.case ||
		fail "dmesg: start marker of $CASE_TAG lost (ring buffer overrun?)"
	{
		grep -iE 'timeout|timed out|abort|error' /tmp/dmesg.case |
			grep -v 'qlisp: case-\(start\|end\) ' | grep -vE "$DMESG_ALLOW"
		grep -E "$SPLAT_RE" /tmp/dmesg.case
	} >/tmp/dmesg.bad
	if [ -s /tmp/dmesg.bad ]; then
		say "unexpected kernel messages:"
		cat /tmp/dmesg.bad
		fail "dmesg: $(head -n 1 /tmp/dmesg.bad)"
	fi
}
# Checks of one driver's own messages and statistics: the fault cases run
# with qlisp and with qla1280 (see Documentation/scsi/qlisp.rst).
is_qlisp() { [ "$VMT_DRIVER" = qlisp ]; }
# recoveries: what the model saw of error recovery, whichever driver runs it
# (ABORTs that found their command, device/target resets, bus resets, chip
# soft resets), as one number.
recoveries() {
	n=0
	for c in stat-aborts stat-device-resets stat-bus-resets stat-chip-resets; do
		v=$(host_qom_get $c) || { echo -1; return 1; }
		n=$((n + v))
	done
	echo $n
}
# host_stat KEY: one counter of qlisp's stats attribute (sysfs) of this HBA
host_stat() { tr ' ' '\n' <"/sys/class/scsi_host/host$(hba_host)/stats" | sed -n "s/^$1=//p"; }
# model_counters: the model's register reads, register writes, interrupts
# and commands, on one line; fails if any of them cannot be read
model_counters() {
	for _c in stat-reg-reads stat-reg-writes stat-irqs stat-cmds; do
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
