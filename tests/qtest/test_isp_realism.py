#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Realism qtest for the QEMU ISP1040 model (emu/hw/scsi/isp1040.c).

Issue 13 item 2: the model is as strict as the chip where a driver with a
race or a missing step would fail on real hardware.  Each case drives the
chip through qtest (no guest; the synthetic firmware and the ISP helper of
test_isp_malformed.py) and checks one behaviour:

  1 rsp-in-delay   a status entry is in host memory before response-in
                   (mailbox 5) and its interrupt; the index lags
  2 markers        after a bus reset (mailbox or foreign), ABORT_TARGET or
                   ABORT_DEVICE no command for the nexus starts until the
                   matching marker; held commands complete after it
  3 syserr-halt    after a system error mailbox commands get no answer and
                   the request ring is not fetched until a chip reset
  4 cmd-timeout    a command running past its entry's timeout ends with
                   completion status 0x06; the firmware resets the bus
                   (async 0x8006) and wants a sync-all marker
  5 throttle-queue-full  no more commands at a LUN than its execution
                   throttle (SET_DEVICE_QUEUE); a target with a queue limit
                   (x-queue-full) answers TASK SET FULL beyond it
  6 negotiation    async/narrow after reset; the first command after
                   SET_TARGET_PARAMETERS negotiates the lesser of host,
                   chip (Fast-20 wide) and target (x-offer-*), flags 0x0080;
                   a rejecting target (x-reject-*) ends it with 0x1F / 0x20
  7 chip-class     isp1040 is a subclass of the abstract isp-base, which
                   cannot be instantiated; what the class's chip info says
                   (PCI IDs, revision, CONF0, ROM firmware version, NVRAM
                   size and checksum, negotiation limit) is what a driver sees
  8 sense-bytes    the fault kind that ends commands with CHECK CONDITION
                   and given sense bytes: exact entry bytes, a sense
                   longer than 32 bytes cut to 32, opcode filter, count
  9 initiator-id   a disk at the chip's own SCSI ID is never selected
                   (completion 0x01); SET_INITIATOR_ID moves the chip
 10 revisions      per revision property value: CONF0 and PCI revision,
                   the RISC PSR Ultra bit, mailboxes 6/7 on the pre-A parts,
                   no faster than Fast-10 without Ultra

The virtual clock only moves on clock_step under qtest, so delays are
stepped explicitly.  Usage: test_isp_realism.py [--qemu BIN] [--only 1,3]
[--seed N] [-v].  Prints PASS/FAIL lines and, last, "N passed, N failed";
exit status 1 if anything failed.
"""

import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import QEMU, QEMUGone, print_stderr, run_cases  # noqa: E402
import test_isp_malformed as M  # noqa: E402  (ISP helper, IOCB builders)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QEMU = os.environ.get("QTEST_QEMU_BINARY") or os.path.normpath(
    os.path.join(HERE, "..", "..", "build", "qemu-system-x86_64"))

HBA = "/machine/peripheral/hba"
DATA = 0x00400000               # data buffers (guest physical)
WBUF = 0x00600000               # write source buffers

CS_COMPLETE, CS_RESET, CS_ABORTED, CS_TIMEOUT = 0x00, 0x04, 0x05, 0x06
SF_BUS_RESET, SF_TIMEOUT = 0x0008, 0x0040
MK_DEVICE, MK_TARGET, MK_ALL = 0, 1, 2
MBA_BUS_RESET, MBA_SYSTEM_ERR, MBA_TIMEOUT_RESET = 0x8001, 0x8002, 0x8006
NS = 1000000000


def start_vm(t, props=""):
    """A QEMU with the HBA (extra device properties @props) and two disks,
    targets 0 and 1; the firmware runs, queues of 32 entries."""
    vm = QEMU(t.qemu, [
        "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
        "-device", "isp1040,id=hba" + ("," + props if props else ""),
        "-drive", "if=none,id=d0,file=%s,format=raw" % t.disks[0],
        "-device", "scsi-hd,bus=hba.0,scsi-id=0,lun=0,drive=d0",
        "-drive", "if=none,id=d1,file=%s,format=raw" % t.disks[1],
        "-device", "scsi-hd,bus=hba.0,scsi-id=1,lun=0,drive=d1"])
    t.vms.append(vm)
    isp = M.ISP(vm, t.res, t.rng)
    isp.pci_setup()
    if not isp.bringup(32, 32, check=False):
        raise RuntimeError("bring-up failed")
    clear_ua(isp, 1)
    isp.got = []
    return vm, isp


def clear_ua(isp, target):
    for i in range(4):
        r, _ = isp.run1([M.cmd_entry(0x0DDD0000 + i, M.cdb_tur(),
                                     target=target)], 3.0)
        if r is None or (r["comp"] == CS_COMPLETE and r["scsi"] == 0):
            return


def qom_get(vm, prop):
    return vm.qmp.execute("qom-get", path=HBA, property=prop)


def fault(vm, what):
    vm.qmp.execute("qom-set", path=HBA, property="x-fault", value=what)


def step(isp, ns, got=None):
    """Advance the virtual clock by @ns in 100 ms slices, collecting
    responses and mailbox events in between."""
    got = isp.got if got is None else got
    while ns > 0:
        d = min(ns, NS // 10)
        isp.q.clock_step(d)
        ns -= d
        isp.collect_once(got)


def responses(isp, handle):
    return [r for r in isp.got if r["handle"] == handle]


def wait_resp(isp, handle, timeout=10.0):
    """Collect until @handle has a response; returns it or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = responses(isp, handle)
        if r:
            return r[0]
        if not isp.collect_once(isp.got):
            isp.q.clock_step(200000)
            time.sleep(0.001)
    return None


def async_seen(isp, code):
    return [e for e in isp.async_events if e[0] == code]


def write_pattern(t, isp, target, lba, nblk, handle):
    """WRITE(10) fresh random data; returns it (None on failure)."""
    data = bytes(t.rng.randrange(256) for _ in range(512 * nblk))
    isp.q.memwrite(WBUF, data)
    r, _ = isp.run1([M.cmd_entry(handle, M.cdb_write10(lba, nblk),
                                 [(WBUF, len(data))], target=target,
                                 flags=M.RF_OUT)])
    if r is None or r["comp"] != CS_COMPLETE or r["scsi"] != 0:
        t.res.check("write pattern (handle 0x%x)" % handle, False,
                    M.fmt_ent(r))
        return None
    return data


def read_entry(handle, target, lba, nblk, buf, timeout=10):
    return M.cmd_entry(handle, M.cdb_read10(lba, nblk), [(buf, 512 * nblk)],
                       target=target, flags=M.RF_IN, timeout=timeout)


