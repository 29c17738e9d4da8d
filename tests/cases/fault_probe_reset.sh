#!/bin/sh
# fault_probe_reset: a firmware error during bring-up, after interrupts are
# on, and then the bring-up fails: the probe's error path must stop the
# reset work the error started before it frees the host (the work item
# lives in it), the rings and the firmware.
#
# The model fails on the NOP of qlisp's interrupt check (fault
# "syserr-mbox 1 0": the firmware halts with async 0x8002 instead of
# answering).  What happens, in order, with no timing involved: the
# interrupt handler takes the 0x8002 and schedules the reset work; the work
# starts and blocks on chip_mutex, which the probe holds for the whole
# bring-up; the NOP gets no answer, so after the 5 s mailbox timeout the
# bring-up fails and the probe drops chip_mutex, handing it to the work,
# which re-initialises the chip (the fault has fired, the bring-up works)
# while the probe goes to its error path.  There cancel_work_sync() waits
# for the work before anything is freed.  Without it the work runs on in a
# freed host: KASAN (debug kernel) reports the use after free, and
# check_dmesg_clean fails on it.  On any kernel the host checks that the
# chip was stopped after all (fw-ready false), and the driver attaches
# and works once the fault is gone.  (qlisp only: qla1280 sends no NOP
# with interrupts on.)
. /qlisp/lib.sh
is_qlisp || fail "fault_probe_reset checks qlisp's probe error path"
driver_loaded && must rmmod "$VMT_DRIVER"
f0=$(qom_num x-stat-faults) || fail "cannot read the model's fault count"
host_qom_set x-fault "syserr-mbox 1 0" >/dev/null || fail "cannot arm syserr-mbox"
load_driver >/tmp/fpr.out 2>&1
armed=$(host_qom_get x-fault) || fail "cannot read the model's x-fault"
host_qom_set x-fault "syserr-mbox 0 0" >/dev/null || fail "cannot disarm syserr-mbox"
f1=$(qom_num x-stat-faults) || fail "cannot read the model's fault count"
[ "$f1" -eq $((f0 + 1)) ] ||
	fail "the firmware error at the NOP did not fire once (x-stat-faults $f0 -> $f1; $armed)"
dmesg_since_start | grep -q 'firmware error 0x8002' ||
	fail "the firmware error during bring-up was not taken by the interrupt handler"
dmesg_since_start | grep -q 'mailbox command 0x00 timed out' ||
	fail "the bring-up's NOP did not time out"
dmesg_since_start | grep -qE 'probe of .* failed with error' ||
	fail "the probe did not fail"
hba_host >/dev/null && fail "a SCSI host was registered by a failed probe"
# what a reset work left running after the probe would do, it does now
sleep 3
ready=$(host_qom_get fw-ready) || fail "cannot read the model's fw-ready"
host_log "after the failed probe: fw-ready=$ready"
[ "$ready" = false ] ||
	fail "the chip runs its firmware after the failed probe freed the rings (fw-ready $ready)"
dmesg_allow 'firmware error 0x8002|mailbox command 0x00 timed out|probe of .* failed with error'
check_dmesg_clean
must rmmod "$VMT_DRIVER"
run load_driver || fail "modprobe $VMT_DRIVER failed with the fault gone"
wait_disks 60 || fail "disks did not appear with the fault gone"
must dd if="$(disk_sd 0)" of=/dev/null bs=64k count=16 iflag=direct
check_dmesg_clean
pass "firmware error in bring-up: probe failed cleanly, reset work stopped, chip halted; attach fine after"
