#!/bin/sh
# host_channel: the guest -> host request path works both ways: QOM reads of
# the HBA, an HMP command, and an error for a property that does not exist.
. /qlisp/lib.sh

t=$(host_qom_get type) || fail "qom-get type failed: $t"
case $t in '"'?*'"') ;; *) fail "qom-get type gave '$t', expected a JSON string" ;; esac
v=$(host_hmp info version) || fail "hmp info version failed: $v"
# a QEMU version: 7.2 (bookworm) or 10.0 (trixie, QEMU_RELEASE=trixie)
case $v in *[0-9].[0-9]*) ;; *) fail "hmp info version gave '$v'" ;; esac
if r=$(host_qom_get no-such-property-qlisp); then
	fail "qom-get of a missing property succeeded: $r"
fi
case $r in ERROR*) ;; *) fail "missing property: reply '$r' is not an ERROR" ;; esac
check_dmesg_clean
pass "HBA type $t, QEMU $v"
