# qlisp with every DMA mapping bounced through swiotlb (swiotlb=force): the
# driver must use only the DMA addresses the mapping API gives it.  Runs
# with the module's default settle delay (from the NVRAM).
SUITE = {
    "description": "isp1040 model + qlisp, swiotlb=force",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": [],
    "proc_name": "qlisp",
    "kernel_args": ["swiotlb=force"],
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        {"target": 3, "lun": 2, "size_mib": 136},
    ],
    "cases": ["attach", "sg_dd", "continuation", "qd32"],
    "case_timeout": 240,
    "timeouts": {"attach": 150},
    "guest": {
        "dmesg_allow": "",
    },
}
