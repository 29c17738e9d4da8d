#!/bin/sh
# fault_busmaster: bus mastering switched off in the HBA's PCI command
# register (through its sysfs config file) makes every DMA of the chip fail:
# the firmware reports a transfer error and the driver re-initialises it.
# 1. Off for a moment while fio writes and verifies disk A: qlisp must
#    retry the failed re-initialisation until the chip comes back, and every
#    block verify.  (Before, the first failed attempt left the adapter
#    offline for ever and every I/O hung.)
# 2. Left off: I/O must fail within seconds (DID_NO_CONNECT once the
#    retries are spent), said once, instead of hanging; with bus mastering
#    back on, a host reset brings the adapter back and the data verifies.
. /qlisp/lib.sh
need_disks
is_qlisp || { pass "qlisp's re-initialisation retries only (driver $VMT_DRIVER)"; exit 0; }
dev=$(disk_sd 0)
sg=$(disk_sg 0)
pcidev=$(readlink -f "/sys/class/scsi_host/host$(hba_host)/device/..")
cfg=$pcidev/config
[ -w "$cfg" ] || fail "no PCI config file for the HBA ($pcidev)"

# PCI command register, low byte (offset 4); bit 2 is bus master enable
cmd_byte() { dd if="$cfg" bs=1 skip=4 count=1 2>/dev/null | od -An -tu1 | tr -d ' '; }
set_cmd_byte() {
	# shellcheck disable=SC2059
	printf "\\$(printf %03o "$1")" | dd of="$cfg" bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
}
bm_off() { set_cmd_byte $(($(cmd_byte) & ~4)); }
bm_on() { set_cmd_byte $(($(cmd_byte) | 4)); }
c=$(cmd_byte)
[ $((c & 4)) -eq 4 ] || fail "bus mastering is off before the test ($c)"

# --- 1: a transient fault -----------------------------------------------
reset_begin bm
r0=$(host_stat resets)
y0=$(host_stat reinit_retries)
fio_pass bm --name=bm --filename="$dev" --ioengine=libaio --iodepth=8 \
	--direct=1 --rw=randwrite --bsrange=4k-64k --size=24m --rate=2m &
fpid=$!
wait_io "$dev" 16 || fail "fio did not start writing"
kill -0 $fpid 2>/dev/null || fail "fio ended before the fault"
bm_off
[ $(($(cmd_byte) & 4)) -eq 0 ] || fail "bus mastering did not switch off"
# off until a re-initialisation attempt has failed on it
n=0
until [ "$(host_stat reinit_retries)" -gt "$y0" ]; do
	n=$((n + 1))
	[ $n -lt 300 ] || { bm_on; fail "no re-initialisation attempt failed in 30 s with bus mastering off"; }
	sleep 0.1
done
bm_on
wait $fpid || fail "fio failed across the bus mastering fault: $(fio_why bm)"
r1=$(host_stat resets)
y1=$(host_stat reinit_retries)
say "transient: resets $r0 -> $r1, re-initialisation retries $y0 -> $y1"
[ "$r1" -gt "$r0" ] || fail "the fault caused no re-initialisation"
[ "$y1" -gt "$y0" ] || fail "no re-initialisation attempt failed: bus mastering was not off during one"
[ "$(host_stat dead)" = 0 ] || fail "adapter declared dead after a transient fault"
# shellcheck disable=SC2046
expect_reset_effects bm 0 $(all_disks)

# --- 2: bus mastering stays off -----------------------------------------
p=$(pattern bm 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
bm_off
t0=$(date +%s)
timeout 120 dd if="$dev" of=/dev/null bs=64k count=16 skip=256 iflag=direct >/tmp/bm-dd.out 2>&1
rc=$?
t1=$(date +%s)
say "read with bus mastering off: exit $rc after $((t1 - t0)) s"
[ $rc -ne 124 ] && [ $rc -ne 143 ] || { bm_on; fail "I/O hung with bus mastering off (killed after 120 s)"; }
[ $rc -ne 0 ] || { bm_on; fail "a read succeeded with bus mastering off"; }
[ $((t1 - t0)) -le 30 ] || { bm_on; fail "I/O took $((t1 - t0)) s to fail"; }
[ "$(host_stat dead)" = 1 ] || { bm_on; fail "adapter not reported offline"; }
# a second I/O fails at once, and the offline message is not repeated
timeout 30 dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct >/dev/null 2>&1 && { bm_on; fail "second read succeeded"; }
n=$(dmesg_since_start | grep -c 'adapter offline, commands fail with DID_NO_CONNECT')
[ "$n" -eq 1 ] || { bm_on; fail "adapter offline said $n times, want once"; }

bm_on
run sg_reset -H "$sg" || fail "host reset with bus mastering back on failed"
[ "$(host_stat dead)" = 0 ] || fail "the adapter did not come back after the host reset"
must dd if="$dev" of=/tmp/bm.rb bs=64k count=16 iflag=direct
cmp "$p" /tmp/bm.rb >/dev/null || fail "data differs after the adapter came back"
dmesg_allow 'firmware error 0x800[34] \(0x[0-9a-f]{4} 0x[0-9a-f]{4} 0x[0-9a-f]{4}\), resetting adapter$|firmware load failed at 0x[0-9a-f]+ \(0x[0-9a-f]{4}\)$|firmware did not start$|(request|response) queue init failed \(0x[0-9a-f]{4}\)$|adapter re-initialisation failed \(-[0-9]+\), attempt [0-9]+ of [0-9]+ in [0-9]+ ms$|adapter re-initialisation failed [0-9]+ times: adapter offline, commands fail with DID_NO_CONNECT$|sd [0-9:]+: Power-on or device reset occurred$|qlisp [0-9a-f:.]+: host reset$|I/O error, dev sd[a-z]+, sector [0-9]+ op|Buffer I/O error on dev sd[a-z]+|timing out command, waited|abort handle [0-9]+: (done|refused)'
check_dmesg_clean
pass "transient bus mastering fault: $((y1 - y0)) retries, data verified; left off: I/O failed in $((t1 - t0)) s, said once; back after host reset"
