#!/bin/sh
# qd32: fio with crc32c verification at queue depth 32 on disks A, B and C
# (a LUN > 0) at the same time.
. /qlisp/lib.sh
need_disks

size=${FIO_SIZE:-32m}
set --
for d in 0 1 $(disk_c); do
	set -- "$@" --name="d$d" --filename="$(disk_sd $d)"
done
must fio --ioengine=libaio --iodepth=32 --direct=1 --rw=randrw \
	--bsrange=4k-256k --size="$size" --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --verify_state_save=0 --randseed=$$ "$@"
grep -q 'err= *[1-9]' /tmp/run.out && fail "fio reported errors"
[ "$(grep -c 'err= *0' /tmp/run.out)" -eq 3 ] || fail "not all three jobs finished cleanly"
check_dmesg_clean
pass "3 disks, QD 32, verified"
