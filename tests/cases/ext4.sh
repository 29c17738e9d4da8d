#!/bin/sh
# ext4: make a filesystem on the LUN>0 disk, write a big and many small files,
# remount and compare checksums, then e2fsck -fn must be clean.
. /qlisp/lib.sh
need_disks

c=$(disk_c) || fail "suite has no disk C"
dev=$(disk_sd "$c")
say "ext4 on $(disk_hctl $c) $dev"
must modprobe ext4
must /sbin/mke2fs -F -q -t ext4 "$dev"
mkdir -p /mnt/t
must mount -t ext4 "$dev" /mnt/t
must dd if="$(pattern a 32)" of=/mnt/t/big bs=1M
mkdir -p /mnt/t/small
i=0
while [ $i -lt 300 ]; do
	head -c $((i * 37 + 1)) /dev/urandom >/mnt/t/small/f$i || fail "write small file $i"
	i=$((i + 1))
done
(cd /mnt/t && find . -type f | sort | xargs md5sum) >/tmp/sums.before
[ "$(wc -l </tmp/sums.before)" = 301 ] || fail "expected 301 files, have $(wc -l </tmp/sums.before)"
sync
must umount /mnt/t
# drop everything cached so the reads come from the disk
echo 3 >/proc/sys/vm/drop_caches
must mount -t ext4 "$dev" /mnt/t
(cd /mnt/t && find . -type f | sort | xargs md5sum) >/tmp/sums.after
cmp -s /tmp/sums.before /tmp/sums.after ||
	fail "checksums differ after remount: $(diff /tmp/sums.before /tmp/sums.after | grep '^[-+][0-9a-f]' | head -n 2 | tr '\n' ' ')"
grep -q "$(md5sum <"$(pattern a 32)" | cut -d' ' -f1)  ./big" /tmp/sums.after || fail "big file content wrong"
must umount /mnt/t
must /sbin/e2fsck -fn "$dev"
check_dmesg_clean
pass "ext4 on $(disk_hctl $c): 301 files survived remount, fsck clean"
