#!/bin/sh
# fault_seltimeout: a target stops answering selection: I/O to it fails
# cleanly (EIO, no hang), the other target keeps working, and once the
# target answers again I/O to it works.
. /qlisp/lib.sh
need_disks
devb=$(disk_sd 1)
t=$(disk_target 1)
host_qom_set x-fault "seltimeout $t" >/dev/null || fail "cannot arm seltimeout"
if dd if="$devb" of=/dev/null bs=4k count=1 skip=77 iflag=direct 2>/tmp/st.err; then
	host_qom_set x-fault "seltimeout -1" >/dev/null
	fail "read from a target that does not answer succeeded"
fi
must dd if="$(disk_sd 0)" of=/dev/null bs=64k count=4 iflag=direct
host_qom_set x-fault "seltimeout -1" >/dev/null || fail "cannot disarm seltimeout"
must dd if="$devb" of=/dev/null bs=4k count=1 skip=78 iflag=direct
dmesg_allow 'I/O error|DID_NO_CONNECT|hostbyte=0x01|Buffer I/O error|error, dev sd'
check_dmesg_clean
pass "selection timeout: clean EIO, recovery after"
