#!/bin/sh
# fault_reset_race: one owner of the chip at a time.  While fio writes and
# verifies disk A, the firmware reports system errors (the reset work
# re-initialises the adapter: firmware load and ring set-up use mailbox 4
# as a parameter) and, at the same moments, device, target and bus resets
# run from sg_reset on disk B (mailbox commands, markers and doorbells).
# Every re-initialisation must succeed, I/O continue and the data verify.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
sgb=$(disk_sg 1)
c0=$(host_qom_get x-stat-chip-resets) || fail "cannot read the model's chip resets"
reset_begin rr
fio_pass race --name=race --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=32m --rate=2m &
fpid=$!
wait_io "$dev" 16 || fail "fio did not start writing"
rounds=0
for how in -d -t -b -d -t; do
	kill -0 $fpid 2>/dev/null || break
	host_qom_set x-fault "system-error" >/dev/null || fail "cannot post the system error"
	sg_reset $how "$sgb" >/tmp/race-sg.out 2>&1 &
	spid=$!
	# a burst of device resets across the whole re-initialisation
	k=0
	while [ $k -lt 12 ]; do
		sg_reset -d "$sgb" >/dev/null 2>&1
		k=$((k + 1))
	done
	wait $spid
	rounds=$((rounds + 1))
	# let the firmware come back before the next round
	n=0
	until [ "$(host_qom_get fw-ready)" = true ]; do
		n=$((n + 1))
		[ $n -lt 60 ] || fail "the firmware did not come back after round $rounds"
		sleep 1
	done
	# I/O going again before the next round (or fio is done)
	wait_io "$dev" 8 60 $fpid || fail "no I/O completed within 60 s of round $rounds"
done
[ $rounds -ge 3 ] || fail "fio ended after $rounds rounds: the races did not hit I/O"
wait $fpid || fail "fio failed across the resets: $(fio_why race)"
c1=$(host_qom_get x-stat-chip-resets)
[ "$c1" -ge $((c0 + rounds)) ] || fail "$((c1 - c0)) chip resets for $rounds system errors"

# The rounds above rarely catch a device reset inside its mailbox command
# when the re-initialisation starts (the driver sees the firmware error and
# goes offline within microseconds, and an offline chip fails the device
# reset at once): with chip_mutex taken out of the error handler they
# passed too.  So, once more, with the window held open: disk B's reads are
# slowed in QEMU's block layer, so the halted firmware posts its error
# (0x8002) only once they have landed, a second or two after the halt.  A
# device reset sent meanwhile finds the adapter online, and its ABORT
# DEVICE is never taken by the halted RISC: the error handler sits in the
# mailbox command (5 s) when the reset work starts (then sg_reset
# escalates to a host reset).  With one owner of the chip the
# re-initialisation waits for it; without, its own bring-up mailbox
# commands meet the timed-out one (measured with chip_mutex out of the
# device, target and bus resets: "mailbox command 0x06 not sent",
# "adapter re-initialisation failed (-5), attempt 2 of 6").  The
# window counts as hit only when the firmware error was reported before
# the device reset's command timed out.
unthrottle() { host_request "@@QMP throttle hd1 0" >/dev/null; }
die() {
	unthrottle
	kill "$slow" 2>/dev/null
	fail "$*"
}
devb=$(disk_sd 1)
host_request "@@QMP throttle hd1 ${RACE_BPS:-65536}" >/dev/null || fail "cannot throttle disk B's reads"
hit=0
try=0
slow=
while [ $hit = 0 ] && [ $try -lt 3 ]; do
	try=$((try + 1))
	echo "qlisp: reset-race-window $CASE_TAG $try" >/dev/kmsg
	/usr/bin/fio --name=slow --filename="$devb" --ioengine=libaio --iodepth=2 \
		--direct=1 --rw=randread --bs=64k --size=32m --time_based \
		--runtime=120 >/tmp/race-slow.out 2>&1 &
	slow=$!
	wait_io "$devb" 2 60 || die "disk B's slowed reads did not start"
	t0=$(qom_num x-stat-chip-resets) || die "cannot read the model's chip resets"
	host_qom_set x-fault "system-error" >/dev/null || die "cannot post the system error"
	sg_reset -d "$sgb" >/tmp/race-win.out 2>&1
	n=0
	until [ "$(host_qom_get fw-ready)" = true ]; do
		n=$((n + 1))
		[ $n -lt 60 ] || die "the firmware did not come back after window try $try"
		sleep 1
	done
	kill "$slow" 2>/dev/null
	wait "$slow" 2>/dev/null
	slow=
	t1=$(qom_num x-stat-chip-resets) || die "cannot read the model's chip resets"
	dmesg | sed -n "/qlisp: reset-race-window $CASE_TAG $try\$/,\$p" >/tmp/race-win.dmesg
	fe=$(grep -n 'firmware error 0x8002' /tmp/race-win.dmesg | head -n 1 | cut -d: -f1)
	to=$(grep -n 'mailbox command 0x16 timed out' /tmp/race-win.dmesg | head -n 1 | cut -d: -f1)
	say "window try $try: firmware error at line ${fe:-none}, ABORT DEVICE timeout at line ${to:-none}, $((t1 - t0)) chip resets"
	[ -n "$fe" ] && [ -n "$to" ] && [ "$fe" -lt "$to" ] && [ "$t1" -gt "$t0" ] && hit=1
done
unthrottle
[ $hit = 1 ] || fail "in $try tries no device reset was inside its mailbox command when the firmware error came"
host_log "window hit on try $try"
dmesg_since_start | grep -q 're-initialisation failed' && fail "an adapter re-initialisation failed"
bad=$(dmesg_since_start | grep -E 'firmware load failed|queue init failed|did not start|unexpected mailbox status|ROM firmware|refused' | head -n 1)
[ -z "$bad" ] || fail "bring-up disturbed: $bad"
# the first command after the resets may get the unit attention they raised
sg_turs "$sgb" >/dev/null 2>&1
must sg_turs "$sgb"
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
# shellcheck disable=SC2046
expect_reset_effects rr 0 $(all_disks)
dmesg_allow 'firmware error 0x8002 \(0xdead 0xbeef 0x0bad\), resetting adapter$|sd [0-9:]+: Power-on or device reset occurred$|mailbox command 0x1[5-8] (not sent: the chip awaits its reset|failed: -[0-9]+ \(status 0x[0-9a-f]{4}\)|timed out, resetting the chip|timed out)$|qlisp [0-9a-f:.]+: host reset$|timing out command, waited|abort handle [0-9]+: (done|refused)'
check_dmesg_clean
pass "$rounds system errors raced with device, target and bus resets; data verified; a device reset in its mailbox command at a firmware error (try $try) waited for"
