#!/bin/sh
# fault_timeout: the model swallows one command; the midlayer times it out,
# the driver recovers it (qlisp: an ABORT mailbox command), the retry
# succeeds and the data read back is right.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
p=$(pattern ft 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
f0=$(qom_num x-stat-faults) || fail "no x-stat-faults counter"
a0=$(qom_num x-stat-aborts) || fail "cannot read x-stat-aborts"
r0=$(recoveries) || fail "cannot read the model's recovery counters"
reset_begin ft
host_qom_set x-fault "swallow 1" >/dev/null || fail "cannot arm the fault"
must dd if="$dev" of=/tmp/ft.rb bs=64k count=16 iflag=direct
cmp "$p" /tmp/ft.rb >/dev/null || fail "data differs after the abort"
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 1)) ] || fail "fault did not fire ($f0 -> $f1)"
r1=$(recoveries) || fail "cannot read the model's recovery counters"
[ "$r1" -gt "$r0" ] || fail "the model saw no abort or reset"
if is_qlisp; then
	a1=$(qom_num x-stat-aborts) || fail "cannot read x-stat-aborts"
	[ "$a1" -eq $((a0 + 1)) ] || fail "want one ABORT at the model, got $((a1 - a0))"
	dmesg_since_start | grep -q 'abort handle .*: done' || fail "no successful abort in dmesg"
fi
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
# an abort resets nothing and needs no marker; whatever reset the driver
# escalated to must be followed by its marker and unit attentions
# shellcheck disable=SC2046
expect_reset_effects ft 0 $(all_disks)
is_qlisp && [ "$RESETS_N" -ne 0 ] && fail "qlisp reset ($RESETS_N) where an ABORT was enough"
dmesg_allow 'abort handle|timing out command|timed out'
check_dmesg_clean
pass "swallowed command recovered ($((r1 - r0)) model abort/resets) and retried"
