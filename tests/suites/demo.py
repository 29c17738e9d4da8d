# `make demo`: the ISP1040 model with two disks, driven by qlisp.
SUITE = {
    "description": "demo: isp1040 model + qlisp, two disks",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": [],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 256},
        {"target": 1, "lun": 0, "size_mib": 128},
    ],
    "cases": ["demo"],
    "case_timeout": 180,
    "guest": {"dmesg_allow": ""},
}
