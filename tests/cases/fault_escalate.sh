#!/bin/sh
# fault_escalate: a swallowed command whose ABORT fails and whose device and
# target resets fail too: recovery escalates to a bus reset, the command is
# retried and the data is right.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
host=$(hba_host)
resets() { sed -n 's/.*resets=\([0-9]*\).*/\1/p' "/sys/class/scsi_host/host$host/stats"; }
p=$(pattern fe 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
r0=$(resets)
f0=$(host_qom_get stat-faults)
host_qom_set fault "fail-aborts 1" >/dev/null || fail "cannot arm fail-aborts"
host_qom_set fault "fail-resets 2" >/dev/null || fail "cannot arm fail-resets"
host_qom_set fault "swallow 1" >/dev/null || fail "cannot arm swallow"
must dd if="$dev" of=/tmp/fe.rb bs=64k count=16 iflag=direct
cmp "$p" /tmp/fe.rb >/dev/null || fail "data differs after recovery"
f1=$(host_qom_get stat-faults)
r1=$(resets)
say "faults $f0 -> $f1, driver resets $r0 -> $r1"
[ "$f1" -eq $((f0 + 4)) ] || fail "want 4 faults (swallow, abort, 2 resets), got $((f1 - f0))"
[ "$r1" -gt "$r0" ] || fail "no bus or host reset happened"
dmesg_since_start | grep -q 'abort handle .*: refused' || fail "abort was not refused"
must dd if="$dev" of=/dev/null bs=64k count=16 iflag=direct
dmesg_allow 'abort handle|timing out command|timed out|mailbox command 0x1[67] failed|reset'
check_dmesg_clean
pass "abort, device and target reset refused; recovered by bus reset"
