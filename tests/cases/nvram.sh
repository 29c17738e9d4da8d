#!/bin/sh
# nvram: an adapter whose NVRAM is blank and one whose NVRAM fails its
# checksum (suite qlisp-nvram): qlisp must say for each why it cannot use
# it, run on its documented defaults (the nvram attribute says
# source=defaults and shows them) and work: data written to a disk on each
# adapter reads back.  (qlisp only: its messages and nvram attribute.)
. /qlisp/lib.sh
is_qlisp || fail "nvram checks qlisp's NVRAM fallback"
driver_loaded || must load_driver
# the two adapters in PCI order (hba first), and their SCSI hosts
n=0
until [ "$(ls /sys/class/scsi_disk | wc -l)" -ge 2 ]; do
	n=$((n + 1))
	[ $n -lt 600 ] || fail "the disks of both adapters did not appear in 60 s"
	sleep 0.1
done
defaults="source=defaults initiator_id=7 bus_reset_delay=3 reset_disable=0 selection_timeout=250 retry_count=0 retry_delay=1 tag_age=8 max_queue_depth=256 fifo_threshold=2"
i=0
for pci in $(for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1077:0x1020" ] && echo "${d##*/}"
done | sort); do
	case $i in
	0) why="not present" what=blank lun=0:0 ;;
	1) why="checksum bad" what=corrupt lun=2:0 ;;
	*) fail "more than two adapters" ;;
	esac
	h=$(ls "/sys/bus/pci/devices/$pci" | sed -n 's/^host\([0-9]*\)$/\1/p')
	[ -n "$h" ] || fail "no SCSI host on $pci ($what NVRAM)"
	dmesg | grep -q "qlisp $pci: NVRAM $why, using defaults\$" ||
		fail "$pci ($what NVRAM): no 'NVRAM $why, using defaults'"
	dmesg | grep -q "qlisp $pci: .*, NVRAM defaults, IRQ" ||
		fail "$pci ($what NVRAM): the attach line does not say NVRAM defaults"
	got=$(cat "/sys/class/scsi_host/host$h/nvram")
	[ "$got" = "$defaults" ] || fail "$pci ($what NVRAM): nvram says '$got', want '$defaults'"
	[ -e "/sys/class/scsi_disk/$h:0:$lun" ] || fail "$pci ($what NVRAM): no disk $lun"
	sd=/dev/$(ls "/sys/class/scsi_disk/$h:0:$lun/device/block")
	p=$(pattern nv$i 1)
	must dd if="$p" of="$sd" bs=64k count=16 seek=$((16 + i)) oflag=direct
	must dd if="$sd" of=/tmp/nv.rb bs=64k count=16 skip=$((16 + i)) iflag=direct
	cmp "$p" /tmp/nv.rb >/dev/null || fail "$pci ($what NVRAM): data read back differs"
	say "$pci host$h: $what NVRAM: '$why', defaults used, data verified"
	i=$((i + 1))
done
[ $i = 2 ] || fail "want 2 adapters, found $i"
check_dmesg_clean
pass "blank and corrupt NVRAM: said so, defaults used, I/O verified on both"
