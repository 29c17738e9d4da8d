#!/bin/sh
# cdb16: qlisp sends CDBs of 13-16 bytes in the extended command entry
# (type 5), so max_cmd_len is 16.  With 12, sd reads the capacity with
# READ CAPACITY(10) and a disk over 2 TiB attaches as exactly 2 TiB, every
# READ/WRITE(16) it would need fails, and no disk gets discard (sd learns
# thin provisioning from READ CAPACITY(16)).
# 1. disk B (3 TiB) attaches with its real capacity;
# 2. data written past 2 TiB reads back, and does not alias the block 2 TiB
#    lower (a truncated LBA would);
# 3. sg_raw READ(16) of a block past 2 TiB returns what dd wrote there;
# 4. blkdiscard on disk A (WRITE SAME(16) with UNMAP) reads back as zeros.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
big=$(disk_sd 1)
bsg=$(disk_sg 1)
want=$(disk_bytes 1)
have=$(($(cat "/sys/block/${big#/dev/}/size") * 512))
say "disk B: $have bytes, want $want"
[ "$have" -eq "$want" ] || fail "disk B attached with $have bytes, not its $want"

# MiB offsets: 2 TiB + 3 GiB, and 3 GiB (2 TiB lower)
hi=$((2 * 1024 * 1024 + 3072)) lo=3072
p1=$(pattern c16a 1)
p2=$(pattern c16b 1)
must dd if="$p2" of="$big" bs=1M seek=$lo count=1 oflag=direct
must dd if="$p1" of="$big" bs=1M seek=$hi count=1 oflag=direct
must dd if="$big" of=/tmp/c16a.rb bs=1M skip=$hi count=1 iflag=direct
must dd if="$big" of=/tmp/c16b.rb bs=1M skip=$lo count=1 iflag=direct
cmp "$p1" /tmp/c16a.rb >/dev/null || fail "data past 2 TiB does not read back"
cmp "$p2" /tmp/c16b.rb >/dev/null || fail "the block 2 TiB lower was overwritten: LBA truncated"
# the last MiB of the disk
last=$((want / 1048576 - 1))
must dd if="$p2" of="$big" bs=1M seek=$last count=1 oflag=direct
must dd if="$big" of=/tmp/c16c.rb bs=1M skip=$last count=1 iflag=direct
cmp "$p2" /tmp/c16c.rb >/dev/null || fail "the last MiB does not read back"

# READ(16) by hand: 1 block (512 bytes) at the LBA of $hi MiB
lba=$((hi * 2048))
cdb=$(printf '88 00 %02x %02x %02x %02x %02x %02x %02x %02x 00 00 00 01 00 00' \
	$(((lba >> 56) & 255)) $(((lba >> 48) & 255)) $(((lba >> 40) & 255)) \
	$(((lba >> 32) & 255)) $(((lba >> 24) & 255)) $(((lba >> 16) & 255)) \
	$(((lba >> 8) & 255)) $((lba & 255)))
# shellcheck disable=SC2086
must sg_raw -r 512 -o /tmp/c16.raw "$bsg" $cdb
head -c 512 "$p1" >/tmp/c16.want
cmp /tmp/c16.want /tmp/c16.raw >/dev/null || fail "sg_raw READ(16) returned other data"

# discard on disk A: WRITE SAME(16) with UNMAP writes zeros on the model's
# disk whatever its backing file does with an UNMAP
sdsys=/sys/class/scsi_disk/$(disk_hctl 0)
mode=$(cat "$sdsys/provisioning_mode")
say "disk A provisioning mode: $mode"
[ "$mode" != full ] && [ "$mode" != disabled ] || fail "disk A has no discard (provisioning_mode $mode)"
echo writesame_16 >"$sdsys/provisioning_mode" || fail "cannot select WRITE SAME(16) discard"
q=$(pattern c16d 1)
must dd if="$q" of="$dev" bs=1M seek=8 count=1 oflag=direct
must blkdiscard -o $((8 * 1048576)) -l 1048576 "$dev"
must dd if="$dev" of=/tmp/c16d.rb bs=1M skip=8 count=1 iflag=direct
head -c 1048576 /dev/zero >/tmp/c16.zero
cmp /tmp/c16.zero /tmp/c16d.rb >/dev/null || fail "discarded range does not read back as zeros"
echo "$mode" >"$sdsys/provisioning_mode"
check_dmesg_clean
pass "3 TiB disk at full size, data past 2 TiB without aliasing, READ(16) by sg_raw, discard reads zeros"
