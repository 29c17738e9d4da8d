#!/bin/sh
# residuals: the residual the kernel hands up through SG_IO, checked exactly
# (sgresid: a data-in command through the disk's SG_IO into a page-aligned
# buffer filled with 0xEE, so what nobody wrote stays 0xEE).
#  1. buffers larger than what the device returns: REPORT LUNS (QEMU's SCSI
#     bus sends 8 + 8 per LUN), INQUIRY with a 36- and a 255-byte allocation
#     into a 512-byte buffer, a READ(10) of 4 KiB into 8 KiB, a READ(10)
#     past the end of the disk (CHECK CONDITION, nothing moved): the resid
#     is the buffer minus what the device sent, the bytes are right and the
#     rest of the buffer is untouched.  (QEMU 7.2's scsi-hd pads INQUIRY,
#     MODE SENSE, REQUEST SENSE and READ CAPACITY(16) with zeros up to the
#     allocation length: those return what was asked, resid 0.)
#  2. short transfers from the model: fault "underrun 4096 1" (the data
#     moves, 4096 bytes reported not moved) and "short 4096 1" (the last
#     4096 bytes are not moved): the resid is 4096, the 61440 bytes before
#     it are the fresh pattern on disk, and after "short" the last 4096
#     bytes of the buffer are untouched.
#  3. a residual beyond the length (fault "resid-over 512 1" on a 4 KiB
#     read: residual 4608): qlisp ends it DID_ERROR (host byte 0x07) with
#     "residual 4608 beyond length 4096"; never a transfer below zero.
#     Linux's qla1280 does not check the bound: only reported.
# Every check runs and the failures are listed together.
. /qlisp/lib.sh
need_disks

BAD=
bad() {
	say "FAILED: $*"
	BAD="$BAD; $*"
}
# sgr NAME BUFLEN CDB...: run sgresid on disk 0's sd node; sets ST HB DB
# RS (status, host, driver byte, resid) and SENSE; data in /tmp/r.NAME
sgr() {
	_n=$1 _bl=$2
	shift 2
	ST= HB= DB= RS= SENSE=
	if ! /usr/bin/sgresid "$SD" "$_bl" "/tmp/r.$_n" "$@" >/tmp/r.out 2>&1; then
		bad "$_n: sgresid failed: $(tr '\n' ' ' </tmp/r.out)"
		return 1
	fi
	set -- $(sed -n 's/^status \([0-9]*\) host \([0-9]*\) driver \([0-9]*\) resid \(-*[0-9]*\)$/\1 \2 \3 \4/p' /tmp/r.out)
	ST=$1 HB=$2 DB=$3 RS=$4
	SENSE=$(sed -n 's/^sense //p' /tmp/r.out)
	say "$_n: $(tr '\n' ' ' </tmp/r.out)"
	[ -n "$RS" ] || { bad "$_n: no result line"; return 1; }
}
# expect NAME STATUS HOST DRIVER RESID: the numbers of the last sgr (driver
# byte 8: DRIVER_SENSE, sense data came with the status)
expect() {
	[ "$ST $HB $DB $RS" = "$2 $3 $4 $5" ] ||
		bad "$1: status $ST host $HB driver $DB resid $RS, want status $2 host $3 driver $4 resid $5"
}
# hexof FILE OFF LEN: bytes as one hex string
hexof() { od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# untouched NAME OFF LEN: bytes OFF.. of /tmp/r.NAME are all 0xEE
untouched() {
	_h=$(hexof "/tmp/r.$1" "$2" "$3")
	[ "$_h" = "$(head -c "$3" /dev/zero | tr '\0' '\356' | od -An -v -tx1 | tr -d ' \n')" ] ||
		bad "$1: bytes $2..$(($2 + $3 - 1)) of the buffer were written ($(echo "$_h" | cut -c1-32)...)"
}
fault() { host_qom_set x-fault "$1" >/dev/null || bad "cannot arm fault '$1'"; }

SD=$(disk_sd 0) || fail "no sd node for disk 0"
# a unit attention left by an earlier case would end the first command
/usr/bin/sg_turs "$SD" >/dev/null 2>&1
/usr/bin/sg_turs "$SD" >/dev/null 2>&1

# --- 1. the device returns less than the buffer ------------------------------
# REPORT LUNS on target 0 (one LUN: 16 bytes, list length 8, LUN 0)
sgr luns 4096 a0 00 00 00 00 00 00 00 10 00 00 00 && {
	expect luns 0 0 0 4080
	[ "$(hexof /tmp/r.luns 0 16)" = 00000008000000000000000000000000 ] ||
		bad "luns: data $(hexof /tmp/r.luns 0 16)"
	untouched luns 16 4080
}
# INQUIRY, allocation length 36, into a 512-byte buffer
sgr inq36 512 12 00 00 00 24 00 && {
	expect inq36 0 0 0 476
	v=$(dd if=/tmp/r.inq36 bs=1 skip=8 count=24 2>/dev/null)
	[ "$v" = "QEMU    QEMU HARDDISK   " ] || bad "inq36: vendor/product '$v'"
	[ "$(hexof /tmp/r.inq36 0 1)" = 00 ] || bad "inq36: device type $(hexof /tmp/r.inq36 0 1)"
	untouched inq36 36 476
}
# INQUIRY, allocation length 255: QEMU sends 255 bytes, additional length
# 250 (255 - 5)
sgr inq255 512 12 00 00 00 ff 00 && {
	expect inq255 0 0 0 257
	[ "$(hexof /tmp/r.inq255 4 1)" = fa ] || bad "inq255: additional length 0x$(hexof /tmp/r.inq255 4 1), want 0xfa"
	untouched inq255 255 257
}
# a fresh pattern at LBA 196608 of disk 0 (128 sectors), from the host's
# side too; then a READ(10) of 8 sectors into 8 KiB
lba=196608
seed=$(next_seed)
tpat "$seed" $lba 128 >/tmp/r.pat
run dd if=/tmp/r.pat of="$SD" bs=64k seek=$((lba / 128)) count=1 oflag=direct ||
	fail "writing the pattern failed"
host_wrote 0 $lba 128 "$seed" || fail "host did not take the record of the pattern"
t=$(host_truth 0) || fail "host: $t"
L=$(printf '%02x %02x %02x %02x' $((lba >> 24)) $((lba >> 16 & 255)) $((lba >> 8 & 255)) $((lba & 255)))
sgr rd8k 8192 28 00 $L 00 00 08 00 && {
	expect rd8k 0 0 0 4096
	cmp -n 4096 /tmp/r.rd8k /tmp/r.pat >/dev/null || bad "rd8k: the 4096 bytes read are not the pattern (seed $seed)"
	untouched rd8k 4096 4096
}
# READ(10) of 8 sectors at the first LBA past the end: CHECK CONDITION,
# ILLEGAL REQUEST, LBA OUT OF RANGE (21/00), nothing moved
end=$(($(disk_bytes 0) / 512))
E=$(printf '%02x %02x %02x %02x' $((end >> 24)) $((end >> 16 & 255)) $((end >> 8 & 255)) $((end & 255)))
sgr past 4096 28 00 $E 00 00 08 00 && {
	expect past 2 0 8 4096
	case $SENSE in
	[7f]0??05??????????????????2100*) ;;
	*) bad "past: sense '$SENSE', want fixed format 05/21/00" ;;
	esac
	untouched past 0 4096
}

