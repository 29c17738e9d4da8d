#!/bin/sh
# hotpath: the register traffic of qlisp's I/O path, read from the model's
# counters while fio writes and verifies disk A at queue depth 16.  Register
# reads are what cost on PCI: a command's life may read one register, the
# semaphore in the interrupt handler, and nothing at submission; the
# response-in index (mailbox 5) is read at most once per handler pass, and
# only when the entry at response-out shows that something was written (the
# index, not the stamp, says how far the entries may be consumed).
. /qlisp/lib.sh
need_disks
is_qlisp || { pass "qlisp's claims only (driver $VMT_DRIVER)"; exit 0; }
dev=$(disk_sd 0)

m0=$(model_counters) || fail "cannot read the model's counters"
x0=$(host_stat index_reads)
i0=$(host_stat interrupts)
fio_pass hot --name=hot --filename="$dev" --ioengine=libaio --iodepth=16 \
	--direct=1 --rw=randwrite --bs=4k --size="${FIO_SIZE:-16m}" || fail "$FIO_WHY"
m1=$(model_counters) || fail "cannot read the model's counters"
x1=$(host_stat index_reads)
i1=$(host_stat interrupts)
# shellcheck disable=SC2086
set -- $m0 $m1
reads=$(($5 - $1)) writes=$(($6 - $2)) irqs=$(($7 - $3)) cmds=$(($8 - $4))
idx=$((x1 - x0)) intrs=$((i1 - i0))
say "commands=$cmds register reads=$reads writes=$writes irqs=$irqs handler passes=$intrs index reads=$idx"
[ "$cmds" -ge 4096 ] || fail "only $cmds commands reached the model"
# one read per handler pass (a handler runs up to 4 while responses keep
# coming), plus the index read of a pass that found new entries
[ "$reads" -le $((intrs + idx)) ] ||
	fail "$reads register reads for $intrs handler passes and $idx index reads"
[ "$irqs" -le "$cmds" ] || fail "$irqs interrupts for $cmds commands"
[ "$idx" -le "$intrs" ] ||
	fail "response-in index read $idx times in $intrs handler passes"
# per command: the doorbell; per handler pass: acknowledge and mailbox 5
[ "$writes" -le $((cmds + 2 * intrs)) ] ||
	fail "$writes register writes for $cmds commands and $intrs handler passes"

# Doorbells: fio now submits 16 I/Os per io_submit, the block layer hands
# them to qlisp as one batch, and one request-in write (mailbox 4) posts
# the batch: only the last command (SCMD_LAST) or commit_rqs rings.
b0=$(qom_num x-stat-doorbells) || fail "cannot read the model's doorbells"
c0=$(qom_num x-stat-cmds) || fail "cannot read the model's commands"
fio_pass batch --name=batch --filename="$dev" --ioengine=libaio --iodepth=32 \
	--iodepth_batch_submit=16 --iodepth_batch_complete_min=16 \
	--direct=1 --rw=randwrite --bs=4k --size="${FIO_SIZE:-16m}" || fail "$FIO_WHY"
b1=$(qom_num x-stat-doorbells) || fail "cannot read the model's doorbells"
c1=$(qom_num x-stat-cmds) || fail "cannot read the model's commands"
bells=$((b1 - b0)) bcmds=$((c1 - c0))
say "batched: commands=$bcmds doorbells=$bells"
[ "$bcmds" -ge 4096 ] || fail "only $bcmds batched commands reached the model"
[ $((bells * 4)) -le "$bcmds" ] ||
	fail "$bells doorbells for $bcmds commands submitted 16 at a time"
check_dmesg_clean
pass "$((reads * 100 / cmds))/100 register reads per command, $((bells * 100 / bcmds))/100 doorbells per batched command, data verified"
