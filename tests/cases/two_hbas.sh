#!/bin/sh
# two_hbas: two adapters at once.  Both get a scsi_host of the driver under
# test, each sees exactly its own disks (found by size), and fio verifies
# on a disk of each adapter at the same time.
. /qlisp/lib.sh

driver_loaded || must load_driver
hosts=""
tries=60
while [ $tries -gt 0 ]; do
	hosts=$(for h in /sys/class/scsi_host/host*; do
		[ "$(cat "$h/proc_name" 2>/dev/null)" = "$VMT_PROC" ] && echo "${h##*/host}"
	done)
	[ "$(echo "$hosts" | grep -c .)" -ge 2 ] && [ "$(ls /sys/class/scsi_disk | wc -l)" -ge 3 ] && break
	sleep 1
	tries=$((tries - 1))
done
[ "$(echo "$hosts" | grep -c .)" = 2 ] || fail "want 2 $VMT_PROC hosts, have: $(echo $hosts)"
h1=$(echo "$hosts" | sed -n 1p)
h2=$(echo "$hosts" | sed -n 2p)
# each host's disks, as target:lun:MiB
disks_of() {
	for d in /sys/class/scsi_disk/$1:*; do
		[ -e "$d" ] || continue
		hctl=${d##*/}
		blk=$(ls "$d/device/block")
		echo "$(echo "$hctl" | cut -d: -f3):$(echo "$hctl" | cut -d: -f4):$(( $(cat /sys/block/$blk/size) / 2048 ))"
	done | sort
}
a=$(disks_of "$h1")
b=$(disks_of "$h2")
say "host$h1: $(echo $a)  host$h2: $(echo $b)"
[ "$a" = "0:0:96" ] || fail "host$h1 disks are '$(echo $a)', want 0:0:96"
[ "$b" = "$(printf '3:1:72\n5:0:80')" ] || fail "host$h2 disks are '$(echo $b)', want 3:1:72 5:0:80"
# every PCI function of the model is bound to the driver under test
for dev in /sys/bus/pci/devices/*; do
	[ "$(cat "$dev/vendor"):$(cat "$dev/device")" = "0x1077:0x1020" ] || continue
	drv=$(basename "$(readlink "$dev/driver")")
	[ "$drv" = "$VMT_DRIVER" ] || fail "${dev##*/} bound to '$drv', not $VMT_DRIVER"
done
sd1=/dev/$(ls /sys/class/scsi_disk/$h1:0:0:0/device/block)
sd2=/dev/$(ls /sys/class/scsi_disk/$h2:0:5:0/device/block)
fio_pass two --ioengine=libaio --iodepth=16 --direct=1 --rw=randrw \
	--bsrange=4k-256k --size=32m \
	--name=a --filename="$sd1" --name=b --filename="$sd2" || fail "$FIO_WHY"
[ "$(grep -c 'err= *0' /tmp/fio.two.out)" -eq 2 ] || fail "fio did not finish cleanly on both adapters"
check_dmesg_clean
pass "host$h1 and host$h2 attached, verified I/O on both"
