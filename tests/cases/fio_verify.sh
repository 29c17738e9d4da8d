#!/bin/sh
# fio_verify: random mixed I/O with 4k..1M blocks and crc32c verification,
# libaio + O_DIRECT at queue depth 1 and 16 on disks A and B, plus a psync
# pass on disk A.
. /qlisp/lib.sh
need_disks

SIZE=${FIO_SIZE:-64m}
fio_run() { # name dev engine iodepth
	must /usr/bin/fio --name="$1" --filename="$2" --ioengine="$3" --iodepth="$4" \
		--direct=1 --rw=randrw --bsrange=4k-1M --size="$SIZE" \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
		--randseed=$$ --output-format=normal
	grep -iE 'verify: bad|crc32c: (verify|mismatch)|bad magic|verify failed' /tmp/run.out &&
		fail "fio $1: verification errors reported"
	grep -q 'err= *0' /tmp/run.out || fail "fio $1: error status in output: $(grep 'err=' /tmp/run.out | head -n 1)"
	# both directions must have moved data
	grep -q 'read:' /tmp/run.out || fail "fio $1: no reads"
	grep -q 'write:' /tmp/run.out || fail "fio $1: no writes"
	say "fio $1 ok: $(grep -E '^ *(read|write):' /tmp/run.out | tr -s ' ' | tr '\n' ';')"
}
for d in 0 1; do
	dev=$(disk_sd $d)
	for qd in 1 16; do
		fio_run "d$d-libaio-qd$qd" "$dev" libaio $qd
	done
done
fio_run d0-psync "$(disk_sd 0)" psync 1
check_dmesg_clean
pass "libaio qd1/qd16 on 2 disks + psync, size $SIZE"
