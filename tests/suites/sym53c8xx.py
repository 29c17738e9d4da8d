# QEMU's own LSI 53C895A with Linux's sym53c8xx: proves the rig and the
# cases against a known-good HBA/driver pair.  Read by tests/run-vm.py.
SUITE = {
    "description": "QEMU lsi53c895a + Linux sym53c8xx",
    "hba": ["-device", "lsi53c895a,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "sym53c8xx",
    "modargs": [],
    "proc_name": "sym53c8xx",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        # QEMU's lsi53c895a has no LUNs > 0 ("bad scsi device lun"): the
        # third disk is LUN 0 of another target; it plays disk C.
        {"target": 5, "lun": 0, "size_mib": 136},
    ],
    "cases": ["attach", "host_channel", "sg_basic", "sg_dd", "fio_verify", "ext4"],
    "case_timeout": 240,
    "timeouts": {"attach": 150, "fio_verify": 360},
    "guest": {
        "dmesg_allow": "",
    },
}
