# SPDX-License-Identifier: GPL-2.0-only
"""Minimal, dependency-free client for QEMU's qtest and QMP sockets.

Written for the qlisp project's device-model tests; python3 stdlib only.

QEMU is started with ``-qtest unix:PATH`` and ``-qmp unix:PATH``: in both
cases QEMU is the *client* and connects to sockets we listen on, exactly as
QEMU's own libqtest does.  The qtest protocol is line based: one request,
one ``OK ...`` / ``FAIL ...`` / ``ERR ...`` reply; asynchronous ``IRQ``
lines may arrive in between and are collected in ``QTest.irq_events``.
"""

import argparse
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback


class QEMUGone(Exception):
    """QEMU exited, closed a socket, or stopped answering."""


class QTest:
    """One qtest text-protocol connection."""

    def __init__(self, sock, timeout=15.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.irq_events = []
        self.ncmds = 0

    def _readline(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                raise QEMUGone("qtest: no answer within %.0f s (QEMU hung?)"
                               % self.sock.gettimeout())
            except OSError as e:
                raise QEMUGone("qtest: socket error: %s" % e)
            if not chunk:
                raise QEMUGone("qtest: connection closed (QEMU exited?)")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("ascii", "replace")

    def cmd(self, line):
        try:
            self.sock.sendall(line.encode("ascii") + b"\n")
        except OSError as e:
            raise QEMUGone("qtest: send failed: %s" % e)
        self.ncmds += 1
        while True:
            reply = self._readline()
            if reply.startswith("IRQ "):
                self.irq_events.append(reply)
                continue
            if reply.startswith("OK"):
                return reply[2:].strip()
            raise RuntimeError("qtest: %r -> %r" % (line, reply))

    # port I/O
    def outb(self, a, v):
        self.cmd("outb 0x%x 0x%x" % (a, v))

    def outw(self, a, v):
        self.cmd("outw 0x%x 0x%x" % (a, v))

    def outl(self, a, v):
        self.cmd("outl 0x%x 0x%x" % (a, v))

    def inb(self, a):
        return int(self.cmd("inb 0x%x" % a), 0)

    def inw(self, a):
        return int(self.cmd("inw 0x%x" % a), 0)

    def inl(self, a):
        return int(self.cmd("inl 0x%x" % a), 0)

    # memory (system address space of the first CPU, MMIO included)
    def writeb(self, a, v):
        self.cmd("writeb 0x%x 0x%x" % (a, v))

    def writew(self, a, v):
        self.cmd("writew 0x%x 0x%x" % (a, v))

    def writel(self, a, v):
        self.cmd("writel 0x%x 0x%x" % (a, v))

    def readb(self, a):
        return int(self.cmd("readb 0x%x" % a), 0)

    def readw(self, a):
        return int(self.cmd("readw 0x%x" % a), 0)

    def readl(self, a):
        return int(self.cmd("readl 0x%x" % a), 0)

    def memread(self, a, n):
        if n == 0:
            return b""
        data = base64.b64decode(self.cmd("b64read 0x%x 0x%x" % (a, n)))
        if len(data) != n:
            raise RuntimeError("b64read returned %d of %d bytes"
                               % (len(data), n))
        return data

    def memwrite(self, a, data):
        if not data:
            return
        enc = base64.b64encode(bytes(data)).decode("ascii")
        self.cmd("b64write 0x%x 0x%x %s" % (a, len(data), enc))

    def memset(self, a, n, v):
        self.cmd("memset 0x%x 0x%x 0x%x" % (a, n, v))

    def clock_step(self, ns=None):
        if ns is None:
            return int(self.cmd("clock_step"))
        return int(self.cmd("clock_step %d" % ns))

    # PCI configuration mechanism #1 (ports 0xcf8/0xcfc)
    @staticmethod
    def _cfg_addr(bdf, off):
        bus, dev, fn = bdf
        return 0x80000000 | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc)

    def pci_cfg_read(self, bdf, off, size=4):
        self.outl(0xcf8, self._cfg_addr(bdf, off))
        port = 0xcfc + (off & 3)
        return {1: self.inb, 2: self.inw, 4: self.inl}[size](port)

    def pci_cfg_write(self, bdf, off, val, size=4):
        self.outl(0xcf8, self._cfg_addr(bdf, off))
        port = 0xcfc + (off & 3)
        {1: self.outb, 2: self.outw, 4: self.outl}[size](port, val)

    def pci_find(self, vendor, device, bus=0):
        for dev in range(32):
            v = self.pci_cfg_read((bus, dev, 0), 0)
            if v == (device << 16 | vendor):
                return (bus, dev, 0)
        return None


class QMP:
    """A QMP connection that has completed capability negotiation."""

    def __init__(self, sock, timeout=15.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        greeting = self._recv()
        if "QMP" not in greeting:
            raise RuntimeError("QMP: unexpected greeting %r" % greeting)
        self.execute("qmp_capabilities")

    def _recv(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QEMUGone("QMP: no answer")
            except OSError as e:
                raise QEMUGone("QMP: socket error: %s" % e)
            if not chunk:
                raise QEMUGone("QMP: connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line.decode("utf-8"))

    def execute(self, command, **args):
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        try:
            self.sock.sendall(json.dumps(msg).encode("utf-8") + b"\n")
        except OSError as e:
            raise QEMUGone("QMP: send failed: %s" % e)
        while True:
            r = self._recv()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (command, r["error"]))
            return r.get("return")


class QEMU:
    """A QEMU process driven through qtest and QMP."""

    def __init__(self, binary, extra_args, accel_args=None, timeout=10.0):
        self.dir = tempfile.mkdtemp(prefix="qtest-")
        qsock = os.path.join(self.dir, "qtest.sock")
        msock = os.path.join(self.dir, "qmp.sock")
        self.stderr_path = os.path.join(self.dir, "stderr")
        lq = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lq.bind(qsock)
        lq.listen(1)
        lm = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lm.bind(msock)
        lm.listen(1)
        args = [binary]
        args += accel_args or ["-machine", "pc,accel=qtest"]
        args += ["-qtest", "unix:" + qsock, "-qmp", "unix:" + msock,
                 "-display", "none", "-nodefaults"]
        args += extra_args
        self.args = args
        self.errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.errf, stderr=self.errf)
        try:
            self.qtest = QTest(self._accept(lq, "qtest"), timeout)
            self.qmp = QMP(self._accept(lm, "QMP"), timeout)
        except QEMUGone as e:
            self.kill()
            raise QEMUGone("%s; stderr: %s" % (e, self.stderr_text()[-500:]))
        finally:
            lq.close()
            lm.close()

    def _accept(self, lsock, what):
        lsock.settimeout(0.2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                s, _ = lsock.accept()
                return s
            except socket.timeout:
                if self.proc.poll() is not None:
                    raise QEMUGone("QEMU exited (rc %s) before connecting %s:"
                                   "\n%s" % (self.proc.returncode, what,
                                             self.stderr_text()))
        self.kill()
        raise QEMUGone("QEMU did not connect to the %s socket" % what)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def quit(self, timeout=10):
        """Ask QEMU to quit through QMP; returns its exit code."""
        try:
            self.qmp.execute("quit")
        except (QEMUGone, RuntimeError):
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        self.errf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Results:
    """PASS/FAIL bookkeeping: one line per check, a final summary line."""

    def __init__(self, verbose=False):
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.verbose = verbose
        self.prefix = ""

    def check(self, name, cond, detail=""):
        full = self.prefix + name
        if cond:
            self.passed += 1
            print("PASS %s%s" % (full, (" (%s)" % detail) if detail and
                                 self.verbose else ""))
        else:
            self.failed += 1
            self.failures.append((full, detail))
            print("FAIL %s%s" % (full, (": %s" % detail) if detail else ""))
        sys.stdout.flush()
        return bool(cond)

    def note(self, text):
        print("NOTE %s%s" % (self.prefix, text))
        sys.stdout.flush()

    def summary(self):
        return "%d passed, %d failed" % (self.passed, self.failed)


class Ctx:
    """What run_cases() hands each case: qemu, res, rng and what the test's
    setup adds."""


def print_stderr(vms, limit=2000):
    """The tail of each QEMU's stderr, for a case that went wrong."""
    for vm in vms:
        err = vm.stderr_text() if vm else ""
        if err:
            print("---- QEMU stderr (tail) ----\n%s\n----" % err[-limit:])


def run_cases(cases, default_qemu, seed=None, setup=None, teardown=None,
              before=None, after=None, on_gone=None, on_error=None,
              errors=(AssertionError, RuntimeError), always=()):
    """Command line and case loop of the qtests.

    @cases: (number, name, function(t)) in order.  Options: --qemu BINARY
    (default @default_qemu), --only N,M (the cases in @always run anyway),
    --seed N (default @seed; None: a random one), -v.  t (a Ctx) carries
    qemu, res (Results), rng (random.Random(seed)) and what @setup(t) adds;
    @teardown(t) runs at the end whatever happened.

    Each case, its checks prefixed "[number name] ": @before(t, number),
    then the case.  A QEMUGone goes to @on_gone(t, e) when given; it and
    any exception in @errors are otherwise a failed check "case ran to
    completion" with the traceback, then @on_error(t, e).  @after(t,
    number, ok) runs last (ok: the case returned), then its TIME line.
    Prints the seed, TIME in total and, last, "N passed, N failed";
    returns the exit status (1 if anything failed).
    """
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", default=default_qemu)
    ap.add_argument("--only", default="")
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    only = {int(x) for x in args.only.split(",") if x}
    if args.seed is None:
        args.seed = random.randrange(1 << 30)

    t = Ctx()
    t.qemu = args.qemu
    t.res = Results(args.verbose)
    t.rng = random.Random(args.seed)
    print("NOTE seed %d" % args.seed)
    caught = tuple(errors) + (() if on_gone else (QEMUGone,))
    t_all = time.monotonic()
    try:
        if setup:
            setup(t)
        for num, name, fn in cases:
            if only and num not in only and num not in always:
                continue
            t.res.prefix = "[%d %s] " % (num, name)
            t0 = time.monotonic()
            ok = False
            try:
                if before:
                    before(t, num)
                fn(t)
                ok = True
            except caught as e:
                t.res.check("case ran to completion", False,
                            "%s: %s" % (type(e).__name__, e))
                traceback.print_exc(file=sys.stdout)
                if on_error:
                    on_error(t, e)
            except QEMUGone as e:       # only with on_gone (see caught)
                on_gone(t, e)
            finally:
                if after:
                    after(t, num, ok)
            print("TIME [%d %s] %.2f s" % (num, name, time.monotonic() - t0))
            sys.stdout.flush()
    finally:
        t.res.prefix = ""
        if teardown:
            teardown(t)
    print("TIME total %.2f s" % (time.monotonic() - t_all))
    print(t.res.summary())
    return 1 if t.res.failed else 0
