#!/bin/sh
# eyes_flipread: the continuation data check (big_rw_check: 1 MiB O_DIRECT
# commands of many segments, chained through continuation entries) must
# see one byte flipped in one chained read (the model's "flip-read" fault).
# The case passes only if the check fails with the fault and passes
# without it.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
kb=$(cat "/sys/block/${dev#/dev/}/queue/max_hw_sectors_kb")
[ "$kb" -gt 1024 ] && kb=1024
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
host_qom_set x-fault "flip-read 1" >/dev/null || fail "cannot arm flip-read"
big_rw_check "$dev" "$kb" 8 && {
	host_qom_set x-fault clear >/dev/null
	f1=$(qom_num x-stat-faults)
	fail "continuation data check passed with a byte flipped (faults $f0 -> $f1)"
}
say "continuation check caught it: $BIG_WHY"
host_qom_set x-fault clear >/dev/null
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 1)) ] || fail "flip-read did not fire once ($f0 -> $f1)"
big_rw_check "$dev" "$kb" 8 || fail "without the fault: $BIG_WHY"
check_dmesg_clean
pass "a flipped byte in a chained read failed the continuation data check"
