#!/bin/sh
# fault_2hba: faults on one of two adapters while the other verifies.  fio
# writes and verifies a disk on each adapter; the second adapter (hba2)
# gets a foreign bus reset and then a firmware system error.  The first
# adapter must see none of it: no reset of any kind at the model, no unit
# attention from its disk, its I/O going on while the second recovers; the
# second recovers (chip reset, marker, unit attentions) and both verify.
# F2HBA_SYSERR=0 (suite qla1280-2hba): the bus reset only; qla1280 takes
# about 100 s to recover from a system error on the halting model (see
# fault_syserr), longer than fio runs here.
. /qlisp/lib.sh
driver_loaded || must load_driver
q2=/machine/peripheral/hba2
hosts=""
tries=600
while [ $tries -gt 0 ]; do
	hosts=$(for h in /sys/class/scsi_host/host*; do
		[ "$(cat "$h/proc_name" 2>/dev/null)" = "$VMT_PROC" ] && echo "${h##*/host}"
	done | sort -n)
	[ "$(echo "$hosts" | grep -c .)" -ge 2 ] && [ "$(ls /sys/class/scsi_disk | wc -l)" -ge 3 ] && break
	sleep 0.1
	tries=$((tries - 1))
done
[ "$(echo "$hosts" | grep -c .)" = 2 ] || fail "want 2 $VMT_PROC hosts, have: $(echo $hosts)"
h1=$(echo "$hosts" | sed -n 1p)
h2=$(echo "$hosts" | sed -n 2p)
[ -e "/sys/class/scsi_disk/$h1:0:0:0" ] || fail "host$h1 has no disk 0:0 (hba's)"
[ -e "/sys/class/scsi_disk/$h2:0:5:0" ] || fail "host$h2 has no disk 5:0 (hba2's)"
sd1=/dev/$(ls "/sys/class/scsi_disk/$h1:0:0:0/device/block")
sd2=/dev/$(ls "/sys/class/scsi_disk/$h2:0:5:0/device/block")
# counters of both adapters
cnt() { # QOM-PATH KEY
	_v=$(host_qom_get_path "$1" "$2") || fail "cannot read $2 of $1"
	case $_v in '' | *[!0-9]*) fail "$2 of $1 is '$_v'" ;; esac
	echo "$_v"
}
RESETS="x-stat-bus-resets x-stat-device-resets x-stat-timeouts x-stat-chip-resets x-stat-aborts"
for k in $RESETS; do
	v=$(cnt "$VMT_QOM" $k)
	echo "$v" >/tmp/f2.$k
done
b0=$(cnt $q2 x-stat-chip-resets)
m0=$(cnt $q2 x-stat-markers)
echo "qlisp: reset-mark $CASE_TAG h2" >/dev/kmsg
fio_pass twofault --ioengine=libaio --iodepth=8 --direct=1 --rw=randwrite \
	--bsrange=4k-128k --size=24m --rate=2m \
	--name=a --filename="$sd1" --name=b --filename="$sd2" &
fpid=$!
wait_io "$sd1" 16 || fail "fio did not start on hba"
wait_io "$sd2" 16 || fail "fio did not start on hba2"
host_qom_set_path $q2 x-fault bus-reset >/dev/null || fail "cannot post a bus reset on hba2"
wait_io "$sd2" 16 || fail "no I/O on hba2 after its bus reset"
syserr=${F2HBA_SYSERR:-1}
if [ "$syserr" = 1 ]; then
	kill -0 $fpid 2>/dev/null || fail "fio ended before the system error"
	host_qom_set_path $q2 x-fault system-error >/dev/null || fail "cannot post a system error on hba2"
	# hba goes on while hba2 is re-initialised
	wait_io "$sd1" 16 || fail "I/O on hba stopped after hba2's system error"
	n=0
	until [ "$(host_qom_get_path $q2 fw-ready)" = true ]; do
		n=$((n + 1))
		[ $n -lt 600 ] || fail "hba2's firmware not running 60 s after its system error"
		sleep 0.1
	done
fi
wait $fpid || fail "across hba2's faults: $(fio_why twofault)"
[ "$(grep -c 'err= *0' /tmp/fio.twofault.out)" -eq 2 ] || fail "fio did not finish cleanly on both adapters"
# hba: untouched
for k in $RESETS; do
	v0=$(cat /tmp/f2.$k)
	v1=$(cnt "$VMT_QOM" $k)
	[ "$v1" -eq "$v0" ] || fail "hba's $k went $v0 -> $v1 during hba2's faults"
done
sg_turs "/dev/$(ls "/sys/class/scsi_device/$h1:0:0:0/device/scsi_generic")" >/dev/null 2>&1
since() { dmesg | sed -n "/qlisp: reset-mark $CASE_TAG h2\$/,\$p"; }
since | grep -q "sd $h1:0:0:0: Power-on or device reset occurred" &&
	fail "hba's disk reported a unit attention after hba2's resets"
# hba2: recovered, with its marker and unit attentions
b1=$(cnt $q2 x-stat-chip-resets)
m1=$(cnt $q2 x-stat-markers)
if [ "$syserr" = 1 ]; then
	[ "$b1" -gt "$b0" ] || fail "hba2's chip was not reset after its system error"
	# qlisp resets the bus after the re-initialisation (bus_reset=1)
	[ "$m1" -ge $((m0 + 2)) ] || fail "$((m1 - m0)) markers on hba2 after a bus reset and a re-initialisation, want 2"
else
	[ "$m1" -ge $((m0 + 1)) ] || fail "no marker on hba2 after its bus reset"
fi
# (3:1 had no I/O and must report it.  5:0 had fio's: qla1280 may hide
# its unit attention as an underflow retry, see expect_ua in lib.sh, and
# once left no trace of it at all (a command held 30 s after the bus
# reset, then aborted): with qla1280 5:0 is not checked.)
for l in 3:1 5:0; do
	if [ $l = 5:0 ] && ! is_qlisp; then
		since | grep -q "sd $h2:0:$l: Power-on or device reset occurred" ||
			say "hba2's $l: no unit attention logged by qla1280 (not checked)"
		continue
	fi
	sg_turs "/dev/$(ls "/sys/class/scsi_device/$h2:0:$l/device/scsi_generic")" >/dev/null 2>&1
	since | grep -q "sd $h2:0:$l: Power-on or device reset occurred" ||
		fail "no unit attention from hba2's $l after its resets"
done
dmesg_allow 'SCSI bus reset reported|firmware error 0x8002 \(0x[0-9a-f]{4} 0x[0-9a-f]{4} 0x[0-9a-f]{4}\), resetting adapter$|Power-on or device reset occurred'
check_dmesg_clean
what="bus reset"
[ "$syserr" = 1 ] && what="bus reset and system error"
pass "hba2: $what recovered ($((m1 - m0)) markers); hba untouched; both verified"
