# CDBs longer than 12 bytes through the ISP's extended command entry (type
# 5): a 3 TiB sparse disk must attach with its real capacity (READ
# CAPACITY(16)) and take I/O past 2 TiB (READ/WRITE(16)), discard must work
# on a disk that supports it, and sg_raw must pass a 16-byte CDB.
SUITE = {
    "description": "isp1040 model + qlisp, 16-byte CDBs",
    "hba": ["-device", "isp1040,id=hba"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        # 3 TiB, sparse in the runner's tmpfs: only written blocks use memory
        {"target": 1, "lun": 0, "size_mib": 3 << 20},
    ],
    "cases": ["attach", "cdb16"],
    "case_timeout": 240,
    "timeouts": {"attach": 150},
    "guest": {"dmesg_allow": ""},
}
