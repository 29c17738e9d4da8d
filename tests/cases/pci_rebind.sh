#!/bin/sh
# pci_rebind: the HBA unbound from qlisp through sysfs while reads and
# writes run on disk A, then bound again.  The unbind must finish (no hang,
# no oops), the running I/O fail cleanly instead of hanging, the SCSI host
# and its disks go away; after the bind the disks come back and fresh data
# written then verifies.  Slab use after the cycle is compared with before
# (a leak of the rings, the host or the firmware would show).
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
pcidev=$(readlink -f "/sys/class/scsi_host/host$(hba_host)/device/..")
bdf=${pcidev##*/}
drv=/sys/bus/pci/drivers/$VMT_DRIVER
[ -e "$drv/$bdf" ] || fail "$bdf is not bound to $VMT_DRIVER"
slab() { sed -n 's/^Slab: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
echo 3 >/proc/sys/vm/drop_caches
s0=$(slab)

p=$(pattern rb 1)
rm -f /tmp/rb.rd.end /tmp/rb.wr.end
( while dd if="$dev" of=/dev/null bs=64k count=64 iflag=direct 2>/dev/null; do :; done
  echo end >/tmp/rb.rd.end ) &
( while dd if="$p" of="$dev" bs=64k count=16 seek=128 oflag=direct 2>/dev/null; do :; done
  echo end >/tmp/rb.wr.end ) &
wait_io "$dev" 32 || fail "the reads and writes did not start"
[ -e /tmp/rb.rd.end ] && fail "reads failed before the unbind"
t0=$(date +%s)
echo "$bdf" >"$drv/unbind" &
upid=$!
n=0
while kill -0 $upid 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 60 ] || fail "unbind did not finish in 60 s"
	sleep 1
done
wait $upid || fail "unbind failed"
n=0
until [ -e /tmp/rb.rd.end ] && [ -e /tmp/rb.wr.end ]; do
	n=$((n + 1))
	[ $n -lt 30 ] || fail "I/O still running 30 s after the unbind"
	sleep 1
done
t1=$(date +%s)
say "unbind and the end of the running I/O took $((t1 - t0)) s"
hba_host >/dev/null && fail "the SCSI host is still there after the unbind"
[ -b "$dev" ] && dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &&
	fail "a read succeeded while unbound"

echo "$bdf" >"$drv/bind" || fail "bind failed"
wait_disks 60 || fail "disks did not come back after the bind"
dev=$(disk_sd 0)
q=$(pattern rb2 2)
must dd if="$q" of="$dev" bs=64k count=32 seek=256 oflag=direct
must dd if="$dev" of=/tmp/rb2.rb bs=64k count=32 skip=256 iflag=direct
cmp "$q" /tmp/rb2.rb >/dev/null || fail "data differs after the bind"
echo 3 >/proc/sys/vm/drop_caches
s1=$(slab)
say "Slab: $s0 kB before, $s1 kB after"
[ "$s1" -le $((s0 + ${RELOAD_SLAB_KB:-1024})) ] || fail "Slab grew by $((s1 - s0)) kB over the unbind and bind"
dmesg_allow 'rejecting I/O to offline device|device offline error, dev sd[a-z]+, sector [0-9]+ op|I/O error, dev sd[a-z]+, sector [0-9]+ op|Buffer I/O error on dev sd[a-z]+|Synchronizing SCSI cache|hostbyte=DID_NO_CONNECT|qlisp [0-9a-f:.]+: host reset$|timing out command, waited|abort handle [0-9]+: (done|refused)'
check_dmesg_clean
pass "unbound during I/O (ended in $((t1 - t0)) s), bound again, data verified, Slab $s0 -> $s1 kB"
