#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Malformed-input qtest for the QEMU ISP1040 model (emu/hw/scsi/isp1040.c).

Drives the emulated QLogic ISP1040 directly through QEMU's qtest protocol
(no guest, no firmware blob): PCI set-up, mailbox commands, request and
response rings in guest memory.  Everything the test expects comes from
/work/shared/isp-hw-reference.md and the model decisions recorded in the
qlisp QEMU test brief; see the comments at each check.

Usage: test_isp_malformed.py [--qemu BINARY] [--only 1,2,..] [--seed N] [-v]
Prints one PASS/FAIL line per check and, last, "N passed, N failed".
Exit status 1 if anything failed.
"""

import os
import random
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import (QEMU, QEMUGone, print_stderr,  # noqa: E402
                      run_cases)

HERE = os.path.dirname(os.path.abspath(__file__))
# (tests/run.sh exports the QEMU it tests as QTEST_QEMU_BINARY)
DEFAULT_QEMU = os.environ.get("QTEST_QEMU_BINARY") or os.path.normpath(
    os.path.join(HERE, "..", "..", "build", "qemu-system-x86_64"))

# ---- where things live ---------------------------------------------------
MMIO_BASE = 0xE0000000          # BAR1 (what libqos uses for the PC hole)
IO_BASE = 0xC000                # BAR0
RAM_SIZE = 128 << 20            # QEMU's default -m for pc; checked via QMP
BAD_ADDR = 0x10000000           # 256 MiB: above RAM, below the PCI hole

REQ_BASE = 0x00100000           # up to 1024 entries (64 KiB)
RSP_BASE = 0x00120000           # up to 1024 entries
FW_BUF = 0x00140000             # firmware image for LOAD_RAM
DUMP_BUF = 0x00150000           # DUMP_RAM target
INQ_BUF = 0x00160000            # INQUIRY and friends
MISC_BUF = 0x00170000           # small data buffers
DATA_BASE = 0x00400000          # flood READ buffers (6000 x 512)
BIG_BASE = 0x01000000           # scattered segments of 255-entry commands

DISK_SECTORS = 64 * 2048        # 64 MiB image
PATTERN_SECTORS = 4096          # sectors 0..4095 carry a known pattern

# ---- registers -----------------------------------------------------------
R_ID_LO, R_ID_HI, R_CONF0, R_CONF1 = 0x00, 0x02, 0x04, 0x06
R_ICR, R_ISR, R_SEMA, R_NVRAM = 0x08, 0x0A, 0x0C, 0x0E
R_MB0 = 0x70
R_HCCR = 0xC0


def R_MB(n):
    return R_MB0 + 2 * n


HCCR_RESET, HCCR_PAUSE, HCCR_RELEASE = 0x1000, 0x2000, 0x3000
HCCR_SET_HOST, HCCR_CLR_HOST, HCCR_CLR_RISC = 0x5000, 0x6000, 0x7000
HCCR_RST_REL = 0xB000

MBS_OK = 0x4000
MBS_INVALID = 0x4001
MBS_PARAM = 0x4006
MBS_CMD_ERROR = 0x4005

SIGNATURE = [0x0000, 0x4953, 0x5020, 0x2020, 0x0001]

# Opcodes the reference (section 4.4) documents for some chip or firmware.
DOCUMENTED_OPS = (set(range(0x00, 0x0F)) | set(range(0x10, 0x2B)) |
                  {0x2F, 0x3F} | set(range(0x30, 0x3C)) |
                  {0x40, 0x41, 0x42, 0x45, 0x46, 0x48, 0x49, 0x4A, 0x4B,
                   0x4E, 0x4F} | set(range(0x50, 0x57)) |
                  set(range(0x5A, 0x60)))
# The boot ROM's command set per the brief (+0x0A/0x0E/0x0B-0x0D, which the
# reference names but does not pin down: any status is accepted for them).
ROM_OPS = set(range(0x00, 0x0A))
ROM_MAYBE = {0x0A, 0x0B, 0x0C, 0x0D, 0x0E}
# Documented operational-firmware commands that are safe to send with
# all-zero parameters (queries, no state change).
FW_SAFE_DOC = ({0x00, 0x05, 0x07, 0x08, 0x0E, 0x1D, 0x1E, 0x1F, 0x2F,
                0x46, 0x4B, 0x5B} | set(range(0x20, 0x2B)))

# entry types
ET_CMD, ET_CONT, ET_STATUS, ET_MARKER = 0x01, 0x02, 0x03, 0x04
ET_CMD64, ET_CONT64 = 0x09, 0x0A
EF_BAD_HEADER, EF_BAD_PAYLOAD = 0x04, 0x08
RF_IN, RF_OUT = 0x0020, 0x0040

CS_OK, CS_INCOMPLETE, CS_DMA, CS_OVERRUN, CS_UNDERRUN = 0, 1, 2, 7, 0x15

# Entry types nobody defines as a request (response-only or unassigned).
UNKNOWN_TYPES = ([0x00, 0x03, 0x08, 0x10, 0x21, 0x22] +
                 list(range(0x11, 0x21)) + list(range(0x23, 0x100)))


# ---- SCSI helpers --------------------------------------------------------
def cdb_tur():
    return bytes(6)


def cdb_inquiry(alloc):
    return bytes([0x12, 0, 0, 0, alloc & 0xFF, 0])


def cdb_rw10(op, lba, n):
    return bytes([op, 0]) + struct.pack(">I", lba) + bytes([0]) + \
        struct.pack(">H", n) + bytes([0])


def cdb_read10(lba, n):
    return cdb_rw10(0x28, lba, n)


def cdb_write10(lba, n):
    return cdb_rw10(0x2A, lba, n)


_BASE = bytes(range(256)) * 3


def sector_pattern(lba):
    if lba >= PATTERN_SECTORS:
        return bytes(512)
    off = lba % 256
    return struct.pack("<II", lba, 0xB00B1515 ^ lba) + _BASE[off + 8:off + 512]


def make_disk(path):
    with open(path, "wb") as f:
        for lba in range(PATTERN_SECTORS):
            f.write(sector_pattern(lba))
        f.truncate(DISK_SECTORS * 512)


# ---- IOCB builders ---------------------------------------------------------
def cmd_entry(handle, cdb=b"", segs=(), etype=ET_CMD, count=1, nseg=None,
              target=0, lun=0, flags=0, cdb_len=None, timeout=10, sysdef=0):
    """A type 1 (or 9) command entry with up to 4 (2) in-line segments."""
    e = bytearray(64)
    e[0], e[1], e[2], e[3] = etype & 0xFF, count & 0xFF, sysdef & 0xFF, 0
    struct.pack_into("<I", e, 4, handle & 0xFFFFFFFF)
    e[8], e[9] = lun & 0xFF, target & 0xFF
    struct.pack_into("<H", e, 10, (len(cdb) if cdb_len is None else cdb_len)
                     & 0xFFFF)
    struct.pack_into("<H", e, 12, flags)
    struct.pack_into("<H", e, 16, timeout)
    struct.pack_into("<H", e, 18, (len(segs) if nseg is None else nseg)
                     & 0xFFFF)
    e[20:20 + min(len(cdb), 12)] = cdb[:12]
    if etype == ET_CMD64:
        for i, (a, n) in enumerate(segs[:2]):
            struct.pack_into("<QI", e, 40 + 12 * i, a, n)
    else:
        for i, (a, n) in enumerate(segs[:4]):
            struct.pack_into("<II", e, 32 + 8 * i, a & 0xFFFFFFFF, n)
    return bytes(e)


def cont_entry(segs, a64=False, etype=None, handle_field=None):
    e = bytearray(64)
    e[0] = etype if etype is not None else (ET_CONT64 if a64 else ET_CONT)
    e[1] = 1
    if a64:
        for i, (a, n) in enumerate(segs[:5]):
            struct.pack_into("<QI", e, 4 + 12 * i, a, n)
    else:
        for i, (a, n) in enumerate(segs[:7]):
            struct.pack_into("<II", e, 8 + 8 * i, a, n)
    if handle_field is not None:
        struct.pack_into("<I", e, 4, handle_field)
    return bytes(e)


def build_command(handle, cdb, segs, a64=False, flags=0, target=0, lun=0,
                  nseg=None, count=None):
    """Command entry plus the continuations its segment list needs."""
    inline, per = (2, 5) if a64 else (4, 7)
    segs = list(segs)
    conts = []
    rest = segs[inline:]
    while rest:
        conts.append(cont_entry(rest[:per], a64))
        rest = rest[per:]
    n = 1 + len(conts)
    head = cmd_entry(handle, cdb, segs[:inline],
                     etype=ET_CMD64 if a64 else ET_CMD,
                     count=n if count is None else count,
                     nseg=len(segs) if nseg is None else nseg,
                     target=target, lun=lun, flags=flags)
    return [head] + conts


def marker_entry(modifier=2, target=0, lun=0):
    e = bytearray(64)
    e[0], e[1] = ET_MARKER, 1
    e[8], e[9], e[10] = lun, target, modifier
    return bytes(e)


def parse_status(e):
    return {
        "type": e[0], "count": e[1], "sysdef": e[2], "est": e[3],
        "handle": struct.unpack_from("<I", e, 4)[0],
        "scsi": struct.unpack_from("<H", e, 8)[0],
        "comp": struct.unpack_from("<H", e, 10)[0],
        "state": struct.unpack_from("<H", e, 12)[0],
        "sflags": struct.unpack_from("<H", e, 14)[0],
        "sense_len": struct.unpack_from("<H", e, 18)[0],
        "resid": struct.unpack_from("<I", e, 20)[0],
        "raw": bytes(e),
    }


def fmt_ent(s):
    if s is None:
        return "no response"
    return ("type 0x%02x est 0x%02x handle 0x%08x comp 0x%02x scsi 0x%02x "
            "state 0x%04x sflags 0x%04x resid %d" %
            (s["type"], s["est"], s["handle"], s["comp"], s["scsi"],
             s["state"], s["sflags"], s["resid"]))


def make_firmware(nwords=64, org=0x1000):
    """A synthetic image: word 3 = length, all words sum to 0 mod 2^16."""
    banner = b"QLISP TEST FIRMWARE  Version 7.65  (synthetic)  "
    if len(banner) % 2:
        banner += b" "
    w = [0x0078, 0x1000 + 4, 0x0000, nwords]
    for i in range(0, len(banner), 2):
        w.append(banner[i] << 8 | banner[i + 1])   # byte-pair swapped ASCII
    rng = random.Random(1040)
    while len(w) < nwords - 1:
        w.append(rng.randrange(0x10000))
    w.append((-sum(w)) & 0xFFFF)
    assert len(w) == nwords and sum(w) & 0xFFFF == 0
    return w


FIRMWARE = make_firmware()
FW_ORG = 0x1000


# ---- the chip, seen from a polled host ---------------------------------------
class MboxTimeout(Exception):
    pass


class ISP:
    def __init__(self, vm, res, rng):
        self.vm = vm
        self.q = vm.qtest
        self.res = res
        self.rng = rng
        self.bdf = None
        self.mbox_done = 0          # completions seen (mb0 = 0x4xxx)
        self.async_events = []
        self.unexpected_mbox = []   # mailbox traffic seen while draining
        self.rsp_irq_acks = 0
        self.req_len = self.rsp_len = 0
        self.req_in = self.rsp_out = 0
        self.status_seen = 0
        self.bad_seen = 0
        self.markers_posted = 0
        self.doorbells = 0          # kicks of post()
        self.ram_size = RAM_SIZE

    # registers through BAR1 (MMIO); BAR0 (I/O) for cross-checks
    def r(self, off):
        return self.q.readw(MMIO_BASE + off)

    def w(self, off, val):
        self.q.writew(MMIO_BASE + off, val & 0xFFFF)

    def rio(self, off):
        return self.q.inw(IO_BASE + off)

    def wio(self, off, val):
        self.q.outw(IO_BASE + off, val & 0xFFFF)

    def mbox_out(self, n=8):
        return [self.r(R_MB(i)) for i in range(n)]

    def poll(self, fn, timeout=5.0):
        """Bounded poll; advances the virtual clock once the model idles
        (the model arms a QEMU_CLOCK_VIRTUAL timer to re-raise response
        interrupts, and qtest's virtual clock only moves on clock_step)."""
        t0 = time.monotonic()
        i = 0
        while True:
            v = fn()
            if v:
                return v
            i += 1
            if i > 8:
                self.q.clock_step(100000)
            if i > 300:
                time.sleep(0.001)
            if time.monotonic() - t0 > timeout:
                return None

    # --- PCI ------------------------------------------------------------
    def pci_setup(self):
        q = self.q
        self.bdf = q.pci_find(0x1077, 0x1020)
        if self.bdf is None:
            raise RuntimeError("no 1077:1020 function on bus 0")
        q.pci_cfg_write(self.bdf, 0x10, 0xFFFFFFFF)
        q.pci_cfg_write(self.bdf, 0x14, 0xFFFFFFFF)
        self.bar0_probe = q.pci_cfg_read(self.bdf, 0x10)
        self.bar1_probe = q.pci_cfg_read(self.bdf, 0x14)
        q.pci_cfg_write(self.bdf, 0x10, IO_BASE)
        q.pci_cfg_write(self.bdf, 0x14, MMIO_BASE)
        cmd = q.pci_cfg_read(self.bdf, 0x04, 2)
        q.pci_cfg_write(self.bdf, 0x04, cmd | 0x0007, 2)   # IO, MEM, master

    # --- mailboxes -------------------------------------------------------
    def ack(self):
        self.w(R_SEMA, 0)
        self.w(R_HCCR, HCCR_CLR_RISC)

    def _mbox_poll(self):
        if not self.r(R_ISR) & 0x0004:
            return None
        if not self.r(R_SEMA) & 0x0001:
            # response-queue interrupt: acknowledge, responses stay queued
            self.rsp_irq_acks += 1
            self.w(R_HCCR, HCCR_CLR_RISC)
            return None
        out = self.mbox_out()
        self.ack()
        if out[0] & 0x8000:
            self.async_events.append(out)
            return None
        self.mbox_done += 1
        return out

    def mbox(self, regs, timeout=5.0):
        """regs: {n: value}; mb0 = opcode.  Writes only the given incoming
        mailboxes (mb4/mb5 are live queue pointers once queues run), rings
        the HCCR doorbell, polls ISR bit 2 + SEMA bit 0.  Returns the eight
        outgoing mailboxes; raises MboxTimeout."""
        for n in sorted(regs):
            if n:
                self.w(R_MB(n), regs[n])
        self.w(R_MB(0), regs[0])
        self.w(R_HCCR, HCCR_SET_HOST)
        out = self.poll(self._mbox_poll, timeout)
        if out is None:
            raise MboxTimeout("mailbox 0x%02x: no completion in %.1f s "
                              "(ISR 0x%04x SEMA 0x%04x HCCR 0x%04x mb0 0x%04x)"
                              % (regs[0], timeout, self.r(R_ISR),
                                 self.r(R_SEMA), self.r(R_HCCR),
                                 self.r(R_MB0)))
        return out

    def mbox_status(self, regs, timeout=5.0):
        try:
            return self.mbox(regs, timeout)[0]
        except MboxTimeout:
            return None

    def alive_nop(self):
        return self.mbox_status({0: 0x00}) == MBS_OK

    # --- reset / firmware -------------------------------------------------
    def signature_ok(self):
        return self.mbox_out(5) == SIGNATURE

    def risc_reset(self):
        """Linux-style: HCCR 0xB000, wait for mb0 != busy, signature."""
        self.w(R_HCCR, HCCR_RST_REL)
        self.poll(lambda: self.r(R_MB0) != 0x0004, 2.0)
        self.w(R_SEMA, 0)
        self.w(R_HCCR, HCCR_CLR_RISC)
        self.req_len = self.rsp_len = 0
        return self.signature_ok()

    def load_firmware(self):
        data = b"".join(struct.pack("<H", x) for x in FIRMWARE)
        self.q.memwrite(FW_BUF, data)
        st = self.mbox_status({0: 0x01, 1: FW_ORG, 2: FW_BUF >> 16,
                               3: FW_BUF & 0xFFFF, 4: len(FIRMWARE)})
        if st != MBS_OK:        # fall back to per-word writes
            for i, x in enumerate(FIRMWARE):
                self.mbox({0: 0x04, 1: FW_ORG + i, 2: x})
        return self.mbox_status({0: 0x07, 1: FW_ORG}) == MBS_OK

    def bringup(self, req_len, rsp_len, a64=False, check=True,
                rsp_first=False, clear_ua=True, regtest_before=False):
        """Reset the RISC, load+verify+execute, queues (empty rings)."""
        ok = self.risc_reset()
        ok = self.load_firmware() and ok
        ok = self.mbox_status({0: 0x02, 1: FW_ORG}) == MBS_OK and ok
        ok = self.mbox_status({0: 0x4A, 1: 0x0000}) == MBS_OK and ok
        if regtest_before:      # as Linux does: leaves values in mb1..mb7
            regs = {0: 0x06}
            regs.update({i: 0x1111 * i for i in range(1, 8)})
            ok = self.mbox_status(regs) == MBS_OK and ok
        self.q.memset(REQ_BASE, req_len * 64, 0)
        self.q.memset(RSP_BASE, rsp_len * 64, 0)
        if a64:
            rq = {0: 0x52, 1: req_len, 2: REQ_BASE >> 16,
                  3: REQ_BASE & 0xFFFF, 4: 0, 6: 0, 7: 0}
            rs = {0: 0x53, 1: rsp_len, 2: RSP_BASE >> 16,
                  3: RSP_BASE & 0xFFFF, 5: 0, 6: 0, 7: 0}
        else:
            rq = {0: 0x10, 1: req_len, 2: REQ_BASE >> 16,
                  3: REQ_BASE & 0xFFFF, 4: 0}
            rs = {0: 0x11, 1: rsp_len, 2: RSP_BASE >> 16,
                  3: RSP_BASE & 0xFFFF, 4: 0, 5: 0}
        for regs in ((rs, rq) if rsp_first else (rq, rs)):
            ok = self.mbox_status(regs) == MBS_OK and ok
        self.req_len, self.rsp_len = req_len, rsp_len
        self.req_in = self.rsp_out = 0
        tag = "req %d rsp %d%s%s" % (req_len, rsp_len, " A64" if a64 else "",
                                     " rsp-first" if rsp_first else "")
        if check:
            self.res.check("bringup " + tag, ok)
        # After queue initialisation the outgoing mb4/mb5 are the request-OUT
        # and response-IN indices, both 0 (reference 7, brief).
        mb4, mb5 = self.r(R_MB(4)), self.r(R_MB(5))
        if check:
            self.res.check("after queue init (%s): mb4 (req OUT) = 0, "
                           "mb5 (rsp IN) = 0" % tag, (mb4, mb5) == (0, 0),
                           "mb4 0x%04x mb5 0x%04x" % (mb4, mb5))
        if ok and mb4 != 0:
            # Work around a stale mb4: post one marker regardless of the
            # free-space computation; consuming it refreshes mb4.
            self.post([marker_entry(2)])
            self.wait_consumed(2.0)
        if ok and clear_ua:
            # the disk reports UNIT ATTENTION (power on / reset) once
            for i in range(4):
                r, _ = self.run1([cmd_entry(0x0EEE0000 + i, cdb_tur())], 3.0)
                if r is None or (r["comp"] == CS_OK and r["scsi"] == 0):
                    break
        return ok

    # --- request ring -----------------------------------------------------
    def req_out(self):
        return self.r(R_MB(4))

    def req_free(self):
        return (self.req_out() - self.req_in - 1) % self.req_len

    def post(self, entries, kick=True):
        n = len(entries)
        data = b"".join(entries)
        first = min(n, self.req_len - self.req_in)
        self.q.memwrite(REQ_BASE + self.req_in * 64, data[:first * 64])
        if n > first:
            self.q.memwrite(REQ_BASE, data[first * 64:])
        for e in entries:
            if e[0] == ET_MARKER:
                self.markers_posted += 1
        self.req_in = (self.req_in + n) % self.req_len
        if kick:
            self.w(R_MB(4), self.req_in)
            self.doorbells += 1

    def wait_consumed(self, timeout=5.0):
        return self.poll(lambda: self.req_out() == self.req_in, timeout)

    # --- response ring ----------------------------------------------------
    def collect_once(self, out_list):
        """One pass: take what the RISC posted, acknowledge interrupts.
        Returns True if anything was consumed."""
        rin = self.r(R_MB(5))
        got = False
        if rin >= self.rsp_len:
            raise AssertionError("response-in (mb5) = %d >= ring length %d"
                                 % (rin, self.rsp_len))
        if rin != self.rsp_out:
            n = (rin - self.rsp_out) % self.rsp_len
            first = min(n, self.rsp_len - self.rsp_out)
            raw = self.q.memread(RSP_BASE + self.rsp_out * 64, first * 64)
            if n > first:
                raw += self.q.memread(RSP_BASE, (n - first) * 64)
            for i in range(n):
                s = parse_status(raw[64 * i:64 * i + 64])
                out_list.append(s)
                self.status_seen += 1
                if s["est"]:
                    self.bad_seen += 1
            self.rsp_out = rin
            self.w(R_MB(5), self.rsp_out)
            got = True
        isr = self.r(R_ISR)
        if isr & 0x0004:
            if self.r(R_SEMA) & 0x0001:
                out = self.mbox_out()
                self.unexpected_mbox.append(out)
                if out[0] & 0x8000:
                    self.async_events.append(out)
                self.w(R_SEMA, 0)
            else:
                self.rsp_irq_acks += 1
            self.w(R_HCCR, HCCR_CLR_RISC)
        return got

    def collect(self, n, timeout=10.0):
        got = []
        t0 = time.monotonic()
        idle = 0
        while len(got) < n and time.monotonic() - t0 < timeout:
            if self.collect_once(got):
                idle = 0
                continue
            idle += 1
            if idle > 4:
                self.q.clock_step(200000)
            if idle > 200:
                time.sleep(0.001)
        return got

    def quiet(self, polls=6):
        """After the expected responses: nothing more may arrive, no mailbox
        event may be raised.  Returns the extra entries seen."""
        extra = []
        for _ in range(polls):
            self.q.clock_step(5000000)
            self.collect_once(extra)
        return extra

    def by_handle(self, ents):
        d = {}
        for s in ents:
            d.setdefault(s["handle"], []).append(s)
        return d

    def run(self, entries_list, timeout=10.0):
        """Post several requests (each a list of entries), wait for one
        response per request; returns {handle: status or None}."""
        handles = []
        flat = []
        for ents in entries_list:
            handles.append(struct.unpack_from("<I", ents[0], 4)[0])
            flat += ents
        self.post(flat)
        got = self.collect(len(entries_list), timeout)
        d = self.by_handle(got)
        return {h: (d[h][0] if h in d else None) for h in handles}, got

    def run1(self, ents, timeout=10.0):
        d, got = self.run([ents], timeout)
        return list(d.values())[0], got


# ---- test cases ------------------------------------------------------------
def case_identity(t):
    isp, res, q = t.isp, t.res, t.q
    bdf = isp.bdf
    v = q.pci_cfg_read(bdf, 0x00)
    res.check("PCI vendor:device 1077:1020", v == 0x10201077, "0x%08x" % v)
    cls = q.pci_cfg_read(bdf, 0x08)
    res.note("PCI class/revision dword 0x%08x" % cls)
    res.check("PCI class mass storage (0x01)", cls >> 24 == 0x01,
              "class 0x%06x" % (cls >> 8))
    pin = q.pci_cfg_read(bdf, 0x3D, 1)
    res.check("PCI interrupt pin INTA", pin == 1, "pin %d" % pin)
    res.check("BAR0 is 256-byte I/O", isp.bar0_probe & 0xFFFF == 0xFF01,
              "probe 0x%08x" % isp.bar0_probe)
    res.check("BAR1 is 256-byte 32-bit non-prefetchable memory",
              isp.bar1_probe == 0xFFFFFF00, "probe 0x%08x" % isp.bar1_probe)
    # power-on signature, before any register write
    sig = isp.mbox_out(5)
    res.check("power-on boot-ROM signature mb0-mb4", sig == SIGNATURE,
              " ".join("%04x" % x for x in sig))
    res.check("BIU ID_LO 0x1077 (MMIO)", isp.r(R_ID_LO) == 0x1077)
    res.check("BIU ID_HI 0x1020 (MMIO)", isp.r(R_ID_HI) == 0x1020)
    res.check("BIU ID_LO/ID_HI via I/O BAR",
              (isp.rio(R_ID_LO), isp.rio(R_ID_HI)) == (0x1077, 0x1020))
    conf0 = isp.r(R_CONF0)
    res.check("CONF0 revision is a 1020/1040 value (1..6)",
              1 <= conf0 & 0xF <= 6, "CONF0 0x%04x" % conf0)
    isp.wio(R_CONF1, 0x0034)
    c1 = isp.r(R_CONF1)
    isp.w(R_CONF1, 0)
    res.check("CONF1 written via I/O reads back via MMIO", c1 == 0x0034,
              "0x%04x" % c1)
    # ICR soft reset
    isp.w(R_ICR, 0x0001)
    icr = isp.poll(lambda: (isp.r(R_ICR) & 1) == 0 or None, 2.0)
    res.check("ICR soft-reset bit self-clears", icr is not None)
    res.check("signature after ICR soft reset", isp.signature_ok())
    # HCCR 0xB000
    res.check("signature after HCCR 0xB000", isp.risc_reset())
    res.check("ISR/SEMA idle after reset",
              isp.r(R_ISR) & 4 == 0 and isp.r(R_SEMA) & 1 == 0)
    # mailbox written without doorbell: nothing happens
    isp.w(R_MB(0), 0x0000)
    for _ in range(5):
        q.clock_step(1000000)
    res.check("no mailbox completion without the HCCR doorbell",
              isp.r(R_ISR) & 4 == 0 and isp.r(R_SEMA) & 1 == 0)
    # 0x1000 holds the RISC in reset; a doorbell waits for 0x3000
    isp.w(R_HCCR, HCCR_RESET)
    res.check("signature while RISC held in reset (0x1000)",
              isp.signature_ok())
    isp.w(R_MB(0), 0x0000)
    isp.w(R_HCCR, HCCR_SET_HOST)
    for _ in range(5):
        q.clock_step(1000000)
    held = isp.r(R_ISR) & 4 == 0 and isp.r(R_SEMA) & 1 == 0
    hccr = isp.r(R_HCCR)
    res.check("no mailbox completion while RISC held in reset", held)
    res.check("HCCR bit 7 shows the pending doorbell", hccr & 0x0080,
              "HCCR 0x%04x" % hccr)
    isp.w(R_HCCR, HCCR_RELEASE)
    out = isp.poll(isp._mbox_poll, 3.0)
    res.check("held NOP completes after release (0x3000)",
              out is not None and out[0] == MBS_OK,
              "mb0 %s" % (("0x%04x" % out[0]) if out else "none"))
    res.check("NOP -> 0x4000", isp.mbox_status({0: 0x00}) == MBS_OK)
    # MAILBOX_REG_TEST echoes mb1..mb7
    pats = [[0xAAAA, 0x5555, 0xAA55, 0x55AA, 0xA5A5, 0x5A5A, 0x2525],
            [0xFFFF] * 7, [0x0000] * 7,
            [t.rng.randrange(0x10000) for _ in range(7)]]
    for k, p in enumerate(pats):
        regs = {0: 0x06}
        regs.update({i + 1: p[i] for i in range(7)})
        out = isp.mbox(regs)
        res.check("MAILBOX_REG_TEST pattern %d echoes mb1-mb7" % k,
                  out[0] == MBS_OK and out[1:8] == p,
                  "out " + " ".join("%04x" % x for x in out))
    # outgoing mailboxes are held until the host releases the semaphore
    isp.w(R_MB(0), 0x00)
    isp.w(R_HCCR, HCCR_SET_HOST)
    isp.poll(lambda: isp.r(R_SEMA) & 1, 2.0)
    isp.w(R_MB(1), 0x1234)
    isp.w(R_MB(0), 0x06)
    isp.w(R_HCCR, HCCR_SET_HOST)
    for _ in range(5):
        q.clock_step(1000000)
    mb0 = isp.r(R_MB0)
    res.check("second command does not overwrite unreleased mailboxes",
              mb0 == MBS_OK and isp.r(R_SEMA) & 1, "mb0 0x%04x" % mb0)
    isp.ack()
    isp.mbox_done += 1
    out = isp.poll(isp._mbox_poll, 3.0)
    res.check("queued command runs after SEMA release",
              out is not None and out[0] == MBS_OK and out[1] == 0x1234)


def case_firmware(t):
    isp, res, q = t.isp, t.res, t.q
    # The ROM firmware path only works on a chip whose RAM was never written.
    if t.fresh_ram:
        res.check("boot ROM: GET_FIRMWARE_STATUS -> 0x4001",
                  isp.mbox_status({0: 0x1F}) == MBS_INVALID)
        st = isp.mbox_status({0: 0x02, 1: FW_ORG})
        res.check("EXECUTE_FIRMWARE without download runs ROM firmware",
                  st == MBS_OK, "mb0 %s" % st)
        res.check("ROM firmware: GET_FIRMWARE_STATUS -> 0x4000",
                  isp.mbox_status({0: 0x1F}) == MBS_OK)
        res.check("back to boot ROM after HCCR 0xB000", isp.risc_reset())
    else:
        res.note("RAM already written in this QEMU: ROM-firmware path skipped")
    res.check("boot ROM: INIT_REQUEST_QUEUE -> 0x4001 (invalid)",
              isp.mbox_status({0: 0x10, 1: 16, 2: REQ_BASE >> 16,
                               3: REQ_BASE & 0xFFFF, 4: 0}) == MBS_INVALID)
    # download by WRITE_RAM_WORD, as Linux does for the 1040
    bad = [i for i, x in enumerate(FIRMWARE)
           if isp.mbox_status({0: 0x04, 1: FW_ORG + i, 2: x}) != MBS_OK]
    res.check("WRITE_RAM_WORD x%d -> 0x4000" % len(FIRMWARE), not bad,
              "failed at %s" % bad[:5])
    mism = []
    for i, x in enumerate(FIRMWARE):
        out = isp.mbox({0: 0x05, 1: FW_ORG + i})
        if out[0] != MBS_OK or out[2] != x:
            mism.append((i, out[0], out[2], x))
    res.check("READ_RAM_WORD reads the image back", not mism, str(mism[:3]))
    res.check("VERIFY_CHECKSUM good image -> 0x4000",
              isp.mbox_status({0: 0x07, 1: FW_ORG}) == MBS_OK)
    # corrupt one word
    isp.mbox({0: 0x04, 1: FW_ORG + 10, 2: FIRMWARE[10] ^ 0x0100})
    st = isp.mbox_status({0: 0x07, 1: FW_ORG})
    res.check("VERIFY_CHECKSUM corrupt image -> error status",
              st is not None and st != MBS_OK and st & 0xF000 == 0x4000,
              "mb0 %s" % (hex(st) if st is not None else None))
    st = isp.mbox_status({0: 0x02, 1: FW_ORG})
    res.check("EXECUTE_FIRMWARE corrupt image -> error status",
              st is not None and st != MBS_OK, "mb0 %s" %
              (hex(st) if st is not None else None))
    res.check("corrupt EXECUTE leaves RISC in boot ROM (0x10 -> 0x4001)",
              isp.mbox_status({0: 0x10, 1: 16, 2: REQ_BASE >> 16,
                               3: REQ_BASE & 0xFFFF, 4: 0}) == MBS_INVALID)
    isp.mbox({0: 0x04, 1: FW_ORG + 10, 2: FIRMWARE[10]})
    res.check("VERIFY_CHECKSUM after repair -> 0x4000",
              isp.mbox_status({0: 0x07, 1: FW_ORG}) == MBS_OK)
    # DMA download paths (LOAD_RAM, LOAD_RAM_A64_ROM) and DUMP_RAM
    img = b"".join(struct.pack("<H", x) for x in FIRMWARE)
    q.memwrite(FW_BUF, img)
    for op, org in ((0x01, 0x2000), (0x09, 0x3000)):
        regs = {0: op, 1: org, 2: FW_BUF >> 16, 3: FW_BUF & 0xFFFF,
                4: len(FIRMWARE)}
        if op == 0x09:
            regs.update({6: 0, 7: 0})
        st = isp.mbox_status(regs)
        res.check("LOAD_RAM%s -> 0x4000" % ("_A64_ROM" if op == 9 else ""),
                  st == MBS_OK, "mb0 %s" % st)
        w = isp.mbox({0: 0x05, 1: org + 37})
        res.check("RAM word after LOAD_RAM op 0x%02x" % op,
                  w[2] == FIRMWARE[37], "0x%04x" % w[2])
        res.check("VERIFY_CHECKSUM of DMA-loaded copy at 0x%04x" % org,
                  isp.mbox_status({0: 0x07, 1: org}) == MBS_OK)
    q.memset(DUMP_BUF, len(img), 0xEE)
    st = isp.mbox_status({0: 0x03, 1: FW_ORG, 2: DUMP_BUF >> 16,
                          3: DUMP_BUF & 0xFFFF, 4: len(FIRMWARE)})
    res.check("DUMP_RAM -> 0x4000 and matches the image",
              st == MBS_OK and q.memread(DUMP_BUF, len(img)) == img)
    st = isp.mbox_status({0: 0x02, 1: FW_ORG})
    res.check("EXECUTE_FIRMWARE good image -> 0x4000", st == MBS_OK,
              "mb0 %s" % st)
    out = isp.mbox({0: 0x08})
    res.check("ABOUT_FIRMWARE -> 0x4000", out[0] == MBS_OK)
    res.note("ABOUT_FIRMWARE: %d.%d.%d" % (out[1], out[2], out[3]))
    out = isp.mbox({0: 0x1F})
    res.check("GET_FIRMWARE_STATUS -> 0x4000, mb2 (max cmds) > 0",
              out[0] == MBS_OK and out[2] > 0, "mb2 %d" % out[2])
    regs = {0: 0x06}
    regs.update({i: 0x1111 * i for i in range(1, 8)})
    out = isp.mbox(regs)
    res.check("MAILBOX_REG_TEST still echoes under firmware",
              out[1:8] == [0x1111 * i for i in range(1, 8)])


def case_bad_mbox(t):
    isp, res, q, rng = t.isp, t.res, t.q, t.rng
    # --- unknown opcodes in the boot ROM ---
    res.check("reset to boot ROM", isp.risc_reset())
    for n in (1, 2, 3, 6, 7):
        isp.w(R_MB(n), 0)
    wrong = []
    for op in range(0x80):
        if op in ROM_OPS or op in ROM_MAYBE:
            continue
        st = isp.mbox_status({0: op})
        if st != MBS_INVALID:
            wrong.append("0x%02x->%s" % (op, hex(st) if st is not None
                                          else "timeout"))
    res.check("boot ROM: every non-ROM opcode 0x00-0x7F -> 0x4001",
              not wrong, ", ".join(wrong[:12]))
    # --- unknown opcodes under the operational firmware ---
    res.check("firmware up for opcode sweep",
              isp.load_firmware() and
              isp.mbox_status({0: 0x02, 1: FW_ORG}) == MBS_OK)
    wrong, hang = [], []
    for op in range(0x80):
        if op in DOCUMENTED_OPS:
            continue
        for fill in (0x0000, 0xFFFF):
            regs = {0: op, 1: fill, 2: fill, 3: fill, 6: fill, 7: fill}
            st = isp.mbox_status(regs)
            if st is None:
                hang.append("0x%02x" % op)
            elif st != MBS_INVALID:
                wrong.append("0x%02x/%04x->0x%04x" % (op, fill, st))
    res.check("firmware: every undocumented opcode -> 0x4001",
              not wrong and not hang, ", ".join((wrong + hang)[:12]))
    odd = []
    for op in sorted(FW_SAFE_DOC):
        st = isp.mbox_status({0: op, 1: 0, 2: 0, 3: 0, 6: 0, 7: 0})
        if st is None or st & 0xF000 != 0x4000:
            odd.append("0x%02x->%s" % (op, st))
    res.check("firmware: documented query opcodes complete (any 0x4xxx)",
              not odd, ", ".join(odd))
    # --- queue initialisation with bad parameters (firmware, no queues) ---
    def qinit(op, n, addr, mb45=0):
        regs = {0: op, 1: n & 0xFFFF, 2: (addr >> 16) & 0xFFFF,
                3: addr & 0xFFFF}
        if op in (0x52, 0x53):
            regs.update({6: (addr >> 48) & 0xFFFF, 7: (addr >> 32) & 0xFFFF})
        regs[4 if op in (0x10, 0x52) else 5] = mb45
        return isp.mbox_status(regs)

    ram = isp.ram_size
    cases = [
        ("0 entries", 0x10, 0, REQ_BASE),
        ("65535 entries", 0x10, 65535, REQ_BASE),
        ("1025 entries", 0x10, 1025, REQ_BASE),
        ("address beyond RAM", 0x10, 16, BAD_ADDR),
        ("ring straddling end of RAM", 0x10, 16, ram - 0x200),
        ("A64 address above 4 GiB (no RAM)", 0x52, 16, 0x100000000 + REQ_BASE),
        ("A64 address wrapping 2^64", 0x52, 16, 0xFFFFFFFFFFFFFFC0),
        ("rsp 0 entries", 0x11, 0, RSP_BASE),
        ("rsp 65535 entries", 0x11, 65535, RSP_BASE),
        ("rsp address beyond RAM", 0x11, 16, BAD_ADDR),
        ("rsp A64 address above 4 GiB", 0x53, 16, 0x200000000),
    ]
    for name, op, n, addr in cases:
        st = qinit(op, n, addr)
        res.check("INIT queue 0x%02x %s -> error (0x4006)" % (op, name),
                  st == MBS_PARAM, "mb0 %s" % (hex(st) if st is not None
                                                else "timeout"))
    st = qinit(0x10, 16, REQ_BASE + 4)
    res.check("INIT queue unaligned address completes (0x4000 or 0x4006)",
              st in (MBS_OK, MBS_PARAM), "mb0 %s" % st)
    res.note("unaligned request-queue address -> %s" %
             (hex(st) if st is not None else "timeout"))
    st = qinit(0x10, 1024, REQ_BASE)
    res.check("INIT queue 1024 entries (maximum) -> 0x4000", st == MBS_OK,
              "mb0 %s" % st)
    st = qinit(0x11, 1024, RSP_BASE)
    res.check("INIT response queue 1024 entries -> 0x4000", st == MBS_OK,
              "mb0 %s" % st)
    res.check("NOP after queue-init abuse", isp.alive_nop())

    # --- boot-ROM RAM access at the edges ---
    res.check("reset to boot ROM (RAM tests)", isp.risc_reset())
    for addr in (0x0000, 0xFFFF):
        val = rng.randrange(0x10000)
        st = isp.mbox_status({0: 0x04, 1: addr, 2: val})
        out = isp.mbox({0: 0x05, 1: addr})
        okv = (st == MBS_OK and out[0] == MBS_OK and out[2] == val) or \
            (st == MBS_PARAM and out[0] == MBS_PARAM)
        res.check("WRITE/READ_RAM_WORD at 0x%04x consistent" % addr, okv,
                  "write %s read %s/0x%04x want 0x%04x" %
                  (st, hex(out[0]), out[2], val))
    # LOAD_RAM / DUMP_RAM abuse
    q.memwrite(FW_BUF, b"\x5a\xa5" * 64)
    loads = [
        ("LOAD_RAM count 0xFFFF at 0x1000", {0: 0x01, 1: 0x1000, 4: 0xFFFF,
                                             2: FW_BUF >> 16,
                                             3: FW_BUF & 0xFFFF}, True),
        ("LOAD_RAM crossing the end of RISC RAM", {0: 0x01, 1: 0xFFF0,
                                                   4: 0x20, 2: FW_BUF >> 16,
                                                   3: FW_BUF & 0xFFFF}, True),
        ("LOAD_RAM from beyond guest RAM", {0: 0x01, 1: 0x4000, 4: 16,
                                            2: BAD_ADDR >> 16, 3: 0}, False),
        ("LOAD_RAM crossing end of guest RAM",
         {0: 0x01, 1: 0x4000, 4: 64, 2: (ram - 16) >> 16,
          3: (ram - 16) & 0xFFFF}, False),
        ("LOAD_RAM_A64_ROM from 2^64-64",
         {0: 0x09, 1: 0x4000, 4: 16, 2: 0xFFFF, 3: 0xFFC0, 6: 0xFFFF,
          7: 0xFFFF}, False),
        ("LOAD_RAM_A64_ROM from above 4 GiB",
         {0: 0x09, 1: 0x4000, 4: 16, 2: 0, 3: 0, 6: 0, 7: 1}, False),
        ("DUMP_RAM to beyond guest RAM",
         {0: 0x03, 1: 0x1000, 4: 16, 2: BAD_ADDR >> 16, 3: 0}, False),
        ("DUMP_RAM count 0xFFFF at 0x1000",
         {0: 0x03, 1: 0x1000, 4: 0xFFFF, 2: DUMP_BUF >> 16,
          3: DUMP_BUF & 0xFFFF}, True),
    ]
    for name, regs, want_param in loads:
        for n in (6, 7):
            regs.setdefault(n, 0)
        st = isp.mbox_status(regs)
        if want_param:
            good = st == MBS_PARAM
            exp = "0x4006"
        else:
            good = st is not None and st != MBS_OK and st & 0xF000 == 0x4000
            exp = "error"
        res.check("%s -> %s" % (name, exp), good,
                  "mb0 %s" % (hex(st) if st is not None else "timeout"))
    st = isp.mbox_status({0: 0x01, 1: 0x4000, 2: FW_BUF >> 16,
                          3: FW_BUF & 0xFFFF, 4: 0, 6: 0, 7: 0})
    res.note("LOAD_RAM count 0 -> %s" % (hex(st) if st is not None
                                         else "timeout"))
    res.check("LOAD_RAM count 0 -> 0x4006 (parameter error)", st == MBS_PARAM,
              "mb0 %s" % (hex(st) if st is not None else "timeout"))
    # checksum over a length that runs past the end of RISC RAM
    isp.mbox({0: 0x04, 1: 0xFFF3, 2: 0x0100})
    st = isp.mbox_status({0: 0x07, 1: 0xFFF0})
    res.check("VERIFY_CHECKSUM length past end of RAM -> 0x4005",
              st == MBS_CMD_ERROR, "mb0 %s" % st)
    st = isp.mbox_status({0: 0x02, 1: 0xFFF0})
    res.check("EXECUTE_FIRMWARE at 0xFFF0 (bad length) -> 0x4005",
              st == MBS_CMD_ERROR, "mb0 %s" % st)
    res.check("... and RISC stays in boot ROM (0x1F -> 0x4001)",
              isp.mbox_status({0: 0x1F}) == MBS_INVALID)
    st = isp.mbox_status({0: 0x07, 1: 0xFFFF})
    res.check("VERIFY_CHECKSUM at 0xFFFF (length wraps) -> 0x4005",
              st == MBS_CMD_ERROR, "mb0 %s" % st)
    res.check("image at 0x1000 intact after bad loads",
              isp.mbox_status({0: 0x07, 1: FW_ORG}) == MBS_OK)

    # --- doorbell abuse ---
    isp.w(R_MB(0), 0x00)
    isp.w(R_HCCR, HCCR_SET_HOST)
    isp.w(R_HCCR, HCCR_SET_HOST)
    n = 0
    for _ in range(3):
        out = isp.poll(isp._mbox_poll, 0.5)
        if out is not None:
            n += 1
    res.check("double doorbell: 1 or 2 completions, no hang", n in (1, 2),
              "%d completions" % n)
    isp.w(R_HCCR, HCCR_CLR_RISC)
    isp.w(R_SEMA, 0)
    isp.w(R_HCCR, HCCR_CLR_HOST)
    for v in (0x0000, 0x8000, 0x9000, 0xA000, 0xC000, 0xD000):
        isp.w(R_HCCR, v)
    res.check("NOP after stray HCCR commands", isp.alive_nop())

    # --- register fuzz, then the Linux recovery sequence ---
    before = t.counters()
    offs = list(range(0, 0x100, 2))
    for _ in range(600):
        off = rng.choice(offs)
        kind = rng.randrange(4)
        if kind == 0:
            q.writew(MMIO_BASE + off, rng.randrange(0x10000))
        elif kind == 1:
            q.readw(MMIO_BASE + off + rng.randrange(2))
        elif kind == 2:
            q.writeb(MMIO_BASE + off + rng.randrange(2), rng.randrange(256))
        else:
            q.writel(MMIO_BASE + (off & 0xFC), rng.randrange(1 << 32))
        if rng.randrange(50) == 0:
            q.clock_step(1000000)
    q.clock_step(10000000)
    isp.w(R_ICR, 0x0001)
    isp.poll(lambda: (isp.r(R_ICR) & 1) == 0 or None, 2.0)
    isp.w(R_CONF1, 0)
    res.check("register fuzz: signature after ICR reset + HCCR 0xB000",
              isp.risc_reset())
    after = t.counters()
    # mailbox commands the fuzz triggered are not ours: exclude them from
    # the final counter cross-checks
    for k in after:
        t.fuzz_delta[k] = t.fuzz_delta.get(k, 0) + after[k] - before.get(k, 0)
    res.check("register fuzz: NOP works afterwards", isp.alive_nop())
    isp.async_events.clear()


def expect_bad(res, name, d, h, bit):
    s = d.get(h)
    ok = (s is not None and s["type"] == ET_STATUS and
          (s["est"] & (EF_BAD_HEADER | EF_BAD_PAYLOAD)) == bit)
    res.check("%s -> type 3, handle, est 0x%02x" % (name, bit), ok,
              fmt_ent(s))


def case_garbage(t):
    isp, res, q, rng = t.isp, t.res, t.q, t.rng
    isp.bringup(64, 64)
    base = 0x40000000
    tur = cdb_tur()
    batch = []          # (name, entries, handle, expected bit or None)

    def add(name, ents, bit):
        h = struct.unpack_from("<I", ents[0], 4)[0]
        batch.append((name, ents, h, bit))

    hn = iter(range(base, base + 100000))
    for ty in (0x00, 0x03, 0x08, 0x10, 0x21, 0x22, 0x7F, 0x80, 0xFF):
        e = bytearray(cmd_entry(next(hn), tur))
        e[0] = ty
        add("unknown entry type 0x%02x" % ty, [bytes(e)], EF_BAD_HEADER)
    add("type 1 entry count 0", [cmd_entry(next(hn), tur, count=0)],
        EF_BAD_HEADER)
    add("type 1 entry count 255 (> ring)",
        [cmd_entry(next(hn), tur, count=255)], EF_BAD_HEADER)
    add("type 9 entry count 0",
        [cmd_entry(next(hn), tur, etype=ET_CMD64, count=0)], EF_BAD_HEADER)
    add("stray continuation type 2",
        [cont_entry([(MISC_BUF, 512)], handle_field=next(hn))], EF_BAD_HEADER)
    add("stray continuation type 0x0A",
        [cont_entry([], a64=True, handle_field=next(hn))], EF_BAD_HEADER)
    add("type 1 CDB length 0", [cmd_entry(next(hn), tur, cdb_len=0)],
        EF_BAD_PAYLOAD)
    add("type 1 CDB length 13", [cmd_entry(next(hn), tur, cdb_len=13)],
        EF_BAD_PAYLOAD)
    add("type 1 CDB length 0xFFFF", [cmd_entry(next(hn), tur,
                                               cdb_len=0xFFFF)],
        EF_BAD_PAYLOAD)
    add("type 9 CDB length 13",
        [cmd_entry(next(hn), tur, etype=ET_CMD64, cdb_len=13)],
        EF_BAD_PAYLOAD)
    add("type 1 target 16", [cmd_entry(next(hn), tur, target=16)],
        EF_BAD_PAYLOAD)
    add("type 1 target 0xFF", [cmd_entry(next(hn), tur, target=0xFF)],
        EF_BAD_PAYLOAD)
    add("type 1 LUN 8", [cmd_entry(next(hn), tur, lun=8)], EF_BAD_PAYLOAD)
    add("type 1 LUN 0xFF", [cmd_entry(next(hn), tur, lun=0xFF)],
        EF_BAD_PAYLOAD)
    add("type 1 segment count 5 in 1 entry",
        [cmd_entry(next(hn), tur, nseg=5)], EF_BAD_PAYLOAD)
    add("type 9 segment count 3 in 1 entry",
        [cmd_entry(next(hn), tur, etype=ET_CMD64, nseg=3)], EF_BAD_PAYLOAD)
    add("type 1 count 2 segment count 12 (> 11)",
        [cmd_entry(next(hn), cdb_read10(0, 1), count=2, nseg=12,
                   flags=RF_IN), cont_entry([])], EF_BAD_PAYLOAD)
    good_h = next(hn)
    markers = [marker_entry(0), marker_entry(1), marker_entry(2)]
    flat, expect = [], {}
    for name, ents, h, bit in batch:
        flat += ents
        expect[h] = (name, bit)
    flat += markers
    flat.append(cmd_entry(good_h, tur))
    isp.post(flat)
    got = isp.collect(len(batch) + 1)
    extra = isp.quiet()
    d = isp.by_handle(got + extra)
    for name, ents, h, bit in batch:
        expect_bad(res, name, {k: v[0] for k, v in d.items()}, h, bit)
    dup = [hex(h) for h, v in d.items() if len(v) > 1]
    unk = [hex(h) for h in d if h not in expect and h != good_h]
    res.check("each bad entry answered exactly once", not dup, str(dup))
    res.check("no response for markers / nothing unexpected", not unk,
              str(unk))
    g = d.get(good_h, [None])[0]
    res.check("valid TUR after the garbage -> complete 0x00",
              g is not None and g["comp"] == CS_OK and g["est"] == 0,
              fmt_ent(g))
    order = [s["handle"] for s in got]
    want = [h for _, _, h, _ in batch] + [good_h]
    res.check("responses in request order", order == want)
    res.check("request OUT (mb4) reached IN", isp.wait_consumed())
    res.check("no mailbox/async event during garbage", not
              isp.unexpected_mbox, str(isp.unexpected_mbox[:2]))

    # random garbage entries of unknown types, several ring wraps
    lost = dup_n = wrongbit = 0
    for rnd in range(6):
        ents, hs = [], []
        for _ in range(rng.randrange(20, 60)):
            e = bytearray(rng.randbytes(64)) if hasattr(rng, "randbytes") \
                else bytearray(rng.getrandbits(8) for _ in range(64))
            e[0] = rng.choice(UNKNOWN_TYPES)
            e[1] = 1
            h = next(hn)
            struct.pack_into("<I", e, 4, h)
            ents.append(bytes(e))
            hs.append(h)
        isp.post(ents)
        got = isp.collect(len(ents))
        got += isp.quiet(2)
        d = isp.by_handle(got)
        lost += sum(1 for h in hs if h not in d)
        dup_n += sum(1 for h in hs if len(d.get(h, [])) > 1)
        wrongbit += sum(1 for h in hs if h in d and
                        (d[h][0]["est"] & 0x0C) != EF_BAD_HEADER)
        dup_n += sum(1 for h in d if h not in hs)
    res.check("random unknown-type entries: one bad-header reply each",
              lost == 0 and dup_n == 0 and wrongbit == 0,
              "lost %d dup/extra %d wrong-bit %d" % (lost, dup_n, wrongbit))
    res.check("request OUT reached IN after random garbage",
              isp.wait_consumed())

    # unknown type with a non-1 count, last in its batch: OUT must not pass IN
    for cnt in (0, 2, 255):
        e = bytearray(cmd_entry(next(hn), tur))
        e[0], e[1] = 0x55, cnt
        h = struct.unpack_from("<I", e, 4)[0]
        r, got = isp.run1([bytes(e)])
        extra = isp.quiet(2)
        ok = (r is not None and r["est"] & EF_BAD_HEADER and
              len(got) + len(extra) == 1)
        res.check("unknown type 0x55 count %d -> one bad-header reply" % cnt,
                  ok, fmt_ent(r))
        out = isp.req_out()
        res.check("unknown type count %d: OUT == IN (%d)" % (cnt, isp.req_in),
                  out == isp.req_in, "OUT %d" % out)
        isp.req_in = out        # resynchronise if the model skipped entries

    # command entry announcing a continuation that is a command (tolerant)
    h1, h2 = next(hn), next(hn)
    isp.post([cmd_entry(h1, tur, count=2), cmd_entry(h2, tur)])
    got = isp.collect(2, 1.0) + isp.quiet(2)
    d = isp.by_handle(got)
    s1 = d.get(h1, [None])[0]
    res.check("count 2 followed by a command: first rejected (est 0x04/0x08)",
              s1 is not None and s1["est"] & 0x0C, fmt_ent(s1))
    res.check("... each handle answered at most once",
              all(len(v) == 1 for v in d.values()) and
              set(d) <= {h1, h2})
    res.note("count 2 + command: second handle %s" %
             ("answered: " + fmt_ent(d[h2][0]) if h2 in d else "consumed"))
    res.check("request OUT reached IN", isp.wait_consumed())
    r, _ = isp.run1([cmd_entry(next(hn), tur)])
    res.check("TUR after all garbage -> 0x00", r is not None and
              r["comp"] == CS_OK and r["est"] == 0, fmt_ent(r))


def case_pointers(t):
    isp, res, q = t.isp, t.res, t.q
    # queue pointers right after initialisation, both orders
    isp.bringup(32, 16, rsp_first=True, regtest_before=True, clear_ua=False)
    isp.bringup(32, 16, regtest_before=True, clear_ua=False)
    isp.bringup(32, 16)
    base = 0x50000000
    r, _ = isp.run1([cmd_entry(base + 1, cdb_tur())])
    res.check("TUR before pointer abuse -> 0x00",
              r is not None and r["comp"] == CS_OK and r["est"] == 0,
              fmt_ent(r))
    out0 = isp.req_out()
    for v in (32, 33, 0x1000, 0x8000, 0xFFFF):
        isp.w(R_MB(4), v)
        isp.q.clock_step(2000000)
        extra = isp.quiet(2)
        out = isp.req_out()
        res.check("mb4 write %d (>= 32) ignored: OUT unchanged, no response"
                  % v, out == out0 and not extra,
                  "OUT %d extras %d" % (out, len(extra)))
    for v in (16, 17, 0x7FFF, 0xFFFF):
        isp.w(R_MB(5), v)
        isp.q.clock_step(2000000)
        rin = isp.r(R_MB(5))
        res.check("mb5 write %d (>= 16) ignored: rsp IN sane" % v,
                  rin < 16, "mb5 %d" % rin)
    isp.w(R_MB(5), isp.rsp_out)
    res.check("QEMU answers after pointer abuse (NOP)", isp.alive_nop())
    # a pending command survives an out-of-range mb4 write
    isp.post([cmd_entry(base + 2, cdb_tur())], kick=False)
    isp.w(R_MB(4), 0xFFFF)
    isp.w(R_MB(4), isp.req_in)
    got = isp.collect(1)
    res.check("command kicked after a bogus mb4 completes",
              len(got) == 1 and got[0]["handle"] == base + 2 and
              got[0]["comp"] == CS_OK)
    # out-of-range mb5 while responses are pending, then the right value
    isp.post([cmd_entry(base + 3 + i, cdb_tur()) for i in range(8)])
    isp.poll(lambda: isp.r(R_MB(5)) != isp.rsp_out, 3.0)
    isp.w(R_MB(5), 0xFFFF)
    got = isp.collect(8)
    res.check("responses still drain after a bogus mb5",
              sorted(s["handle"] for s in got) ==
              [base + 3 + i for i in range(8)], "%d of 8" % len(got))
    # TEST UNIT READY and INQUIRY
    r, _ = isp.run1([cmd_entry(base + 20, cdb_tur())])
    res.check("TEST UNIT READY -> comp 0x00, SCSI GOOD",
              r is not None and r["comp"] == CS_OK and r["scsi"] == 0,
              fmt_ent(r))
    q.memset(INQ_BUF, 256, 0xEE)
    r, _ = isp.run1(build_command(base + 21, cdb_inquiry(36),
                                  [(INQ_BUF, 36)], flags=RF_IN))
    inq = q.memread(INQ_BUF, 40)
    res.check("INQUIRY 36 -> comp 0x00, SCSI GOOD",
              r is not None and r["comp"] == CS_OK and r["scsi"] == 0,
              fmt_ent(r))
    res.check("INQUIRY data: disk, vendor 'QEMU'",
              inq[0] & 0x1F == 0 and b"QEMU" in inq[8:16] and
              inq[36:40] == b"\xee" * 4, repr(inq[:36]))
    res.note("state flags of a good data command: 0x%04x" %
             (r["state"] if r else 0))
    # INQUIRY with a larger buffer: underrun with residual
    q.memset(INQ_BUF, 256, 0xEE)
    r, _ = isp.run1(build_command(base + 22, cdb_inquiry(36),
                                  [(INQ_BUF, 96)], flags=RF_IN))
    res.check("INQUIRY 36 into 96-byte buffer -> 0x15 underrun, resid 60",
              r is not None and r["comp"] == CS_UNDERRUN and
              r["resid"] == 60, fmt_ent(r))
    # INQUIRY with a smaller buffer: overrun, not executed
    q.memset(INQ_BUF, 256, 0xEE)
    r, _ = isp.run1(build_command(base + 23, cdb_inquiry(36),
                                  [(INQ_BUF, 20)], flags=RF_IN))
    res.check("INQUIRY 36 into 20-byte buffer -> 0x07 overrun",
              r is not None and r["comp"] == CS_OVERRUN, fmt_ent(r))
    res.check("... and nothing was transferred",
              q.memread(INQ_BUF, 36) == b"\xee" * 36)
    # missing target
    r, _ = isp.run1([cmd_entry(base + 24, cdb_tur(), target=3)])
    res.check("TUR to missing target 3 -> comp 0x01, state 0x0100",
              r is not None and r["comp"] == CS_INCOMPLETE and
              r["state"] == 0x0100, fmt_ent(r))
    r, _ = isp.run1([cmd_entry(base + 25, cdb_tur(), lun=5)])
    res.note("TUR to target 0 LUN 5 (no such LUN): %s" % fmt_ent(r))
    # QEMU's SCSI bus answers for the target: CHECK CONDITION, ILLEGAL
    # REQUEST, LOGICAL UNIT NOT SUPPORTED (0x25), sense fetched by the chip
    res.check("TUR to missing LUN -> comp 0x00, CHECK CONDITION, sense 5/0x25",
              r is not None and r["comp"] == CS_OK and r["scsi"] == 2 and
              r["state"] & 0x0100 and r["sense_len"] >= 14 and
              r["raw"][32 + 2] & 0xF == 5 and r["raw"][32 + 12] == 0x25,
              fmt_ent(r) + (" sense " + r["raw"][32:50].hex() if r else ""))


def case_segments(t):
    isp, res, q = t.isp, t.res, t.q
    isp.bringup(256, 64)
    base = 0x60000000
    # start in the middle so the long commands wrap around the ring
    isp.post([marker_entry(2) for _ in range(150)])
    isp.wait_consumed()

    def one(name, ents, comp, est=0, check_resid=None, timeout=10.0):
        r, got = isp.run1(ents, timeout)
        ok = r is not None and r["type"] == ET_STATUS and \
            (r["est"] & 0x0C) == est and (est or r["comp"] == comp)
        if ok and not est and comp == CS_OK:
            ok = r["scsi"] == 0
        if check_resid is not None and r is not None:
            ok = ok and r["resid"] == check_resid
        det = fmt_ent(r)
        if r is not None and r["scsi"] == 2:
            det += " sense " + r["raw"][32:32 + min(r["sense_len"], 18)].hex()
        res.check(name, ok, det)
        return r

    h = iter(range(base + 1, base + 100000))
    one("type 1 count 1 segment count 0xFFFF -> bad payload",
        [cmd_entry(next(h), cdb_read10(0, 1), nseg=0xFFFF, flags=RF_IN,
                   segs=[(MISC_BUF, 512)])], None, EF_BAD_PAYLOAD)
    one("type 9 count 1 segment count 0xFFFF -> bad payload",
        [cmd_entry(next(h), cdb_read10(0, 1), etype=ET_CMD64, nseg=0xFFFF,
                   flags=RF_IN, segs=[(MISC_BUF, 512)])], None,
        EF_BAD_PAYLOAD)
    ents = build_command(next(h), cdb_read10(0, 1), [], flags=RF_IN)
    ents[0] = cmd_entry(struct.unpack_from("<I", ents[0], 4)[0],
                        cdb_read10(0, 1), count=255, nseg=0xFFFF,
                        flags=RF_IN)
    ents += [cont_entry([]) for _ in range(254)]
    one("count 255 (254 continuations) segment count 0xFFFF -> bad payload",
        ents, None, EF_BAD_PAYLOAD)
    res.check("... OUT advanced past all 255 entries", isp.wait_consumed(),
              "OUT %d IN %d" % (isp.req_out(), isp.req_in))

    # 255-entry commands that are valid: every segment 512 bytes, scattered
    for a64 in (False, True):
        nseg = (2 + 254 * 5) if a64 else (4 + 254 * 7)
        lba0 = 17
        segs = [(BIG_BASE + ((i * 7919) % nseg) * 1024, 512)
                for i in range(nseg)]
        q.memset(BIG_BASE, nseg * 1024, 0xEE)
        name = "count 255 %s, %d segments READ(10) %d blocks" % (
            "type 9/0x0A" if a64 else "type 1/2", nseg, nseg)
        ents = build_command(next(h), cdb_read10(lba0, nseg), segs,
                             a64=a64, flags=RF_IN)
        assert len(ents) == 255
        r = one(name + " -> 0x00", ents, CS_OK, timeout=20.0)
        blob = q.memread(BIG_BASE, nseg * 1024)
        bad = [i for i, (a, n) in enumerate(segs)
               if blob[a - BIG_BASE:a - BIG_BASE + 512] !=
               sector_pattern(lba0 + i)]
        res.check(name + ": every segment got its sector", r is not None
                  and not bad, "%d wrong, first %s" % (len(bad), bad[:3]))
        res.check("ring consumed (wrapped command)", isp.wait_consumed())

    # where the segment-count limit lies (QEMU's iovec limit is 1024)
    for nseg in (1024, 1025):
        segs = [(BIG_BASE + ((i * 7919) % nseg) * 1024, 512)
                for i in range(nseg)]
        q.memset(BIG_BASE, nseg * 1024, 0xEE)
        ents = build_command(next(h), cdb_read10(40, nseg), segs,
                             flags=RF_IN)
        r = one("%d entries, %d scattered 512-byte segments READ(10) -> 0x00"
                % (len(ents), nseg), ents, CS_OK, timeout=20.0)
        blob = q.memread(BIG_BASE, nseg * 1024)
        bad = [i for i, (a, n) in enumerate(segs)
               if blob[a - BIG_BASE:a - BIG_BASE + 512] !=
               sector_pattern(40 + i)]
        res.check("%d segments: data correct" % nseg, r is not None and
                  not bad, "%d wrong" % len(bad))

    # mismatched continuation type inside a command (tolerant: error either)
    ents = build_command(next(h), cdb_read10(0, 11), [(MISC_BUF + 512 * i,
                                                       512)
                                                      for i in range(11)],
                         flags=RF_IN)
    ents[1] = cont_entry([(MISC_BUF + 512 * i, 512) for i in range(4, 9)],
                         a64=True)
    r, _ = isp.run1(ents)
    res.check("type 1 with a type 0x0A continuation -> rejected (est != 0)",
              r is not None and r["est"] & 0x0C, fmt_ent(r))
    res.check("ring consumed", isp.wait_consumed())

    # DMA addresses outside guest memory -> completion status 0x02
    for name, a64, addr, n in (
            ("0xFFFFFFF0 (crosses 4 GiB)", False, 0xFFFFFFF0, 512),
            ("beyond RAM (256 MiB)", False, BAD_ADDR, 512),
            ("end of RAM straddle", False, isp.ram_size - 256, 512),
            ("length 0xFFFFFFFF", False, MISC_BUF, 0xFFFFFFFF),
            ("A64 above 4 GiB", True, 0x100000000, 512),
            ("A64 2^64-256 (wraps)", True, 0xFFFFFFFFFFFFFF00, 512)):
        segs = [(addr, n)]
        one("READ(10) 1 block, segment %s -> comp 0x02" % name,
            build_command(next(h), cdb_read10(5, 1), segs, a64=a64,
                          flags=RF_IN), CS_DMA)
    # a bad segment after a good one
    one("READ(10) 2 blocks, good + beyond-RAM segment -> comp 0x02",
        build_command(next(h), cdb_read10(5, 2),
                      [(MISC_BUF, 512), (BAD_ADDR, 512)], flags=RF_IN),
        CS_DMA)
    # WRITE from outside guest memory must not touch the disk
    one("WRITE(10) from beyond RAM -> comp 0x02",
        build_command(next(h), cdb_write10(3000, 1), [(BAD_ADDR, 512)],
                      flags=RF_OUT), CS_DMA)
    q.memwrite(MISC_BUF + 0x4000, b"\x77" * 512)
    one("WRITE(10) 1 block from a 256-byte segment -> 0x07 overrun",
        build_command(next(h), cdb_write10(3001, 1),
                      [(MISC_BUF + 0x4000, 256)], flags=RF_OUT), CS_OVERRUN)
    q.memset(MISC_BUF, 1024, 0xEE)
    one("READ back LBA 3000-3001 -> 0x00",
        build_command(next(h), cdb_read10(3000, 2), [(MISC_BUF, 1024)],
                      flags=RF_IN), CS_OK)
    blob = q.memread(MISC_BUF, 1024)
    res.check("disk untouched by the failed WRITEs",
              blob == sector_pattern(3000) + sector_pattern(3001))
    # a real write to prove the path works
    q.memwrite(MISC_BUF + 0x4000, bytes(range(256)) * 2)
    one("WRITE(10) LBA 10000 -> 0x00",
        build_command(next(h), cdb_write10(10000, 1),
                      [(MISC_BUF + 0x4000, 512)], flags=RF_OUT), CS_OK)
    q.memset(MISC_BUF, 512, 0)
    one("READ(10) LBA 10000 -> 0x00",
        build_command(next(h), cdb_read10(10000, 1), [(MISC_BUF, 512)],
                      flags=RF_IN), CS_OK)
    res.check("written data reads back", q.memread(MISC_BUF, 512) ==
              bytes(range(256)) * 2)

    # zero-length segments
    q.memset(MISC_BUF, 2048, 0xEE)
    one("READ(10) 1 block, segments [0, 512, 0] -> 0x00",
        build_command(next(h), cdb_read10(9, 1),
                      [(MISC_BUF, 0), (MISC_BUF + 1024, 512),
                       (MISC_BUF + 4, 0)], flags=RF_IN), CS_OK)
    res.check("... data landed in the non-empty segment",
              q.memread(MISC_BUF + 1024, 512) == sector_pattern(9) and
              q.memread(MISC_BUF, 8) == b"\xee" * 8)
    q.memset(MISC_BUF, 2048, 0xEE)
    one("READ(10) 1 block, 11 zero-length segments -> 0x07 overrun",
        build_command(next(h), cdb_read10(9, 1),
                      [(MISC_BUF + 16 * i, 0) for i in range(11)],
                      flags=RF_IN), CS_OVERRUN)
    one("READ(10) 1 block, segment count 0 -> 0x07 overrun",
        build_command(next(h), cdb_read10(9, 1), [], flags=RF_IN),
        CS_OVERRUN)
    res.check("... nothing transferred", q.memread(MISC_BUF, 512) ==
              b"\xee" * 512)
    one("TUR with one zero-length segment (FreeBSD style) -> 0x00",
        build_command(next(h), cdb_tur(), [(0, 0)]), CS_OK)
    one("TUR with segment count 0 (Linux style) -> 0x00",
        build_command(next(h), cdb_tur(), []), CS_OK)
    r, _ = isp.run1(build_command(next(h), cdb_read10(9, 1),
                                  [(BAD_ADDR, 0), (MISC_BUF, 512)],
                                  flags=RF_IN))
    res.note("zero-length segment at a bad address + good segment: %s"
             % fmt_ent(r))
    # a zero-length segment moves nothing, so its address is never used:
    # the command completes, its block in the good segment
    res.check("zero-length bad-address segment ignored -> 0x00, resid 0",
              r is not None and r["comp"] == CS_OK and r["scsi"] == 0 and
              r["resid"] == 0, fmt_ent(r))
    # longer/shorter segment totals
    one("READ(10) 1 block into 1536 bytes -> 0x15, residual 1024",
        build_command(next(h), cdb_read10(9, 1),
                      [(MISC_BUF, 1024), (MISC_BUF + 1024, 512)],
                      flags=RF_IN), CS_UNDERRUN, check_resid=1024)
    one("READ(10) 2 blocks into 1000 bytes -> 0x07",
        build_command(next(h), cdb_read10(9, 2), [(MISC_BUF, 1000)],
                      flags=RF_IN), CS_OVERRUN)
    one("READ(10) with direction bits 0x0060 (qlogicisp style) -> 0x00",
        build_command(next(h), cdb_read10(9, 1), [(MISC_BUF, 512)],
                      flags=RF_IN | RF_OUT), CS_OK)
    extra = isp.quiet(2)
    self_dma(t, h)
    high_memory(t, h)
    extra += isp.quiet(2)
    res.check("no stray responses or events after segment tests",
              not extra and not isp.unexpected_mbox,
              "%d extra, %d mbox" % (len(extra), len(isp.unexpected_mbox)))
    res.check("NOP after segment tests", isp.alive_nop())


class SubVM:
    """A throwaway QEMU for checks that may hang or wreck the chip."""

    def __init__(self, t, mem=None, timeout=5.0):
        extra = ["-m", mem] if mem else []
        self.vm = QEMU(t.qemu, extra + [
            "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
            "-device", "isp1040,id=hba",
            "-drive", "if=none,id=d0,file=%s,format=raw" % t.subdisk,
            "-device", "scsi-hd,bus=hba.0,scsi-id=0,lun=0,drive=d0"],
            timeout=timeout)
        self.isp = ISP(self.vm, t.res, t.rng)
        self.isp.pci_setup()
        self.q = self.vm.qtest

    def close(self):
        self.vm.cleanup()


def self_dma(t, h):
    """Data segments and rings aimed at the HBA's own BAR1 (not guest
    memory: the brief wants completion status 0x02 / mailbox 0x4006).
    Whatever happens, QEMU must not die or hang.  Each variant runs in its
    own throwaway QEMU so that a hang cannot take the main one down."""
    res = t.res

    def regs_sector(values):
        b = bytearray(512)
        for off, v in values.items():
            struct.pack_into("<H", b, off, v)
        return bytes(b)

    variants = [
        ("ICR soft reset", 20000, {R_ICR: 0x0001}, True),
        ("HCCR RISC reset (held)", 20001, {R_HCCR: HCCR_RESET}, True),
        ("doorbell: DUMP_RAM into BAR1", 20002,
         {R_MB(0): 0x0003, R_MB(1): FW_ORG, R_MB(2): MMIO_BASE >> 16,
          R_MB(3): 0, R_MB(4): 0xFFFF, R_MB(5): 0xFFFF,
          R_HCCR: HCCR_SET_HOST}, True),
        ("DMA write sourced from BAR1", 20003, {}, False),
    ]
    for name, lba, vals, is_read in variants:
        sub = None
        try:
            sub = SubVM(t)
            isp, q = sub.isp, sub.q
            if not isp.bringup(256, 64, check=False):
                res.check("self-DMA %s: bringup" % name, False)
                continue
            q.memwrite(MISC_BUF + 0x4000, regs_sector(vals))
            r, _ = isp.run1(build_command(next(h), cdb_write10(lba, 1),
                                          [(MISC_BUF + 0x4000, 512)],
                                          flags=RF_OUT))
            if r is None or r["comp"] != CS_OK:
                res.check("self-DMA %s: staging WRITE" % name, False,
                          fmt_ent(r))
                continue
            # type 9: the 64-bit address path (type 1 mangles addresses
            # >= 2 GiB, see the high-memory check)
            cdb = cdb_read10(lba, 1) if is_read else cdb_write10(lba + 8, 1)
            r, _ = isp.run1(build_command(next(h), cdb,
                                          [(MMIO_BASE, 256), (MISC_BUF, 256)],
                                          a64=True,
                                          flags=RF_IN if is_read else RF_OUT),
                            3.0)
            what = "READ into" if is_read else "WRITE from"
            res.check("self-DMA %s BAR1 (%s) -> comp 0x02" % (what, name),
                      r is not None and r["comp"] == CS_DMA, fmt_ent(r))
            isp.w(R_ICR, 0x0001)
            isp.poll(lambda: (isp.r(R_ICR) & 1) == 0 or None, 2.0)
            isp.w(R_CONF1, 0)
            ok = isp.bringup(256, 64, check=False)
            r, _ = isp.run1([cmd_entry(next(h), cdb_tur())]) if ok else \
                (None, None)
            res.check("self-DMA %s BAR1 (%s): QEMU alive, chip recovers"
                      % (what, name), sub.vm.alive() and r is not None and
                      r["comp"] == CS_OK, fmt_ent(r))
        except QEMUGone as e:
            res.check("self-DMA (%s): QEMU must not hang or die" % name,
                      False, str(e))
        finally:
            if sub:
                sub.close()
    # rings and firmware transfers aimed at BAR1 / the BIOS ROM
    sub = None
    try:
        sub = SubVM(t)
        isp = sub.isp
        isp.risc_reset()
        st = isp.mbox_status({0: 0x03, 1: FW_ORG, 2: MMIO_BASE >> 16, 3: 0,
                              4: 0x80, 6: 0, 7: 0})
        res.check("DUMP_RAM into BAR1 -> error",
                  st is not None and st != MBS_OK, "mb0 %s" % st)
        res.check("signature survives DUMP_RAM into BAR1", isp.risc_reset())
        isp.load_firmware()
        isp.mbox_status({0: 0x02, 1: FW_ORG})
        for name, op, addr in (("request queue in BAR1", 0x10, MMIO_BASE),
                               ("response queue in BAR1", 0x11, MMIO_BASE),
                               ("response queue in BIOS ROM", 0x11,
                                0xFFFF0000)):
            regs = {0: op, 1: 2, 2: addr >> 16, 3: addr & 0xFFFF}
            regs[4 if op == 0x10 else 5] = 0
            st = isp.mbox_status(regs)
            res.check("INIT %s -> 0x4006 (not guest RAM)" % name,
                      st == MBS_PARAM, "mb0 %s" % (hex(st) if st is not None
                                                    else "timeout"))
        res.check("recovers after ring abuse",
                  isp.bringup(256, 64, check=False))
    except QEMUGone as e:
        res.check("BAR1 ring abuse: QEMU must not hang or die", False, str(e))
    finally:
        if sub:
            sub.close()


def high_memory(t, h):
    """Type 1 (32-bit) segments at and above 2 GiB, in a VM with 2.25 GiB
    of RAM below 4 GiB; type 9 as the control."""
    res = t.res
    sub = None
    hi = 0x88000000
    try:
        sub = SubVM(t, mem="2304M")
        isp, q = sub.isp, sub.q
        isp.bringup(64, 64, check=False)
        for a64 in (False, True):
            q.memset(hi, 512, 0xEE)
            r, _ = isp.run1(build_command(next(h), cdb_read10(77, 1),
                                          [(hi, 512)], a64=a64,
                                          flags=RF_IN))
            data = q.memread(hi, 512)
            res.check("type %d READ into guest RAM at 0x%08x -> 0x00, data"
                      % (9 if a64 else 1, hi),
                      r is not None and r["comp"] == CS_OK and
                      data == sector_pattern(77), fmt_ent(r))
    except QEMUGone as e:
        res.check("high-memory VM: QEMU must not hang or die", False, str(e))
    finally:
        if sub:
            sub.close()


def flood_round(t, tag, ncmds, chunk, refill):
    """Post ncmds TUR/READ(10) commands (refill: keep the ring topped up
    while draining); returns (ok, detail)."""
    isp, q = t.isp, t.q
    handles = {}
    reads = {}
    q.memset(DATA_BASE, ncmds * 512, 0xEE)
    todo = []
    for i in range(ncmds):
        h = tag | i
        if i % 3 == 0:
            ents = build_command(h, cdb_tur(), [])
        else:
            lba = (i * 37 + tag) % PATTERN_SECTORS
            buf = DATA_BASE + i * 512
            ents = build_command(h, cdb_read10(lba, 1), [(buf, 512)],
                                 flags=RF_IN)
            reads[h] = (buf, lba)
        handles[h] = 0
        todo.append(ents[0])
    got = []
    t0 = time.monotonic()
    pos = 0
    idle = 0
    last = time.monotonic()
    while (pos < len(todo) or len(got) < ncmds) and \
            time.monotonic() - last < 5 and time.monotonic() - t0 < 30:
        if pos < len(todo):
            free = isp.req_free()
            n = min(free, chunk, len(todo) - pos)
            if n > 0:
                isp.post(todo[pos:pos + n])
                pos += n
                last = time.monotonic()
                if not refill:
                    continue
        if isp.collect_once(got):
            idle = 0
            last = time.monotonic()
        else:
            idle += 1
            if idle > 4:
                q.clock_step(200000)
            if idle > 200:
                time.sleep(0.001)
    got += isp.quiet(2)
    bad = []
    for s in got:
        if s["handle"] not in handles:
            bad.append("unknown handle 0x%08x" % s["handle"])
            continue
        handles[s["handle"]] += 1
        if s["comp"] != CS_OK or s["scsi"] != 0 or s["est"] != 0:
            bad.append(fmt_ent(s))
    missing = [h for h, n in handles.items() if n == 0]
    dup = [h for h, n in handles.items() if n > 1]
    blob = q.memread(DATA_BASE, ncmds * 512)
    wrong = [h for h, (buf, lba) in reads.items()
             if blob[buf - DATA_BASE:buf - DATA_BASE + 512] !=
             sector_pattern(lba)]
    ok = not bad and not missing and not dup and not wrong
    stall = ""
    if missing:
        stall = "; stalled: posted %d, req IN %d OUT %d, rsp IN %d OUT %d" % (
            pos, isp.req_in, isp.req_out(), isp.r(R_MB(5)), isp.rsp_out)
    return ok, ("%d responses, %d missing, %d dup, %d bad, %d wrong data%s" %
                (len(got), len(missing), len(dup), len(bad), len(wrong),
                 ("; e.g. " + bad[0]) if bad else "") + stall)


def case_flood(t):
    isp, res = t.isp, t.res
    t0 = time.monotonic()
    total = 0
    isp.bringup(256, 64)
    for rnd in range(16):
        ok, det = flood_round(t, 0x71000000 | rnd << 16, 255,
                              255 if rnd % 2 == 0 else 17, False)
        res.check("flood ring 256/64 round %d: 255 commands once each"
                  % rnd, ok, det)
        total += 255
    isp.bringup(1024, 16, a64=True)
    for rnd in range(4):
        ok, det = flood_round(t, 0x72000000 | rnd << 16, 1023, 1023, False)
        res.check("flood ring 1024/16 (A64 init) round %d: 1023 commands"
                  % rnd, ok, det)
        total += 1023
    ok, det = flood_round(t, 0x73000000, 6000, 64, True)
    res.check("flood ring 1024/16 continuous refill: 6000 commands", ok, det)
    total += 6000
    res.check("request OUT reached IN after flood", isp.wait_consumed())
    res.check("no mailbox/async events during flood",
              not isp.unexpected_mbox, str(isp.unexpected_mbox[:2]))
    res.check("NOP after flood", isp.alive_nop())
    res.note("flood: %d commands in %.2f s" % (total,
                                               time.monotonic() - t0))
    t.flood_cmds += total


COUNTERS = ["x-stat-cmds", "x-stat-cont-entries", "x-stat-markers",
            "x-stat-status-entries", "x-stat-fastposts", "x-stat-mbox-cmds",
            "x-stat-bad-entries", "x-stat-reg-reads", "x-stat-reg-writes",
            "x-stat-doorbells", "x-stat-irqs", "x-stat-async-events", "x-stat-aborts",
            "x-stat-device-resets", "x-stat-bus-resets", "x-stat-chip-resets"]


def case_final(t):
    isp, res, vm = t.isp, t.res, t.vm
    st = vm.qmp.execute("query-status")
    res.check("QMP query-status: running",
              st.get("status") == "running" and st.get("running"), str(st))
    vals, missing = {}, []
    for c in COUNTERS:
        try:
            vals[c] = vm.qmp.execute("qom-get", path="/machine/peripheral/hba",
                                     property=c)
        except RuntimeError:
            missing.append(c)
    if missing:
        res.note("counters missing (checks skipped): %s" % ", ".join(missing))
    res.check("qom-get of every x-stat-* counter works", vals and not missing,
              str(missing))
    res.note("counters: " + ", ".join("%s=%s" % (k[5:], v)
                                      for k, v in vals.items()))
    if t.restarts:
        res.note("QEMU was restarted %d time(s); counter cross-checks "
                 "cover the last instance only" % t.restarts)

    def cmp(name, want, exact=True):
        if name not in vals:
            return
        v = vals[name] - t.fuzz_delta.get(name, 0)
        ok = v == want if exact else v >= want
        res.check("%s %s %d" % (name, "==" if exact else ">=", want), ok,
                  "model %s" % v)

    cmp("x-stat-mbox-cmds", isp.mbox_done)
    cmp("x-stat-status-entries", isp.status_seen)
    cmp("x-stat-bad-entries", isp.bad_seen)
    cmp("x-stat-markers", isp.markers_posted)
    cmp("x-stat-cmds", t.flood_cmds, exact=False)
    cmp("x-stat-fastposts", 0)
    # every kick of post() is a doorbell; other cases write mailbox 4 too
    cmp("x-stat-doorbells", isp.doorbells, exact=False)
    res.check("QEMU process alive", vm.alive())
    res.check("stderr clean (no assertion/abort text)",
              not any(k in vm.stderr_text() for k in
                      ("ssertion", "Aborted", "core dumped", "ERROR")),
              vm.stderr_text()[-300:])
    rc = vm.quit()
    res.check("QMP quit: exit status 0", rc == 0, "rc %s" % rc)


CASES = [
    (1, "identity", case_identity),
    (2, "firmware", case_firmware),
    (3, "bad-mailbox-args", case_bad_mbox),
    (4, "garbage-entries", case_garbage),
    (5, "out-of-range-pointers", case_pointers),
    (6, "overlong-segment-lists", case_segments),
    (7, "request-flood", case_flood),
    (8, "final-state", case_final),
]


def start_vm(t):
    t.vm = QEMU(t.qemu, [
        "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
        "-device", "isp1040,id=hba",
        "-drive", "if=none,id=d0,file=%s,format=raw" % t.disk,
        "-device", "scsi-hd,bus=hba.0,scsi-id=0,lun=0,drive=d0"])
    t.q = t.vm.qtest
    t.isp = ISP(t.vm, t.res, t.rng)
    try:
        mem = t.vm.qmp.execute("query-memory-size-summary")
        t.isp.ram_size = mem.get("base-memory", RAM_SIZE)
    except RuntimeError:
        pass
    t.isp.pci_setup()
    t.fresh_ram = True
    t.fuzz_delta = {}


def read_counters(t):
    vals = {}
    for c in COUNTERS:
        try:
            vals[c] = t.vm.qmp.execute("qom-get",
                                       path="/machine/peripheral/hba",
                                       property=c)
        except RuntimeError:
            pass
    return vals


def setup(t):
    t.restarts = 0
    t.flood_cmds = 0
    t.counters = lambda: read_counters(t)
    t.vm = None
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, t.disk = tempfile.mkstemp(prefix="isp-malformed-", suffix=".raw",
                                 dir=shm)
    os.close(fd)
    make_disk(t.disk)
    t.subdisk = t.disk + ".sub"       # for throwaway VMs (image locking)
    make_disk(t.subdisk)
    start_vm(t)


def teardown(t):
    if getattr(t, "vm", None):
        t.vm.cleanup()
    for p in (getattr(t, "disk", None), getattr(t, "subdisk", None)):
        if p and os.path.exists(p):
            os.unlink(p)


def before(t, num):
    if t.vm is None:
        start_vm(t)
        t.restarts += 1


def after(t, num, ok):
    if num in (2, 3):
        t.fresh_ram = False


def on_gone(t, e):
    t.res.check("QEMU survives case", False, str(e))
    print_stderr([t.vm])
    if t.vm:
        t.vm.cleanup()
    t.vm = None


def on_error(t, e):
    if t.vm and not t.vm.alive():
        t.vm.cleanup()
        t.vm = None


def main():
    # case 8 (final-state) always runs: it checks what the others left
    return run_cases(CASES, DEFAULT_QEMU, seed=1040, setup=setup,
                     teardown=teardown, before=before, after=after,
                     on_gone=on_gone, on_error=on_error,
                     errors=(AssertionError, MboxTimeout, RuntimeError),
                     always=(8,))


if __name__ == "__main__":
    sys.exit(main())
