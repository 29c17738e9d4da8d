#!/bin/sh
# rsp_index: qlisp consumes response entries only up to the response-in
# index the chip publishes in mailbox 5.  fio writes and verifies disk A at
# queue depth 32 with small blocks, so that responses keep arriving while
# the interrupt handler runs; then, with the disks idle, every entry the
# model posted must have been consumed exactly once (a walk onto stale
# entries, as after an index read behind response-out, consumes more than
# were posted) and no index the driver read may have been impossible.
# On a model that publishes response-in after the entry has landed (the
# stricter ISP1040 of issue 13), early_entries counts the entries the
# driver saw before their index: they must have waited for it, which the
# counts and the verify show.  A driver that consumes by stamps without
# reading the index fails the reads-per-entry bound.
. /qlisp/lib.sh
need_disks
is_qlisp || { pass "qlisp's response ring only (driver $VMT_DRIVER)"; exit 0; }
dev=$(disk_sd 0)

rsp_settle() {
	# let the last completions land before the counters are compared
	sync
	wait_idle || fail "I/O still outstanding 60 s after fio"
}
rsp_settle
e0=$(host_qom_get x-stat-status-entries) || fail "cannot read the model's status entries"
f0=$(host_qom_get x-stat-fastposts) || fail "cannot read the model's fast posts"
c0=$(host_stat responses) b0=$(host_stat bad_indexes) x0=$(host_stat index_reads)
y0=$(host_stat early_entries)
[ -n "$b0" ] && [ -n "$y0" ] || fail "the driver has no bad_indexes/early_entries counters"
fio_pass rsp --name=rsp --filename="$dev" --ioengine=libaio --iodepth=32 \
	--direct=1 --rw=randrw --bs=4k --size="${FIO_SIZE:-16m}" ||
	fail "$(fio_why rsp)"
rsp_settle
e1=$(host_qom_get x-stat-status-entries) || fail "cannot read the model's status entries"
f1=$(host_qom_get x-stat-fastposts) || fail "cannot read the model's fast posts"
c1=$(host_stat responses) b1=$(host_stat bad_indexes) x1=$(host_stat index_reads)
y1=$(host_stat early_entries)
posted=$((e1 - e0)) consumed=$((c1 - c0))
say "status entries posted=$posted consumed=$consumed fast posts=$((f1 - f0)) index reads=$((x1 - x0)) early=$((y1 - y0)) bad indexes=$((b1 - b0))"
[ "$posted" -ge 4096 ] || fail "only $posted status entries posted"
[ "$consumed" -eq "$posted" ] ||
	fail "the driver consumed $consumed response entries, the model posted $posted"
[ "$b1" -eq "$b0" ] || fail "$((b1 - b0)) impossible response-in indexes read"
# every consumed entry must be covered by an index read, and one read can
# publish at most the 32 commands fio has outstanding (stamps alone would
# consume many more entries per read)
[ $(((x1 - x0) * 32)) -ge "$consumed" ] ||
	fail "$consumed entries consumed on $((x1 - x0)) response-in reads: more than 32 per read"
check_dmesg_clean
pass "$consumed entries consumed of $posted posted, $((x1 - x0)) index reads, $((y1 - y0)) entries seen before their index"
