#!/bin/sh
# fault_irq: the HBA's interrupt line goes nowhere (a broken ACPI _PRT or a
# miswired INTx).  qlisp must notice at attach (the chip answers a NOP, no
# interrupt arrives), refuse the adapter with a clear message and leave no
# SCSI host behind, instead of attaching and timing out every command.
# The failed probe stops the chip before it frees the rings the firmware
# was given.  With the line back it attaches and works.  (qlisp only: qla1280 has no
# such check.)
. /qlisp/lib.sh
is_qlisp || fail "fault_irq checks qlisp's attach-time interrupt test"
driver_loaded && must rmmod "$VMT_DRIVER"
c0=$(qom_num x-stat-chip-resets) || fail "cannot read the model's chip resets"
host_qom_set x-fault "irq-lost 1" >/dev/null || fail "cannot arm irq-lost"
load_driver >/tmp/fi.out 2>&1
host_qom_set x-fault "irq-lost 0" >/dev/null || fail "cannot disarm irq-lost"
dmesg_since_start | grep -q 'no interrupt on IRQ' || fail "lost interrupt not reported"
# The interrupt test runs after the rings were given to the firmware: the
# failed probe frees them, so it must have stopped the chip first (seen
# from the host: the firmware no longer runs with queues set up).
ready=$(host_qom_get fw-ready) || fail "cannot read the model's fw-ready"
c1=$(qom_num x-stat-chip-resets) || fail "cannot read the model's chip resets"
host_log "after the failed probe: fw-ready=$ready, $((c1 - c0)) chip soft resets"
[ "$ready" = false ] ||
	fail "the failed probe freed its rings with the firmware still running on them (fw-ready $ready)"
hba_host >/dev/null && fail "a SCSI host was registered without interrupts"
must rmmod "$VMT_DRIVER"
run load_driver || fail "modprobe $VMT_DRIVER failed with the interrupt back"
wait_disks 60 || fail "disks did not appear with the interrupt back"
must dd if="$(disk_sd 0)" of=/dev/null bs=64k count=16 iflag=direct
dmesg_allow 'no interrupt on IRQ|mailbox command 0x00 timed out|probe of .* failed with error -5'
check_dmesg_clean
pass "lost interrupt refused at attach; attach and I/O fine once it is back"
