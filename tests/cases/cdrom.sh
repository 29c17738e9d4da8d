#!/bin/sh
# cdrom: a CD-ROM (QEMU scsi-cd at CD_TARGET, CD_MIB MiB) whose image the
# runner filled with tpat CD_SEED (fill_seed in the suite): sr attaches it
# as a CD (type 5, 2048-byte blocks), a read of the whole medium through sr
# and a READ(10) of 2048-byte blocks through sg return the pattern, and a
# write is refused.  The host checks afterwards that the image is intact.
. /qlisp/lib.sh
[ -n "${CD_TARGET:-}" ] && [ -n "${CD_MIB:-}" ] && [ -n "${CD_SEED:-}" ] || fail "suite gives no CD_TARGET/CD_MIB/CD_SEED"
need_disks
modprobe sr_mod 2>/dev/null || fail "modprobe sr_mod failed"
h=$(hba_host) || fail "no scsi_host with proc_name $VMT_PROC"
d=/sys/bus/scsi/devices/$h:0:$CD_TARGET:0
t=30
while ! ls "$d/block" >/dev/null 2>&1 && [ $t -gt 0 ]; do
	sleep 1
	t=$((t - 1))
done
[ -d "$d/block" ] || fail "no block device for the CD at $h:0:$CD_TARGET:0"
[ "$(cat "$d/type")" = 5 ] || fail "type $(cat "$d/type"), want 5 (CD/DVD)"
sr=/dev/$(ls "$d/block" | head -n 1)
case $sr in /dev/sr*) ;; *) fail "the CD attached as $sr" ;; esac
sg=/dev/$(ls "$d/scsi_generic" | head -n 1)
sectors=$((CD_MIB * 2048))

must sg_readcap "$sg"
blen=$(sed -n 's/^ *Logical block length=\([0-9]*\) bytes.*/\1/p' /tmp/run.out)
[ "$blen" = 2048 ] || fail "block length '$blen', want 2048"
bytes=$(sed -n 's/^ *Device size: *\([0-9]*\) bytes.*/\1/p' /tmp/run.out)
[ "$bytes" = $((CD_MIB * 1048576)) ] || fail "capacity '$bytes', want $((CD_MIB * 1048576))"

tpat "$CD_SEED" 0 "$sectors" >/tmp/cd.pat
must dd if="$sr" of=/tmp/cd.rb bs=64k iflag=direct
cmp /tmp/cd.pat /tmp/cd.rb >/tmp/cmp.out 2>&1 || fail "the medium read through $sr differs: $(head -n 1 /tmp/cmp.out)"
# 3 blocks of 2048 from block 1001 (512-byte sectors 4004..4015), through sg
sg_in_bytes "$sg" 6144 28 00 00 00 03 e9 00 00 03 00 >/tmp/cd.n || fail "sg READ(10) failed: $(tail -n 2 /tmp/sgraw.out | tr '\n' ' ')"
[ "$(cat /tmp/cd.n)" = 6144 ] || fail "sg READ(10) moved $(cat /tmp/cd.n) bytes, want 6144"
tpat "$CD_SEED" 4004 12 | cmp - /tmp/sgraw.data >/tmp/cmp.out 2>&1 || fail "sg READ(10) of blocks 1001-1003 differs: $(head -n 1 /tmp/cmp.out)"
rm -f /tmp/cd.pat /tmp/cd.rb

# a write is refused, and the host finds the image intact afterwards
dd if=/dev/zero of="$sr" bs=2048 count=1 oflag=direct 2>/dev/null && fail "a write to $sr succeeded"
cdi=$(($(ndisks) + 1))    # the CD is the last of the suite's disks
host_wrote $cdi 0 "$sectors" "$CD_SEED" || fail "host did not take the record of the CD"
r=$(host_truth $cdi) || fail "host: $r"
check_dmesg_clean
pass "$sr: $sectors sectors read through sr and sg match the host's image; write refused"
