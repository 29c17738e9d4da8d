#!/usr/bin/python3
"""Per-case timeouts of the guest suites, from measured times.

MEASURED holds, per suite and case, the longest passing run measured on the
project's machine (Debian 12, 2 cores shared with other jobs, TCG): the
seconds between the guest's @@START and @@RESULT lines in the channel.log
of every result directory there was on 2026-11-30 (the merged tree's runs,
each helper branch's, the CI pre-checks', the last two with two suites at
once), each entry the largest seen, as printed by

    python3 tests/case_times.py /tmp/qlisp-results*/

tests/run-vm.py gives each case FACTOR times its measured seconds, rounded
up to 10 s and at least FLOOR, or more if the suite names more
("timeouts"); a case not measured gets the suite's "case_timeout".
FACTOR is 4, one more than the 3 asked for: the same case took up to 2.5
times as long from one run to the next while seven jobs shared the two
cores (sg_reset: 32 to 69 s on qla1280), and some cases are bimodal: qla1280's
fault_busreset took 20 to 31 s, then 118 s in a run where a command after
the bus reset went to the midlayer's error handler.  FLOOR is the 240 s
every case had before, so no timeout is shorter than it was; it also
leaves room for a case's own bounded waits (60 s for disks, I/O or a host
reply), so that a stuck case fails with its own message.  A
suite's overall cap is at least the boot timeout plus the sum of the
timeouts of the cases it runs.  Re-measure after a case grows: run the
command above over fresh results and paste its output here.
"""
import glob
import math
import os
import re
import sys

FACTOR = 4
FLOOR = 240

MEASURED = {
    'qla1280': {
        'attach': 31.7, 'continuation': 11.5, 'ext4': 18.3, 'fio_jobs8': 12.3,
        'fio_verify': 61.1, 'host_channel': 0.5, 'migrate': 31.2,
        'pci_rebind': 25.2, 'qd32': 13.7, 'reload': 280.1, 'residuals': 3.2,
        'savevm': 32.0, 'sense_keys': 5.2, 'sg_basic': 20.3, 'sg_dd': 314.7,
        'sg_reset': 79.5, 'sg_segments': 16.6,
    },
    'qla1280-2hba': {
        'fault_2hba': 37.9, 'two_hbas': 17.3,
    },
    'qla1280-faults': {
        'attach': 20.1, 'blkdebug_lba': 4.4, 'eyes_dropwrite': 9.9,
        'eyes_flipread': 3.7, 'eyes_wronglba': 6.7, 'eyes_zeroresid': 2.9,
        'fault_busreset': 31.0, 'fault_corrupt': 40.4, 'fault_escalate': 39.5,
        'fault_seltimeout': 2.0, 'fault_status': 4.9, 'fault_syserr': 200.4,
        'fault_timeout': 27.8, 'hotplug': 17.7, 'soak': 121.6,
    },
    'qla1280-topo': {
        'cdrom': 4.0, 'topology': 12.7,
    },
    'qlisp': {
        'attach': 16.6, 'chan_race': 11.6, 'continuation': 10.7, 'ext4': 15.8,
        'fio_jobs8': 9.9, 'fio_verify': 44.2, 'hotpath': 23.9, 'migrate': 33.7,
        'modparams': 58.9, 'pci_rebind': 9.3, 'pm_freeze': 22.4,
        'pm_suspend': 29.1, 'qd32': 14.7, 'reload': 138.9, 'residuals': 5.1,
        'rsp_index': 8.9, 'savevm': 31.7, 'sense_keys': 6.1, 'sg_basic': 26.1,
        'sg_dd': 172.5, 'sg_reset': 49.7, 'sg_segments': 20.5,
    },
    'qlisp-2hba': {
        'fault_2hba': 17.2, 'shutdown_reset': 4.3, 'two_hbas': 15.2,
    },
    'qlisp-cdb16': {
        'attach': 11.6, 'cdb16': 7.6,
    },
    'qlisp-debug': {
        'attach': 32.1, 'continuation': 24.8, 'fault_badentry': 84.4,
        'fault_busreset': 65.2, 'fault_corrupt': 90.1, 'fault_escalate': 78.3,
        'fault_irq': 18.6, 'fault_probe_reset': 26.4, 'fault_seltimeout': 14.8,
        'fault_status': 33.5, 'fault_syserr': 49.7, 'fault_timeout': 43.1,
        'fio_jobs8': 35.9, 'hotplug': 56.2, 'kdebug': 87.9, 'qd32': 55.9,
        'reload': 72.5, 'sg_dd': 122.8, 'sg_reset': 220.0,
    },
    'qlisp-faults': {
        'attach': 15.9, 'blkdebug_lba': 4.9, 'eyes_dropwrite': 9.1,
        'eyes_flipread': 3.6, 'eyes_wronglba': 5.1, 'eyes_zeroresid': 3.8,
        'fault_badentry': 55.7, 'fault_busmaster': 37.9,
        'fault_busreset': 18.6, 'fault_corrupt': 55.1, 'fault_escalate': 21.6,
        'fault_irq': 9.6, 'fault_marker_reject': 9.1,
        'fault_mbox_timeout': 19.3, 'fault_probe_reset': 14.5,
        'fault_reset_dma': 33.3, 'fault_reset_race': 34.0,
        'fault_seltimeout': 2.2, 'fault_status': 5.9, 'fault_syserr': 22.2,
        'fault_timeout': 14.2, 'hotplug': 16.8, 'soak': 68.1,
    },
    'qlisp-neg': {
        'negotiate': 16.7,
    },
    'qlisp-nvram': {
        'nvram': 10.1,
    },
    'qlisp-revs': {
        'revisions': 59.2,
    },
    'qlisp-swiotlb': {
        'attach': 14.2, 'continuation': 10.1, 'qd32': 6.7, 'sg_dd': 185.1,
    },
    'qlisp-topo': {
        'cdrom': 2.4, 'topology': 7.3,
    },
}


