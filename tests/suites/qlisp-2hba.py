# Two ISP1040 adapters in one guest, both driven by qlisp: each must attach
# with its own disks, and I/O must run on both at once.
SUITE = {
    "description": "two isp1040 models + qlisp",
    "hba": ["-device", "isp1040,id=hba", "-device", "isp1040,id=hba2"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    # one disk on the first adapter, two on the second (target 5 and 3:1)
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 96},
        {"target": 5, "lun": 0, "size_mib": 80, "bus": "hba2.0"},
        {"target": 3, "lun": 1, "size_mib": 72, "bus": "hba2.0"},
    ],
    "cases": ["two_hbas", "fault_2hba", "shutdown_reset"],
    # after the power-off the host reads both HBAs' fw-ready
    # (shutdown_reset powers off with hba re-initialising and hba2 in its
    # retries: it must run last)
    "shutdown_check": ["/machine/peripheral/hba", "/machine/peripheral/hba2"],
    "case_timeout": 240,
    "guest": {"dmesg_allow": ""},
}
