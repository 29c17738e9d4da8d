#!/bin/sh
# sg_segments: commands of exactly 2, 3, 4, 5, 7, 8, 11, 12 and 256 data
# segments, every segment 512 bytes starting mid-page.  qlisp's command
# entry (type 1) holds 4 segments, a continuation 7: 4/5 and 11/12 are its
# chaining boundaries; qla1280 uses the A64 entries (type 9: 2, then 5 per
# continuation): 2/3 and 7/8.  sgiov sends one
# WRITE(10) and one READ(10) through the block device's SG_IO with an iovec
# whose elements cannot merge; the model's x-stat-segs and x-stat-cont-entries
# (host side) show exactly that many segments and ceil((n - inline) / per)
# continuations reached the chip; the data, a fresh pattern per pass, reads
# back right and is on the host's image at its LBA (host truth).  A count
# above the queue's max_segments must be refused with nothing sent.
# Also noted (not asserted): what sg's own SG_IO makes of an iovec.
. /qlisp/lib.sh
need_disks
sd=$(disk_sd 0) || fail "no sd for disk A"
sg=$(disk_sg 0) || fail "no sg for disk A"
maxseg=$(cat /sys/block/${sd#/dev/}/queue/max_segments)
host_log "max_segments $maxseg"

counters() { # prints "segs cmds conts"
	_s=$(qom_num x-stat-segs) || fail "cannot read x-stat-segs"
	_c=$(qom_num x-stat-cmds) || fail "cannot read x-stat-cmds"
	_k=$(qom_num x-stat-cont-entries) || fail "cannot read x-stat-cont-entries"
	echo "$_s $_c $_k"
}
# expect_chip N WHAT BEFORE: one command of N segments reached the chip
expect_chip() {
	set -- "$1" "$2" $3 $(counters)
	_want_k=0
	[ "$1" -gt $inline ] && _want_k=$((($1 - inline + per - 1) / per))
	[ $(($7 - $4)) -eq 1 ] || fail "$2: $(($7 - $4)) commands reached the chip, want 1"
	[ $(($6 - $3)) -eq "$1" ] || fail "$2: $(($6 - $3)) segments reached the chip, want $1"
	[ $(($8 - $5)) -eq "$_want_k" ] || fail "$2: $(($8 - $5)) continuation entries, want $_want_k"
}

if is_qlisp; then
	inline=4 per=7
else
	inline=2 per=5
fi
lba=4096
for n in 2 3 4 5 7 8 11 12 256; do
	# a fresh pattern at a fresh LBA, and a different page offset per pass
	off=$(( (n * 1536) % 3584 + 512 ))
	seed=$(next_seed)
	tpat "$seed" $lba $n >/tmp/seg.pat
	if [ "$n" -gt "$maxseg" ]; then
		b=$(counters)
		/usr/bin/sgiov "$sd" w $lba $n $off /tmp/seg.pat >/tmp/seg.out 2>&1 &&
			fail "$n segments above max_segments $maxseg: the write was taken ($(cat /tmp/seg.out))"
		a=$(counters)
		[ "${a% *}" = "${b% *}" ] || fail "$n segments above max_segments: something reached the chip ($b -> $a)"
		host_log "$n segments: refused ($(tr '\n' ' ' </tmp/seg.out)), nothing sent"
		continue
	fi
	b=$(counters)
	run /usr/bin/sgiov "$sd" w $lba $n $off /tmp/seg.pat || fail "write of $n segments: $(tr '\n' ' ' </tmp/run.out)"
	expect_chip $n "write of $n segments (offset $off)" "$b"
	host_wrote 0 $lba $n "$seed" || fail "host did not take the record"
	b=$(counters)
	run /usr/bin/sgiov "$sd" r $lba $n $((4096 - 512 - off + 512)) /tmp/seg.rb ||
		fail "read of $n segments: $(tr '\n' ' ' </tmp/run.out)"
	expect_chip $n "read of $n segments" "$b"
	cmp /tmp/seg.pat /tmp/seg.rb >/tmp/cmp.out 2>&1 ||
		fail "$n segments (seed $seed, LBA $lba): $(head -n 1 /tmp/cmp.out)"
	r=$(host_truth 0) || fail "$n segments: host: $r"
	lba=$((lba + n + 3))
done
# sg's own SG_IO with the same iovec: copied through its reserve buffer
b=$(counters)
seed=$(next_seed)
tpat "$seed" $lba 12 >/tmp/seg.pat
run /usr/bin/sgiov "$sg" w $lba 12 1536 /tmp/seg.pat || fail "sg write of 12 iovec elements failed"
host_wrote 0 $lba 12 "$seed" || fail "host did not take the record"
a=$(counters)
host_log "through $sg a 12-element iovec reached the chip as $((${a%% *} - ${b%% *})) segment(s)"
check_dmesg_clean
pass "2-12$([ 256 -le "$maxseg" ] && echo ' and 256') segments reached the chip exactly ($inline + $per per continuation), data right on the host"
