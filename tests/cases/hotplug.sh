#!/bin/sh
# hotplug: disk A (alone on its target) is unplugged from the model while
# fio reads it and fio writes and verifies on disk B.  I/O to A fails
# cleanly (no hang, no oops), B keeps verifying; when A is plugged back at
# the same target, commands reach it again.
. /qlisp/lib.sh
need_disks
deva=$(disk_sd 0)
sga=$(disk_sg 0)
t=$(disk_target 0)
l=$(disk_lun 0)
echo 10 >"/sys/block/${deva#/dev/}/device/timeout"
fio_pass hpb --name=b --filename="$(disk_sd 1)" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=32m --rate=3m &
bpid=$!
# A reads for up to 30 s: the unplug ends it with an error long before
# (a short run could end on its own first on the slow debug kernel)
fio --name=a --filename="$deva" --ioengine=libaio --iodepth=8 --direct=1 \
	--rw=randread --bs=4k --size=32m --time_based --runtime=30 \
	>/tmp/fio-hpa.out 2>&1 &
apid=$!
# unplug while both are doing I/O
wait_io "$deva" 32 || fail "fio on disk A did not start"
wait_io "$(disk_sd 1)" 16 || fail "fio on disk B did not start"
out=$(host_hmp "device_del hd0") && [ "$out" = '""' ] || fail "device_del failed: $out"
wait $apid && fail "fio on the unplugged disk reported no error"
out=$(host_hmp "device_add scsi-hd,bus=hba.0,scsi-id=$t,lun=$l,drive=d0,id=hd0") &&
	[ "$out" = '""' ] || fail "device_add failed: $out"
wait $bpid || fail "disk B while A was unplugged: $(fio_why hpb)"
# A answers again (the first command gets the power-on unit attention)
# A answers again; its first commands get unit attentions (power on,
# reported LUNs changed), so allow a few TEST UNIT READYs
tries=5
until sg_turs "$sga" >/dev/null 2>&1; do
	tries=$((tries - 1))
	[ $tries -gt 0 ] || fail "replugged disk never became ready"
	sleep 1
done
sg_dd -v if="$sga" of=/dev/null bs=512 count=2048 bpt=128 >/tmp/sgdd.out 2>&1 || { cat /tmp/sgdd.out; fail "sg_dd on the replugged disk failed: $(tail -n 3 /tmp/sgdd.out | tr "\n" " ")"; }
dmesg_allow 'I/O error|error, dev sd|hostbyte|Sense Key|Add. Sense|Result:|CDB:|Buffer I/O error|timing out|timed out|abort handle|qlisp [0-9a-f:.]+: host reset$|rejecting I/O|offline|Power-on or device reset'
check_dmesg_clean
pass "unplug during I/O failed cleanly, disk B unaffected, replugged disk answers"
