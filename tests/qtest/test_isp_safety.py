#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Safety qtest for the QEMU ISP1040 model (emu/hw/scsi/isp1040.c).

Issue 13, item 1: what a guest can do to the model, driven through QEMU's
qtest protocol (no guest, no firmware blob), one throwaway QEMU per case:

  1 64-bit lengths: WRITE(12) of 2 GiB + 512 bytes over 1025 segments
  2 a bounce copy (1025 segments) whose DMA fails ends with status 0x02
  3 a command swallowed by the x-fault property, its disk unplugged, then
    ABORT: QEMU survives, the abort is answered
  4 chip resets (ICR soft reset, HCCR reset) and a system error: a read
    held in a throttled backend moves no data once the reset shows as done
    (the system error: once its async event 0x8002 is out)
  5 guest errors and unimplemented commands in QEMU's log (-d guest_errors,
    unimp)
  6 ABORT, ABORT DEVICE, ABORT TARGET, ABORT QUEUE and BUS RESET of
    commands held in a throttled backend: cancelled asynchronously, the
    mailbox answer after the cancelled commands' status entries, nothing
    lost (fast posting on)
  7 the x-fault property: reading it shows every fault kind it arms, with
    the count (and argument) armed, and "clear" disarms them all
  8 the residual faults, exact status entries: "short" leaves the tail of
    the buffer unwritten and reports it, "resid-over" reports a residual
    beyond the segments' length; each fires once

