#!/bin/sh
# savevm: the VM state is saved to a snapshot and loaded back (run-vm.py
# "@@QMP savevm-loadvm": stop, snapshot-save, snapshot-load, which resets
# the machine before it loads, cont) while fio writes and verifies on disks
# A and B; the guest goes on from the loaded state and both passes verify.
. /qlisp/lib.sh
need_disks

a=$(disk_sd 0)
b=$(disk_sd 1)
SIZE=${MIG_SIZE:-48m}
RATE=${MIG_RATE:-1m}
for d in A B; do
	dev=$a
	[ $d = B ] && dev=$b
	fio_pass "sv$d" --name="sv$d" --filename="$dev" --ioengine=libaio --iodepth=16 \
		--direct=1 --rw=randrw --bsrange=4k-256k --size="$SIZE" --rate="$RATE" &
	eval "pid$d=\$!"
	# fio_pass takes its seed first: one pass at a time, a seed each
	wait_io "$dev" 8 || fail "fio did not start on disk $d"
done
wait_io "$a" 64 || fail "fio did not start on disk A"
wait_io "$b" 64 || fail "fio did not start on disk B"
kill -0 $pidA 2>/dev/null && kill -0 $pidB 2>/dev/null ||
	fail "fio ended before the snapshot (raise MIG_SIZE)"
c0=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
r=$(host_request_wait 600 "@@QMP savevm-loadvm") || fail "savevm/loadvm failed: $r"
say "snapshot: $r"
c1=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds after the load"
[ "$c1" -ge "$c0" ] || fail "x-stat-cmds went back from $c0 to $c1"
kill -0 $pidA 2>/dev/null || kill -0 $pidB 2>/dev/null ||
	fail "both fio passes ended around the snapshot: not a snapshot under I/O (raise MIG_SIZE)"
wait $pidA || fail "disk A across savevm/loadvm: $(fio_why svA)"
wait $pidB || fail "disk B across savevm/loadvm: $(fio_why svB)"
c2=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
[ "$c2" -gt "$c1" ] || fail "no commands after the load ($c1 -> $c2)"
check_dmesg_clean
pass "$r; fio A+B verified, commands $c0 -> $c1 -> $c2"
