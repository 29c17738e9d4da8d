# The ISP1040 model (emu/) driven by Linux's own qla1280 driver with
# Debian's qlogic/1040.bin.  Read by tests/run-vm.py.
SUITE = {
    "description": "isp1040 model + Linux qla1280",
    # QEMU arguments that create the HBA; its id is "hba".
    "hba": ["-device", "isp1040,id=hba"],
    # bus the scsi-hd devices are plugged into
    "bus": "hba.0",
    # QOM path of the HBA (for host_qom_get/host_qom_set in the guest)
    "qom": "/machine/peripheral/hba",
    # guest side: module to load, its parameters, scsi_host proc_name
    "driver": "qla1280",
    "modargs": [],
    "proc_name": "qla1280",
    # disks in attach order: index 0 is disk A, 1 disk B, the first with
    # LUN > 0 is disk C.  Sizes differ so the guest can tell them apart.
    "disks": [
        {"target": 0, "lun": 0, "size_mib": 200},
        {"target": 3, "lun": 0, "size_mib": 160},
        {"target": 3, "lun": 2, "size_mib": 136},
    ],
    # every case of the qlisp suite that is not about a qlisp-only feature
    # (hotpath measures qlisp's own register traffic)
    "cases": ["attach", "host_channel", "sg_basic", "sg_dd", "fio_verify", "ext4",
              "continuation", "qd32", "fio_jobs8", "sg_reset", "reload",
              "migrate", "savevm", "sense_keys", "sg_segments", "pci_rebind",
              "residuals"],
    # seconds per case (default for cases not listed: "case_timeout")
    "case_timeout": 240,
    # reload: 8 rounds (qla1280 loads its firmware each time; 20 took 280 s
    # on a loaded 2-core machine)
    "kernel_args": ["vmt_env=RELOAD_COUNT=8"],
    "timeouts": {"attach": 150, "fio_verify": 360, "reload": 300,
                 "migrate": 600, "savevm": 600},
    "timeout_total": 1800,
    # values the guest can ask for with host_get KEY
    "guest": {
        # extended regex of dmesg lines that are not errors for this driver
        "dmesg_allow": "",
    },
}
