#!/bin/sh
# continuation: large (1 MiB) O_DIRECT transfers from scattered user pages
# need more than the 4 segments of a command entry: during this case the
# model must count continuation entries (each one belongs to a command of
# more than 4 segments), and a fresh pattern must read back unchanged.
. /qlisp/lib.sh
need_disks

dev=$(disk_sd 0)
maxkb=$(cat "/sys/block/${dev#/dev/}/queue/max_hw_sectors_kb")
# qlisp takes 1 MiB commands; with swiotlb=force the kernel caps them at
# the bounce buffer's largest mapping (256 KiB).  Other drivers take what
# they take (the data check and the chaining below apply to all).
if ! is_qlisp; then
	say "$VMT_DRIVER: max_hw_sectors_kb $maxkb"
elif grep -q 'swiotlb=force' /proc/cmdline; then
	[ "$maxkb" -ge 256 ] || fail "max_hw_sectors_kb is $maxkb under swiotlb, want >= 256"
else
	[ "$maxkb" -ge 1024 ] || fail "max_hw_sectors_kb is $maxkb, want >= 1024"
fi
kb=$maxkb
[ "$kb" -gt 1024 ] && kb=1024
c0=$(qom_num x-stat-cont-entries) || fail "cannot read x-stat-cont-entries"
m0=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
big_rw_check "$dev" "$kb" 32 || fail "$BIG_WHY"
c1=$(qom_num x-stat-cont-entries) || fail "cannot read x-stat-cont-entries"
m1=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
# (x-stat-max-segs is the largest since QEMU started: printed, not asserted)
segs=$(host_qom_get x-stat-max-segs) || segs=unknown
say "this case: $((m1 - m0)) commands, $((c1 - c0)) continuation entries (max segments since boot: $segs)"
# 64 commands of $kb KiB moved the data: at least one of them chained
[ $((m1 - m0)) -ge $((2 * 32768 / kb)) ] || fail "only $((m1 - m0)) commands reached the model"
[ "$c1" -gt "$c0" ] || fail "no continuation entries used ($c0 -> $c1): no command had more than 4 segments"
check_dmesg_clean
pass "$((c1 - c0)) continuation entries for $((m1 - m0)) commands"
