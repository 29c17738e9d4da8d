#!/bin/sh
# revisions: qlisp programs each ISP1020/1040 revision as FreeBSD's isp
# does (suite qlisp-revs: one model adapter per revision, BIU CONF0 1-6,
# one disk each).  Per adapter:
# 1. chip_revision names the revision, and the PCI revision ID matches;
# 2. chip_setup shows what the driver chose: Ultra only on the 1040B/C
#    (RISC PSR), RISC clock 40 MHz on the 1020/1020A and 60 MHz on the 1040
#    family, 6 mailboxes on pre-A 1020/1040 silicon, no CONF1 FIFO
#    threshold on the 1040A, async data setup 6 (1020 class) or 9 (1040
#    family), and Fast-10 (period factor 25) on chips without Ultra: the
#    NVRAM's Fast-20 clamped, or the Fast-10 default (offset 12) where the
#    NVRAM is blank;
# 3. the CONF1 register, read through I/O space: FIFO threshold bits clear
#    on the 1040A, set elsewhere, burst on;
# 4. what the firmware negotiated with the disk (GET_TARGET_PARAMETERS, the
#    transfer attribute) is the driver's period and offset;
# 5. fio writes and verifies the adapter's disk;
# 6. reloaded with firmware=rom, every adapter runs the ROM firmware with a
#    256-entry request ring, and fio verifies each disk.
. /qlisp/lib.sh
is_qlisp || { pass "qlisp's chip set-up only (driver $VMT_DRIVER)"; exit 0; }
driver_loaded || must load_driver
wait_disks 90 || fail "disks did not appear (have: $(ls /sys/class/scsi_disk | tr '\n' ' '))"

