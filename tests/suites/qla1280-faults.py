# The fault cases of qlisp-faults with Linux's qla1280 driving the same
# model: what the stock driver recovers from, for the table in
# Documentation/scsi/qlisp.rst.  Cases check driver-neutral outcomes (data
# read back, fio verify, model counters, no splat); the qlisp-only checks of
# messages and statistics are skipped (is_qlisp in tests/guest/lib.sh).
SUITE = {
    "description": "isp1040 model + Linux qla1280, fault injection",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qla1280",
    "modargs": [],
    "proc_name": "qla1280",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        {"target": 3, "lun": 2, "size_mib": 136,
         "blkdebug": "[inject-error]\nevent = \"read_aio\"\n"
                     "iotype = \"read\"\nsector = \"8192\"\n"},
    ],
    "cases": ["attach", "fault_timeout", "fault_escalate", "fault_busreset",
              "fault_syserr", "fault_seltimeout", "fault_status",
              "fault_corrupt", "blkdebug_lba", "hotplug", "soak",
              # the data checks must fail under silent corruption
              "eyes_dropwrite", "eyes_wronglba", "eyes_flipread", "eyes_zeroresid"],
    # soak: qla1280 leaves a system error to the midlayer's escalation, so
    # a second one within a command's budget fails it (tests/cases/soak.sh).
    # It aborts the outstanding commands one by one (4 s each) before it
    # escalates: 8 per disk keeps that within the soak's 120 s wait (with 16
    # on each of the two disks it took longer).
    # The model now halts the RISC on a system error, as the chip does: no
    # mailbox answers until a chip reset.  qla1280 ignores the 0x8002 event
    # and its error handler aborts the outstanding commands one at a time,
    # each abort a 20 s mailbox timeout (measured: 8 of them, 24.5 s apart,
    # then device and bus reset, 240 s in all), past the soak's 120 s wait.
    # Its soak therefore injects bus resets instead (SOAK_SYSERR=0);
    # fault_syserr tests the recovery from the halt (about 100 s).
    "kernel_args": ["vmt_soak=60",
                    "vmt_env=SOAK_SYSERR=0:SOAK_SYSERR_GAP=48:SOAK_IODEPTH=8"],
    "case_timeout": 240,
    "timeouts": {"soak": 300},
    "timeout_total": 1800,
    "guest": {"dmesg_allow": ""},
}
