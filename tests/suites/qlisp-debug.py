# qlisp on the debug kernel (tests/kdebug: KASAN, PROVE_LOCKING,
# DEBUG_ATOMIC_SLEEP, DMA_API_DEBUG, KMEMLEAK, DEBUG_OBJECTS): the guest
# suite and the fault cases, then kdebug (no splat since boot, lockdep
# still on, kmemleak clean after load/unload).  Any splat in any case fails
# it (check_dmesg_clean).
SUITE = {
    "description": "isp1040 model + qlisp on the debug kernel",
    "kernel": "debug",
    "mem": 1536,
    # ACPI's _PRT method runs past the interpreter's 30 s loop timeout on a
    # KASAN+lockdep kernel under TCG, leaving the HBA without an IRQ: take
    # PCI interrupt routing from the BIOS's $PIR table instead.
    # The cases' data sizes are cut to a quarter (a KASAN kernel under TCG
    # is several times slower); what they check is the same.  sg_dd's
    # 512-byte commands: 1 MiB (2048 each way per disk, the request ring
    # wrapped twice) instead of 2: 8192 of them took 21 s there.  reload's
    # slab total is left out: KASAN's quarantine of freed objects made it
    # grow by 1344 kB over 3 reloads in one run of five; kdebug's kmemleak
    # scan is the leak check on this kernel.
    "kernel_args": ["acpi=noirq",
                    "vmt_env=SG_DD_MIB=16:FIO_SIZE=16m:RELOAD_COUNT=5:"
                    "RELOAD_SLAB_KB=0:SG_DD_SMALL_MIB=1"],
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        {"target": 3, "lun": 2, "size_mib": 136},
    ],
    # sg_basic, fio_verify and ext4 run in the stock suites only: they check
    # answers and data, and the driver paths they take are taken here under
    # the sanitizers by attach (the scan's INQUIRY and REPORT LUNS, which
    # the disks answer with less than was asked: residuals), sg_dd (single-entry and chained commands),
    # continuation, qd32 and fio_jobs8 (8 submitters on 2 CPUs).  On this
    # kernel they took 211 of its 1457 s with another suite beside it.
    "cases": ["attach", "sg_dd",
              "continuation", "qd32", "fio_jobs8", "sg_reset", "reload",
              "fault_irq", "fault_timeout", "fault_escalate", "fault_busreset",
              "fault_syserr", "fault_seltimeout", "fault_status",
              "fault_probe_reset",
              "fault_corrupt", "fault_badentry", "hotplug", "kdebug"],
    "case_timeout": 480,
    "timeout_total": 3600,
    "timeouts": {"attach": 300, "fio_verify": 720, "reload": 600},
    "guest": {"dmesg_allow": ""},
}
