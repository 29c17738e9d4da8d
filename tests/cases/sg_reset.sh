#!/bin/sh
# sg_reset: device, bus and host resets while fio writes and verifies on
# disk A; I/O must resume and every block verify.
. /qlisp/lib.sh
need_disks

dev=$(disk_sd 0)
sg=$(disk_sg 0)
reset_count() { host_stat resets; }
is_qlisp && r0=$(reset_count)
m0=$(recoveries) || fail "cannot read the model's recovery counters"
# rate-limited so that the writes are still going on during all three resets
# (about 53 s of writes: the reset checks take up to 30 s with qla1280)
fio_pass reset --name=reset --filename="$dev" --ioengine=libaio --iodepth=16 --direct=1 \
	--rw=randwrite --bsrange=4k-128k --size=160m --rate=3m &
fpid=$!
wait_io "$dev" 32 || fail "fio did not start writing"
for how in -d -b -H; do
	kill -0 $fpid 2>/dev/null || fail "fio finished before sg_reset $how: resets would not hit I/O"
	reset_begin "sg$how"
	run sg_reset $how "$sg" || fail "sg_reset $how $sg failed"
	say "sg_reset $how done"
	# I/O goes on after each reset before the next one (or fio is done)
	wait_io "$dev" 16 || ! kill -0 $fpid 2>/dev/null ||
		fail "no I/O completed after sg_reset $how"
	# a device reset wants its marker; a bus reset (and the one a host
	# reset brings) its marker and a unit attention from every LUN
	if [ "$how" = -d ]; then
		expect_markers "sg$how" 0 1
	else
		# shellcheck disable=SC2046
		expect_reset_effects "sg$how" 0 $(all_disks)
	fi
done
wait $fpid || fail "across the resets: $(fio_why reset)"
tail -n 20 /tmp/fio.reset.out
# whichever driver: the model saw the resets (device, bus, chip)
m1=$(recoveries) || fail "cannot read the model's recovery counters"
[ "$m1" -ge $((m0 + 2)) ] || fail "the model saw $((m1 - m0)) resets, want at least bus + host"
if is_qlisp; then
	r1=$(reset_count)
	[ "$r1" -ge $((r0 + 2)) ] || fail "driver counted $r0 -> $r1 resets, want bus + host"
fi
# after the resets the disk still answers
must sg_turs "$sg"
dmesg_allow 'qlisp [0-9a-f:.]+: host reset$|Power-on or device reset occurred'
check_dmesg_clean
pass "device, bus and host reset during verified I/O"
