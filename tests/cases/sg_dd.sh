#!/bin/sh
# sg_dd: write 64 MiB of a random pattern through sg with 512-byte and 1 MiB
# commands, read it back, compare; disks A and B get different data and must
# not alias.
. /qlisp/lib.sh
need_disks

MIB=${SG_DD_MIB:-64}
pa=$(pattern a $MIB)
pb=$(pattern b $MIB)
cmp -s "$pa" "$pb" && fail "random patterns are identical?"
sga=$(disk_sg 0)
sgb=$(disk_sg 1)

# bpt: blocks per SCSI command.  1 MiB commands may exceed what the HBA
# takes (max_hw_sectors); then use the largest it takes.
maxkb=$(cat /sys/block/$(basename "$(disk_sd 0)")/queue/max_hw_sectors_kb)
big=2048
[ $((maxkb * 2)) -lt $big ] && big=$((maxkb * 2))
say "max_hw_sectors_kb=$maxkb: big commands are $((big / 2)) KiB"

for bpt in 1 $big; do
	# 512-byte commands: an eighth of the data (16384 commands each way
	# per disk at 64 MiB) keeps the case well inside its timeout; at a
	# quarter it took 105-190 s of its 240 in CI runs on 2 cores
	mib=$MIB
	[ $bpt = 1 ] && mib=$((MIB / 8))
	blocks=$((mib * 2048))
	for d in a b; do
		eval "sg=\$sg$d; p=\$p$d"
		must sg_dd if="$p" of="$sg" bs=512 bpt=$bpt count=$blocks
		must sg_dd if="$sg" of=/tmp/readback bs=512 bpt=$bpt count=$blocks
		[ "$(stat -c %s /tmp/readback)" = $((blocks * 512)) ] || fail "short read-back from $sg"
		head -c $((blocks * 512)) "$p" >/tmp/expect
		cmp /tmp/expect /tmp/readback >/tmp/cmp.out 2>&1 ||
			fail "data mismatch on $sg (bpt=$bpt): $(cat /tmp/cmp.out)"
		say "sg_dd $sg bpt=$bpt: $mib MiB written, read and compared"
	done
	# A must still hold pattern a after B was written (no aliasing)
	must sg_dd if="$sga" of=/tmp/readback bs=512 bpt=$big count=$blocks
	cmp -s /tmp/expect /tmp/readback && fail "disk A holds disk B's data (aliasing)"
	head -c $((blocks * 512)) "$pa" >/tmp/expect
	cmp -s /tmp/expect /tmp/readback || fail "disk A changed when disk B was written"
	rm -f /tmp/readback /tmp/expect
done
check_dmesg_clean
pass "512 B and $((big / 2)) KiB commands, ${MIB} MiB per disk"
