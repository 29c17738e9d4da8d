#!/bin/sh
# fault_corrupt: the device reports a completion (status entry or fast post)
# with a handle that was never issued.  The driver must not follow it; the
# command it should have completed times out and recovery (up to an adapter
# reset) brings it back; data stays right.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
bad() { host_stat bad_handles; }
p=$(pattern fc 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
is_qlisp && b0=$(bad)
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
reset_begin fc
host_qom_set x-fault "corrupt handle 1" >/dev/null || fail "arm corrupt handle"
must dd if="$dev" of=/tmp/fc.rb bs=64k count=16 iflag=direct
cmp "$p" /tmp/fc.rb >/dev/null || fail "data differs after a bad handle"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 1)) ] || fail "want 1 corrupt completion, got $((f1 - f0))"
if is_qlisp; then
	b1=$(bad)
	[ "$b1" -gt "$b0" ] || fail "driver did not count the unknown handle"
	dmesg_since_start | grep -q 'completion for unknown handle' || fail "unknown handle not logged"
fi
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
# whatever recovery reset: its markers and unit attentions
# shellcheck disable=SC2046
expect_reset_effects fc 0 $(all_disks)
dmesg_allow 'unknown handle|invalid handle|Unable to abort command|abort handle|timing out command|timed out|not returned by the firmware|qlisp [0-9a-f:.]+: host reset$|mailbox command 0x1[5-8]'
check_dmesg_clean
pass "completion with a bad handle survived"
