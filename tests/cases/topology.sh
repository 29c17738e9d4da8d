#!/bin/sh
# topology: the bus of the *-topo suites: targets 8, 12 and 15 of the wide
# bus, LUNs 0, 3 and 7 of target 12 (gaps at 1, 2, 4-6), a disk at the
# initiator's own ID (SELF_TARGET) that must never be scanned, and a
# CD-ROM at CD_TARGET.  Exactly the expected devices appear, each disk has
# its size, REPORT LUNS of target 12 lists 0, 3, 7, a rescan (and an
# explicit scan of the initiator's ID) adds nothing, and fresh data written
# to every disk reads back and is on the host's images (host truth).
. /qlisp/lib.sh
[ -n "${SELF_TARGET:-}" ] && [ -n "${CD_TARGET:-}" ] || fail "suite gives no SELF_TARGET/CD_TARGET"
need_disks
h=$(hba_host) || fail "no scsi_host with proc_name $VMT_PROC"
# the CD-ROM is not in the disk list; wait for it too
t=30
while [ ! -e "/sys/bus/scsi/devices/$h:0:$CD_TARGET:0" ] && [ $t -gt 0 ]; do
	sleep 1
	t=$((t - 1))
done
expected() {
	i=0
	while [ $i -lt "$(ndisks)" ]; do
		disk_hctl $i
		i=$((i + 1))
	done
	echo "$h:0:$CD_TARGET:0"
}
want=$(expected | sort)
check_set() { # label
	have=$(hba_devices | sort)
	[ "$have" = "$want" ] || fail "$1: devices $(echo $have) != expected $(echo $want)"
}
check_set "after the scan"
hba_devices | grep -q ":0:$SELF_TARGET:" && fail "a device at the initiator's ID $SELF_TARGET"

# sizes, and the targets above 7 really are 8..15
i=0
wide=0
while [ $i -lt "$(ndisks)" ]; do
	sd=$(disk_sd $i) || fail "no sd for disk $i"
	b=$(($(cat /sys/block/${sd#/dev/}/size) * 512))
	[ "$b" = "$(disk_bytes $i)" ] || fail "$(disk_hctl $i): $b bytes, want $(disk_bytes $i)"
	[ "$(disk_target $i)" -ge 8 ] && wide=$((wide + 1))
	i=$((i + 1))
done
[ $wide -ge 3 ] || fail "the suite has $wide disks on targets 8-15, want at least 3"

# REPORT LUNS on target 12, LUN 0: exactly 0, 3, 7
k=0
while [ $k -lt "$(ndisks)" ]; do
	[ "$(disk_target $k)" = 12 ] && [ "$(disk_lun $k)" = 0 ] && break
	k=$((k + 1))
done
[ $k -lt "$(ndisks)" ] || fail "no disk at target 12 LUN 0"
must sg_luns "$(disk_sg $k)"
# (in any order: SPC does not fix one, and QEMU's follows its bus list)
luns=$(sed -n 's/^ *\([0-9a-f]\{16\}\)$/\1/p' /tmp/run.out | sort | tr '\n' ' ')
[ "$luns" = "0000000000000000 0003000000000000 0007000000000000 " ] ||
	fail "REPORT LUNS of target 12: '$luns'"

# a rescan of everything, and one of the initiator's own ID, add nothing
echo "- - -" >/sys/class/scsi_host/host$h/scan
echo "0 $SELF_TARGET 0" >/sys/class/scsi_host/host$h/scan 2>/dev/null
check_set "after a rescan"

# fresh data on every disk, 256 sectors at a spot of its own, 32 per command
i=0
while [ $i -lt "$(ndisks)" ]; do
	rw_check $i $((1000 + 77 * i)) 256 32 || fail "$(disk_hctl $i): $RW_WHY"
	r=$(host_truth $i) || fail "$(disk_hctl $i): host: $r"
	i=$((i + 1))
done
check_dmesg_clean
pass "$(ndisks) disks (targets 0-15, LUNs 0/3/7) and the CD at their H:C:T:L, nothing at ID $SELF_TARGET; data verified by the host"
