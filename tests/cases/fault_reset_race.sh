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
	wait_io "$dev" 8 60 || ! kill -0 $fpid 2>/dev/null ||
		fail "no I/O completed within 60 s of round $rounds"
done
[ $rounds -ge 3 ] || fail "fio ended after $rounds rounds: the races did not hit I/O"
wait $fpid || fail "fio failed across the resets: $(fio_why race)"
c1=$(host_qom_get x-stat-chip-resets)
[ "$c1" -ge $((c0 + rounds)) ] || fail "$((c1 - c0)) chip resets for $rounds system errors"
dmesg_since_start | grep -q 're-initialisation failed' && fail "an adapter re-initialisation failed"
bad=$(dmesg_since_start | grep -E 'firmware load failed|queue init failed|did not start|unexpected mailbox status|ROM firmware|refused' | head -n 1)
[ -z "$bad" ] || fail "bring-up disturbed: $bad"
# the first command after the resets may get the unit attention they raised
sg_turs "$sgb" >/dev/null 2>&1
must sg_turs "$sgb"
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
# shellcheck disable=SC2046
expect_reset_effects rr 0 $(all_disks)
dmesg_allow 'firmware error 0x8002 \(0xdead 0xbeef 0x0bad\), resetting adapter$|sd [0-9:]+: Power-on or device reset occurred$|mailbox command 0x1[5-8] (not sent: the chip awaits its reset|failed: -[0-9]+ \(status 0x[0-9a-f]{4}\)|timed out, resetting the chip)$|qlisp [0-9a-f:.]+: host reset$|timing out command, waited|abort handle [0-9]+: (done|refused)'
check_dmesg_clean
pass "$rounds system errors raced with device, target and bus resets; data verified"