def slot(isp, idx):
    return M.parse_status(isp.q.memread(M.RSP_BASE + 64 * idx, 64))


# ---- 1: response-in published after the entry ------------------------------
def case_rsp_delay(t):
    res = t.res
    vm, isp = start_vm(t)
    q = isp.q
    res.check("x-rsp-in-delay defaults to a delay",
              qom_get(vm, "x-rsp-in-delay") > 0,
              str(qom_get(vm, "x-rsp-in-delay")))
    for rnd in range(3):
        nreq = 1 + rnd                  # 1, 2, 3 reads in one doorbell
        lba = t.rng.randrange(8192)
        data = write_pattern(t, isp, 0, lba, 8, 0x1000 + rnd)
        if data is None:
            return
        # drain whatever publication is still pending from the write
        step(isp, 1000000)
        old = isp.r(M.R_MB(5))
        res.check("round %d: response-in caught up before the reads" % rnd,
                  old == isp.rsp_out, "mb5 %d out %d" % (old, isp.rsp_out))
        q.memset(DATA, 0x10000, 0xEE)
        handles = [0x1100 + 16 * rnd + i for i in range(nreq)]
        isp.post([read_entry(h, 0, lba, 8, DATA + 0x1000 * i)
                  for i, h in enumerate(handles)])
        # No clock step: the disk completes on its own; the entries reach
        # memory, the virtual clock (and so the publication) stands still.
        t0 = time.monotonic()
        ents = []
        while time.monotonic() - t0 < 10:
            ents = [slot(isp, (isp.rsp_out + i) % isp.rsp_len)
                    for i in range(nreq)]
            if sorted(e["handle"] for e in ents if e["type"] == 3) == \
                    sorted(handles):
                break
            time.sleep(0.002)
        mb5 = isp.r(M.R_MB(5))
        isr = isp.r(M.R_ISR)
        res.check("round %d: %d status entr%s in memory" %
                  (rnd, nreq, "y" if nreq == 1 else "ies"),
                  sorted(e["handle"] for e in ents if e["type"] == 3) ==
                  sorted(handles), "; ".join(M.fmt_ent(e) for e in ents))
        res.check("round %d: entries good (comp 0, scsi 0)" % rnd,
                  all(e["comp"] == 0 and e["scsi"] == 0 for e in ents))
        ok = all(q.memread(DATA + 0x1000 * i, len(data)) == data
                 for i in range(nreq))
        res.check("round %d: data in memory with the entries" % rnd, ok)
        res.check("round %d: mailbox 5 still shows the old response-in" %
                  rnd, mb5 == old, "mb5 %d, old %d" % (mb5, old))
        res.check("round %d: no interrupt before the index is published" %
                  rnd, not isr & 0x0004, "ISR 0x%04x" % isr)
        q.clock_step(5000)              # 5 us: still inside the delay
        mb5b = isp.r(M.R_MB(5))
        res.check("round %d: index still old 5 us later" % rnd, mb5b == old,
                  "mb5 %d" % mb5b)
        q.clock_step(1000000)           # 1 ms: past it
        mb5c = isp.r(M.R_MB(5))
        isr = isp.r(M.R_ISR)
        want = (old + nreq) % isp.rsp_len
        res.check("round %d: index moves to %d at once" % (rnd, want),
                  mb5c == want, "mb5 %d" % mb5c)
        res.check("round %d: interrupt with the index" % rnd,
                  isr & 0x0004 and not isp.r(M.R_SEMA) & 1,
                  "ISR 0x%04x" % isr)
        got = []
        isp.collect_once(got)
        res.check("round %d: the driver's view: %d responses" % (rnd, nreq),
                  sorted(g["handle"] for g in got) == sorted(handles))
    # the old behaviour on request: index with the entry
    vm.cleanup()
    t.vms.remove(vm)
    vm, isp = start_vm(t, "x-rsp-in-delay=0")
    isp.post([read_entry(0x1200, 0, 0, 8, DATA)])
    t0 = time.monotonic()
    e = None
    while time.monotonic() - t0 < 10:
        e = slot(isp, isp.rsp_out)
        if e["type"] == 3 and e["handle"] == 0x1200:
            break
        time.sleep(0.002)
    mb5 = isp.r(M.R_MB(5))
    res.check("x-rsp-in-delay=0: index published with the entry",
              e["handle"] == 0x1200 and mb5 == (isp.rsp_out + 1) %
              isp.rsp_len, "mb5 %d entry %s" % (mb5, M.fmt_ent(e)))


# ---- 2: markers --------------------------------------------------------------
def held(t, isp, handles, what, ns=NS):
    """@handles were fetched (request-out caught up) and none completed
    within @ns of virtual time."""
    step(isp, ns)
    fetched = isp.req_out() == isp.req_in
    done = [h for h in handles if responses(isp, h)]
    t.res.check("%s: fetched, not started (no response in %.1f s)" %
                (what, ns / NS), fetched and not done,
                "req-out %d req-in %d done %s" %
                (isp.req_out(), isp.req_in, done))


def released(t, isp, h, what, data=None, buf=None, ua_ok=True):
    r = wait_resp(isp, h)
    # a unit attention from the reset moves no data: 0x15 with residual
    ok = r is not None and (
        (r["comp"] == CS_COMPLETE and r["scsi"] == 0) or
        (ua_ok and r["scsi"] == 2 and r["comp"] in (CS_COMPLETE, 0x15)))
    t.res.check("%s: handle 0x%x completes" % (what, h), ok, M.fmt_ent(r))
    if data is not None and r is not None and r["scsi"] == 0:
        t.res.check("%s: handle 0x%x read the right data" % (what, h),
                    isp.q.memread(buf, len(data)) == data)
    return r


