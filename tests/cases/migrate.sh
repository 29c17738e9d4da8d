#!/bin/sh
# migrate: live migration of the running guest to a second QEMU process
# (tests/run-vm.py "@@QMP migrate": a unix socket, the source quits) while
# fio writes and verifies on disks A and B and a dd writes a fresh pattern
# to disk A behind fio's area.  The guest goes on on the destination: both
# fio passes verify, the pattern reads back and the host finds it in the
# image, and the model's command counter goes on from the source's.
. /qlisp/lib.sh
need_disks

a=$(disk_sd 0)
b=$(disk_sd 1)
SIZE=${MIG_SIZE:-48m}
RATE=${MIG_RATE:-1m}
for d in A B; do
	dev=$a
	[ $d = B ] && dev=$b
	fio_pass "mig$d" --name="mig$d" --filename="$dev" --ioengine=libaio --iodepth=16 \
		--direct=1 --rw=randrw --bsrange=4k-256k --size="$SIZE" --rate="$RATE" &
	eval "pid$d=\$!"
	# fio_pass takes its seed first: one pass at a time, a seed each
	wait_io "$dev" 8 || fail "fio did not start on disk $d"
done
# 8 MiB of a fresh pattern at 64 MiB into disk A (fio stays below $SIZE)
lba=131072
seed=$(next_seed)
tpat "$seed" $lba 16384 >/tmp/mig.pat
dd if=/tmp/mig.pat of="$a" bs=64k seek=$((lba / 128)) oflag=direct 2>/tmp/mig.dd &
ddpid=$!

wait_io "$a" 64 || fail "fio did not start on disk A"
wait_io "$b" 64 || fail "fio did not start on disk B"
kill -0 $pidA 2>/dev/null && kill -0 $pidB 2>/dev/null ||
	fail "fio ended before the migration started (raise MIG_SIZE)"
c0=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
io0=$(( $(io_count "$a") + $(io_count "$b") ))
say "migrating with fio running on $a and $b"
r=$(host_request_wait 600 "@@QMP migrate") || fail "migration failed: $r"
say "migrated: $r"
host_log "migrated: $r"
# the guest runs on the destination, its commands through the new model
c1=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds after the migration"
[ "$c1" -ge "$c0" ] || fail "x-stat-cmds went back from $c0 to $c1: not the migrated model"
running=0
kill -0 $pidA 2>/dev/null && running=$((running + 1))
kill -0 $pidB 2>/dev/null && running=$((running + 1))
say "$running fio passes still running after the migration"
[ $running -gt 0 ] || fail "both fio passes ended during the migration: not a migration under I/O (raise MIG_SIZE)"
wait_io "$a" 32 120 || wait_io "$b" 32 120 || fail "no I/O completed on the destination"
io1=$(( $(io_count "$a") + $(io_count "$b") ))
wait $pidA || fail "disk A across the migration: $(fio_why migA)"
wait $pidB || fail "disk B across the migration: $(fio_why migB)"
wait $ddpid || fail "dd of the pattern across the migration: $(cat /tmp/mig.dd)"
c2=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
[ "$c2" -gt "$c1" ] || fail "the destination's model took no commands ($c1 -> $c2)"
host_wrote 0 $lba 16384 "$seed" || fail "host did not take the record of the pattern"
dd if="$a" of=/tmp/mig.rb bs=64k skip=$((lba / 128)) count=128 iflag=direct 2>/dev/null ||
	fail "reading the pattern back failed"
cmp /tmp/mig.pat /tmp/mig.rb >/tmp/cmp.out 2>&1 ||
	fail "pattern written across the migration reads back wrong: $(head -n 1 /tmp/cmp.out)"
t=$(host_truth 0) || fail "host side: $t"
rm -f /tmp/mig.pat /tmp/mig.rb
check_dmesg_clean
pass "$r; fio A+B verified, $((io1 - io0)) I/Os between the checks, commands $c0 -> $c1 -> $c2, host: $t"
