# Transfer negotiation fallback (issue 14 item 9): the model's targets
# answer WDTR or SDTR with MESSAGE REJECT on request, and the chip ends the
# negotiating command with completion status 0x1F (wide) or 0x20 (sync).
# Every target offers wide (x-offer-wide), so that wide is negotiated at
# all (QEMU's scsi-hd offers sync only).  Bits are bus * 16 + target:
# target 0 rejects wide, target 1 rejects sync, target 2 takes both.
SUITE = {
    "description": "isp1040 model + qlisp, targets that refuse wide or sync",
    "hba": ["-device", "isp1040,id=hba,x-offer-wide=0x7,"
                       "x-reject-wide=0x1,x-reject-sync=0x2"],
    "bus": "hba.0",
    "qom": "/machine/peripheral/hba",
    "driver": "qlisp",
    "modargs": ["settle_delay=1"],
    "proc_name": "qlisp",
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 96},
        {"target": 1, "lun": 0, "size_mib": 80},
        {"target": 2, "lun": 0, "size_mib": 64},
    ],
    "cases": ["negotiate"],
    "case_timeout": 240,
    "timeout_total": 600,
    "guest": {"dmesg_allow": ""},
}
