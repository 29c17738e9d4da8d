#!/bin/sh
# soak: random faults, one every 1-3 s, while fio writes and verifies on
# disks A and B.  The seed is printed; SOAK_SECONDS (default 120) bounds it
# (tests/run-vm.py passes vmt_soak=... from the suite).  Every fault must be
# recovered: fio verifies everything it wrote, nothing hangs or oopses.
. /qlisp/lib.sh
need_disks
secs=${SOAK_SECONDS:-$(sed -n 's/.*vmt_soak=\([0-9]*\).*/\1/p' /proc/cmdline)}
secs=${secs:-120}
seed=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
say "soak: ${secs}s, seed $seed"
host_log "soak seed $seed"
for d in 0 1; do
	echo 8 >"/sys/block/$(basename "$(disk_sd $d)")/device/timeout"
done
f0=$(host_qom_get stat-faults)
# write+verify passes until the time is up
fio --name=sa --filename="$(disk_sd 0)" --name=sb --filename="$(disk_sd 1)" \
	--ioengine=libaio --iodepth=16 --direct=1 --rw=randwrite \
	--bsrange=4k-128k --size=24m --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --verify_state_save=0 --randseed="$seed" \
	--loops=1000 --time_based=0 >/tmp/fio-soak.out 2>&1 &
fpid=$!
# a small shell PRNG so the fault sequence follows the seed
rnd=$seed
# next N: r = a pseudo-random number below N (no subshell: rnd must advance)
next() { rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 )); r=$(( rnd / 65536 % $1 )); }
end=$(( $(cut -d. -f1 /proc/uptime) + secs ))
n=0
lastsys=
while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
	kill -0 $fpid 2>/dev/null || break
	next 7
	kind=$r
	next 4
	case $kind in
	0) f="swallow 1" ;;
	1) f="bus-reset" ;;
	2) f="status 0x28 $((r + 1))" ;;
	3) f="status 0x08 $((r + 1))" ;;
	4) f="sense 6 0x29 0 1" ;;
	5) f="underrun $(( (r + 1) * 512 )) 1" ;;
	6) f="system-error" ;;
	esac
	# SOAK_SYSERR_GAP (seconds, from the suite): no system error that soon
	# after the last one recovered; a bus reset instead.  For drivers that
	# leave a system error to the midlayer's escalation (qla1280: 25-40 s),
	# a command caught by two of them outlives its (retries + 1) * timeout
	# budget, which tests the midlayer's patience, not recovery.
	if [ "$kind" = 6 ] && [ -n "$lastsys" ] &&
		[ $(($(cut -d. -f1 /proc/uptime) - lastsys)) -lt "${SOAK_SYSERR_GAP:-0}" ]; then
		kind=1 f="bus-reset"
	fi
	host_qom_set fault "$f" >/dev/null || fail "cannot inject '$f'"
	n=$((n + 1))
	say "soak fault $n: $f"
	# A system error stops the firmware until the driver resets the chip
	# and sets its queues up again.  The driver must do that: the soak
	# waits for the firmware to take requests again before the next fault.
	if [ "$kind" = 6 ]; then
		w=0
		while [ "$(host_qom_get fw-ready)" != true ]; do
			[ $w -lt 120 ] ||
				fail "firmware not running 120 s after the system error (seed $seed)"
			sleep 1
			w=$((w + 1))
		done
		say "soak: firmware running again after ${w}s"
		lastsys=$(cut -d. -f1 /proc/uptime)
	fi
	next 3
	sleep $((r + 1))
done
host_qom_set fault clear >/dev/null
kill -0 $fpid 2>/dev/null || { tail -n 30 /tmp/fio-soak.out; fail "fio stopped during the soak (seed $seed)"; }
kill -INT $fpid
wait $fpid
tail -n 8 /tmp/fio-soak.out
grep -iE 'verify: bad|crc32c|bad magic|verify failed' /tmp/fio-soak.out && fail "verify errors (seed $seed)"
grep -E 'err= *[1-9]' /tmp/fio-soak.out && fail "fio I/O errors (seed $seed)"
f1=$(host_qom_get stat-faults)
[ "$f1" -gt "$f0" ] || fail "no fault fired"
must dd if="$(disk_sd 0)" of=/dev/null bs=64k count=16 iflag=direct
# The kernel's own readahead (partition rescans after a unit attention) is
# fail-fast: an injected fault that lands on it fails it, as it should.  Any
# other failed I/O is an error.
dmesg_since_start | grep 'I/O error' | grep -v 'op 0x0:(READ) flags 0x80700 ' >/tmp/soak.ioerr
[ -s /tmp/soak.ioerr ] && fail "I/O failed outside readahead: $(head -n 1 /tmp/soak.ioerr)"
dmesg_allow 'abort handle|timing out|timed out|reset|firmware error 0x8002|ISP System Error|Unable to abort command|invalid handle|Power-on or device reset|not returned by the firmware'
dmesg_allow 'I/O error, dev sd[a-z]+, sector [0-9]+ op 0x0:\(READ\) flags 0x80700 |FAILED Result: hostbyte=DID_(OK|ERROR)|Sense Key|Add. Sense|CDB:|Buffer I/O error.*async page read'
check_dmesg_clean
pass "$n faults in ${secs}s (seed $seed), verified I/O throughout"
