#!/bin/sh
# sg_reset: device, bus and host resets while fio writes and verifies on
# disk A; I/O must resume and every block verify.
. /qlisp/lib.sh
need_disks

dev=$(disk_sd 0)
sg=$(disk_sg 0)
reset_count() { host_stat resets; }
r0=$(reset_count)
# rate-limited so that the writes are still going on during all three resets
fio --name=reset --filename="$dev" --ioengine=libaio --iodepth=16 --direct=1 \
	--rw=randwrite --bsrange=4k-128k --size=64m --rate=3m \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
	--randseed=$$ >/tmp/fio-reset.out 2>&1 &
fpid=$!
sleep 2
for how in -d -b -H; do
	kill -0 $fpid 2>/dev/null || fail "fio finished before sg_reset $how: resets would not hit I/O"
	run sg_reset $how "$sg" || fail "sg_reset $how $sg failed"
	say "sg_reset $how done"
	sleep 1
done
wait $fpid
frc=$?
cat /tmp/fio-reset.out | tail -n 20
[ $frc -eq 0 ] || fail "fio exited $frc across the resets"
grep -q 'err= *0' /tmp/fio-reset.out || fail "fio reported an error status"
r1=$(reset_count)
[ "$r1" -ge $((r0 + 2)) ] || fail "driver counted $r0 -> $r1 resets, want bus + host"
# after the resets the disk still answers
must sg_turs "$sg"
dmesg_allow 'reset|Power-on or device reset occurred'
check_dmesg_clean
pass "device, bus and host reset during verified I/O"
