#!/bin/sh
# sg_basic: INQUIRY, READ CAPACITY, TEST UNIT READY and REPORT LUNS through
# the sg driver on every disk, and the residual of a REPORT LUNS asked for
# more than the device returns (exact byte count).
. /qlisp/lib.sh
need_disks

# index of the LUN 0 disk on the target of disk $1
lun0_of() {
	k=0
	while [ $k -lt "$(ndisks)" ]; do
		[ "$(disk_target $k)" = "$(disk_target $1)" ] && [ "$(disk_lun $k)" = 0 ] && { echo $k; return; }
		k=$((k + 1))
	done
	echo "$1"
}

n=$(ndisks)
i=0
while [ $i -lt "$n" ]; do
	sg=$(disk_sg $i)
	a=$(disk_hctl $i)

	must sg_inq "$sg"
	vendor=$(sed -n 's/^ *Vendor identification: *//p' /tmp/run.out | tr -d ' ')
	[ "$vendor" = QEMU ] || fail "$a: INQUIRY vendor '$vendor', expected QEMU"
	pdt=$(sed -n 's/.*Peripheral device type: *//p' /tmp/run.out)
	case $pdt in disk*) ;; *) fail "$a: peripheral device type '$pdt'" ;; esac

	must sg_readcap "$sg"
	bytes=$(sed -n 's/^ *Device size: *\([0-9]*\) bytes.*/\1/p' /tmp/run.out)
	blen=$(sed -n 's/^ *Logical block length=\([0-9]*\) bytes.*/\1/p' /tmp/run.out)
	[ "$bytes" = "$(disk_bytes $i)" ] || fail "$a: capacity '$bytes' bytes, expected $(disk_bytes $i)"
	[ "$blen" = 512 ] || fail "$a: block length '$blen'"
	# READ CAPACITY(16) must agree -- or be refused by the host as a whole
	# (a 12-byte-CDB HBA: the midlayer ends it with DID_ABORT; sg_readcap
	# still exits 0 then, so look at what it printed).
	must sg_readcap -l "$sg"
	if grep -q 'Host_status=' /tmp/run.out; then
		grep -q 'DID_ABORT' /tmp/run.out ||
			fail "$a: READ CAPACITY(16): $(grep 'Host_status' /tmp/run.out)"
		rc16="refused (12-byte CDBs)"
	else
		bytes16=$(sed -n 's/^ *Device size: *\([0-9]*\) bytes.*/\1/p' /tmp/run.out)
		[ "$bytes16" = "$bytes" ] || { cat /tmp/run.out; fail "$a: READ CAPACITY(16) says $bytes16"; }
		rc16=ok
	fi

	must sg_turs -n 20 "$sg"

	# expected: every LUN the runner put on this target
	want=$(j=0; while [ $j -lt "$n" ]; do
		[ "$(disk_target $j)" = "$(disk_target $i)" ] && disk_lun $j
		j=$((j + 1)); done | sort -n | tr '\n' ' ')
	want=${want% }
	if [ "$(disk_lun $i)" = 0 ]; then
		must sg_luns -d "$sg"
	elif ! run sg_luns -d "$sg"; then
		# QEMU's SCSI bus answers REPORT LUNS only on LUN 0 and refuses it
		# elsewhere with ILLEGAL REQUEST (sg_luns exit 5); anything else fails.
		[ $rc = 5 ] || fail "$a: sg_luns exited $rc: $(tail -n 1 /tmp/run.out)"
		grep -qi 'illegal request' /tmp/run.out || fail "$a: sg_luns: $(tail -n 1 /tmp/run.out)"
		run sg_luns -d "$(disk_sg "$(lun0_of $i)")" >/dev/null
	fi
	luns=$(sed -n 's/.*addressing: *lun=\([0-9]*\).*/\1/p' /tmp/run.out | sort -n | tr '\n' ' ')
	luns=${luns% }
	[ "$luns" = "$want" ] || fail "$a: REPORT LUNS gave '$luns', expected '$want'"
	# Residuals: an allocation length beyond what the device returns.  The
	# bytes the kernel says arrived (allocation minus the residual the
	# driver reported) must be exactly what the device sent.
	if [ "$(disk_lun $i)" = 0 ]; then
		nl=$(echo "$want" | wc -w)
		got=$(sg_in_bytes "$sg" 4096 a0 00 00 00 00 00 00 00 10 00 00 00) ||
			fail "$a: REPORT LUNS through sg_raw failed: $(tail -n 2 /tmp/sgraw.out | tr '\n' ' ')"
		[ "$got" = $((8 + 8 * nl)) ] ||
			fail "$a: REPORT LUNS, 4096-byte allocation: $got bytes arrived, the device sent $((8 + 8 * nl)) ($nl LUNs)"
	fi
	say "$a $sg: vendor $vendor, $bytes bytes, RC16 $rc16, luns $luns"
	i=$((i + 1))
done

# A LUN nobody attached must not answer as a disk: INQUIRY on a LUN>0 disk
# proves nothing about that, so look at what the scan created instead.
c=$(disk_c) || fail "suite has no disk C"
t=$(disk_target "$c")
for l in 0 1 2 3 4 5 6 7; do
	d=/sys/bus/scsi/devices/$(hba_host):0:$t:$l
	attached=0
	j=0; while [ $j -lt "$n" ]; do
		[ "$(disk_target $j):$(disk_lun $j)" = "$t:$l" ] && attached=1
		j=$((j + 1)); done
	if [ $attached = 0 ] && [ -e "$d" ]; then fail "phantom device $d"; fi
done
check_dmesg_clean
pass "$n disks: inq/readcap/tur/luns ok"
