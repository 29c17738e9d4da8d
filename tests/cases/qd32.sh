#!/bin/sh
# qd32: fio with crc32c verification at queue depth 32 on disks A, B and C
# (a LUN > 0) at the same time, with a seed no earlier pass used.
. /qlisp/lib.sh
need_disks

size=${FIO_SIZE:-32m}
set --
for d in 0 1 $(disk_c); do
	set -- "$@" --name="d$d" --filename="$(disk_sd $d)"
done
fio_pass qd32 --ioengine=libaio --iodepth=32 --direct=1 --rw=randrw \
	--bsrange=4k-256k --size="$size" "$@" || fail "$FIO_WHY"
[ "$(grep -c 'err= *0' /tmp/fio.qd32.out)" -eq 3 ] || fail "not all three jobs finished cleanly"
check_dmesg_clean
pass "3 disks, QD 32, verified"
