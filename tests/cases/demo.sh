#!/bin/sh
# demo: what `make demo` shows: qlisp attaching to the ISP1040 model, the
# disks behind it, an INQUIRY, and a short fio run.  It also checks them.
. /qlisp/lib.sh

show() { echo "demo\$ $*"; "$@"; }
echo "demo: ===== loading qlisp ====="
must load_driver
wait_disks 60 || fail "disks did not appear"
dmesg | grep -E 'qlisp [0-9a-f]{4}:|scsi host[0-9]+:|\] scsi [0-9:]+: Direct|\] sd [0-9:]+: \[sd[a-z]+\] [0-9]+ ' |
	sed 's/^/demo: /'
echo "demo: ===== adapter (sysfs) ====="
h=$(hba_host)
for a in fw_version chip_revision nvram; do
	echo "demo: $a: $(cat /sys/class/scsi_host/host$h/$a)"
done
echo "demo: ===== disks ====="
i=0
while [ $i -lt "$(ndisks)" ]; do
	echo "demo: $(disk_hctl $i) $(disk_sd $i) $(disk_sg $i) $(cat /sys/block/$(basename $(disk_sd $i))/size) sectors"
	i=$((i + 1))
done
echo "demo: ===== sg_inq $(disk_sg 0) ====="
sg_inq "$(disk_sg 0)" >/tmp/inq.out 2>&1 || fail "sg_inq failed"
sed 's/^/demo: /' /tmp/inq.out
grep -q 'Vendor identification: QEMU' /tmp/inq.out || fail "unexpected INQUIRY data"
echo "demo: ===== fio: 4k random read, QD 16, 5 s on $(disk_sd 0) ====="
fio --name=demo --filename="$(disk_sd 0)" --ioengine=libaio --direct=1 \
	--rw=randread --bs=4k --iodepth=16 --runtime=5 --time_based \
	--size=64m >/tmp/fio.out 2>&1 || fail "fio failed"
grep -E 'read: IOPS|lat \(usec\): min|err=' /tmp/fio.out | sed 's/^/demo: /'
check_dmesg_clean
pass "qlisp attached, $(ndisks) disks, INQUIRY and fio ok"
