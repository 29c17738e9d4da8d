#!/bin/sh
# fio_jobs8: 8 concurrent fio jobs, each verifying its own region of disk A.
. /qlisp/lib.sh
need_disks

must fio --name=jobs8 --filename="$(disk_sd 0)" --numjobs=8 --size=8m \
	--offset_increment=8m --ioengine=libaio --iodepth=4 --direct=1 \
	--rw=randrw --bsrange=4k-128k --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --verify_state_save=0 --randseed=$$ --group_reporting
grep -q 'err= *[1-9]' /tmp/run.out && fail "fio reported errors"
grep -q 'err= *0' /tmp/run.out || fail "fio gave no status"
check_dmesg_clean
pass "8 jobs verified"
