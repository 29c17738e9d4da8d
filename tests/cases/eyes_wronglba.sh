#!/bin/sh
# eyes_wronglba: the suite's data checks must see a write that lands at the
# wrong LBA (the model's "wrong-lba N D" fault: the next N READ/WRITEs go
# to LBA + D).  The sg_dd check (rw_check) must fail when only the write is
# moved.  When the read-back is moved the same way, the guest reads what it
# expects and its check passes: the host's image check (host_truth) must
# still fail.  Then the scratch region (disk A, 64-100 MiB) is put right.
. /qlisp/lib.sh
need_disks
lba=$((84 * 2048))
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"

# the first 64 KiB command of the write lands 64 sectors further on
host_qom_set x-fault "wrong-lba 1 64" >/dev/null || fail "cannot arm wrong-lba"
rw_check 0 $lba 2048 128 && fail "sg_dd check passed with a write at the wrong LBA"
say "sg_dd check caught it: $RW_WHY"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 1)) ] || fail "wrong-lba did not fire once ($f0 -> $f1)"
rw_check 0 $lba 2048 128 || fail "without the fault: $RW_WHY"
host_truth 0 >/dev/null || fail "without the fault: host: $(host_truth 0)"

# one command each way, both moved: the guest is fooled, the host is not
host_qom_set x-fault "wrong-lba 2 64" >/dev/null || fail "cannot arm wrong-lba"
rw_check 0 $lba 128 128 || fail "the guest should read back its moved write: $RW_WHY"
f2=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f2" -eq $((f1 + 2)) ] || fail "wrong-lba did not fire on the write and the read ($f1 -> $f2)"
t=$(host_truth 0) && fail "host image check passed with a write at the wrong LBA: $t"
say "host check caught it: $t"
case $t in *"LBA $lba "*) ;; *) fail "host check did not name LBA $lba: $t" ;; esac
host_qom_set x-fault clear >/dev/null
# EYES_LEAVE=1 (vmt_env): leave the moved write in place, to watch the
# runner's host_truth test fail after power-off
[ -n "${EYES_LEAVE:-}" ] && pass "moved write left in place (EYES_LEAVE): host_truth must fail"

rw_check 0 $lba 2048 128 || fail "without the fault: $RW_WHY"
host_truth 0 >/dev/null || fail "without the fault: host: $(host_truth 0)"
check_dmesg_clean
pass "a write at the wrong LBA failed the sg_dd check, and the host check when the guest was fooled"
