#!/bin/sh
# attach: load the suite's HBA driver, wait for the scan, expect exactly the
# disks the runner attached at the expected H:C:T:L and a clean dmesg.
. /qlisp/lib.sh

[ -n "$VMT_DRIVER" ] || fail "no driver given (vmt_driver)"
if driver_loaded; then
	say "$VMT_DRIVER already loaded"
else
	must load_driver
fi
driver_loaded || fail "module $VMT_DRIVER not in /sys/module after modprobe"
h=$(hba_host) || fail "no scsi_host with proc_name $VMT_PROC"
# qla1280 and qlisp both claim 1077:1020: the HBA must be bound to the
# driver under test
pcidev=$(readlink -f "/sys/class/scsi_host/host$h/device/..")
bound=$(basename "$(readlink "$pcidev/driver")")
[ "$bound" = "$VMT_DRIVER" ] || fail "${pcidev##*/} is bound to '$bound', not $VMT_DRIVER"
wait_disks 90 || fail "disks did not appear: have $(hba_devices | tr '\n' ' ')"
# Late scan results would show up here: a scan through sysfs waits for
# the host's asynchronous scan to finish (scsi_scan_host_selected), so once
# it returns the scan is over; then count.
echo "- - -" >"/sys/class/scsi_host/host$h/scan" || fail "rescan of host$h failed"

expected=$(i=0; while [ $i -lt "$(ndisks)" ]; do disk_hctl $i; i=$((i + 1)); done | sort)
found=$(hba_devices | sort)
say "expected: $(echo $expected)"
say "found:    $(echo $found)"
[ "$found" = "$expected" ] || fail "devices $(echo $found) != expected $(echo $expected)"

# Every device is a disk with a block node and a sg node, all distinct.
n=$(ndisks)
[ "$(ls /sys/class/scsi_disk | grep -c "^$h:")" = "$n" ] ||
	fail "scsi_disk count on host$h is not $n"
i=0
: >/tmp/nodes
while [ $i -lt "$n" ]; do
	sd=$(disk_sd $i) || fail "no block device for $(disk_hctl $i)"
	sg=$(disk_sg $i) || fail "no sg device for $(disk_hctl $i)"
	[ -b "$sd" ] || fail "$sd is not a block device"
	[ -c "$sg" ] || fail "$sg is not a char device"
	[ "$(cat /sys/bus/scsi/devices/$(disk_hctl $i)/type)" = 0 ] || fail "$(disk_hctl $i) is not type 0"
	echo "$sd $sg" | tr ' ' '\n' >>/tmp/nodes
	say "disk $i: $(disk_hctl $i) $sd $sg"
	i=$((i + 1))
done
[ "$(sort -u /tmp/nodes | wc -l)" = $((2 * n)) ] || fail "device nodes not distinct"
check_dmesg_clean
pass "$n disks at $(echo $expected)"
