#!/bin/sh
# fio_jobs8: 8 concurrent fio jobs, each verifying its own region of disk A,
# with a seed no earlier pass used (fio_pass).
. /qlisp/lib.sh
need_disks

fio_pass jobs8 --name=jobs8 --filename="$(disk_sd 0)" --numjobs=8 --size=8m \
	--offset_increment=8m --ioengine=libaio --iodepth=4 --direct=1 \
	--rw=randrw --bsrange=4k-128k --group_reporting || fail "$FIO_WHY"
check_dmesg_clean
pass "8 jobs verified"
