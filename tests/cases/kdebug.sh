#!/bin/sh
# kdebug: last case of a debug-kernel suite.  Checks that this really is the
# debug kernel (KASAN, lockdep, kmemleak, DMA-API debugging present), that
# nothing since boot produced a splat (BUG, WARNING, lockdep, KASAN,
# DEBUG_OBJECTS, sleep in atomic), and that loading the driver, doing I/O
# and unloading it leaks nothing kmemleak can find.
. /qlisp/lib.sh
dmesg | grep -q 'KernelAddressSanitizer initialized' || fail "not a KASAN kernel"
dmesg | grep -q 'Lock dependency validator' || fail "not a lockdep kernel"
dmesg | grep -q 'DMA-API: debugging enabled' || fail "DMA-API debugging is off"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
km=/sys/kernel/debug/kmemleak
[ -e $km ] || fail "no kmemleak"
grep -q 'debug_locks' /proc/lockdep_stats 2>/dev/null || fail "no /proc/lockdep_stats"
# lockdep switches itself off after its first report
dl=$(sed -n 's/.*debug_locks: *\([0-9]*\).*/\1/p' /proc/lockdep_stats)
[ "$dl" = 1 ] || fail "lockdep is off (debug_locks=$dl): it reported something"

# Leaks: forget what is unreferenced now (boot noise), then a load, I/O and
# unload cycle; whatever is unreferenced after it is ours to answer for.
driver_loaded && must rmmod "$VMT_DRIVER"
echo scan >$km
echo clear >$km
for round in 1 2; do
	run load_driver || fail "modprobe $VMT_DRIVER failed (round $round)"
	wait_disks 60 || fail "disks did not appear (round $round)"
	must dd if="$(disk_sd 0)" of=/dev/null bs=256k count=16 iflag=direct
	must sg_dd if="$(disk_sg 1)" of=/dev/null bs=512 count=4096 bpt=256
	must rmmod "$VMT_DRIVER"
done
# kmemleak reports only objects older than 5 s, found unreferenced on two
# scans
sleep 6
echo scan >$km
sleep 1
echo scan >$km
cat $km >/tmp/kmemleak.out
if [ -s /tmp/kmemleak.out ]; then
	head -n 40 /tmp/kmemleak.out
	fail "kmemleak: $(grep -c '^unreferenced object' /tmp/kmemleak.out) leaked object(s): $(grep -m1 -A8 backtrace /tmp/kmemleak.out | tr -s ' \n' ' ')"
fi
run load_driver || fail "modprobe $VMT_DRIVER after the leak check failed"
wait_disks 60 || fail "disks did not come back"
# splats anywhere since boot, not only inside case windows
dmesg | grep -E "$SPLAT_RE" >/tmp/splats
[ -s /tmp/splats ] && { cat /tmp/splats; fail "splat: $(head -n 1 /tmp/splats)"; }
check_dmesg_clean
pass "debug kernel: no splat, lockdep on, kmemleak clean after 2 load/unload cycles"