def case_markers(t):
    res = t.res
    vm, isp = start_vm(t)
    m0 = qom_get(vm, "x-stat-markers")

    # -- bus reset (mailbox): all targets wait for a marker
    lba = t.rng.randrange(8192)
    data = write_pattern(t, isp, 0, lba, 4, 0x2000)
    st = isp.mbox_status({0: 0x18, 1: 0, 2: 0})
    res.check("BUS_RESET -> 0x4000", st == M.MBS_OK, str(st))
    isp.q.memset(DATA, 0x4000, 0xEE)
    isp.post([read_entry(0x2001, 0, lba, 4, DATA),
              M.cmd_entry(0x2002, M.cdb_tur(), target=0),
              M.cmd_entry(0x2003, M.cdb_tur(), target=1)])
    held(t, isp, [0x2001, 0x2002, 0x2003], "bus reset, no marker")
    isp.post([M.marker_entry(MK_TARGET, target=1)])
    r = wait_resp(isp, 0x2003, 3.0)
    res.check("bus reset: sync-target 1 releases target 1",
              r is not None and r["comp"] == CS_COMPLETE, M.fmt_ent(r))
    step(isp, NS // 2)
    res.check("bus reset: target 0 still held after sync-target 1",
              not responses(isp, 0x2001) and not responses(isp, 0x2002))
    isp.post([M.marker_entry(MK_ALL)])
    r1 = released(t, isp, 0x2001, "bus reset + sync-all", data, DATA)
    r2 = released(t, isp, 0x2002, "bus reset + sync-all")
    # the READ was ahead of the TUR in the ring: it started first and got
    # the reset's unit attention
    res.check("bus reset: held commands start in ring order (READ first "
              "got the unit attention)",
              r1 is not None and r2 is not None and r1["scsi"] == 2 and
              r2["scsi"] == 0, "%s / %s" % (M.fmt_ent(r1), M.fmt_ent(r2)))
    clear_ua(isp, 0)
    clear_ua(isp, 1)
    isp.q.memset(DATA, 0x4000, 0xEE)
    isp.post([read_entry(0x2004, 0, lba, 4, DATA)])
    released(t, isp, 0x2004, "bus reset: data intact, re-read", data, DATA,
             ua_ok=False)

    # -- ABORT_TARGET 0: target 0 only, needs sync-target 0 (or sync-all)
    st = isp.mbox_status({0: 0x17, 1: 0 << 8, 2: 0})
    res.check("ABORT_TARGET 0 -> 0x4000", st == M.MBS_OK, str(st))
    isp.post([M.cmd_entry(0x2101, M.cdb_tur(), target=0),
              M.cmd_entry(0x2102, M.cdb_tur(), target=1)])
    r = wait_resp(isp, 0x2102, 3.0)
    res.check("ABORT_TARGET 0: target 1 is not held",
              r is not None and r["comp"] == CS_COMPLETE, M.fmt_ent(r))
    held(t, isp, [0x2101], "ABORT_TARGET 0, no marker")
    isp.post([M.marker_entry(MK_TARGET, target=1)])
    held(t, isp, [0x2101], "ABORT_TARGET 0, sync-target 1 only")
    isp.post([M.marker_entry(MK_TARGET, target=0)])
    released(t, isp, 0x2101, "ABORT_TARGET 0 + sync-target 0")
    clear_ua(isp, 0)

    # -- ABORT_DEVICE 0:0: sync-device 0:0
    st = isp.mbox_status({0: 0x16, 1: 0 << 8 | 0})
    res.check("ABORT_DEVICE 0:0 -> 0x4000", st == M.MBS_OK, str(st))
    isp.post([M.cmd_entry(0x2201, M.cdb_tur(), target=0)])
    held(t, isp, [0x2201], "ABORT_DEVICE 0:0, no marker")
    isp.post([M.marker_entry(MK_DEVICE, target=0, lun=0)])
    released(t, isp, 0x2201, "ABORT_DEVICE 0:0 + sync-device 0:0")

    # -- a foreign bus reset (fault): async 0x8001, then held until marker
    fault(vm, "bus-reset")
    step(isp, NS // 10)
    res.check("foreign bus reset: async 0x8001 posted",
              async_seen(isp, MBA_BUS_RESET), str(isp.async_events))
    isp.post([M.cmd_entry(0x2301, M.cdb_tur(), target=1)])
    held(t, isp, [0x2301], "foreign bus reset, no marker")
    isp.post([M.marker_entry(MK_ALL)])
    released(t, isp, 0x2301, "foreign bus reset + sync-all")

    # -- a held command can be aborted; it never ran
    st = isp.mbox_status({0: 0x16, 1: 1 << 8 | 0})
    isp.post([M.cmd_entry(0x2401, M.cdb_tur(), target=1)])
    held(t, isp, [0x2401], "ABORT_DEVICE 1:0, no marker")
    st = isp.mbox_status({0: 0x15, 1: 1 << 8 | 0, 2: 0, 3: 0x2401})
    r = wait_resp(isp, 0x2401, 3.0)
    res.check("ABORT of a held command -> 0x4000, completion 0x05",
              st == M.MBS_OK and r is not None and r["comp"] == CS_ABORTED,
              "mbox %s %s" % (st, M.fmt_ent(r)))
    isp.post([M.marker_entry(MK_DEVICE, target=1, lun=0)])
    step(isp, NS // 10)
    res.check("no second response for the aborted held command",
              len(responses(isp, 0x2401)) == 1)

    m1 = qom_get(vm, "x-stat-markers")
    res.check("x-stat-markers counts the %d markers posted" %
              (isp.markers_posted), m1 - m0 == isp.markers_posted,
              "%d -> %d" % (m0, m1))
    vm.cleanup()
    t.vms.remove(vm)

    # the old behaviour on request
    vm, isp = start_vm(t, "x-markers=off")
    st = isp.mbox_status({0: 0x18, 1: 0, 2: 0})
    isp.post([M.cmd_entry(0x2501, M.cdb_tur(), target=0)])
    r = wait_resp(isp, 0x2501, 3.0)
    res.check("x-markers=off: a command after BUS_RESET starts without a "
              "marker", st == M.MBS_OK and r is not None, M.fmt_ent(r))


# ---- 3: system error halts the RISC ------------------------------------------
def halted_checks(t, vm, isp, tag):
    res = t.res
    fault(vm, "system-error")
    step(isp, NS // 10)
    res.check("%s: async 0x8002 posted" % tag,
              async_seen(isp, MBA_SYSTEM_ERR), str(isp.async_events))
    try:
        out = isp.mbox({0: 0x00}, timeout=1.5)
    except M.MboxTimeout:
        out = None
    res.check("%s: NOP after the system error gets no answer" % tag,
              out is None, "mb0 0x%04x" % out[0] if out else "")
    hccr = isp.r(M.R_HCCR)
    res.check("%s: HCCR shows the mailbox command not taken" % tag,
              hccr & 0x0080, "HCCR 0x%04x" % hccr)
    rout = isp.req_out()
    isp.post([M.cmd_entry(0x3001, M.cdb_tur(), target=0)])
    step(isp, NS)
    res.check("%s: request ring not fetched" % tag,
              isp.req_out() == rout and not responses(isp, 0x3001),
              "req-out %d -> %d" % (rout, isp.req_out()))
    st = qom_get(vm, "fw-ready")
    res.check("%s: fw-ready false" % tag, st is False, str(st))


def case_syserr(t):
    res = t.res
    vm, isp = start_vm(t)
    halted_checks(t, vm, isp, "halt 1")
    # HCCR reset: back to the boot ROM, then a full bring-up works
    res.check("halt 1: HCCR reset gives the ROM signature", isp.risc_reset())
    isp.async_events = []
    ok = isp.bringup(32, 32, check=False)
    res.check("halt 1: bring-up after the HCCR reset", ok)
    isp.got = []
    clear_ua(isp, 0)
    r, _ = isp.run1([M.cmd_entry(0x3101, M.cdb_tur(), target=0)], 3.0)
    res.check("halt 1: commands run again after the reset",
              r is not None and r["comp"] == CS_COMPLETE, M.fmt_ent(r))

    halted_checks(t, vm, isp, "halt 2")
    isp.w(M.R_ICR, 0x0001)              # ICR soft reset
    res.check("halt 2: ICR soft reset gives the ROM signature",
              isp.signature_ok())
    isp.async_events = []
    ok = isp.bringup(32, 32, check=False)
    res.check("halt 2: bring-up after the ICR soft reset", ok)
    isp.got = []
    clear_ua(isp, 0)
    r, _ = isp.run1([M.cmd_entry(0x3201, M.cdb_tur(), target=0)], 3.0)
    res.check("halt 2: commands run again after the reset",
              r is not None and r["comp"] == CS_COMPLETE, M.fmt_ent(r))
    vm.cleanup()
    t.vms.remove(vm)

    # the old behaviour on request: mailbox commands still answered
    vm, isp = start_vm(t, "x-syserr-halt=off")
    fault(vm, "system-error")
    step(isp, NS // 10)
    st = isp.mbox_status({0: 0x00}, timeout=1.5)
    res.check("x-syserr-halt=off: NOP answered after the system error",
              st == M.MBS_OK, str(st))


# ---- 4: command timeout --------------------------------------------------------
def case_timeout(t):
    res = t.res
    vm, isp = start_vm(t)
    q = isp.q
    # a swallowed READ to target 0 with a 2 s timeout; a swallowed READ to
    # target 1 with 30 s on the same bus
    fault(vm, "swallow 2")
    isp.post([read_entry(0x4001, 0, 0, 1, DATA, timeout=2)])
    isp.post([read_entry(0x4002, 1, 0, 1, DATA + 0x1000, timeout=30)])
    step(isp, NS // 10)
    t0 = q.clock_step(0)
    step(isp, 19 * NS // 10)
    res.check("no completion before the 2 s timeout",
              not responses(isp, 0x4001) and not responses(isp, 0x4002))
    tdone = None
    for _ in range(40):
        step(isp, NS // 10)
        if responses(isp, 0x4001):
            tdone = q.clock_step(0) - t0
            break
    r = responses(isp, 0x4001)
    r = r[0] if r else None
    res.check("timed-out command: completion 0x06 within 2-3.2 s",
              r is not None and r["comp"] == CS_TIMEOUT and tdone is not None
              and 19 * NS // 10 <= tdone <= 32 * NS // 10,
              "%s after %s ns" % (M.fmt_ent(r), tdone))
    res.check("timed-out command: status flags timeout + bus reset",
              r is not None and r["sflags"] & (SF_TIMEOUT | SF_BUS_RESET) ==
              SF_TIMEOUT | SF_BUS_RESET, M.fmt_ent(r))
    step(isp, NS // 10)
    r2 = responses(isp, 0x4002)
    r2 = r2[0] if r2 else None
    res.check("other command on the bus: completion 0x04 (bus reset)",
              r2 is not None and r2["comp"] == CS_RESET and
              r2["sflags"] & SF_BUS_RESET, M.fmt_ent(r2))
    ev = async_seen(isp, MBA_TIMEOUT_RESET)
    res.check("async 0x8006 (timeout reset) with mb6 = bus 0",
              ev and ev[0][6] == 0, str(isp.async_events))
    res.check("x-stat-timeouts counts it", qom_get(vm, "x-stat-timeouts") == 1)
    # the bus was reset: sync-all marker needed
    isp.post([M.cmd_entry(0x4003, M.cdb_tur(), target=0)])
    held(t, isp, [0x4003], "after the timeout reset, no marker")
    isp.post([M.marker_entry(MK_ALL)])
    released(t, isp, 0x4003, "after the timeout reset + sync-all")
    clear_ua(isp, 0)
    clear_ua(isp, 1)

    # timeout 0: never times out
    fault(vm, "swallow 1")
    isp.post([read_entry(0x4101, 0, 0, 1, DATA, timeout=0)])
    step(isp, 40 * NS)
    res.check("timeout 0: still running after 40 s",
              not responses(isp, 0x4101) and
              not async_seen(isp, MBA_TIMEOUT_RESET)[1:])
    st = isp.mbox_status({0: 0x15, 1: 0 << 8 | 0, 2: 0, 3: 0x4101})
    r = wait_resp(isp, 0x4101, 3.0)
    res.check("timeout 0: ABORT ends it (0x05)",
              st == M.MBS_OK and r is not None and r["comp"] == CS_ABORTED,
              M.fmt_ent(r))
    # a command that finishes in time is not touched
    lba = t.rng.randrange(8192)
    data = write_pattern(t, isp, 0, lba, 2, 0x4201)
    isp.post([read_entry(0x4202, 0, lba, 2, DATA, timeout=1)])
    r = wait_resp(isp, 0x4202)
    res.check("a 1 s command that completes in time: good, right data",
              r is not None and r["comp"] == CS_COMPLETE and
              q.memread(DATA, 1024) == data, M.fmt_ent(r))
    step(isp, 3 * NS)
    res.check("no timeout reset afterwards",
              len(async_seen(isp, MBA_TIMEOUT_RESET)) == 1)
    vm.cleanup()
    t.vms.remove(vm)

    vm, isp = start_vm(t, "x-cmd-timeout=off")
    fault(vm, "swallow 1")
    isp.post([read_entry(0x4301, 0, 0, 1, DATA, timeout=1)])
    step(isp, 5 * NS)
    res.check("x-cmd-timeout=off: no timeout after 5 s",
              not responses(isp, 0x4301))


# ---- 5: execution throttle and QUEUE FULL --------------------------------------
def abort(isp, target, handle):
    return isp.mbox_status({0: 0x15, 1: target << 8, 2: handle >> 16,
                            3: handle & 0xFFFF})


def case_queue(t):
    res = t.res
    vm, isp = start_vm(t, "x-queue-full=2")
    st = isp.mbox_status({0: 0x39, 1: 0 << 8 | 0, 2: 32, 3: 1})
    out = isp.mbox({0: 0x29, 1: 0 << 8 | 0})
    res.check("SET_DEVICE_QUEUE 0:0 depth 32 throttle 1, read back",
              st == M.MBS_OK and out[2:4] == [32, 1], str(out))
    lba = t.rng.randrange(8192)
    data = write_pattern(t, isp, 0, lba, 2, 0x5000)
    fault(vm, "swallow 1")
    isp.post([read_entry(0x5001, 0, 0, 1, DATA + 0x8000, timeout=0)])
    step(isp, NS // 10)
    isp.q.memset(DATA, 0x1000, 0xEE)
    isp.post([read_entry(0x5002, 0, lba, 2, DATA)])
    held(t, isp, [0x5002], "throttle 1 with one command at the device")
    st = abort(isp, 0, 0x5001)
    r = wait_resp(isp, 0x5001, 3.0)
    res.check("the running command aborts (0x05)", st == M.MBS_OK and
              r is not None and r["comp"] == CS_ABORTED, M.fmt_ent(r))
    released(t, isp, 0x5002, "throttle 1, after the abort", data, DATA,
             ua_ok=False)
    st = isp.mbox_status({0: 0x39, 1: 0 << 8 | 0, 2: 32, 3: 16})
    res.check("throttle back to 16", st == M.MBS_OK)

    # target 1 takes 2 commands: the third gets TASK SET FULL
    q0 = qom_get(vm, "x-stat-queue-full")
    fault(vm, "swallow 2")
    isp.post([M.cmd_entry(0x5101, M.cdb_tur(), target=1),
              M.cmd_entry(0x5102, M.cdb_tur(), target=1)])
    step(isp, NS // 10)
    isp.post([read_entry(0x5103, 1, 0, 1, DATA)])
    r = wait_resp(isp, 0x5103, 3.0)
    res.check("third command to a target with limit 2: TASK SET FULL "
              "(0x28), nothing moved",
              r is not None and r["scsi"] == 0x28 and r["comp"] == 0x15 and
              r["resid"] == 512, M.fmt_ent(r))
    res.check("x-stat-queue-full counts it",
              qom_get(vm, "x-stat-queue-full") - q0 == 1)
    r = wait_resp(isp, 0x5101, 0.5)
    res.check("the two outstanding ones are still there", r is None and
              not responses(isp, 0x5102))
    for h in (0x5101, 0x5102):
        abort(isp, 1, h)
    isp.post([M.cmd_entry(0x5104, M.cdb_tur(), target=1)])
    r = wait_resp(isp, 0x5104, 3.0)
    res.check("after they end, the target takes commands again",
              r is not None and r["comp"] == CS_COMPLETE and r["scsi"] == 0,
              M.fmt_ent(r))
    vm.cleanup()
    t.vms.remove(vm)

    vm, isp = start_vm(t, "x-throttle=off")
    isp.mbox_status({0: 0x39, 1: 0 << 8 | 0, 2: 32, 3: 1})
    fault(vm, "swallow 1")
    isp.post([read_entry(0x5201, 0, 0, 1, DATA, timeout=0)])
    isp.post([M.cmd_entry(0x5202, M.cdb_tur(), target=0)])
    r = wait_resp(isp, 0x5202, 3.0)
    res.check("x-throttle=off: a second command starts past throttle 1",
              r is not None, M.fmt_ent(r))


# ---- 6: transfer negotiation -----------------------------------------------
CS_WIDE_FAILED, CS_SYNC_FAILED = 0x1F, 0x20
SF_SYNC, SF_NEG = 0x0002, 0x0080


def get_tp(isp, target):
    """GET_TARGET_PARAMETERS: (mb0, flags, offset << 8 | period, width)."""
    out = isp.mbox({0: 0x28, 1: target << 8})
    return (out[0], out[2], out[3], out[6])


def set_tp(isp, target, flags, sync):
    return isp.mbox_status({0: 0x38, 1: target << 8, 2: flags, 3: sync})


def neg_read(t, isp, target, lba, data, handle, what, comp, sflags):
    """One READ(10) of @data's block at @lba: checks completion status,
    status flags exactly and the data."""
    isp.q.memset(DATA, 512, 0xEE)
    r, _ = isp.run1([read_entry(handle, target, lba, 1, DATA)])
    t.res.check("%s: completion 0x%02x, SCSI GOOD, status flags 0x%04x" %
                (what, comp, sflags), r is not None and r["comp"] == comp and
                r["scsi"] == 0 and r["sflags"] == sflags, M.fmt_ent(r))
    t.res.check("%s: the data arrived" % what,
                isp.q.memread(DATA, 512) == data)


def case_negotiation(t):
    res = t.res
    # target 0 offers wide and sync, target 1 only wide (no sync)
    vm, isp = start_vm(t, "x-offer-wide=0x3,x-offer-sync=0x1")
    for tg in (0, 1):
        res.check("after reset target %d reports async/narrow" % tg,
                  get_tp(isp, tg) == (M.MBS_OK, 0, 0, 0),
                  str(get_tp(isp, tg)))
    lba = t.rng.randrange(8192)
    d0 = write_pattern(t, isp, 0, lba, 1, 0x6000)
    d1 = write_pattern(t, isp, 1, lba, 1, 0x6001)
    res.check("commands without sync/wide requested negotiate nothing",
              get_tp(isp, 0) == (M.MBS_OK, 0, 0, 0), str(get_tp(isp, 0)))
    # host asks beyond the chip: Fast-40 period 10, offset 15
    st = set_tp(isp, 0, 0xB000, 15 << 8 | 10)
    res.check("SET_TARGET_PARAMETERS 0: wide sync 0x0F0A", st == M.MBS_OK)
    res.check("before a command GET still reports async/narrow",
              get_tp(isp, 0) == (M.MBS_OK, 0x8000, 0, 0),
              str(get_tp(isp, 0)))
    neg_read(t, isp, 0, lba, d0, 0x6010, "negotiating command",
             CS_COMPLETE, SF_NEG | SF_SYNC)
    res.check("negotiated: wide, chip limit period 12 offset 12",
              get_tp(isp, 0) == (M.MBS_OK, 0xB000, 0x0C0C, 1),
              str(get_tp(isp, 0)))
    neg_read(t, isp, 0, lba, d0, 0x6011, "next command", CS_COMPLETE,
             SF_SYNC)
    # host asks less than the chip: Fast-10 period 25, offset 6, narrow
    set_tp(isp, 0, 0x9000, 6 << 8 | 25)
    neg_read(t, isp, 0, lba, d0, 0x6012, "renegotiation", CS_COMPLETE,
             SF_NEG | SF_SYNC)
    res.check("negotiated: the host's lesser 0x0619, narrow",
              get_tp(isp, 0) == (M.MBS_OK, 0x9000, 0x0619, 0),
              str(get_tp(isp, 0)))
    # target 1 offers no sync: narrow... wide yes, async
    set_tp(isp, 1, 0xB000, 8 << 8 | 12)
    neg_read(t, isp, 1, lba, d1, 0x6013, "target without sync",
             CS_COMPLETE, SF_NEG)
    res.check("target 1 (x-offer-sync without it): wide, async",
              get_tp(isp, 1) == (M.MBS_OK, 0xA000, 0, 1),
              str(get_tp(isp, 1)))
    st = isp.mbox_status({0: 0x18, 1: 0, 2: 0})
    res.check("after BUS_RESET target 0 reports async/narrow again",
              st == M.MBS_OK and get_tp(isp, 0) == (M.MBS_OK, 0x8000, 0, 0),
              str(get_tp(isp, 0)))
    res.check("x-stat-negotiations counts 3",
              qom_get(vm, "x-stat-negotiations") == 3,
              str(qom_get(vm, "x-stat-negotiations")))
    vm.cleanup()
    t.vms.remove(vm)

    # target 0 rejects WDTR, target 1 rejects SDTR (MESSAGE REJECT)
    vm, isp = start_vm(t, "x-offer-wide=0x3,x-reject-wide=0x1,"
                       "x-reject-sync=0x2")
    d0 = write_pattern(t, isp, 0, lba, 1, 0x6100)
    d1 = write_pattern(t, isp, 1, lba, 1, 0x6101)
    set_tp(isp, 0, 0xB000, 8 << 8 | 12)
    neg_read(t, isp, 0, lba, d0, 0x6110, "wide rejected", CS_WIDE_FAILED,
             SF_NEG | SF_SYNC)
    res.check("wide rejected: narrow, sync 0x080C",
              get_tp(isp, 0) == (M.MBS_OK, 0x9000, 0x080C, 0),
              str(get_tp(isp, 0)))
    neg_read(t, isp, 0, lba, d0, 0x6111, "after the reject", CS_COMPLETE,
             SF_SYNC)
    set_tp(isp, 1, 0xB000, 8 << 8 | 12)
    neg_read(t, isp, 1, lba, d1, 0x6112, "sync rejected", CS_SYNC_FAILED,
             SF_NEG)
    res.check("sync rejected: wide, async",
              get_tp(isp, 1) == (M.MBS_OK, 0xA000, 0, 1),
              str(get_tp(isp, 1)))
    vm.cleanup()
    t.vms.remove(vm)

    vm, isp = start_vm(t, "x-negotiate=off")
    set_tp(isp, 0, 0xB000, 15 << 8 | 10)
    res.check("x-negotiate=off: GET reports the request at once",
              get_tp(isp, 0) == (M.MBS_OK, 0xB000, 0x0F0A, 1),
              str(get_tp(isp, 0)))


# ---- 7: the chip comes from the QOM class -----------------------------------
def nvram_read(isp, addr, abits=6):
    """93C46 READ of word @addr, bit-banged through BIU 0x0e."""
    sk, cs, di, do = 1, 2, 4, 8

    def clk(v):
        isp.w(0x0E, v | cs)
        isp.w(0x0E, v | cs | sk)

    isp.w(0x0E, 0)
    bits = [1, 1, 0] + [(addr >> i) & 1 for i in range(abits - 1, -1, -1)]
    for b in bits:
        clk(di if b else 0)
    val = 0
    for _ in range(16):
        clk(0)
        val = val << 1 | (1 if isp.r(0x0E) & do else 0)
    isp.w(0x0E, 0)
    return val


def case_chip_class(t):
    res = t.res
    vm = QEMU(t.qemu, ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
                       "-device", "isp1040,id=hba"])
    t.vms.append(vm)
    types = vm.qmp.execute("qom-list-types", implements="isp-base",
                           abstract=True)
    got = {ty["name"]: ty.get("abstract", False) for ty in types}
    res.check("isp-base is an abstract type", got.get("isp-base") is True,
              repr(got))
    res.check("isp1040 implements isp-base, concrete",
              got.get("isp1040") is False, repr(got))
    q = vm.qtest
    isp = M.ISP(vm, res, t.rng)
    isp.pci_setup()
    bdf = isp.bdf
    sub = q.pci_cfg_read(bdf, 0x2C)
    rev = q.pci_cfg_read(bdf, 0x08, 1)
    res.check("PCI subsystem 1077:0001", sub == 0x00011077, "0x%08x" % sub)
    res.check("PCI revision 0x05 (1040B)", rev == 0x05, "0x%02x" % rev)
    res.check("BIU ID_HI 0x1020", isp.r(0x02) == 0x1020,
              "0x%04x" % isp.r(0x02))
    # byte reads see each half of a register, through both BARs
    got = [isp.q.readb(M.MMIO_BASE + 2), isp.q.readb(M.MMIO_BASE + 3),
           isp.q.inb(M.IO_BASE + 2), isp.q.inb(M.IO_BASE + 3)]
    res.check("byte reads of ID_HI: 0x20 at 2, 0x10 at 3 (MMIO and I/O)",
              got == [0x20, 0x10, 0x20, 0x10], str([hex(v) for v in got]))
    res.check("CONF0 revision 5 (1040B)", isp.r(0x04) & 0xF == 5,
              "0x%04x" % isp.r(0x04))
    # nothing downloaded: EXECUTE_FIRMWARE runs the chip's ROM firmware
    st = isp.mbox_status({0: 0x02, 1: 0x1000})
    out = isp.mbox({0: 0x08})
    res.check("ROM firmware runs, ABOUT_FIRMWARE says 5.57.1",
              st == 0x4000 and out[0] == 0x4000 and out[1:4] == [5, 57, 1],
              " ".join("%04x" % x for x in out[:4]))
    words = [nvram_read(isp, a) for a in range(64)]
    raw = b"".join(struct.pack("<H", w) for w in words)
    res.check("NVRAM starts 'ISP '", raw[:4] == b"ISP ", repr(raw[:8]))
    res.check("NVRAM: 64 words whose bytes sum to 0 (checksum in byte 127)",
              sum(raw) & 0xFF == 0 and raw[127] != 0,
              "sum 0x%02x, byte 127 0x%02x" % (sum(raw) & 0xFF, raw[127]))
    res.check("NVRAM words 32-63 are not words 0-31 again (6 address bits)",
              raw[64:] != raw[:64])
    vm.cleanup()
    t.vms.remove(vm)
    # the negotiation limit (min_period, max_offset): ask for more
    vm, isp = start_vm(t)
    set_tp(isp, 0, 0x1000, 0x0F08)      # sync, offset 15, period 8
    data = write_pattern(t, isp, 0, 40, 1, 0x7001)
    if data is not None:
        isp.q.memset(DATA, 512, 0)
        r, _ = isp.run1([read_entry(0x7002, 0, 40, 1, DATA)])
        res.check("read after SET_TARGET_PARAMETERS ends well",
                  r is not None and r["comp"] == CS_COMPLETE,
                  M.fmt_ent(r))
    out = get_tp(isp, 0)
    res.check("negotiated sync is the 1040B's limit: offset 12, period 12",
              out[2] == 0x0C0C, "mb3 0x%04x" % out[2])
    # last: a base that could be instantiated has no chip to run
    try:
        vm.qmp.execute("device_add", driver="isp-base", id="base")
        added = True
    except RuntimeError as e:   # QMP error: what we want
        added = False
        res.note("device_add isp-base: %s" % e)
    res.check("device_add isp-base is refused", not added)


# ---- 8: the sense-bytes fault --------------------------------------------------
def sense_read(t, isp, handle, nblk, flags=M.RF_IN):
    """A READ(10) of @nblk blocks into a buffer filled with 0xA5; returns
    its status entry and whether the buffer is untouched."""
    isp.q.memset(DATA, 512 * nblk, 0xA5)
    r, _ = isp.run1([M.cmd_entry(handle, M.cdb_read10(64, nblk),
                                 [(DATA, 512 * nblk)], target=0,
                                 flags=flags)])
    return r, isp.q.memread(DATA, 512 * nblk) == b"\xA5" * (512 * nblk)


def case_sense_bytes(t):
    res = t.res
    vm, isp = start_vm(t)
    # descriptor format (0x72), 40 bytes: cut to the 32 an entry carries
    desc = bytes([0x72, 0x04, 0x44, 0x00, 0, 0, 0, 32]) + \
        bytes([0x00, 0x0A, 0x80, 0]) + bytes(range(0x10, 0x18)) + \
        bytes(range(0xC0, 0xD4))
    assert len(desc) == 40
    f0 = qom_get(vm, "x-stat-faults")
    fault(vm, "sense-bytes 2 0x28 " + desc.hex())
    # a TEST UNIT READY does not match the opcode
    r, _ = isp.run1([M.cmd_entry(0x7001, M.cdb_tur(), target=0)])
    res.check("sense-bytes for READ(10): a TUR completes GOOD",
              r is not None and r["comp"] == CS_COMPLETE and r["scsi"] == 0,
              M.fmt_ent(r))
    r, clean = sense_read(t, isp, 0x7002, 4)
    res.check("40-byte descriptor sense: comp 0x15, CHECK CONDITION, "
              "resid 2048, state 0x7700",
              r is not None and r["comp"] == 0x15 and r["scsi"] == 0x02 and
              r["resid"] == 2048 and r["state"] == 0x7700, M.fmt_ent(r))
    res.check("40-byte sense: length 32, bytes 32-63 the first 32 exactly",
              r is not None and r["sense_len"] == 32 and
              r["raw"][32:64] == desc[:32],
              "len %s %s" % (r and r["sense_len"], r and r["raw"][32:].hex()))
    res.check("nothing moved into the read buffer", clean)
    # a short fixed-format sense: its own length, the rest of the entry 0
    r, _ = sense_read(t, isp, 0x7003, 1)
    res.check("second hit: same 32 bytes, resid 512",
              r is not None and r["sense_len"] == 32 and
              r["raw"][32:64] == desc[:32] and r["resid"] == 512,
              M.fmt_ent(r))
    r, clean = sense_read(t, isp, 0x7004, 1)
    res.check("count used up: the next READ completes GOOD",
              r is not None and r["comp"] == CS_COMPLETE and r["scsi"] == 0
              and not clean, M.fmt_ent(r))
    fixed = bytes([0xF0, 0, 0x01, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x17, 0x01,
                   0, 0, 0, 0])
    fault(vm, "sense-bytes 1 any " + fixed.hex())
    r, _ = isp.run1([M.cmd_entry(0x7005, M.cdb_tur(), target=1)])
    res.check("18-byte sense on any opcode (a TUR): length 18, bytes exact, "
              "entry zero after them, comp 0x00 (nothing to move)",
              r is not None and r["comp"] == CS_COMPLETE and
              r["scsi"] == 0x02 and r["sense_len"] == 18 and
              r["raw"][32:50] == fixed and r["raw"][50:64] == bytes(14) and
              r["resid"] == 0 and r["state"] & 0x2000, M.fmt_ent(r) +
              " sense_len %s" % (r and r["sense_len"]))
    # autosense disabled in the entry: CHECK CONDITION, no sense
    fault(vm, "sense-bytes 1 any " + fixed.hex())
    r, _ = sense_read(t, isp, 0x7006, 1, flags=M.RF_IN | 0x0100)
    res.check("autosense disabled: CHECK CONDITION, sense length 0, "
              "no got-sense flag",
              r is not None and r["scsi"] == 0x02 and r["sense_len"] == 0
              and not r["state"] & 0x2000 and r["raw"][32:64] == bytes(32),
              M.fmt_ent(r))
    res.check("x-stat-faults counts the 4 hits (so far)",
              qom_get(vm, "x-stat-faults") == f0 + 4,
              "%s -> %s" % (f0, qom_get(vm, "x-stat-faults")))
    for bad in ("sense-bytes 1 0x28 7", "sense-bytes 1 0x28 " + "00" * 97,
                "sense-bytes 1 0x28 zz", "sense-bytes 1 0x100 70",
                "sense-bytes 1 0x28", "sense-bytes x any 70",
                "sense-bytes 1 any 70 moved", "sense-bytes 1 any 70 data x"):
        try:
            fault(vm, bad)
            ok = False
        except RuntimeError:
            ok = True
        res.check("rejected: %r" % bad[:40], ok)
    # "data": RECOVERED ERROR after the data moved
    want = write_pattern(t, isp, 0, 64, 2, 0x7010)
    rec = bytes([0x70, 0, 0x01, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x18, 0x00,
                 0, 0, 0, 0])
    fault(vm, "sense-bytes 1 0x28 %s data" % rec.hex())
    r, _ = sense_read(t, isp, 0x7011, 2)
    res.check("sense-bytes data: comp 0x00, CHECK CONDITION, resid 0, "
              "sense 18 bytes exact, state 0x7f00",
              r is not None and r["comp"] == CS_COMPLETE and
              r["scsi"] == 0x02 and r["resid"] == 0 and
              r["sense_len"] == 18 and r["raw"][32:50] == rec and
              r["state"] == 0x7F00, M.fmt_ent(r))
    res.check("sense-bytes data: the data moved",
              want is not None and isp.q.memread(DATA, 1024) == want)
    fault(vm, "sense-bytes 3 any 70")
    fault(vm, "clear")
    r, _ = sense_read(t, isp, 0x7007, 1)
    res.check("clear disarms sense-bytes",
              r is not None and r["comp"] == CS_COMPLETE and r["scsi"] == 0,
              M.fmt_ent(r))


# ---- 9: a disk at the initiator's own ID ----------------------------------------
def case_initiator_id(t):
    res = t.res
    # the disk at target 1 sits at the chip's own ID: the chip cannot
    # select itself, so nobody answers (completion 0x01, got bus only)
    vm, isp = start_vm(t, "initiator-id=1")
    r, _ = isp.run1([M.cmd_entry(0x8001, M.cdb_tur(), target=1)])
    res.check("TUR to the initiator's ID 1: comp 0x01, state 0x0100",
              r is not None and r["comp"] == 0x01 and r["state"] == 0x0100,
              M.fmt_ent(r))
    r, _ = isp.run1([M.cmd_entry(0x8002, M.cdb_tur(), target=0)])
    res.check("TUR to target 0 still GOOD",
              r is not None and r["comp"] == CS_COMPLETE and r["scsi"] == 0,
              M.fmt_ent(r))
    # SET_INITIATOR_ID moves the chip to ID 5: the disk at 1 answers
    st = isp.mbox_status({0: 0x30, 1: 5})
    res.check("SET_INITIATOR_ID 5 accepted", st == M.MBS_OK, str(st))
    clear_ua(isp, 1)
    r, _ = isp.run1([M.cmd_entry(0x8003, M.cdb_tur(), target=1)])
    res.check("after SET_INITIATOR_ID 5 the disk at 1 answers GOOD",
              r is not None and r["comp"] == CS_COMPLETE and r["scsi"] == 0,
              M.fmt_ent(r))


# ---- 10: chip revisions (property "revision") -------------------------------
def case_revisions(t):
    """Per revision: CONF0 and the PCI revision ID; RISC PSR Ultra bit on
    the 1040B/C only; mailboxes 6 and 7 absent on the pre-A 1020/1040 (read
    0, writes ignored, the register test echoes 0 there); negotiation no
    faster than Fast-10 without Ultra, whatever the host asks for."""
    res = t.res
    for rev in range(1, 7):
        ultra = rev >= 5
        six = rev in (1, 3)
        vm, isp = start_vm(t, "revision=%d" % rev)
        res.check("rev %d: CONF0 reads %d" % (rev, rev),
                  isp.r(0x04) == rev, "0x%04x" % isp.r(0x04))
        res.check("rev %d: PCI revision ID %d" % (rev, rev),
                  isp.q.pci_cfg_read(isp.bdf, 0x08, 1) == rev)
        isp.w(0xC0, 0x2000)                 # pause the RISC
        psr = isp.r(0xA0)
        isp.w(0xC0, 0x3000)                 # release
        res.check("rev %d: PSR Ultra bit %s" % (rev, "set" if ultra else
                                                "clear"),
                  bool(psr & 0x0080) == ultra, "0x%04x" % psr)
        out = isp.mbox({0: 0x06, 1: 0x1111, 2: 0x2222, 3: 0x3333,
                        4: 0x4444, 5: 0x5555, 6: 0x6666, 7: 0x7777})
        # (mb4/mb5 are the live queue pointers once the queues run)
        got = [out[i] for i in (0, 1, 2, 3, 6, 7)]
        want = [0x4000, 0x1111, 0x2222, 0x3333] + \
            ([0, 0] if six else [0x6666, 0x7777])
        res.check("rev %d: register test echoes %s" %
                  (rev, "mb1-3, mb6/7 read 0" if six else "mb1-3, mb6/7"),
                  got == want, str([hex(x) for x in got]))
        lba = t.rng.randrange(8192)
        d0 = write_pattern(t, isp, 0, lba, 1, 0x7000 + rev)
        set_tp(isp, 0, 0x9000, 8 << 8 | 12)     # the host asks Fast-20
        neg_read(t, isp, 0, lba, d0, 0x7010 + rev, "rev %d: negotiating" % rev,
                 CS_COMPLETE, SF_NEG | SF_SYNC)
        sync = 0x080C if ultra else 0x0819
        res.check("rev %d: negotiated 0x%04x" % (rev, sync),
                  get_tp(isp, 0)[2] == sync, "0x%04x" % get_tp(isp, 0)[2])
        vm.cleanup()
        t.vms.remove(vm)
    try:
        vm = QEMU(t.qemu, ["-L", "/usr/share/seabios", "-L",
                           "/usr/share/qemu",
                           "-device", "isp1040,id=hba,revision=7"])
    except QEMUGone as e:
        res.check("revision=7 refused", "revision must be" in str(e), str(e))
    else:
        t.vms.append(vm)
        res.check("revision=7 refused", False, "QEMU started")


CASES = [
    (1, "rsp-in-delay", case_rsp_delay),
    (2, "markers", case_markers),
    (3, "syserr-halt", case_syserr),
    (4, "cmd-timeout", case_timeout),
    (5, "throttle-queue-full", case_queue),
    (6, "negotiation", case_negotiation),
    (7, "chip-class", case_chip_class),
    (8, "sense-bytes", case_sense_bytes),
    (9, "initiator-id", case_initiator_id),
    (10, "revisions", case_revisions),
]


def setup(t):
    t.vms = []
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    t.disks = []
    for i in range(2):
        fd, path = tempfile.mkstemp(prefix="isp-realism-", suffix=".raw",
                                    dir=shm)
        os.close(fd)
        t.disks.append(path)
        M.make_disk(path)


def teardown(t):
    for vm in getattr(t, "vms", []):
        vm.cleanup()
    for p in getattr(t, "disks", []):
        os.unlink(p)


def after(t, num, ok):
    for vm in t.vms:
        if not vm.alive():
            t.res.check("QEMU alive at the end of the case", False)
        vm.cleanup()
    t.vms = []


def main():
    return run_cases(CASES, DEFAULT_QEMU, setup=setup, teardown=teardown,
                     after=after,
                     on_error=lambda t, e: print_stderr(t.vms, 1500),
                     errors=(AssertionError, M.MboxTimeout, RuntimeError))


if __name__ == "__main__":
    sys.exit(main())
