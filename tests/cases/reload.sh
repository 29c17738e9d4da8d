#!/bin/sh
# reload: unload and reload the driver 20 times with I/O in between; the
# adapter must come back each time with all disks and the data intact.
. /qlisp/lib.sh
need_disks

n=${RELOAD_COUNT:-20}
p=$(pattern reload 1)
round=1
while [ $round -le "$n" ]; do
	must rmmod "$VMT_DRIVER"
	[ -d "/sys/module/$VMT_DRIVER" ] && fail "module still loaded after rmmod ($round)"
	hba_host >/dev/null && fail "scsi_host still present after rmmod ($round)"
	must load_driver
	wait_disks 60 || fail "disks did not come back on reload $round"
	dev=$(disk_sd 0)
	must dd if="$p" of="$dev" bs=1M count=1 seek=$round oflag=direct
	must dd if="$dev" of=/tmp/reload.rb bs=1M count=1 skip=$round iflag=direct
	cmp "$p" /tmp/reload.rb >/dev/null || fail "data mismatch after reload $round"
	# slab use after the first rounds (caches warm) and at the end
	[ $round = 2 ] && slab0=$(sed -n 's/^Slab: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	round=$((round + 1))
done
slab1=$(sed -n 's/^Slab: *\([0-9]*\) kB/\1/p' /proc/meminfo)
say "slab: ${slab0} kB after round 2, ${slab1} kB after round $n"
# a leak of the host, its devices or their sysfs objects shows here.
# RELOAD_SLAB_KB: the growth allowed (default 1024 kB); 0 leaves the check
# out, for a KASAN kernel, whose quarantine holds freed objects (up to
# 1/32 of RAM) in Slab for a while: there the kdebug case's kmemleak scan
# after load/unload cycles finds leaks object by object instead.
lim=${RELOAD_SLAB_KB:-1024}
if [ "$lim" -gt 0 ]; then
	[ $((slab1 - slab0)) -lt "$lim" ] ||
		fail "slab grew by $((slab1 - slab0)) kB over $((n - 2)) reloads"
else
	say "slab growth not checked here (RELOAD_SLAB_KB=0): kdebug's kmemleak scan covers leaks"
fi
# everything written in earlier rounds is still there
round=1
while [ $round -le "$n" ]; do
	must dd if="$(disk_sd 0)" of=/tmp/reload.rb bs=1M count=1 skip=$round iflag=direct
	cmp "$p" /tmp/reload.rb >/dev/null || fail "block $round lost across reloads"
	round=$((round + 1))
done
rm -f /tmp/reload.rb
check_dmesg_clean
pass "$n reloads with I/O"
