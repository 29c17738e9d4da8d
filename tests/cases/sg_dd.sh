#!/bin/sh
# sg_dd: write a fresh pattern (tpat: each sector names its seed and LBA)
# through sg with 512-byte and 1 MiB commands at the end of disks A and B,
# read it back and compare (rw_check), and tell the host, which checks the
# images after power-off (host_truth); disks A and B must not alias.  No
# other case writes the last SG_DD_MIB (64) MiB of A and B.
. /qlisp/lib.sh
need_disks

MIB=${SG_DD_MIB:-64}
# bpt: blocks per SCSI command.  1 MiB commands may exceed what the HBA
# takes (max_hw_sectors); then use the largest it takes.
maxkb=$(cat /sys/block/$(basename "$(disk_sd 0)")/queue/max_hw_sectors_kb)
big=2048
[ $((maxkb * 2)) -lt $big ] && big=$((maxkb * 2))
say "max_hw_sectors_kb=$maxkb: big commands are $((big / 2)) KiB"

for bpt in 1 $big; do
	# 512-byte commands, one at a time: 2 MiB (4096 commands each way per
	# disk) wrap the 1024-entry request ring 4 times and the 256-entry
	# response ring 16 times each way, as often as it takes to prove the
	# path.  8 MiB were most of the case's 150-170 s with two suites
	# sharing the 2 cores.  SG_DD_SMALL_MIB (from the suite) sets it instead.
	mib=$MIB
	[ $bpt = 1 ] && mib=${SG_DD_SMALL_MIB:-2}
	blocks=$((mib * 2048))
	for d in 0 1; do
		lba=$(($(disk_bytes $d) / 512 - blocks))
		rw_check $d $lba $blocks $bpt || fail "$RW_WHY"
		eval "seed$d=\$RW_SEED lba$d=\$lba"
		say "sg_dd $(disk_sg $d) bpt=$bpt: $mib MiB at LBA $lba written, read and compared (seed $RW_SEED)"
	done
	# A must still hold its pattern after B was written (no aliasing)
	tpat "$seed0" "$lba0" $blocks >/tmp/expect
	must sg_dd if="$(disk_sg 0)" of=/tmp/readback bs=512 bpt=$big count=$blocks skip="$lba0"
	cmp -s /tmp/expect /tmp/readback || fail "disk A changed when disk B was written"
	rm -f /tmp/readback /tmp/expect
	for d in 0 1; do
		t=$(host_truth $d) || fail "host: disk $d image: $t"
	done
done
check_dmesg_clean
pass "512 B and $((big / 2)) KiB commands, ${MIB} MiB per disk, host images checked"
