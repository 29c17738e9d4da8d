#!/bin/sh
# fault_corrupt: the device reports a completion with a handle that was never
# issued, and one with a bad entry type.  The driver must not follow them;
# the commands they should have completed time out and recovery (up to an
# adapter reset) brings them back; data stays right.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
host=$(hba_host)
bad() { sed -n 's/.*bad_handles=\([0-9]*\).*/\1/p' "/sys/class/scsi_host/host$host/stats"; }
p=$(pattern fc 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
b0=$(bad)
for what in handle type; do
	host_qom_set fault "corrupt $what 1" >/dev/null || fail "arm corrupt $what"
	must dd if="$dev" of=/tmp/fc.rb bs=64k count=16 iflag=direct
	cmp "$p" /tmp/fc.rb >/dev/null || fail "data differs after corrupt $what"
done
b1=$(bad)
[ "$b1" -gt "$b0" ] || fail "driver did not count the unknown handle"
dmesg_since_start | grep -q 'completion for unknown handle' || fail "unknown handle not logged"
dmesg_since_start | grep -q 'unexpected response entry type 0x33' || fail "bad entry type not logged"
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
dmesg_allow 'unknown handle|unexpected response entry|abort handle|timing out command|timed out|not returned by the firmware|host reset|reset|mailbox command 0x1[5-8]'
check_dmesg_clean
pass "bad handle and bad entry type survived"
