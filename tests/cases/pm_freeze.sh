#!/bin/sh
# pm_freeze: the hibernation callbacks (freeze, then thaw or restore) with
# the kernel's pm_test at "devices": every device is frozen, the kernel
# waits 5 s and brings them back, without writing an image.  fio writes and
# verifies disk A before, across and after.  Nothing resets the chip from
# outside here: the driver must stop it on freeze (no DMA while the image
# would be made) and bring it up again from its reset on thaw/restore.
. /qlisp/lib.sh
need_disks
[ -w /sys/power/pm_test ] || fail "no /sys/power/pm_test (CONFIG_PM_DEBUG)"
grep -qw disk /sys/power/state || fail "no hibernation here (/sys/power/state: $(cat /sys/power/state))"
is_qlisp || { pass "qla1280 has no power management callbacks (driver $VMT_DRIVER)"; exit 0; }
dev=$(disk_sd 0)

fio_pass pf1 --name=pf1 --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=16m ||
	fail "before the freeze: $FIO_WHY"
pm_counters_before
fio_pass pf2 --name=pf2 --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=12m --offset=32m \
	--rate=1m &
fpid=$!
wait_io "$dev" 20 60 || fail "fio pf2 did not start"
echo devices >/sys/power/pm_test || fail "pm_test devices refused"
t0=$(date +%s)
echo disk >/sys/power/state
rc=$?
t1=$(date +%s)
echo none >/sys/power/pm_test
[ $rc -eq 0 ] || fail "hibernation test failed ($rc): $(dmesg | grep -iE 'PM:|hibernat' | tail -n 2 | tr '\n' ' ')"
dmesg | sed -n "/qlisp: case-start $CASE_TAG\$/,\$p" | grep -q 'hibernation: debug: Waiting for 5 seconds' ||
	fail "the devices were not frozen (no pm_test wait in dmesg)"
say "freeze and thaw took $((t1 - t0)) s"
pm_check_back
pm_wait_fio $fpid pf2 "across the freeze"
fio_pass pf3 --name=pf3 --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=16m --offset=64m ||
	fail "after the thaw: $FIO_WHY"
check_dmesg_clean
pass "frozen and thawed in $((t1 - t0)) s; $PM_NOTE; fio verified before, across and after"
