#!/bin/sh
# fault_reset_dma: a re-initialisation must hand commands back only after
# the chip has stopped DMA.  Reads of disk B are slowed in QEMU's block
# layer (a read throttle), so at a host reset (sg_reset -H) a read is still
# in the backend: the model holds the chip's soft reset until that read
# has landed in guest memory.  fio drives disk B through SG_IO (the sg
# engine: the midlayer does not retry passthrough, so a read the reset
# ends goes straight back to fio, and fio's one buffer is mapped, not
# copied) with reads and writes mixed.  A driver that hands the read back
# before the chip has stopped lets fio fill that buffer for its next write,
# then the late read lands in it and the write puts the wrong data on the
# disk: fio's verify of that block fails.  The run must see resets end
# reads (else it proved nothing), and every written block verify.
# qlisp runs with bus_reset=0 here: the bus reset of a re-initialisation
# gives the next command a unit attention, that next command is the write
# that would carry the wrong data, and fio does not verify a failed write.
. /qlisp/lib.sh
need_disks
is_qlisp || { pass "qlisp's re-initialisation ordering (driver $VMT_DRIVER)"; exit 0; }
reload() {
	rmmod "$VMT_DRIVER" && VMT_MODARGS="${VMT_MODARGS:-}$1" load_driver &&
		wait_disks 60
}
unthrottle() { host_request "@@QMP throttle hd1 0" >/dev/null; }
restore() {
	unthrottle
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	reload "" || say "reload of $VMT_DRIVER with the suite's arguments failed"
}
die() { restore; fail "$*"; }
reload ":bus_reset=0" || die "reload of $VMT_DRIVER with bus_reset=0 failed"
dev=$(disk_sd 1)
sg=$(disk_sg 1)
r0=$(host_stat resets)
host_request "@@QMP throttle hd1 ${RESET_DMA_BPS:-32768}" >/dev/null || die "cannot throttle disk B's reads"
seed=$(next_seed)
say "fio rdma: seed $seed"
host_log "fio rdma seed $seed"
/usr/bin/fio --name=rdma --filename="$dev" --ioengine=sg --rw=randrw \
	--rwmixread=50 --bs=64k --iodepth=1 --size=3m --offset=16m \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
	--continue_on_error=io --randseed="$seed" >/tmp/fio.rdma.out 2>&1 &
fpid=$!
# SG_IO is not counted in the disk's I/O statistics: the model counts it
c0=$(qom_num x-stat-cmds) || die "cannot read the model's x-stat-cmds"
t=600
until [ "$(qom_num x-stat-cmds)" -ge $((c0 + 4)) ]; do
	t=$((t - 1))
	if [ $t -le 0 ] || ! kill -0 $fpid 2>/dev/null; then
		die "fio did not start: $(tail -n 3 /tmp/fio.rdma.out | tr '\n' ' ')"
	fi
	sleep 0.1
done
n=0
while [ $n -lt "${RESET_DMA_RESETS:-6}" ]; do
	sleep 2
	kill -0 $fpid 2>/dev/null || break
	run sg_reset -H "$sg" || die "sg_reset -H $sg failed"
	n=$((n + 1))
done
unthrottle
t=1800
while kill -0 $fpid 2>/dev/null; do
	t=$((t - 1))
	[ $t -gt 0 ] || die "fio still running 180 s after the resets"
	sleep 0.1
done
wait $fpid
frc=$?
fpid=
r1=$(host_stat resets)
reload "" || fail "reload of $VMT_DRIVER with the suite's arguments failed"
grep -E 'err=|error|verify' /tmp/fio.rdma.out | head -n 5
say "$n host resets (resets $r0 -> $r1), fio exit $frc"
if grep -iE 'verify: bad|bad header|crc32c: (verify|mismatch)|bad magic|verify failed' /tmp/fio.rdma.out >/dev/null; then
	tail -n 20 /tmp/fio.rdma.out
	fail "fio (seed $seed): a block written after a reset holds other data: $(grep -m 1 -iE 'verify|bad' /tmp/fio.rdma.out)"
fi
[ $n -ge 3 ] || fail "only $n host resets during the fio run"
[ "$r1" -ge $((r0 + n)) ] || fail "$n host resets, but resets $r0 -> $r1"
# the reset ends the command in flight and the next one gets the unit
# attention: those I/O errors are expected, anything else is not
ioerr=$(sed -n 's/.*errors *: total=\([0-9]*\),.*/\1/p' /tmp/fio.rdma.out | head -n 1)
grep -E '^fio: |err= *[0-9]' /tmp/fio.rdma.out | grep -vE 'err= *(0|5)[ :]|err=5/' >/dev/null &&
	fail "fio (seed $seed) exited $frc: $(grep -m 1 -E '^fio: |err=' /tmp/fio.rdma.out)"
grep -E 'Run status|READ:' /tmp/fio.rdma.out >/dev/null || fail "fio (seed $seed) did not finish its run (exit $frc)"
dmesg_allow "qlisp [0-9a-f:.]+: host reset$"
check_dmesg_clean
pass "$n host resets with reads in the backend ($ioerr I/O errors from the resets); every block fio wrote verified"
