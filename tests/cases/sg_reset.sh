#!/bin/sh
# sg_reset: device, bus and host resets while fio writes and verifies on
# disk A; I/O must resume and every block verify.  fio runs pass after
# pass (each 16 MiB, rate-limited, with a seed of its own, verified at its
# end) until the three resets are done: the writes go on for as long as
# the resets take (in the last CI run about 35 s with qla1280 and 100 s on
# the debug kernel, much less with qlisp), and no longer.
. /qlisp/lib.sh
need_disks

dev=$(disk_sd 0)
sg=$(disk_sg 0)
reset_count() { host_stat resets; }
is_qlisp && r0=$(reset_count)
m0=$(recoveries) || fail "cannot read the model's recovery counters"
fio_passes_start reset --name=reset --filename="$dev" --ioengine=libaio --iodepth=16 \
	--direct=1 --rw=randwrite --bsrange=4k-128k --size=16m --rate=3m
# sgr_fail REASON: end the passes (the one under way finishes), then fail
sgr_fail() {
	fio_passes_stop reset
	why=$(fio_passes_failed reset) && fail "$*; fio: $why"
	fail "$*"
}
wait_io "$dev" 32 || sgr_fail "fio did not start writing"
for how in -d -b -H; do
	why=$(fio_passes_failed reset) && sgr_fail "before sg_reset $how: $why"
	# writes are completing right now, so the reset hits I/O
	wait_io "$dev" 8 || sgr_fail "no I/O under way before sg_reset $how"
	reset_begin "sg$how"
	run sg_reset $how "$sg" || sgr_fail "sg_reset $how $sg failed"
	say "sg_reset $how done"
	# I/O goes on after each reset before the next one
	wait_io "$dev" 16 || sgr_fail "no I/O completed after sg_reset $how"
	# a device reset wants its marker; a bus reset (and the one a host
	# reset brings) its marker and a unit attention from every LUN
	if [ "$how" = -d ]; then
		expect_markers "sg$how" 0 1
	else
		# shellcheck disable=SC2046
		expect_reset_effects "sg$how" 0 $(all_disks)
	fi
done
# the pass under way finishes and verifies
fio_passes_stop reset
why=$(fio_passes_failed reset) && fail "across the resets: $why"
passes=$(fio_passes_done reset)
[ "$passes" -ge 1 ] || fail "no write+verify pass completed"
tail -n 20 "/tmp/fio.reset$passes.out"
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
pass "device, bus and host reset during verified I/O ($passes write+verify passes)"
