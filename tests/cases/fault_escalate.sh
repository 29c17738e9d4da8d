#!/bin/sh
# fault_escalate: a swallowed command whose ABORT fails and whose device and
# target resets fail too: recovery escalates to a bus (or adapter) reset,
# the command is retried and the data is right.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
resets() { host_stat resets; }
# The firmware's own execution-timeout reset (x-stat-timeouts: the command
# entry's timeout ran out first: qla1280 sets it to the midlayer's, qlisp
# two seconds longer) is a bus reset too.
big() {
	_b=$(qom_num x-stat-bus-resets) && _c=$(qom_num x-stat-chip-resets) &&
		_t=$(qom_num x-stat-timeouts) && echo $((_b + _c + _t))
}
p=$(pattern fe 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
is_qlisp && r0=$(resets)
b0=$(big) || fail "cannot read the model's reset counters"
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
reset_begin fe
host_qom_set x-fault "fail-aborts 1" >/dev/null || fail "cannot arm fail-aborts"
host_qom_set x-fault "fail-resets 2" >/dev/null || fail "cannot arm fail-resets"
host_qom_set x-fault "swallow 1" >/dev/null || fail "cannot arm swallow"
must dd if="$dev" of=/tmp/fe.rb bs=64k count=16 iflag=direct
# a driver that skips a reset level leaves a fault armed: not for later cases
host_qom_set x-fault clear >/dev/null
cmp "$p" /tmp/fe.rb >/dev/null || fail "data differs after recovery"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
b1=$(big) || fail "cannot read the model's reset counters"
say "faults $f0 -> $f1, model bus+chip resets $b0 -> $b1"
[ "$f1" -ge $((f0 + 2)) ] || fail "the swallow and the failed abort did not both fire"
[ "$b1" -gt "$b0" ] || fail "the model saw no bus or chip reset"
if is_qlisp; then
	r1=$(resets)
	[ "$f1" -eq $((f0 + 4)) ] || fail "want 4 faults (swallow, abort, 2 resets), got $((f1 - f0))"
	[ "$r1" -gt "$r0" ] || fail "no bus or host reset counted by the driver"
	dmesg_since_start | grep -q 'abort handle .*: refused' || fail "abort was not refused"
fi
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
# the bus (or firmware timeout) reset it ended in: markers and a unit
# attention from every LUN
# shellcheck disable=SC2046
expect_reset_effects fe 0 $(all_disks)
[ "$RESETS_N" -gt 0 ] || fail "the model counted no reset that calls for a marker"
dmesg_allow 'abort handle|Unable to abort command|timing out command|timed out|mailbox command 0x1[67] failed|qlisp [0-9a-f:.]+: host reset$'
check_dmesg_clean
pass "abort and device resets refused ($((f1 - f0)) faults); recovered by a bus or chip reset"