Throttling (-drive throttling.iops-total=1) holds commands "in the backend":
a disk read issued within a second of the previous one waits for the rest
of that second.  Measured with bookworm's QEMU 7.2: the wait is wall-clock
time (qtest's clock_step does not end it), so the cases wait in real time.

Usage: test_isp_safety.py [--qemu BINARY] [--only 1,2,..] [--seed N] [-v]
Prints one PASS/FAIL line per check and, last, "N passed, N failed".
"""

import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import QEMU, QEMUGone, print_stderr, run_cases  # noqa: E402
import test_isp_malformed as M  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QEMU = os.environ.get("QTEST_QEMU_BINARY") or os.path.normpath(
    os.path.join(HERE, "..", "..", "build", "qemu-system-x86_64"))

R_MB, R_ISR, R_SEMA, R_HCCR, R_ICR = M.R_MB, M.R_ISR, M.R_SEMA, M.R_HCCR, \
    M.R_ICR
HCCR_CLR_RISC, HCCR_RST_REL = M.HCCR_CLR_RISC, M.HCCR_RST_REL
RF_IN, RF_OUT = M.RF_IN, M.RF_OUT
CS_OK, CS_DMA, CS_RESET, CS_ABORTED = 0x00, 0x02, 0x04, 0x05
CS_OVERRUN, CS_UNDERRUN = 0x07, 0x15
SF_BUS_RESET, SF_DEVICE_RESET, SF_ABORTED = 0x0008, 0x0010, 0x0020
MBA_FAST_POST = 0x8020
DONE = (CS_OK, CS_UNDERRUN)     # ended by the device (data or sense)

BUF = 0x00200000                # data buffers of the held reads
PAM_ADDR = 0x000C0000           # RAM only while i440FX PAM 0x5a says so


def cdb_write12(lba, nblocks):
    return bytes([0xAA, 0]) + struct.pack(">II", lba, nblocks) + bytes(2)


def new_vm(t, throttle=False, log=None, mem=None):
    """A QEMU with one isp1040 and a scsi-hd (id sd0) at target 0 on a fresh
    copy of the pattern disk; returns (vm, isp)."""
    disk = "%s.%d" % (t.disk, len(t.vms))
    M.make_disk(disk)
    t.disks.append(disk)
    drive = "if=none,id=d0,file=%s,format=raw" % disk
    if throttle:
        drive += ",throttling.iops-total=1"
    args = ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
            "-device", "isp1040,id=hba", "-drive", drive,
            "-device", "scsi-hd,id=sd0,bus=hba.0,scsi-id=0,lun=0,drive=d0"]
    if mem:
        args += ["-m", mem]
    if log:
        args += ["-d", "guest_errors,unimp", "-D", log]
    vm = QEMU(t.qemu, args)
    t.vms.append(vm)
    isp = M.ISP(vm, t.res, t.rng)
    isp.pci_setup()
    return vm, isp


def pump(isp, ev, step_ns=0):
    """One pass as a polled host would make it: a mailbox event first (it
    can only be there if the RISC posted it before anything in the ring
    that is not yet visible), then the response ring.  Appends
    ("mbox", [mb0..mb7]) and ("status", entry) to @ev in the order seen."""
    isr = isp.r(R_ISR)
    mbox = False
    if isr & 0x0004 and isp.r(R_SEMA) & 0x0001:
        ev.append(("mbox", isp.mbox_out()))
        mbox = True
        isp.w(R_SEMA, 0)
        isp.w(R_HCCR, HCCR_CLR_RISC)
    rin = isp.r(R_MB(5))
    if rin != isp.rsp_out:
        n = (rin - isp.rsp_out) % isp.rsp_len
        for i in range(n):
            idx = (isp.rsp_out + i) % isp.rsp_len
            ev.append(("status", M.parse_status(
                isp.q.memread(M.RSP_BASE + idx * 64, 64))))
        isp.rsp_out = rin
        isp.w(R_MB(5), rin)
    if isr & 0x0004 and not mbox:
        isp.w(R_HCCR, HCCR_CLR_RISC)
    if step_ns:
        isp.q.clock_step(step_ns)


def pump_until(isp, ev, done, secs=20.0):
    """Pump (stepping the virtual clock 1 ms a pass for the model's timers)
    until done(ev) or @secs of wall time."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        pump(isp, ev, 1000000)
        if done(ev):
            pump(isp, ev)
            return True
        time.sleep(0.01)
    return False


def mbox_start(isp, regs):
    for n in sorted(regs):
        if n:
            isp.w(R_MB(n), regs[n])
    isp.w(R_MB(0), regs[0])
    isp.w(R_HCCR, M.HCCR_SET_HOST)


def answers(ev):
    return [x for k, x in ev if k == "mbox" and 0x4000 <= x[0] < 0x8000]


def completions(ev):
    """{handle: [("status", entry) | ("fast", None)]}"""
    d = {}
    for k, x in ev:
        if k == "status":
            d.setdefault(x["handle"], []).append(("status", x))
        elif k == "mbox" and x[0] == MBA_FAST_POST:
            d.setdefault(x[1] | x[2] << 16, []).append(("fast", None))
    return d


def prime_throttle(isp, h):
    """The first disk read passes the throttle at once; later ones wait for
    the virtual clock.  This one fills the bucket."""
    r, _ = isp.run1(M.build_command(h, M.cdb_read10(1, 1),
                                    [(M.MISC_BUF, 512)], flags=RF_IN))
    return r is not None and r["comp"] == CS_OK


# ---- 1: 64-bit lengths ------------------------------------------------------
def case_write12(t):
    res = t.res
    vm, isp = new_vm(t)
    res.check("bringup", isp.bringup(256, 64, check=False))
    nblk = (2 << 30) // 512 + 1             # 2 GiB + 512 bytes
    # (a) 1025 one-byte segments, none adjacent (no merging): the segments
    # hold 1025 bytes, the CDB asks for 2 GiB + 512.  The model's overrun
    # check must see that in 64-bit math (an int32 length is negative and
    # skipped it: the command reached QEMU's SCSI layer, which answered
    # CHECK CONDITION 05/24/00 because the length is above INT32_MAX).
    q = isp.q
    q.memwrite(M.MISC_BUF, b"\x5a" * 4096)
    segs = [(M.BIG_BASE + 2 * i, 1) for i in range(1025)]
    ents = M.build_command(0x7100, cdb_write12(0, nblk), segs, flags=RF_OUT)
    r, _ = isp.run1(ents)
    res.check("WRITE(12) 2 GiB + 512 over 1025 one-byte segments -> "
              "comp 0x07 overrun, SCSI status 0, state 0x0700, resid 0, "
              "entry status 0",
              r is not None and (r["est"], r["comp"], r["scsi"], r["state"],
                                 r["resid"]) ==
              (0, CS_OVERRUN, 0, 0x0700, 0), M.fmt_ent(r))
    # (b) 1024 segments of 2 MiB (all the same buffer) + 512 bytes: exactly
    # what the CDB asks for, so the model starts it; QEMU's SCSI layer
    # refuses a length above INT32_MAX: CHECK CONDITION, ILLEGAL REQUEST,
    # INVALID FIELD IN CDB, nothing moved, residual the full 2 GiB + 512
    # (0x80000200).  An int32 length made it 0xFFFFFFFF (2 x clipped).
    segs = [(BUF, 2 << 20)] * 1024 + [(BUF, 512)]
    ents = M.build_command(0x7101, cdb_write12(0, nblk), segs, flags=RF_OUT)
    r, _ = isp.run1(ents)
    sense = r["raw"][32:32 + 18] if r else b""
    ok = r is not None and (r["est"], r["comp"], r["scsi"], r["state"],
                            r["resid"]) == \
        (0, CS_UNDERRUN, 0x02, 0x7700, 0x80000200)
    ok = ok and r["sense_len"] >= 14 and sense[2] & 0xF == 0x05 and \
        sense[12:14] == b"\x24\x00"
    res.check("WRITE(12) 2 GiB + 512 over 1025 segments holding 2 GiB + 512 "
              "-> comp 0x15, CHECK CONDITION 05/24/00, state 0x7700, resid "
              "0x80000200", ok, M.fmt_ent(r) + " sense " + sense.hex())
    # (c) the same with the data-in direction flag: direction error 0x02
    # (an int32 length skipped the direction check as well)
    ents = M.build_command(0x7102, cdb_write12(0, nblk), segs, flags=RF_IN)
    r, _ = isp.run1(ents)
    res.check("WRITE(12) 2 GiB + 512 flagged data-in -> comp 0x02, state "
              "0x0700, SCSI status 0",
              r is not None and (r["est"], r["comp"], r["scsi"],
                                 r["state"]) == (0, CS_DMA, 0, 0x0700),
              M.fmt_ent(r))
    # nothing of it reached the disk
    q.memset(M.MISC_BUF, 1024, 0xEE)
    r, _ = isp.run1(M.build_command(0x7103, M.cdb_read10(0, 2),
                                    [(M.MISC_BUF, 1024)], flags=RF_IN))
    res.check("LBA 0-1 still hold their pattern",
              r is not None and r["comp"] == CS_OK and
              q.memread(M.MISC_BUF, 1024) ==
              M.sector_pattern(0) + M.sector_pattern(1), M.fmt_ent(r))
    res.check("QEMU alive", vm.alive())


# ---- 2: DMA failure in a bounce copy ----------------------------------------
def case_dma_fail(t):
    """A READ(10) of 1025 blocks into 1025 scattered 512-byte segments (more
    than one I/O vector: the model copies through the device's 128 KiB
    buffer).  Segment 600 lies at 0xC0000, RAM while the i440FX PAM
    register maps it so; the test unmaps it once the command has started.
    The copy of the chunk holding segment 600 fails: the command must end
    with 0x02, and the chunks after it must not be copied."""
    res = t.res
    vm, isp = new_vm(t, throttle=True)
    q = isp.q
    q.pci_cfg_write((0, 0, 0), 0x5A, 0x33, 1)      # C0000-C7FFF read/write
    res.check("bringup", isp.bringup(256, 64, check=False))
    res.check("throttle primed", prime_throttle(isp, 0x7200))
    nseg, bad = 1025, 600
    segs = [(M.BIG_BASE + 1024 * i, 512) for i in range(nseg)]
    segs[bad] = (PAM_ADDR, 512)
    q.memset(M.BIG_BASE, nseg * 1024, 0xEE)
    isp.post(M.build_command(0x7201, M.cdb_read10(0, nseg), segs,
                             flags=RF_IN))
    res.check("command fetched", isp.wait_consumed())
    q.pci_cfg_write((0, 0, 0), 0x5A, 0x00, 1)      # C0000-C7FFF to PCI
    ev = []
    pump_until(isp, ev, lambda e: completions(e), 30.0)
    c = completions(ev).get(0x7201, [])
    r = c[0][1] if c and c[0][0] == "status" else None
    res.check("DMA failure in the bounce copy -> comp 0x02",
              r is not None and r["comp"] == CS_DMA, M.fmt_ent(r) if r else
              str(c))
    blob = q.memread(M.BIG_BASE, nseg * 1024)
    got = [blob[1024 * i:1024 * i + 512] for i in range(nseg)]
    first = [i for i in range(512) if got[i] != M.sector_pattern(i)]
    res.check("chunks before the failure landed (segments 0-511)",
              not first, "%d wrong" % len(first))
    after = [i for i in range(768, nseg) if got[i] != b"\xee" * 512]
    res.check("no copy after the failure (segments 768-1024 untouched)",
              not after, "%d touched" % len(after))
    extra = []
    pump_until(isp, extra, lambda e: False, 3.0)
    res.check("nothing more posted", not extra, str(extra[:2]))
    res.check("QEMU alive", vm.alive())


# ---- 3: swallowed command, disk unplugged, ABORT ------------------------------
def case_unplug(t):
    res = t.res
    vm, isp = new_vm(t)
    res.check("bringup", isp.bringup(64, 64, check=False))
    vm.qmp.execute("qom-set", path="/machine/peripheral/hba",
                   property="x-fault", value="swallow 1")
    h = 0x7301
    isp.post(M.build_command(h, M.cdb_read10(3, 1), [(M.MISC_BUF, 512)],
                             flags=RF_IN))
    res.check("swallowed command fetched", isp.wait_consumed())
    vm.qmp.execute("device_del", id="sd0")
    # DEVICE_DELETED may come a little after device_del's answer (wall
    # time); with the swallowed request still holding the device (the
    # unfixed model) it never came
    gone = False
    t0 = time.monotonic()
    while not gone and time.monotonic() - t0 < 5:
        vm.qmp.execute("query-status")
        gone = any(e.get("event") == "DEVICE_DELETED" and
                   e.get("data", {}).get("device") == "sd0"
                   for e in vm.qmp.events)
        isp.q.clock_step(1000000)
        time.sleep(0.02)
    res.check("scsi-hd unplugged (DEVICE_DELETED)", gone,
              str([e.get("event") for e in vm.qmp.events]))
    ev = []
    try:
        mbox_start(isp, {0: 0x15, 1: 0x0000, 2: h >> 16, 3: h & 0xFFFF})
        pump_until(isp, ev, lambda e: answers(e), 5.0)
        a = answers(ev)
        c = completions(ev).get(h, [])
        res.check("ABORT of the swallowed command after the unplug -> "
                  "0x4000", a and a[0][0] == 0x4000, str(a))
        res.check("... its status entry: comp 0x05, flags 0x0020",
                  len(c) == 1 and c[0][0] == "status" and
                  (c[0][1]["comp"], c[0][1]["sflags"]) ==
                  (CS_ABORTED, SF_ABORTED), str(c))
        res.check("NOP answered afterwards", isp.alive_nop())
    except QEMUGone as e:
        res.check("QEMU survives ABORT after the unplug", False,
                  "%s; stderr: %s" % (e, vm.stderr_text()[-300:]))
        return
    res.check("QEMU alive", vm.alive())


# ---- 4: chip reset with a read in flight -------------------------------------
def reset_variant(t, name, do_reset, is_done):
    res = t.res
    vm, isp = new_vm(t, throttle=True)
    q = isp.q
    res.check("%s: bringup" % name, isp.bringup(64, 64, check=False))
    res.check("%s: throttle primed" % name, prime_throttle(isp, 0x7400))
    q.memset(BUF, 8 * 512, 0xEE)
    isp.post(M.build_command(0x7401, M.cdb_read10(16, 8), [(BUF, 4096)],
                             flags=RF_IN))
    res.check("%s: read fetched, held by the throttle" % name,
              isp.wait_consumed() and q.memread(BUF, 4096) ==
              b"\xee" * 4096)
    do_reset(isp)
    done_at = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        if is_done(isp):
            done_at = time.monotonic() - t0
            break
        q.clock_step(1000000)
        time.sleep(0.01)
    res.check("%s: reset done within 20 s" % name, done_at is not None)
    res.note("%s: done after %s s" % (name, "%.2f" % done_at
                                       if done_at is not None else "-"))
    snap = q.memread(BUF, 4096)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3:     # the throttle lets it go by now
        q.clock_step(1000000)
        time.sleep(0.05)
    after = q.memread(BUF, 4096)
    res.check("%s: guest buffer unchanged after the reset showed done"
              % name, after == snap,
              "before: %s, after: %s" % (
                  "untouched" if snap == b"\xee" * 4096 else "data",
                  "untouched" if after == b"\xee" * 4096 else "data"))
    ok = isp.bringup(64, 64, check=False)
    r, _ = isp.run1(M.build_command(0x7402, M.cdb_read10(16, 1),
                                    [(M.MISC_BUF, 512)], flags=RF_IN), 5.0) \
        if ok else (None, None)
    res.check("%s: chip works after the reset" % name, r is not None,
              M.fmt_ent(r))
    res.check("%s: QEMU alive" % name, vm.alive())


def case_reset(t):
    def icr_reset(isp):
        isp.w(R_ICR, 0x0001)

    def icr_done(isp):
        return not isp.r(R_ICR) & 0x0001

    def hccr_reset(isp):
        isp.w(R_HCCR, HCCR_RST_REL)

    def hccr_done(isp):
        return isp.r(R_MB(0)) != 0x0004

    def syserr(isp):
        isp.vm.qmp.execute("qom-set", path="/machine/peripheral/hba",
                           property="x-fault", value="system-error")

    def syserr_done(isp):
        # done: the async event 0x8002 has reached the mailboxes
        if not isp.r(R_ISR) & 0x0004:
            return False
        ev = isp.r(R_SEMA) & 0x0001 and isp.r(R_MB(0))
        if ev:
            isp.w(R_SEMA, 0)
        isp.w(R_HCCR, HCCR_CLR_RISC)
        return ev == 0x8002

    reset_variant(t, "ICR soft reset", icr_reset, icr_done)
    reset_variant(t, "HCCR reset", hccr_reset, hccr_done)
    reset_variant(t, "system error", syserr, syserr_done)


# ---- 5: QEMU's log --------------------------------------------------------------
def case_log(t):
    res = t.res
    log = os.path.join(tempfile.gettempdir(), "isp-safety-%d.log" %
                       os.getpid())
    if os.path.exists(log):
        os.unlink(log)
    vm, isp = new_vm(t, log=log)
    res.check("bringup", isp.bringup(64, 64, check=False))
    e = bytearray(64)
    e[0], e[1] = 0x33, 1
    struct.pack_into("<I", e, 4, 0x7501)
    r, _ = isp.run1([bytes(e)])
    res.check("entry of type 0x33 rejected", r is not None and r["est"],
              M.fmt_ent(r))
    st = isp.mbox_status({0: 0x7F})
    res.check("mailbox command 0x7F -> 0x4001", st == 0x4001, str(st))
    isp.w(R_MB(4), 999)                 # request-in beyond the ring
    isp.q.clock_step(1000000)
    vm.quit()
    try:
        with open(log) as f:
            text = f.read()
    except OSError:
        text = ""
    res.check("log: the bad entry (guest error)",
              "isp1040: bad request entry type 0x33" in text, text[-300:])
    res.check("log: mailbox 0x7f not implemented (unimp)",
              "isp1040: mailbox command 0x7f not implemented" in text)
    res.check("log: request-in out of range (guest error)",
              "isp1040: request-in 999 out of range" in text)
    if os.path.exists(log):
        os.unlink(log)


# ---- 6: asynchronous cancels -------------------------------------------------
def case_abort(t):
    res = t.res
    vm, isp = new_vm(t, throttle=True)
    q = isp.q
    res.check("bringup", isp.bringup(256, 256, check=False))
    res.check("throttle primed", prime_throttle(isp, 0x7600))

    # one ABORT of a command held in the backend
    h = 0x7601
    q.memset(BUF, 512, 0xEE)
    isp.post(M.build_command(h, M.cdb_read10(20, 1), [(BUF, 512)],
                             flags=RF_IN))
    res.check("read fetched", isp.wait_consumed())
    ev = []
    mbox_start(isp, {0: 0x15, 1: 0x0000, 2: h >> 16, 3: h & 0xFFFF})
    pump_until(isp, ev, lambda e: answers(e), 10.0)
    kinds = [(k, x[0] if k == "mbox" else x["handle"]) for k, x in ev]
    a = answers(ev)
    c = completions(ev).get(h, [])
    res.check("ABORT of a held read -> 0x4000", a and a[0][0] == 0x4000,
              str(kinds))
    res.check("aborted read: one status entry, comp 0x05, flags 0x0020",
              len(c) == 1 and c[0][0] == "status" and
              (c[0][1]["comp"], c[0][1]["sflags"]) ==
              (CS_ABORTED, SF_ABORTED), str(c))
    pos_s = [i for i, (k, x) in enumerate(ev)
             if k == "status" and x["handle"] == h]
    pos_m = [i for i, (k, x) in enumerate(ev)
             if k == "mbox" and 0x4000 <= x[0] < 0x8000]
    res.check("the mailbox answer comes after the aborted command's status "
              "entry", pos_s and pos_m and pos_s[0] < pos_m[0], str(kinds))

    # many rounds: fast posting on, K reads held, one of ABORT, ABORT
    # DEVICE, ABORT TARGET, ABORT QUEUE, BUS RESET; every command completes
    # exactly once
    res.check("fast posting on", isp.mbox_status({0: 0x4A, 1: 0x0001}) ==
              0x4000)
    kinds = ("abort", "abort-device", "abort-target", "abort-queue",
             "bus-reset")
    rounds, k = 10, 3
    lost, dup, wrong, order, noans = [], [], [], [], []
    base = 0x76100000
    for rnd in range(rounds):
        kind = kinds[rnd % len(kinds)]
        hs = [base + rnd * 16 + i for i in range(k)]
        ents = []
        for i, hh in enumerate(hs):
            ents += M.build_command(hh, M.cdb_read10(100 + 8 * i, 1),
                                    [(BUF + 512 * i, 512)], flags=RF_IN)
        isp.post(ents)
        isp.wait_consumed()
        ev = []
        pump(isp, ev)
        victim = hs[t.rng.randrange(k)]
        if kind == "abort":
            regs = {0: 0x15, 1: 0x0000, 2: victim >> 16, 3: victim & 0xFFFF}
        elif kind == "abort-device":
            regs = {0: 0x16, 1: 0x0000}
        elif kind == "abort-target":
            regs = {0: 0x17, 1: 0x0000}
        elif kind == "abort-queue":
            regs = {0: 0x1C, 1: 0x0000}
        else:
            regs = {0: 0x18, 1: 0}
        mbox_start(isp, regs)
        done = lambda e: answers(e) and all(x in completions(e) for x in hs)
        pump_until(isp, ev, done, 15.0)
        a = answers(ev)
        comp = completions(ev)
        vc = comp.get(victim, [])
        # ABORT of a command that ended before it (the throttle let it
        # through, or the unit attention of an earlier reset): 0x4005
        late = kind == "abort" and vc and (vc[0][0] == "fast" or
                                           vc[0][1]["comp"] in DONE)
        if not a or a[0][0] != (0x4005 if late else 0x4000):
            noans.append((rnd, kind, [x[0] for x in a]))
        for hh in hs:
            cs = comp.get(hh, [])
            if not cs:
                lost.append((rnd, kind, hh))
            elif len(cs) > 1:
                dup.append((rnd, hh))
        # cancelled commands: their status before the answer
        want = hs if kind != "abort" else [victim]
        wcomp = CS_RESET if kind in ("abort-target", "bus-reset") else \
            CS_ABORTED
        pos_m = [i for i, (kk, x) in enumerate(ev)
                 if kk == "mbox" and 0x4000 <= x[0] < 0x8000]
        for hh in want:
            cs = comp.get(hh, [])
            if cs and (cs[0][0] != "status" or cs[0][1]["comp"] != wcomp):
                # a command that ended before the cancel (see above) may
                # complete normally; nothing else
                if not (cs[0][0] == "fast" or cs[0][1]["comp"] in DONE):
                    wrong.append((rnd, kind, hh, cs[0][1]["comp"]
                                  if cs[0][0] == "status" else "fast"))
                continue
            pos = [i for i, (kk, x) in enumerate(ev)
                   if kk == "status" and x["handle"] == hh]
            if pos and pos_m and pos[0] > pos_m[0]:
                order.append((rnd, kind, hh))
        if kind != "abort" and kind != "abort-queue":
            # markers, as a driver queues them after a reset
            isp.post([M.marker_entry(2)])
            isp.wait_consumed()
    res.check("%d rounds x %d held reads: no completion lost" % (rounds, k),
              not lost, str(lost[:6]))
    res.check("no completion posted twice", not dup, str(dup[:6]))
    res.check("every cancelled command ends with its cancel status",
              not wrong, str(wrong[:6]))
    res.check("every mailbox answer after the cancelled commands' entries",
              not order, str(order[:6]))
    res.check("every mailbox command answered 0x4000 (0x4005: ABORT of a "
              "command already done)", not noans,
              str(noans[:4]))
    # with nothing outstanding the answer must come all the same (a reset
    # of the devices is still applied first)
    for name, regs in (("BUS RESET", {0: 0x18, 1: 0}),
                       ("ABORT TARGET", {0: 0x17, 1: 0x0000}),
                       ("ABORT DEVICE", {0: 0x16, 1: 0x0300})):
        ev = []
        mbox_start(isp, regs)
        pump_until(isp, ev, lambda e: answers(e), 5.0)
        a = answers(ev)
        res.check("%s with nothing outstanding -> 0x4000" % name,
                  a and a[0][0] == 0x4000, str([x[0] for x in a]))
        isp.post([M.marker_entry(2)])
        isp.wait_consumed()
    res.check("QEMU alive", vm.alive())


# ---- 7: reading the x-fault property lists every armed kind --------------
def case_fault_prop(t):
    res, rng = t.res, t.rng
    vm, isp = new_vm(t)

    def get():
        return vm.qmp.execute("qom-get", path="/machine/peripheral/hba",
                              property="x-fault")

    def put(v):
        vm.qmp.execute("qom-set", path="/machine/peripheral/hba",
                       property="x-fault", value=v)

    def n():
        return rng.randrange(2, 1000)

    # (what is written, what reading shows), fresh counts each run; every
    # kind that arms something (bus-reset and system-error act at once)
    a = [n() for _ in range(16)]
    kinds = [
        ("swallow %d" % a[0], "swallow %d" % a[0]),
        ("fail-aborts %d" % a[1], "fail-aborts %d" % a[1]),
        ("fail-resets %d" % a[2], "fail-resets %d" % a[2]),
        ("seltimeout %d" % (a[3] % 16), "seltimeout %d" % (a[3] % 16)),
        ("status 0x%02x %d" % (a[4] & 0xFF, a[5]),
         "status 0x%02x/%d" % (a[4] & 0xFF, a[5])),
        ("sense 5 0x%x 0x%x %d" % (a[6] & 0xFF, a[7] & 0xFF, a[8]),
         "sense 5/%02x/%02x/%d" % (a[6] & 0xFF, a[7] & 0xFF, a[8])),
        ("underrun %d %d" % (a[9], a[10]), "underrun %d/%d" % (a[9], a[10])),
        ("corrupt count %d" % a[11], "corrupt c/%d" % a[11]),
        ("irq-lost 1", "irq-lost 1"),
        ("drop-write %d" % a[12], "drop-write %d" % a[12]),
        ("wrong-lba %d %d" % (a[13], a[14]),
         "wrong-lba %d/%d" % (a[13], a[14])),
        ("flip-read %d" % a[15], "flip-read %d" % a[15]),
        ("zero-resid %d" % a[0], "zero-resid %d" % a[0]),
        ("reject-marker %d" % a[1], "reject-marker %d" % a[1]),
        ("short %d %d" % (a[4], a[5]), "short %d/%d" % (a[4], a[5])),
        ("resid-over %d %d" % (a[6], a[7]),
         "resid-over %d/%d" % (a[6], a[7])),
        ("syserr-mbox %d 0x%x" % (a[8], a[9] & 0xFF),
         "syserr-mbox %d/0x%02x" % (a[8], a[9] & 0xFF)),
        ("sense-bytes %d 0x28 700000000000000a00000000%02x00"
         % (a[2], a[3] & 0xFF), "sense-bytes %d/40/14" % a[2]),
    ]
    rng.shuffle(kinds)
    for w, shown in kinds:
        put(w)
    text = get()
    for w, shown in kinds:
        res.check("reading shows '%s' after '%s'" % (shown, w),
                  (" " + text + " ").find(" " + shown + " ") >= 0, text)
    put("clear")
    text = get()
    zero = ["swallow 0", "fail-aborts 0", "fail-resets 0", "seltimeout -1",
            "irq-lost 0", "drop-write 0", "wrong-lba 0/", "flip-read 0",
            "zero-resid 0", "underrun %d/0" % a[9], "corrupt c/0",
            "reject-marker 0", "sense-bytes 0/", "short %d/0" % a[4],
            "resid-over %d/0" % a[6], "syserr-mbox 0/"]
    res.check("after clear every kind reads disarmed",
              all((" " + text).find(" " + z) >= 0 for z in zero), text)


# ---- 8: the residual faults, exact entries ---------------------------------
def case_resid_faults(t):
    res = t.res
    vm, isp = new_vm(t)
    q = isp.q
    res.check("bringup", isp.bringup(256, 64, check=False))

    def faults():
        return int(vm.qmp.execute("qom-get", path="/machine/peripheral/hba",
                                  property="x-stat-faults"))

    def fault(v):
        vm.qmp.execute("qom-set", path="/machine/peripheral/hba",
                       property="x-fault", value=v)

    def pat(lba, n):
        return b"".join(M.sector_pattern(lba + i) for i in range(n))

    f0 = faults()
    # short 512: a READ(10) of 8 sectors stops 512 bytes short: sectors
    # 0-6 land, the last 512 bytes of the buffer stay as they were
    fault("short 512 1")
    q.memset(BUF, 4096, 0xEE)
    r, _ = isp.run1(M.build_command(0x7801, M.cdb_read10(0, 8),
                                    [(BUF, 4096)], flags=RF_IN))
    res.check("short 512: READ(10) of 4096 -> comp 0x15, SCSI GOOD, state "
              "0x5f00, resid 512",
              r is not None and (r["est"], r["comp"], r["scsi"], r["state"],
                                 r["resid"]) ==
              (0, CS_UNDERRUN, 0, 0x5F00, 512), M.fmt_ent(r))
    mem = q.memread(BUF, 4096)
    res.check("short 512: sectors 0-6 arrived, the last 512 bytes untouched",
              mem[:3584] == pat(0, 7) and mem[3584:] == b"\xee" * 512,
              mem[3584:3600].hex())
    # resid-over 100: 4096 + 512 bytes of segments for a 4096-byte read: the
    # data moves, the residual is 4608 + 100
    fault("resid-over 100 1")
    q.memset(BUF, 8192 + 512, 0xEE)
    r, _ = isp.run1(M.build_command(0x7802, M.cdb_read10(8, 8),
                                    [(BUF, 4096), (BUF + 8192, 512)],
                                    flags=RF_IN))
    res.check("resid-over 100: READ(10) of 4096 over 4608 bytes of segments "
              "-> comp 0x15, SCSI GOOD, state 0x5f00, resid 4708",
              r is not None and (r["est"], r["comp"], r["scsi"], r["state"],
                                 r["resid"]) ==
              (0, CS_UNDERRUN, 0, 0x5F00, 4708), M.fmt_ent(r))
    res.check("resid-over 100: the data moved",
              q.memread(BUF, 4096) == pat(8, 8) and
              q.memread(BUF + 8192, 512) == b"\xee" * 512)
    # both fired once: the next read is whole
    q.memset(BUF, 4096, 0xEE)
    r, _ = isp.run1(M.build_command(0x7803, M.cdb_read10(0, 8),
                                    [(BUF, 4096)], flags=RF_IN))
    res.check("then a READ(10) of 4096 -> comp 0x00, resid 0, data whole",
              r is not None and (r["est"], r["comp"], r["scsi"],
                                 r["resid"]) == (0, CS_OK, 0, 0) and
              q.memread(BUF, 4096) == pat(0, 8), M.fmt_ent(r))
    res.check("x-stat-faults counted 2", faults() == f0 + 2,
              "%d -> %d" % (f0, faults()))
    res.check("QEMU alive", vm.alive())


# ---- 9: syserr-mbox: the firmware fails on a mailbox command ----------------
def case_syserr_mbox(t):
    res = t.res
    vm, isp = new_vm(t)
    res.check("bringup", isp.bringup(256, 64, check=False))

    def qom(prop):
        return vm.qmp.execute("qom-get", path="/machine/peripheral/hba",
                              property=prop)

    f0 = int(qom("x-stat-faults"))
    vm.qmp.execute("qom-set", path="/machine/peripheral/hba",
                   property="x-fault", value="syserr-mbox 1 0")
    res.check("syserr-mbox 1 0: a command of another opcode is answered",
              isp.mbox_status({0: 0x06, 1: 0x1234, 2: 0x5678}) == M.MBS_OK)
    n0 = len(isp.async_events)
    try:
        isp.mbox({0: 0x00}, timeout=2.0)
        answered = True
    except M.MboxTimeout:
        answered = False
    res.check("the NOP gets no answer", not answered)
    res.check("async 0x8002 instead",
              any(e[0] == 0x8002 for e in isp.async_events[n0:]),
              str(isp.async_events[n0:]))
    res.check("reading x-fault shows it fired", "syserr-mbox 0/0x00" in
              qom("x-fault"), qom("x-fault"))
    res.check("x-stat-faults counted 1", int(qom("x-stat-faults")) == f0 + 1)
    res.check("the halted RISC takes no command",
              isp.mbox_status({0: 0x00}, 1.0) is None)
    res.check("after a RISC reset the NOP is answered (fired once)",
              isp.risc_reset() and isp.alive_nop())
    res.check("QEMU alive", vm.alive())


CASES = [
    (1, "write12-64bit", case_write12),
    (2, "bounce-dma-failure", case_dma_fail),
    (3, "unplug-swallowed", case_unplug),
    (4, "reset-stops-dma", case_reset),
    (5, "qemu-log", case_log),
    (6, "async-cancel", case_abort),
    (7, "fault-property", case_fault_prop),
    (8, "resid-faults", case_resid_faults),
    (9, "syserr-mbox", case_syserr_mbox),
]


def setup(t):
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, t.disk = tempfile.mkstemp(prefix="isp-safety-", suffix=".raw",
                                 dir=shm)
    os.close(fd)


def teardown(t):
    if getattr(t, "disk", None):
        os.unlink(t.disk)


def before(t, num):
    t.vms = []
    t.disks = []


def after(t, num, ok):
    if ok:
        for vm in t.vms:
            if vm.alive():
                err = vm.stderr_text()
                t.res.check("stderr clean",
                            not any(k in err for k in
                                    ("ssertion", "Aborted",
                                     "core dumped")), err[-300:])
    for vm in t.vms:
        vm.cleanup()
    for d in t.disks:
        os.unlink(d)


def on_gone(t, e):
    t.res.check("QEMU survives case", False, str(e))
    print_stderr(t.vms)


def main():
    return run_cases(CASES, DEFAULT_QEMU, seed=1313, setup=setup,
                     teardown=teardown, before=before, after=after,
                     on_gone=on_gone,
                     errors=(AssertionError, M.MboxTimeout, RuntimeError))


if __name__ == "__main__":
    sys.exit(main())
