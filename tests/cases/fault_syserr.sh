#!/bin/sh
# fault_syserr: the firmware reports a system error and stops taking
# requests; the driver must re-initialise the adapter and I/O continue.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
resets() { host_stat resets; }
is_qlisp && r0=$(resets)
c0=$(qom_num x-stat-chip-resets) || fail "cannot read x-stat-chip-resets"
reset_begin se
fio_pass se --name=se --filename="$dev" --ioengine=libaio --iodepth=8 --direct=1 \
	--rw=randwrite --bsrange=4k-128k --size=32m --rate=3m &
fpid=$!
wait_io "$dev" 32 || fail "fio did not start writing"
kill -0 $fpid 2>/dev/null || fail "fio ended before the fault"
host_qom_set x-fault "system-error" >/dev/null || fail "cannot post the system error"
wait $fpid || fail "across the adapter reset: $(fio_why se)"
c1=$(qom_num x-stat-chip-resets) || fail "cannot read x-stat-chip-resets"
[ "$c1" -gt "$c0" ] || fail "the chip was not reset"
rdy=$(host_qom_get fw-ready) || fail "cannot read fw-ready"
[ "$rdy" = true ] || fail "the firmware is not taking requests after the reset ($rdy)"
if is_qlisp; then
	r1=$(resets)
	[ "$r1" -gt "$r0" ] || fail "the driver did not count an adapter reset"
	dmesg_since_start | grep -q 'firmware error 0x8002' || fail "system error not reported"
fi
# the chip reset needs no marker; the bus reset a driver does after it
# (qlisp with bus_reset=1, qla1280 always) does, and gives unit attentions
# shellcheck disable=SC2046
expect_reset_effects se 0 $(all_disks)
dmesg_allow 'firmware error 0x8002|ISP System Error|Unable to abort command|resetting adapter|Power-on or device reset occurred|timing out command|timed out|abort handle|qlisp [0-9a-f:.]+: host reset$'
check_dmesg_clean
pass "system error: adapter re-initialised, verified I/O continued"
