#!/bin/sh
# reload: unload and reload the driver 20 times with I/O in between; the
# adapter must come back each time with all disks and the data intact.
. /qlisp/lib.sh
need_disks

n=${RELOAD_COUNT:-20}
p=$(pattern reload 1)
i=1
while [ $i -le "$n" ]; do
	must rmmod "$VMT_DRIVER"
	[ -d "/sys/module/$VMT_DRIVER" ] && fail "module still loaded after rmmod ($i)"
	hba_host >/dev/null && fail "scsi_host still present after rmmod ($i)"
	must load_driver
	wait_disks 60 || fail "disks did not come back on reload $i"
	dev=$(disk_sd 0)
	must dd if="$p" of="$dev" bs=1M count=1 seek=$i oflag=direct
	must dd if="$dev" of=/tmp/reload.rb bs=1M count=1 skip=$i iflag=direct
	cmp "$p" /tmp/reload.rb >/dev/null || fail "data mismatch after reload $i"
	i=$((i + 1))
done
# everything written in earlier rounds is still there
i=1
while [ $i -le "$n" ]; do
	must dd if="$(disk_sd 0)" of=/tmp/reload.rb bs=1M count=1 skip=$i iflag=direct
	cmp "$p" /tmp/reload.rb >/dev/null || fail "block $i lost across reloads"
	i=$((i + 1))
done
rm -f /tmp/reload.rb
check_dmesg_clean
pass "$n reloads with I/O"
