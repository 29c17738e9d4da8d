#!/bin/sh
# fault_busreset: another initiator resets the bus (async 0x8001) while fio
# writes and verifies; commands come back DID_RESET and are retried.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
fio_pass br --name=br --filename="$dev" --ioengine=libaio --iodepth=16 --direct=1 \
	--rw=randwrite --bsrange=4k-128k --size=48m --rate=4m &
fpid=$!
a0=$(qom_num x-stat-async-events) || fail "cannot read x-stat-async-events"
k0=$(qom_num x-stat-markers) || fail "cannot read x-stat-markers"
reset_begin br
# each reset lands on running I/O: fio is writing, and going again after
# the first reset
wait_io "$dev" 32 || fail "fio did not start writing"
kill -0 $fpid 2>/dev/null || fail "fio ended before the fault"
host_qom_set x-fault "bus-reset" >/dev/null || fail "cannot post the bus reset"
wait_io "$dev" 32 || fail "no I/O completed after the first bus reset"
kill -0 $fpid 2>/dev/null || fail "fio ended before the second fault"
host_qom_set x-fault "bus-reset" >/dev/null || fail "cannot post the bus reset"
wait $fpid || fail "across foreign bus resets: $(fio_why br)"
a1=$(qom_num x-stat-async-events) || fail "cannot read x-stat-async-events"
[ "$a1" -ge $((a0 + 2)) ] || fail "the model posted $((a1 - a0)) async events, want 2"
# a driver must send a sync marker after each bus reset (async 0x8001,
# isp-hw-reference section 9.3; the model counts them, it does not demand
# them): one per reset at least, as I/O went on after each
k1=$(qom_num x-stat-markers) || fail "cannot read x-stat-markers"
[ "$k1" -ge $((k0 + 2)) ] || fail "$((k1 - k0)) markers after 2 bus resets, want at least 2"
expect_markers br 2 2
# every LUN on the bus was reset: a unit attention from each, and from disk
# A (I/O running across both resets) one per reset
# shellcheck disable=SC2046
expect_ua br $(all_disks)
# (qla1280 hides some as underflow retries: see expect_ua in lib.sh)
if is_qlisp; then
	[ "$(ua_count br 0)" -ge 2 ] || fail "$(ua_count br 0) unit attentions from disk A after 2 bus resets, want 2"
fi
if is_qlisp; then
	[ "$(dmesg_since_start | grep -c 'SCSI bus reset reported')" -ge 2 ] ||
		fail "driver did not see both bus resets"
fi
dmesg_allow 'bus reset reported|Power-on or device reset occurred'
check_dmesg_clean
pass "two foreign bus resets during verified I/O"
