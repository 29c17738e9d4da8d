#!/bin/sh
# fio_verify: random mixed I/O with 4k..1M blocks and crc32c verification,
# libaio + O_DIRECT at queue depth 1 and 16 on disks A and B, plus a psync
# pass on disk A.  Every pass has a seed of its own (fio_pass), so it
# writes data no earlier pass wrote and a lost write fails its verify.
. /qlisp/lib.sh
need_disks

SIZE=${FIO_SIZE:-64m}
fio_run() { # name dev engine iodepth
	fio_pass "$1" --name="$1" --filename="$2" --ioengine="$3" --iodepth="$4" \
		--direct=1 --rw=randrw --bsrange=4k-1M --size="$SIZE" \
		--output-format=normal || fail "$FIO_WHY"
	# both directions must have moved data
	grep -q 'read:' "/tmp/fio.$1.out" || fail "fio $1: no reads"
	grep -q 'write:' "/tmp/fio.$1.out" || fail "fio $1: no writes"
	say "fio $1 ok: $(grep -E '^ *(read|write):' "/tmp/fio.$1.out" | tr -s ' ' | tr '\n' ';')"
}
for d in 0 1; do
	dev=$(disk_sd $d)
	for qd in 1 16; do
		fio_run "d$d-libaio-qd$qd" "$dev" libaio $qd
	done
done
fio_run d0-psync "$(disk_sd 0)" psync 1
check_dmesg_clean
pass "libaio qd1/qd16 on 2 disks + psync, size $SIZE, a seed per pass"
