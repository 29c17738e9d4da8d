#!/bin/sh
# fault_mbox_timeout: a mailbox command that gets no answer in time (the
# interrupt is lost while a device reset runs) must make qlisp reset the
# chip: the answer may still come, and taken for the next command's it would
# report that command done when it was not.  The model counts the chip
# reset; I/O continues and the data verifies.  (qlisp only: its stats.)
. /qlisp/lib.sh
need_disks
is_qlisp || { pass "qlisp's mailbox timeout handling only (driver $VMT_DRIVER)"; exit 0; }
dev=$(disk_sd 0)
sg=$(disk_sg 0)
p=$(pattern mt 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
c0=$(host_qom_get x-stat-chip-resets) || fail "cannot read the model's chip resets"
t0=$(host_stat mbox_timeouts)
[ -n "$t0" ] || fail "the driver has no mbox_timeouts counter"

reset_begin mt
host_qom_set x-fault "irq-lost 1" >/dev/null || fail "cannot arm irq-lost"
# a device reset is one mailbox command (ABORT_DEVICE), no escalation
sg_reset -d "$sg" >/tmp/mt.out 2>&1 &
spid=$!
n=0
until dmesg_since_start | grep -q 'mailbox command 0x16 timed out'; do
	n=$((n + 1))
	[ $n -lt 100 ] || { host_qom_set x-fault "irq-lost 0" >/dev/null; fail "no mailbox timeout logged in 20 s"; }
	sleep 0.2
done
host_qom_set x-fault "irq-lost 0" >/dev/null || fail "cannot disarm irq-lost"
wait $spid
say "sg_reset -d exited $? (a timed-out reset fails)"
t1=$(host_stat mbox_timeouts)
[ "$t1" -gt "$t0" ] || fail "the driver did not count the mailbox timeout"
# the chip is reset (by the reset work) within a few seconds
n=0
while :; do
	c1=$(host_qom_get x-stat-chip-resets) || fail "cannot read the model's chip resets"
	[ "$c1" -gt "$c0" ] && break
	n=$((n + 1))
	[ $n -lt 30 ] || fail "no chip reset within 30 s of the mailbox timeout"
	sleep 1
done
rdy=$(host_qom_get fw-ready)
[ "$rdy" = true ] || fail "the firmware is not taking requests after the reset ($rdy)"
must dd if="$dev" of=/tmp/mt.rb bs=64k count=16 iflag=direct
cmp "$p" /tmp/mt.rb >/dev/null || fail "data differs after the chip reset"
q=$(pattern mt2 2)
must dd if="$q" of="$dev" bs=64k count=32 seek=64 oflag=direct
must dd if="$dev" of=/tmp/mt2.rb bs=64k count=32 skip=64 iflag=direct
cmp "$q" /tmp/mt2.rb >/dev/null || fail "fresh data differs after the chip reset"
# the device reset (ABORT_DEVICE) wants its marker; the chip reset brings a
# bus reset (bus_reset=1) and with it unit attentions
# shellcheck disable=SC2046
expect_reset_effects mt 0 $(all_disks)
dmesg_allow 'mailbox command 0x1[5-8] (timed out, resetting the chip|failed: -(110|5) \(status 0x001[5-8]\)|not sent: the chip awaits its reset)$|sd [0-9:]+: Power-on or device reset occurred$|qlisp [0-9a-f:.]+: host reset$|timing out command, waited|abort handle [0-9]+: (done|refused)'
check_dmesg_clean
pass "mailbox timeout: chip reset ($((c1 - c0)) by the model's count), data verified"
