#!/bin/sh
# continuation: large (1 MiB) O_DIRECT transfers from scattered user pages need more
# than the 4 segments of a command entry; the model's counters must show
# continuation entries and a command with >= 5 segments, and the data must
# read back unchanged.
. /qlisp/lib.sh
need_disks

dev=$(disk_sd 0)
maxkb=$(cat "/sys/block/${dev#/dev/}/queue/max_hw_sectors_kb")
# the driver takes 1 MiB commands; with swiotlb=force the kernel caps them
# at the bounce buffer's largest mapping (256 KiB)
if grep -q 'swiotlb=force' /proc/cmdline; then
	[ "$maxkb" -ge 256 ] || fail "max_hw_sectors_kb is $maxkb under swiotlb, want >= 256"
else
	[ "$maxkb" -ge 1024 ] || fail "max_hw_sectors_kb is $maxkb, want >= 1024"
fi
kb=$maxkb
[ "$kb" -gt 1024 ] && kb=1024
c0=$(host_qom_get stat-cont-entries) || fail "cannot read stat-cont-entries"
p=$(pattern cont 32)
must dd if="$p" of="$dev" bs=${kb}k count=$((32768 / kb)) oflag=direct
must dd if="$dev" of=/tmp/cont.rb bs=${kb}k count=$((32768 / kb)) iflag=direct
cmp "$p" /tmp/cont.rb >/tmp/cmp.out 2>&1 || fail "data mismatch: $(cat /tmp/cmp.out)"
rm -f /tmp/cont.rb
c1=$(host_qom_get stat-cont-entries) || fail "cannot read stat-cont-entries"
segs=$(host_qom_get stat-max-segs) || fail "cannot read stat-max-segs"
say "continuation entries $c0 -> $c1, largest segment count $segs"
[ "$c1" -gt "$c0" ] || fail "no continuation entries used ($c0 -> $c1)"
[ "$segs" -ge 5 ] || fail "largest command had $segs segments, want >= 5"
check_dmesg_clean
pass "$((c1 - c0)) continuation entries, up to $segs segments per command"
