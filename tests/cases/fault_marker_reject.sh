#!/bin/sh
# fault_marker_reject: the firmware hands a marker it rejects back with
# error flags and the marker's own bytes 4-7, which the driver wrote as
# zero.  That entry must not complete a live command (issue 14 item 5:
# with handles equal to the blk-mq tag, handle 0 named the command with
# tag 0, which was unmapped and completed while the chip still owned it).
# fio writes and verifies disks A and B at queue depth 64 each (half of
# qlisp's 256 tags live, so that tag 0 is live at most rejections) while
# ten device resets of disk C (idle: the reset aborts its device's
# commands) each send a marker the model rejects (fault reject-marker);
# qlisp sends the marker again.  Checks: every rejection
# took effect in the model, no completion for an unknown handle, no
# command completed as "firmware rejected a request", fio verifies, and
# the model counted more markers than rejections (they were resent).
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
devb=$(disk_sd 1)
sgc=$(disk_sg "$(disk_c)")
for d in "$dev" "$devb"; do
	echo 64 >"/sys/block/${d#/dev/}/device/queue_depth" 2>/dev/null
done
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
k0=$(qom_num x-stat-markers) || fail "cannot read x-stat-markers"
b0=$(host_stat bad_handles)
is_qlisp && [ -z "$b0" ] && fail "cannot read bad_handles"
fio_pass mr --ioengine=libaio --iodepth=64 --direct=1 --rw=randrw --bs=4k \
	--size=24m --name=mra --filename="$dev" --name=mrb --filename="$devb" &
fpid=$!
wait_io "$dev" 64 || fail "fio did not start"
i=0
while [ $i -lt 10 ]; do
	kill -0 $fpid 2>/dev/null || break
	host_qom_set x-fault "reject-marker 1" >/dev/null || fail "cannot arm reject-marker"
	run sg_reset -d "$sgc" || fail "sg_reset -d $sgc failed"
	# I/O goes on after it: 16 more completions, unless fio ends first
	# (its verify is checked below)
	wait_io "$dev" 16 60 $fpid || fail "no I/O completed after rejected marker $((i + 1))"
	i=$((i + 1))
done
[ $i -ge 4 ] || fail "fio ended after $i resets"
wait $fpid
frc=$?
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
k1=$(qom_num x-stat-markers) || fail "cannot read x-stat-markers"
say "resets $i, faults $((f1 - f0)), markers taken $((k1 - k0))"
[ $((f1 - f0)) -eq $i ] || fail "$((f1 - f0)) markers rejected, want $i"
if is_qlisp; then
	# a live command completed by a rejected entry is logged like this
	# (with handles equal to tags: 2 of 10 in one run)
	n=$(dmesg_since_start | grep -c 'firmware rejected a request')
	[ "$n" -eq 0 ] || fail "$n live commands completed by a rejected marker"
	b1=$(host_stat bad_handles)
	[ "$b1" = "$b0" ] || fail "$((b1 - b0)) completions for unknown handles"
	[ "$(dmesg_since_start | grep -c 'rejected response entry')" -ge 1 ] ||
		fail "the driver did not report the rejected marker"
fi
[ $frc -eq 0 ] || fail "across rejected markers: $(fio_why mr)"
[ $((k1 - k0)) -ge $i ] || fail "$((k1 - k0)) markers taken after $i rejected: not resent"
dmesg_allow 'qlisp [0-9a-f:.]+: rejected response entry|Power-on or device reset occurred'
check_dmesg_clean
pass "$i rejected markers during verified I/O: no command completed by one, markers resent"
