#!/bin/sh
# negotiate: a target that answers wide (WDTR) or sync (SDTR) negotiation
# with MESSAGE REJECT makes the chip end the negotiating command with
# completion status 0x1F or 0x20.  qlisp must drop that target to narrow
# (resp. async) with SET_TARGET_PARAMETERS and complete the command, which
# the chip ran in full, without the caller seeing a failure, once per target
# and kind, with one log line;
# the fallback sticks (a bus reset renegotiates without it) until it is
# cleared through the transfer attribute.  Suite qlisp-neg: target 0
# refuses wide, target 1 sync, target 2 takes both; all offer wide.
# 1. driver loaded in the case: exactly one fallback line per refusing
#    target and kind, none for target 2; counters neg_fallbacks=2;
# 2. fio writes and verifies every disk;
# 3. the transfer attribute (GET_TARGET_PARAMETERS from the firmware)
#    shows target 0 narrow and sync, target 1 wide and async, target 2
#    wide and sync, and the refusals;
# 4. a bus reset renegotiates every target: no new refusal;
# 5. with target 0's fallback cleared, the next command to it is an SG_IO
#    READ(10), which has no retries: it must succeed with its data (the
#    driver completes it as the chip ran it) and the fallback is taken
#    again, with its log line.
. /qlisp/lib.sh
is_qlisp || { pass "qlisp's negotiation fallback only (driver $VMT_DRIVER)"; exit 0; }
if driver_loaded; then
	must rmmod "$VMT_DRIVER"
fi
run load_driver || fail "modprobe $VMT_DRIVER failed"
wait_disks 60 || fail "disks did not appear (have: $(hba_devices | tr '\n' ' '))"
h=/sys/class/scsi_host/host$(hba_host)
[ -w "$h/transfer" ] || fail "the driver has no transfer attribute"

nlines() { dmesg_since_start | grep -c "qlisp .*: target $1 refused $2 negotiation: now $3$"; }
t0=$(nlines 0 wide narrow) t1=$(nlines 1 sync async)
o=$(dmesg_since_start | grep -c 'qlisp .*refused')
say "fallback lines: target 0 wide $t0, target 1 sync $t1, all $o"
[ "$t0" -eq 1 ] || fail "$t0 lines for target 0 refusing wide, want 1"
[ "$t1" -eq 1 ] || fail "$t1 lines for target 1 refusing sync, want 1"
[ "$o" -eq 2 ] || fail "$o refusal lines, want 2"
[ "$(host_stat neg_fallbacks)" = 2 ] || fail "neg_fallbacks=$(host_stat neg_fallbacks), want 2"
r0=$(host_stat neg_rejects)
[ "$r0" = 2 ] || fail "neg_rejects=$r0, want 2"

i=0
while [ $i -lt 3 ]; do
	dev=$(disk_sd $i) || fail "no block device for disk $i"
	fio_pass neg$i --name=neg$i --filename="$dev" --ioengine=libaio \
		--iodepth=16 --direct=1 --rw=randrw --bs=4k --size=8m ||
		fail "$(fio_why neg$i)"
	i=$((i + 1))
done

cat "$h/transfer" >/tmp/neg.transfer
cat /tmp/neg.transfer
line() { sed -n "s/^$1 //p" /tmp/neg.transfer; }
line 0 | grep -q 'refused=wide now=narrow,sync ' ||
	fail "target 0 not narrow and sync: $(line 0)"
line 1 | grep -q 'refused=sync now=wide,async ' ||
	fail "target 1 not wide and async: $(line 1)"
line 2 | grep -q 'refused=none now=wide,sync ' ||
	fail "target 2 not wide and sync: $(line 2)"

# a bus reset: the firmware renegotiates every target on its next command
sg=$(disk_sg 2)
run sg_reset -b "$sg" || fail "sg_reset -b $sg failed"
i=0
while [ $i -lt 3 ]; do
	must dd if="$(disk_sd $i)" of=/dev/null bs=4k count=16 iflag=direct
	i=$((i + 1))
done
r1=$(host_stat neg_rejects)
[ "$r1" = "$r0" ] || fail "$((r1 - r0)) refusals after the bus reset: the fallback did not stick"
grep -q 'now=narrow,sync' "$h/transfer" || fail "target 0 not narrow after the bus reset"

# clear target 0's fallback; its next command negotiates wide again and
# is refused.  That command is an SG_IO READ(10) of LBA 0, which the
# midlayer does not retry: it succeeds only if the driver completes it
# as the chip ran it.
p=$(pattern neg 1)
must dd if="$p" of="$(disk_sd 0)" bs=512 count=1 oflag=direct
echo 0 >"$h/transfer" || fail "cannot clear target 0's fallback"
grep -q '^0 .*refused=none ' "$h/transfer" || fail "target 0's fallback not cleared: $(sed -n '/^0 /p' "$h/transfer")"
sg=$(disk_sg 0)
sg_raw -r 512 -o /tmp/neg.raw "$sg" 28 00 00 00 00 00 00 00 01 00 >/tmp/neg.sgraw 2>&1 ||
	fail "SG_IO READ(10) on the renegotiating target failed: $(tr '\n' ' ' </tmp/neg.sgraw)"
head -c 512 "$p" >/tmp/neg.want
cmp /tmp/neg.want /tmp/neg.raw >/dev/null || fail "SG_IO READ(10) returned other data"
r2=$(host_stat neg_rejects)
[ "$r2" = $((r1 + 1)) ] || fail "$((r2 - r1)) refusals from the renegotiation, want 1"
[ "$(nlines 0 wide narrow)" -eq 2 ] || fail "no second fallback line for target 0"
grep -q '^0 .*refused=wide now=narrow,' "$h/transfer" ||
	fail "target 0 not narrow again: $(sed -n '/^0 /p' "$h/transfer")"
dmesg_allow "Power-on or device reset occurred"
check_dmesg_clean
pass "fallbacks: target 0 narrow, target 1 async, each once; verify clean; stuck over a bus reset; SG_IO completed unseen"
