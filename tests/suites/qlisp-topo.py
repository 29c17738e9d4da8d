# Bus topology qlisp must handle (issue 15 item 5): targets 8-15 of the
# wide bus, LUNs with gaps (0, 3, 7 on target 12), a disk at the
# initiator's own ID 7 (never scanned: the chip cannot select itself), and a
# CD-ROM (QEMU's scsi-cd) whose image the runner fills with a known pattern.
# Cases topology and cdrom; read by tests/run-vm.py.
SUITE = {
    "description": "isp1040 model + qlisp: wide targets, LUN gaps, ID 7, CD-ROM",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    # the guest sees the listed ones; the two unlisted come last (indexes
    # for host truth are positions in this list)
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 64},
        {"target": 8, "lun": 0, "size_mib": 40},
        {"target": 15, "lun": 0, "size_mib": 48},
        {"target": 12, "lun": 0, "size_mib": 24},
        {"target": 12, "lun": 3, "size_mib": 28},
        {"target": 12, "lun": 7, "size_mib": 32},
        {"target": 7, "lun": 0, "size_mib": 36, "listed": False},
        {"target": 4, "lun": 0, "size_mib": 8, "listed": False,
         "device": "scsi-cd", "fill_seed": 215010561},
    ],
    "kernel_args": ["vmt_env=SELF_TARGET=7:CD_TARGET=4:CD_MIB=8:CD_SEED=215010561"],
    "cases": ["topology", "cdrom"],
    "case_timeout": 240,
    "timeouts": {"topology": 300},
    "timeout_total": 900,
    "guest": {"dmesg_allow": ""},
}
