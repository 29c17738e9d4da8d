#!/bin/sh
# fault_busreset: another initiator resets the bus (async 0x8001) while fio
# writes and verifies; commands come back DID_RESET and are retried.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
fio --name=br --filename="$dev" --ioengine=libaio --iodepth=16 --direct=1 \
	--rw=randwrite --bsrange=4k-128k --size=48m --rate=4m \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
	--randseed=$$ >/tmp/fio-br.out 2>&1 &
fpid=$!
a0=$(host_qom_get stat-async-events)
sleep 2
kill -0 $fpid 2>/dev/null || fail "fio ended before the fault"
host_qom_set fault "bus-reset" >/dev/null || fail "cannot post the bus reset"
sleep 2
host_qom_set fault "bus-reset" >/dev/null || fail "cannot post the bus reset"
wait $fpid || { tail -n 20 /tmp/fio-br.out; fail "fio failed across foreign bus resets"; }
grep -q 'err= *0' /tmp/fio-br.out || fail "fio error status"
a1=$(host_qom_get stat-async-events)
[ "$a1" -ge $((a0 + 2)) ] || fail "the model posted $((a1 - a0)) async events, want 2"
if is_qlisp; then
	[ "$(dmesg_since_start | grep -c 'SCSI bus reset reported')" -ge 2 ] ||
		fail "driver did not see both bus resets"
fi
dmesg_allow 'bus reset reported|Power-on or device reset occurred'
check_dmesg_clean
pass "two foreign bus resets during verified I/O"