def case_timeout(suite, case):
    """Seconds for CASE of SUITE (a loaded suite dict): FACTOR times the
    measured time (at least FLOOR), or the suite's own figure if larger."""
    given = suite.get("timeouts", {}).get(case)
    m = MEASURED.get(suite["name"], {}).get(case)
    if m is None:
        return given if given is not None else suite.get("case_timeout", 240)
    derived = max(FLOOR, int(math.ceil(FACTOR * m / 10.0)) * 10)
    return max(derived, given or 0)


# Seconds each whole suite took in make check on the merged tree of
# 2026-11-30 (da696ef, two suites at a time: the "N cases in S" lines).
# tests/run-vm.py starts the longest suites first.
SUITE_SECS = {
    "qlisp-debug": 1004, "qlisp": 498, "qlisp-faults": 445, "qla1280": 419,
    "qla1280-faults": 337, "qlisp-swiotlb": 87, "qlisp-revs": 69,
    "qlisp-2hba": 64, "qla1280-2hba": 63, "qlisp-neg": 27, "qla1280-topo": 26,
    "qlisp-topo": 19, "qlisp-cdb16": 16, "qlisp-nvram": 12,
}


def estimate(suite, cases):
    """Seconds CASES of SUITE (a loaded suite dict) may take: SUITE_SECS for
    the whole suite, else the cases' measured times (the suite's
    case_timeout / FACTOR for one not measured) and 30 s to boot."""
    if suite["name"] in SUITE_SECS and list(cases) == list(suite["cases"]):
        return SUITE_SECS[suite["name"]]
    m = MEASURED.get(suite["name"], {})
    return 30 + sum(m.get(c, suite.get("case_timeout", 240) / FACTOR) for c in cases)


def measure(dirs):
    """{suite: {case: longest passing seconds}} from channel.log files."""
    best = {}
    for d in dirs:
        for f in glob.glob(os.path.join(d, "*", "channel.log")):
            suite = os.path.basename(os.path.dirname(f))
            cur = t0 = None
            with open(f, errors="replace") as fh:
                for line in fh:
                    m = re.match(r"\s*([0-9.]+) < @@(START|RESULT) (\S+)(?: (\S+))?", line)
                    if not m:
                        continue
                    t, word, case, verdict = float(m.group(1)), m.group(2), m.group(3), m.group(4)
                    if word == "START":
                        cur, t0 = case, t
                    elif case == cur and verdict == "PASS":
                        s = best.setdefault(suite, {})
                        s[case] = max(s.get(case, 0.0), round(t - t0, 1))
                        cur = None
    return best


if __name__ == "__main__":
    for suite, cases in sorted(measure(sys.argv[1:]).items()):
        print("    %r: {%s}," % (suite, ", ".join("%r: %s" % kv for kv in sorted(cases.items()))))
