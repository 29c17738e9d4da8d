#!/bin/sh
# pm_suspend: suspend to RAM (ACPI S3) and wake up, with fio writing and
# verifying disk A across the sleep.  S3 takes the chip's power (QEMU
# resets it on wakeup: firmware and settings gone), so the driver must stop
# the chip and hold the I/O on suspend, and on resume reload the firmware,
# set it up as before and let the held I/O go.  The host wakes the guest
# (system_wakeup over QMP) and reports the state the guest was in; after
# the wakeup the firmware runs, every disk answers, the fio pass that ran
# across the sleep verifies and a fresh pass after it too.
. /qlisp/lib.sh
need_disks
grep -qw mem /sys/power/state || fail "no suspend to RAM here (/sys/power/state: $(cat /sys/power/state))"
# S3 itself, not suspend-to-idle (which leaves the devices powered)
if [ -w /sys/power/mem_sleep ]; then
	grep -q deep /sys/power/mem_sleep || fail "no S3 (mem_sleep: $(cat /sys/power/mem_sleep))"
	echo deep >/sys/power/mem_sleep
fi
is_qlisp || { pass "qla1280 has no power management callbacks (driver $VMT_DRIVER)"; exit 0; }
dev=$(disk_sd 0)

fio_pass pm1 --name=pm1 --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=16m ||
	fail "before the suspend: $FIO_WHY"
pm_counters_before
# a pass that is running when the system goes to sleep
fio_pass pm2 --name=pm2 --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=12m --offset=32m \
	--rate=1m &
fpid=$!
wait_io "$dev" 20 60 || fail "fio pm2 did not start"
host_request "@@QMP wakeup-after 5" >/dev/null || fail "the host cannot wake the guest"
t0=$(date +%s)
echo mem >/sys/power/state || fail "suspend to RAM failed"
t1=$(date +%s)
w=$(host_request "@@QMP wakeups") || fail "no wakeup record from the host: $w"
say "back from S3 after $((t1 - t0)) s; the host found the guest: $w"
[ "$w" = '["suspended"]' ] || fail "the guest did not sleep in S3 (host saw $w)"
pm_check_back
pm_wait_fio $fpid pm2 "across the suspend"
fio_pass pm3 --name=pm3 --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=16m --offset=64m ||
	fail "after the resume: $FIO_WHY"
check_dmesg_clean
pass "slept in S3 $((t1 - t0)) s; $PM_NOTE; fio verified before, across and after"
