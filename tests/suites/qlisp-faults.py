# Faults injected into the ISP1040 model at run time (qom-set hba x-fault ...)
# while qlisp drives it: timeouts and aborts, failed aborts and resets
# escalating, foreign bus resets, firmware system errors, selection timeouts,
# queue full / busy / check condition statuses, underruns, and corrupt
# response entries from an untrusted device.
SUITE = {
    "description": "isp1040 model + qlisp, fault injection",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        # disk C: QEMU's blkdebug fails reads of LBA 8192 (blkdebug_lba)
        {"target": 3, "lun": 2, "size_mib": 136,
         "blkdebug": "[inject-error]\nevent = \"read_aio\"\n"
                     "iotype = \"read\"\nsector = \"8192\"\n"},
    ],
    "cases": ["attach", "fault_irq", "fault_timeout", "fault_escalate", "fault_busreset",
              "fault_syserr", "fault_seltimeout", "fault_status",
              "fault_corrupt", "fault_badentry", "blkdebug_lba", "soak", "hotplug",
              "fault_mbox_timeout", "fault_reset_race",
              "fault_probe_reset",
              "fault_busmaster", "fault_reset_dma", "fault_marker_reject",
              # the data checks must fail under silent corruption
              "eyes_dropwrite", "eyes_wronglba", "eyes_flipread", "eyes_zeroresid"],
    # bounded soak for CI; longer runs: edit or copy this suite.  60 s:
    # the first seven faults are one of each kind (tests/cases/soak.sh),
    # and the rest, about twenty more, follow the seed.
    "kernel_args": ["vmt_soak=60"],
    "case_timeout": 240,
    "timeouts": {"soak": 400},
    # above the sum of what the cases take (447 s for all 17 on a loaded
    # 2-core machine)
    "timeout_total": 1800,
    "guest": {"dmesg_allow": ""},
}
