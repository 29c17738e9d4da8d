#!/bin/sh
# eyes_dropwrite: the suite's data checks must see a write that completes
# GOOD without its data reaching the disk (the model's "drop-write" fault).
# With one write dropped each: the sg_dd check (rw_check), a fio pass
# (fio_pass, with the soak's options, over data an earlier pass wrote) and
# the host's image check (host_truth) must all fail.  The case passes only
# if every one of them catches it; the scratch region (disk A, 64-100 MiB)
# is then written right again.
. /qlisp/lib.sh
need_disks
lba=$((80 * 2048))
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"

host_qom_set x-fault "drop-write 1" >/dev/null || fail "cannot arm drop-write"
rw_check 0 $lba 2048 128 && fail "sg_dd check passed with a write dropped"
say "sg_dd check caught it: $RW_WHY"
t=$(host_truth 0) && fail "host image check passed with a write dropped: $t"
say "host check caught it: $t"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 1)) ] || fail "drop-write did not fire once ($f0 -> $f1)"

# a pass writes the region, then the next pass (a new seed) loses a write:
# the block still holds the first pass's data, valid but not this pass's
fio_pass eyes-pre --name=eyes-pre --filename="$(disk_sd 0)" --ioengine=libaio \
	--iodepth=16 --direct=1 --rw=randwrite --bsrange=4k-128k --offset=72m --size=8m ||
	fail "without the fault: $FIO_WHY"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
host_qom_set x-fault "drop-write 1" >/dev/null || fail "cannot arm drop-write"
fio_pass eyes-drop --name=eyes-drop --filename="$(disk_sd 0)" --ioengine=libaio \
	--iodepth=16 --direct=1 --rw=randwrite --bsrange=4k-128k --offset=72m --size=8m &&
	fail "fio verify passed with a write dropped"
say "fio verify caught it: $FIO_WHY"
f2=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f2" -eq $((f1 + 1)) ] || fail "drop-write did not fire once in fio ($f1 -> $f2)"
host_qom_set x-fault clear >/dev/null

# put the scratch region right again: the checks pass without the fault
rw_check 0 $lba 2048 128 || fail "without the fault: $RW_WHY"
host_truth 0 >/dev/null || fail "without the fault: host: $(host_truth 0)"
check_dmesg_clean
pass "a dropped write failed the sg_dd check, the host image check and fio verify"
