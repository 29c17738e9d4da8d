# Two ISP1040 adapters without a usable NVRAM, driven by qlisp: hba's is
# blank (no "ISP " signature), hba2's is corrupt (bad checksum).  qlisp
# must say so for each and run on its defaults (case nvram).
SUITE = {
    "description": "isp1040 models with blank and corrupt NVRAM + qlisp",
    "hba": ["-device", "isp1040,id=hba,nvram=blank",
            "-device", "isp1040,id=hba2,nvram=corrupt"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 64},
        {"target": 2, "lun": 0, "size_mib": 48, "bus": "hba2.0"},
    ],
    "cases": ["nvram"],
    "case_timeout": 240,
    "guest": {"dmesg_allow": ""},
}
