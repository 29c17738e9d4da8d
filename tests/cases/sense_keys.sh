#!/bin/sh
# sense_keys: CHECK CONDITION with the sense keys and formats a target
# returns, through the model's sense-bytes fault, each mapped as the
# midlayer expects:
#  - through sg (no retries): the sense bytes arrive exactly; fixed and
#    descriptor format; a 36-byte sense arrives cut to the 32 bytes a status
#    entry carries, nothing after them;
#  - through the block layer (dd, direct): ABORTED COMMAND, UNIT ATTENTION
#    (descriptor format) and NOT READY "becoming ready" are retried and the
#    read returns the right data; RECOVERED ERROR (after the data moved)
#    succeeds with the right data; HARDWARE ERROR and NOT READY "medium not
#    present" (fixed and descriptor format) fail that read, once, with the
#    key reported by sd.
. /qlisp/lib.sh
need_disks
dev=$(disk_sd 0)
sg=$(disk_sg 0)

# fired: the sense-bytes fault took effect exactly $1 more times
F=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
fired() {
	_f=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
	[ "$_f" -eq $((F + $1)) ] || fail "$2: want $1 fault(s) to fire, got $((_f - F))"
	F=$_f
}

# --- through sg: the exact bytes ---------------------------------------------
# fixed KEY ASC ASCQ: an 18-byte fixed-format sense (hex)
fixed() { printf '7000%02x000000000a00000000%02x%02x00000000' "$1" "$2" "$3"; }
# sense_of HEX: arm the fault for one TEST UNIT READY, send it through sg,
# print the raw sense the kernel handed sg_raw (hex, no spaces)
sense_of() {
	host_qom_set x-fault "sense-bytes 1 0x00 $1" >/dev/null || fail "arm sense-bytes $1"
	/usr/bin/sg_raw -v "$sg" 00 00 00 00 00 00 >/tmp/sk.out 2>&1
	# the dump: lines of two-digit hex bytes after the header
	sed -n '/Raw sense data/,$p' /tmp/sk.out | sed 1d |
		grep -E '^ +([0-9a-f]{2} +)*[0-9a-f]{2} *$' | tr -d ' \n'
}
# fixed format, ABORTED COMMAND / 0x47 (SCSI parity error), 18 bytes
fx=$(fixed 11 71 0)
got=$(sense_of "$fx")
[ "$got" = "$fx" ] || fail "sg: fixed sense $fx arrived as '$got' ($(grep -i 'sense key\|status' /tmp/sk.out | head -n 2 | tr '\n' ' '))"
grep -q 'Aborted Command' /tmp/sk.out || fail "sg: sg_raw did not decode ABORTED COMMAND: $(tr '\n' ' ' </tmp/sk.out | cut -c1-200)"
fired 1 "sg fixed"
# descriptor format, HARDWARE ERROR / 0x44 (internal target failure), with
# an information descriptor: 20 bytes
dx=720444000000000c000a8000000000000000abcd
got=$(sense_of "$dx")
[ "$got" = "$dx" ] || fail "sg: descriptor sense $dx arrived as '$got'"
grep -qi 'Descriptor format' /tmp/sk.out || fail "sg: not decoded as descriptor format: $(tr '\n' ' ' </tmp/sk.out | cut -c1-200)"
grep -q 'Hardware Error' /tmp/sk.out || fail "sg: sg_raw did not decode HARDWARE ERROR"
fired 1 "sg descriptor"
# 36 bytes (additional length 28): the chip carries 32; what sg sees past
# them is the kernel's cleared buffer, never other bytes
lx=700003000000001c00000000110000000000$(printf '%02x' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18)
[ ${#lx} = 72 ] || fail "internal: long sense is ${#lx} hex digits"
got=$(sense_of "$lx" | cut -c1-64)
want=$(echo "$lx" | cut -c1-64)
# (sg_raw's own buffer holds 32 bytes: it prints what follows them too)
[ "$got" = "$want" ] || fail "sg: 36-byte sense arrived as '$got', want its first 32 bytes '$want'"
grep -q 'Medium Error' /tmp/sk.out || fail "sg: long sense not decoded as MEDIUM ERROR"
fired 1 "sg long"
# the same through the disk's SG_IO with a 96-byte sense buffer (sgiov): the
# 32 bytes the chip carried, then zeros -- never an earlier command's bytes
host_qom_set x-fault "sense-bytes 1 0x28 $lx" >/dev/null || fail "arm sense-bytes $lx"
/usr/bin/sgiov "$(disk_sd 0)" r 0 4 1024 /tmp/sk.iov >/tmp/sk.out 2>&1
got=$(sed -n 's/^sense //p' /tmp/sk.out)
[ "$(echo "$got" | cut -c1-64)" = "$want" ] || fail "SG_IO: 36-byte sense arrived as '$got'"
rest=$(echo "$got" | cut -c65-)
[ -n "$rest" ] || fail "SG_IO: only $((${#got} / 2)) sense bytes handed up ($(tr '\n' ' ' </tmp/sk.out))"
case $rest in *[!0]*) fail "SG_IO: sense bytes past the 32 the chip carried are not zero: $rest" ;; esac
fired 1 "SG_IO long"

# --- through the block layer: what the midlayer makes of each ---------------
p=$(pattern sk 1)
must dd if="$p" of="$dev" bs=64k count=16 oflag=direct
# qla1280 turns a CHECK CONDITION with an underrun into DID_ERROR (see
# fault_status), and the midlayer then retries any key: there the target
# returns its sense after moving the data, so the key decides
mode=
is_qlisp || mode=" data"
# read_ok LABEL HEX: one read meets the sense and is retried (or succeeds)
read_ok() {
	host_qom_set x-fault "sense-bytes 1 0x28 $2$mode" >/dev/null || fail "arm $1"
	dd if="$dev" of=/tmp/sk.rb bs=64k count=1 skip=5 iflag=direct 2>/tmp/sk.dd ||
		fail "$1: the read failed: $(tail -n 1 /tmp/sk.dd)"
	dd if="$p" bs=64k count=1 skip=5 2>/dev/null | cmp - /tmp/sk.rb >/dev/null ||
		fail "$1: the read returned wrong data"
	fired 1 "$1"
}
# read_fails LABEL HEX SD-REGEX: one read meets the sense and fails
read_fails() {
	host_qom_set x-fault "sense-bytes 1 0x28 $2$mode" >/dev/null || fail "arm $1"
	_t=$(dmesg | wc -l)
	if dd if="$dev" of=/tmp/sk.rb bs=64k count=1 skip=7 iflag=direct 2>/dev/null; then
		fail "$1: the read succeeded"
	fi
	fired 1 "$1"
	dmesg | sed "1,${_t}d" >/tmp/sk.dmesg
	grep -qE "$3" /tmp/sk.dmesg ||
		fail "$1: sd did not report '$3': $(grep -E 'Sense Key|Result' /tmp/sk.dmesg | head -n 2 | tr '\n' ' ')"
	# a failed read must not have been retried into another attempt
	[ "$(grep -cE 'Sense Key' /tmp/sk.dmesg)" -eq 1 ] ||
		fail "$1: want one Sense Key line, got $(grep -cE 'Sense Key' /tmp/sk.dmesg)"
}
read_ok "aborted command" "$(fixed 11 71 0)"
read_ok "unit attention, descriptor format" 7206290000000000
read_ok "not ready, becoming ready" "$(fixed 2 4 1)"
host_qom_set x-fault "sense-bytes 1 0x28 $(fixed 1 24 0) data" >/dev/null ||
	fail "arm recovered error"
read_ok_rec() {
	dd if="$dev" of=/tmp/sk.rb bs=64k count=1 skip=9 iflag=direct 2>/tmp/sk.dd ||
		fail "recovered error: the read failed: $(tail -n 1 /tmp/sk.dd)"
	dd if="$p" bs=64k count=1 skip=9 2>/dev/null | cmp - /tmp/sk.rb >/dev/null ||
		fail "recovered error: the read returned wrong data"
	fired 1 "recovered error"
}
read_ok_rec
read_fails "hardware error" "$(fixed 4 68 0)" 'Sense Key : Hardware Error'
read_fails "not ready, medium not present" "$(fixed 2 58 0)" 'Sense Key : Not Ready'
read_fails "hardware error, descriptor format" 7204440000000000 'Sense Key : Hardware Error'
grep -q 'Internal target failure' /tmp/sk.dmesg ||
	fail "descriptor sense: ASC 0x44 not decoded: $(grep 'Add. Sense' /tmp/sk.dmesg | head -n 1)"

# the data is right after it all
must dd if="$dev" of=/tmp/sk.all bs=64k count=16 iflag=direct
cmp "$p" /tmp/sk.all >/dev/null || fail "data differs after the sense faults"
dmesg_allow 'Sense Key|Add. Sense|Result: hostbyte|CDB:|I/O error|error, dev sd|Buffer I/O error|critical target error|critical medium error|Medium not present|Internal target failure|Hardware Error|Not Ready|Descriptor sense data'
check_dmesg_clean
pass "sense bytes exact through sg (32 of 36 kept); ABORTED/UA/becoming-ready retried, RECOVERED succeeded, HARDWARE ERROR and NOT READY failed once"
