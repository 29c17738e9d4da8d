#!/bin/sh
# soak: random faults, one every 1-3 s, while fio passes write and verify
# on disks A and B, each pass with a fresh seed.  The seeds are printed;
# SOAK_SECONDS (default 120) bounds it (tests/run-vm.py passes vmt_soak=...
# from the suite).  Every fault must be
# recovered: fio verifies everything it wrote, nothing hangs or oopses.
. /qlisp/lib.sh
need_disks
secs=${SOAK_SECONDS:-$(sed -n 's/.*vmt_soak=\([0-9]*\).*/\1/p' /proc/cmdline)}
secs=${secs:-120}
seed=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
say "soak: ${secs}s, seed $seed"
host_log "soak seed $seed"
for d in 0 1; do
	echo 8 >"/sys/block/$(basename "$(disk_sd $d)")/device/timeout"
done
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
# Write+verify passes on disks A and B until the time is up.  Every pass
# has a seed of its own (fio_pass, printed), so it writes data no earlier
# pass wrote: a write lost in any pass fails that pass's verify.  The
# options before the first --name apply to both jobs.  SOAK_IODEPTH (from
# the suite, default 16) per disk.
FIO_PASSES_JOBS=2 fio_passes_start soak --ioengine=libaio --iodepth="${SOAK_IODEPTH:-16}" \
	--direct=1 --rw=randwrite --bsrange=4k-128k --size=24m \
	--name=sa --filename="$(disk_sd 0)" \
	--name=sb --filename="$(disk_sd 1)"
# soak_fail REASON: stop the passes (the one under way ends: bounded by the
# disks' command timeouts) so that no I/O of the soak runs into the next
# case, then fail
soak_fail() {
	host_qom_set x-fault clear >/dev/null
	fio_passes_stop soak
	fail "$*"
}
# a small shell PRNG so the fault sequence follows the seed
rnd=$seed
# next N: r = a pseudo-random number below N (no subshell: rnd must advance)
next() { rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 )); r=$(( rnd / 65536 % $1 )); }
end=$(( $(cut -d. -f1 /proc/uptime) + secs ))
n=0
lastsys=
while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
	fio_passes_failed soak >/dev/null && break
	next 7
	kind=$r
	# the first seven faults are each of the seven kinds once, in an
	# order the seed picks: a soak of any length injects every kind
	[ $n -lt 7 ] && kind=$(( (n * 3 + seed) % 7 ))
	next 4
	case $kind in
	0) f="swallow 1" ;;
	1) f="bus-reset" ;;
	2) f="status 0x28 $((r + 1))" ;;
	3) f="status 0x08 $((r + 1))" ;;
	4) f="sense 6 0x29 0 1" ;;
	5) f="underrun $(( (r + 1) * 512 )) 1" ;;
	6) f="system-error" ;;
	esac
	# SOAK_SYSERR_GAP (seconds, from the suite): no system error that soon
	# after the last one recovered; a bus reset instead.  For drivers that
	# leave a system error to the midlayer's escalation (qla1280: 25-40 s),
	# a command caught by two of them outlives its (retries + 1) * timeout
	# budget, which tests the midlayer's patience, not recovery.
	# SOAK_SYSERR=0 (from the suite): no system errors at all, bus resets
	# instead, for a driver whose recovery from a halted RISC outlasts any
	# wait a soak can afford (its fault_syserr case tests that recovery).
	if [ "$kind" = 6 ] && [ "${SOAK_SYSERR:-1}" = 0 ]; then
		kind=1 f="bus-reset"
	fi
	if [ "$kind" = 6 ] && [ -n "$lastsys" ] &&
		[ $(($(cut -d. -f1 /proc/uptime) - lastsys)) -lt "${SOAK_SYSERR_GAP:-0}" ]; then
		kind=1 f="bus-reset"
	fi
	host_qom_set x-fault "$f" >/dev/null || soak_fail "cannot inject '$f'"
	n=$((n + 1))
	say "soak fault $n: $f"
	# A system error stops the firmware until the driver resets the chip
	# and sets its queues up again.  The driver must do that: the soak
	# waits for the firmware to take requests again before the next fault.
	if [ "$kind" = 6 ]; then
		w=0
		while [ "$(host_qom_get fw-ready)" != true ]; do
			[ $w -lt 120 ] ||
				soak_fail "firmware not running 120 s after the system error (seed $seed)"
			sleep 1
			w=$((w + 1))
		done
		say "soak: firmware running again after ${w}s"
		lastsys=$(cut -d. -f1 /proc/uptime)
	fi
	next 3
	sleep $((r + 1))
done
host_qom_set x-fault clear >/dev/null
why=$(fio_passes_failed soak) && soak_fail "a pass failed during the soak (fault seed $seed): $why"
# the pass under way finishes (and verifies) with no more faults
fio_passes_stop soak
why=$(fio_passes_failed soak) && fail "the last pass failed (fault seed $seed): $why"
[ "$n" -ge 7 ] || fail "$n faults in ${secs}s: not every kind was injected (seed $seed)"
passes=$(fio_passes_done soak)
[ "$passes" -ge 1 ] || fail "no write+verify pass completed"
tail -n 8 "/tmp/fio.soak$passes.out"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -gt "$f0" ] || fail "no fault fired"
must dd if="$(disk_sd 0)" of=/dev/null bs=64k count=16 iflag=direct
# The kernel's own readahead (partition rescans after a unit attention) is
# fail-fast: an injected fault that lands on it fails it, as it should.  Any
# other failed I/O is an error.
dmesg_since_start | grep 'I/O error' | grep -v 'op 0x0:(READ) flags 0x80700 ' >/tmp/soak.ioerr
[ -s /tmp/soak.ioerr ] && fail "I/O failed outside readahead: $(head -n 1 /tmp/soak.ioerr)"
dmesg_allow 'abort handle|timing out|timed out|qlisp [0-9a-f:.]+: host reset$|firmware error 0x8002|ISP System Error|Unable to abort command|invalid handle|Power-on or device reset|not returned by the firmware'
dmesg_allow 'I/O error, dev sd[a-z]+, sector [0-9]+ op 0x0:\(READ\) flags 0x80700 |FAILED Result: hostbyte=DID_(OK|ERROR)|Sense Key|Add. Sense|CDB:|Buffer I/O error.*async page read'
check_dmesg_clean
pass "$n faults in ${secs}s (seed $seed), $passes write+verify passes on A and B"
