# The ISP1040 model driven by qlisp, the driver this project ships.  The
# same cases as the qla1280 suite, plus the ones that exercise qlisp's own
# claims: continuation chaining, deep queues, many jobs, resets during I/O
# and unload/reload.  Read by tests/run-vm.py.
SUITE = {
    "description": "isp1040 model + qlisp",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    # 1 s instead of the NVRAM's 3 s after each bus reset keeps the reload
    # and reset cases short; the default path runs in the swiotlb suite.
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        {"target": 3, "lun": 2, "size_mib": 136},
    ],
    "cases": ["attach", "chan_race", "sg_basic", "sg_dd", "fio_verify", "ext4",
              "continuation", "qd32", "hotpath", "fio_jobs8", "sg_reset", "reload",
              "rsp_index", "pci_rebind", "migrate", "savevm", "sense_keys",
              "sg_segments", "pm_suspend", "pm_freeze", "residuals",
              # qlisp's module parameters and firmware file handling
              "modparams"],
    "case_timeout": 240,
    "timeouts": {"attach": 150, "fio_verify": 360, "reload": 300,
                 "migrate": 600, "savevm": 600},
    # above the sum of what the cases take (about 10 minutes warm)
    "timeout_total": 1800,
    # after the guest's power-off the host checks that qlisp's shutdown
    # stopped the chip (run-vm.py: host_shutdown)
    "shutdown_check": True,
    "guest": {
        "dmesg_allow": "",
    },
}
