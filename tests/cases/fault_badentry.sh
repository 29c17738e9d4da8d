#!/bin/sh
# fault_badentry: the device writes a response entry of an unknown type
# (0x33), then one with an entry count of 0.  The driver must skip the
# first (its command then times out and is recovered) and may complete the
# second (an ISP1040 status entry is one entry whatever the count says);
# nothing hangs and the data stays right.  Linux's qla1280 never advances
# past an entry of unknown type and spins in its interrupt handler: this
# case is in its table, not in its suite.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
p=$(pattern fb 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
reset_begin fb
for what in type count; do
	# a driver using fast posting (qla1280) gets only unclean completions
	# as status entries: a BUSY makes sure one is there to garble
	host_qom_set x-fault "status 0x08 1" >/dev/null || fail "arm busy"
	host_qom_set x-fault "corrupt $what 1" >/dev/null || fail "arm corrupt $what"
	must dd if="$dev" of=/tmp/fb.rb bs=64k count=16 iflag=direct
	cmp "$p" /tmp/fb.rb >/dev/null || fail "data differs after corrupt $what"
done
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 4)) ] || fail "want 4 faults (2 corrupt entries, 2 busy), got $((f1 - f0))"
if is_qlisp; then
	dmesg_since_start | grep -q 'unexpected response entry type 0x33' || fail "bad entry type not logged"
fi
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
# whatever recovery reset: its markers and unit attentions
# shellcheck disable=SC2046
expect_reset_effects fb 0 $(all_disks)
dmesg_allow 'unknown handle|unexpected response entry|abort handle|timing out command|timed out|not returned by the firmware|qlisp [0-9a-f:.]+: host reset$|mailbox command 0x1[5-8]'
check_dmesg_clean
pass "bad entry type skipped and recovered, zero entry count survived"
