# Chip revisions (issue 14 item 4): one model adapter per revision of the
# ISP1020/1040 family (property "revision", the BIU CONF0 value), each with
# one disk, all driven by qlisp in one guest.  The ISP1040 (revision 3) has
# a blank NVRAM so that the driver's defaults for a chip without Ultra are
# used; the others have the model's NVRAM, which asks for Fast-20.
SUITE = {
    "description": "isp1040 model in every revision + qlisp",
    "hba": ["-device", "isp1040,id=hba,revision=1",
            "-device", "isp1040,id=hba2,revision=2",
            "-device", "isp1040,id=hba3,revision=3,nvram=blank",
            "-device", "isp1040,id=hba4,revision=4",
            "-device", "isp1040,id=hba5,revision=5",
            "-device", "isp1040,id=hba6,revision=6"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 64},
        {"target": 0, "lun": 0, "size_mib": 65, "bus": "hba2.0"},
        {"target": 0, "lun": 0, "size_mib": 66, "bus": "hba3.0"},
        {"target": 0, "lun": 0, "size_mib": 67, "bus": "hba4.0"},
        {"target": 0, "lun": 0, "size_mib": 68, "bus": "hba5.0"},
        {"target": 0, "lun": 0, "size_mib": 69, "bus": "hba6.0"},
    ],
    "cases": ["revisions"],
    "case_timeout": 300,
    "timeout_total": 600,
    "guest": {"dmesg_allow": ""},
}