# --- 2. short transfers from the model ---------------------------------------
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
# underrun: all 65536 bytes move, 4096 are reported not moved
fault "underrun 4096 1"
sgr under 65536 28 00 $L 00 00 80 00 && {
	expect under 0 0 0 4096
	cmp -n 61440 /tmp/r.under /tmp/r.pat >/dev/null || bad "under: the 61440 bytes moved are not the pattern (seed $seed)"
}
# short: the last 4096 bytes never move
fault "short 4096 1"
sgr short 65536 28 00 $L 00 00 80 00 && {
	expect short 0 0 0 4096
	cmp -n 61440 /tmp/r.short /tmp/r.pat >/dev/null || bad "short: the 61440 bytes moved are not the pattern (seed $seed)"
	untouched short 61440 4096
}
host_qom_set x-fault clear >/dev/null
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 2)) ] || bad "underrun and short did not both fire (x-stat-faults $f0 -> $f1)"

# --- 3. a residual beyond the transfer's length ------------------------------
fault "resid-over 512 1"
sgr over 4096 28 00 $L 00 00 08 00
over_rs=$RS
host_qom_set x-fault clear >/dev/null
f2=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f2" -eq $((f1 + 1)) ] || bad "resid-over did not fire once (x-stat-faults $f1 -> $f2)"
if is_qlisp; then
	[ -n "$RS" ] && expect over 0 7 0 0
	dmesg_allow 'qlisp [0-9a-f:.]+: residual 4608 beyond length 4096$'
	n=$(dmesg_since_start | grep -cE 'qlisp [0-9a-f:.]+: residual 4608 beyond length 4096$')
	[ "$n" = 1 ] || bad "over: $n lines 'residual 4608 beyond length 4096' in dmesg, want 1"
else
	say "over ($VMT_DRIVER, not checked): status $ST host $HB driver $DB resid $RS"
fi
# the disk still reads right after it
sgr after 4096 28 00 $L 00 00 08 00 && {
	expect after 0 0 0 0
	cmp -n 4096 /tmp/r.after /tmp/r.pat >/dev/null || bad "after: the data read is not the pattern (seed $seed)"
}

[ -z "$BAD" ] || fail "${BAD#; }"
check_dmesg_clean
if is_qlisp; then
	over="resid-over DID_ERROR"
else
	over="resid-over not checked ($VMT_DRIVER handed up resid $over_rs of 4096)"
fi
pass "resid exact: REPORT LUNS 4080, INQUIRY 476 and 257, 4 KiB into 8 KiB 4096, past the end 4096, underrun and short 4096; $over"
