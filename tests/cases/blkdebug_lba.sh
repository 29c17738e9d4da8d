#!/bin/sh
# blkdebug_lba: QEMU's blkdebug fails reads of LBA 8192 on disk C (the suite
# puts it in front of that disk's image).  A read covering that LBA fails
# cleanly with EIO; reads next to it and verified I/O elsewhere on the same
# disk are unaffected: errors only where injected.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd "$(disk_c)")
echo 5 >"/sys/block/${dev#/dev/}/device/timeout"
# 4 KiB blocks: LBA 8192 (512-byte sectors) is block 1024
dd if="$dev" of=/dev/null bs=4k count=1 skip=1024 iflag=direct 2>/dev/null &&
	fail "read of the failing LBA succeeded"
must dd if="$dev" of=/dev/null bs=4k count=1 skip=1023 iflag=direct
must dd if="$dev" of=/dev/null bs=4k count=1 skip=1025 iflag=direct
fio_pass around --name=around --filename="$dev" --offset=8m --size=32m \
	--ioengine=libaio --iodepth=8 --direct=1 --rw=randrw --bsrange=4k-128k ||
	fail "away from the bad LBA: $FIO_WHY"
dmesg_allow 'I/O error|error, dev sd|hostbyte|Sense Key|Add. Sense|Result:|CDB:|Buffer I/O error|critical|retrying'
check_dmesg_clean
pass "EIO exactly at the injected LBA, verified I/O around it"