# chip: ultra clock mailboxes fifo_threshold async_setup period offset disk-MiB
want() {
	case $1 in
	ISP1020) echo "ultra=0 clock=40 mailboxes=6 fifo_threshold=on async_setup=6 period=25 offset=8 64" ;;
	ISP1020A) echo "ultra=0 clock=40 mailboxes=8 fifo_threshold=on async_setup=6 period=25 offset=8 65" ;;
	ISP1040) echo "ultra=0 clock=60 mailboxes=6 fifo_threshold=on async_setup=9 period=25 offset=12 66" ;;
	ISP1040A) echo "ultra=0 clock=60 mailboxes=8 fifo_threshold=off async_setup=9 period=25 offset=8 67" ;;
	ISP1040B) echo "ultra=1 clock=60 mailboxes=8 fifo_threshold=on async_setup=9 period=12 offset=8 68" ;;
	ISP1040C) echo "ultra=1 clock=60 mailboxes=8 fifo_threshold=on async_setup=9 period=12 offset=8 69" ;;
	*) return 1 ;;
	esac
}
seen=""
n=0
for hd in /sys/class/scsi_host/host*; do
	[ "$(cat "$hd/proc_name")" = "$VMT_PROC" ] || continue
	h=${hd##*/host}
	rev=$(cat "$hd/chip_revision")
	chip=${rev%% *}
	setup=$(cat "$hd/chip_setup")
	say "host$h: $rev; $setup"
	w=$(want "$chip") || fail "host$h: unexpected chip '$rev'"
	case " $seen " in *" $chip "*) fail "$chip attached twice" ;; esac
	seen="$seen $chip"
	n=$((n + 1))
	conf0=$(echo "$rev" | sed -n 's/.*CONF0 \([0-9]*\),.*/\1/p')
	pci=$(readlink -f "$hd/device/..")
	[ "$(cat "$pci/revision")" = "$(printf '0x%02x' "$conf0")" ] ||
		fail "host$h: PCI revision $(cat "$pci/revision"), CONF0 $conf0"
	exp="chip=$chip ${w% *} request_ring=1024"
	[ "$setup" = "$exp" ] || fail "host$h: chip_setup '$setup', want '$exp'"
	# CONF1's low byte (burst, FIFO threshold) through the I/O BAR (the
	# driver maps the memory BAR, which IO_STRICT_DEVMEM keeps from us)
	io=$(sed -n 1p "$pci/resource" | cut -d' ' -f1)
	conf1=$(dd if=/dev/port bs=1 skip=$((io + 6)) count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	[ -n "$conf1" ] || fail "host$h: cannot read CONF1 at I/O $io"
	say "host$h: CONF1 low byte $(printf 0x%02x "$conf1")"
	[ $((conf1 & 4)) -ne 0 ] || fail "host$h: CONF1 $conf1 without burst"
	if [ "$chip" = ISP1040A ]; then
		[ $((conf1 & 0x70)) -eq 0 ] || fail "host$h: FIFO threshold in CONF1 ($conf1) on a 1040A"
	else
		[ $((conf1 & 0x70)) -ne 0 ] || fail "host$h: no FIFO threshold in CONF1 ($conf1) on a $chip"
	fi
	# the disk of this adapter, by size
	mib=${w##* }
	dev=""
	for d in /sys/class/scsi_disk/$h:0:0:0; do
		blk=$(ls "$d/device/block" 2>/dev/null) && dev=/dev/$blk
	done
	[ -n "$dev" ] || fail "host$h: no disk"
	[ $(($(cat "/sys/block/${dev#/dev/}/size") / 2048)) -eq "$mib" ] ||
		fail "host$h: $dev is not the ${mib} MiB disk"
	# negotiated with the disk (it offers sync, not wide)
	must dd if="$dev" of=/dev/null bs=4k count=4 iflag=direct
	p=${exp#*period=}
	p=${p%% *}
	o=${exp#*offset=}
	o=${o%% *}
	got=$(sed -n 's/^0 .* now=\([a-z]*,[a-z]*\) offset=\([0-9]*\) period=\([0-9]*\)$/\1 \2 \3/p' "$hd/transfer")
	[ "$got" = "narrow,sync $o $p" ] || fail "host$h ($chip): negotiated '$got', want 'narrow,sync $o $p'"
	# and the driver asked the firmware for no more than that
	asked=$(sed -n 's/^0 want=[a-z]*,[a-z]* offset=\([0-9]*\) period=\([0-9]*\) .*/\1 \2/p' "$hd/transfer")
	[ "$asked" = "$o $p" ] || fail "host$h ($chip): asked for offset/period '$asked', the chip settled on '$o $p'"
	fio_pass rev$h --name=rev$h --filename="$dev" --ioengine=libaio \
		--iodepth=16 --direct=1 --rw=randrw --bs=4k --size=4m ||
		fail "$(fio_why rev$h)"
done
[ "$n" -eq 6 ] || fail "$n qlisp adapters, want 6 (seen:$seen)"

# with the chip's ROM firmware (which may be old) the request ring is the
# 256 entries FreeBSD's isp and qla1280 use on this family
must rmmod "$VMT_DRIVER"
# shellcheck disable=SC2046
run modprobe "$VMT_DRIVER" firmware=rom $(echo "${VMT_MODARGS:-}" | tr ':' ' ') ||
	fail "modprobe $VMT_DRIVER firmware=rom failed"
wait_disks 90 || fail "disks did not come back with the ROM firmware"
m=0
for hd in /sys/class/scsi_host/host*; do
	[ "$(cat "$hd/proc_name")" = "$VMT_PROC" ] || continue
	h=${hd##*/host}
	fw=$(cat "$hd/fw_version")
	setup=$(cat "$hd/chip_setup")
	case $fw in *rom) ;; *) fail "host$h runs '$fw', not the ROM firmware" ;; esac
	case $setup in *" request_ring=256") ;; *) fail "host$h with ROM firmware: $setup" ;; esac
	dev=/dev/$(ls /sys/class/scsi_disk/$h:0:0:0/device/block 2>/dev/null)
	[ -b "$dev" ] || fail "host$h: no disk with the ROM firmware"
	fio_pass rom$h --name=rom$h --filename="$dev" --ioengine=libaio \
		--iodepth=32 --direct=1 --rw=randrw --bs=4k --size=4m ||
		fail "$(fio_why rom$h)"
	m=$((m + 1))
done
[ "$m" -eq 6 ] || fail "$m adapters with the ROM firmware, want 6"
check_dmesg_clean
pass "six revisions:$seen; each set up, negotiated and verified as expected; ROM firmware with a 256-entry ring verified on each"
