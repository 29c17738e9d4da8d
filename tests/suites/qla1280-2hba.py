# Two ISP1040 adapters driven by Linux's qla1280: the cases of qlisp-2hba
# (both attach with their own disks, verified I/O on both; faults on one
# while the other verifies).  The fault case posts a bus reset only
# (F2HBA_SYSERR=0): qla1280 needs about 100 s to recover from a system
# error on the halting model (fault_syserr in qla1280-faults tests that).
SUITE = {
    "description": "two isp1040 models + Linux qla1280",
    "hba": ["-device", "isp1040,id=hba", "-device", "isp1040,id=hba2"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qla1280",
    "modargs": [],
    "proc_name": "qla1280",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 96},
        {"target": 5, "lun": 0, "size_mib": 80, "bus": "hba2.0"},
        {"target": 3, "lun": 1, "size_mib": 72, "bus": "hba2.0"},
    ],
    "cases": ["two_hbas", "fault_2hba"],
    "kernel_args": ["vmt_env=F2HBA_SYSERR=0"],
    "case_timeout": 240,
    "guest": {"dmesg_allow": ""},
}
