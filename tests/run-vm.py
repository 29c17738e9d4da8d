#!/usr/bin/python3
"""Run the qlisp guest test cases in QEMU (TCG) against one or more suites.

A suite (tests/suites/NAME.py, a dict SUITE) names the HBA QEMU creates, the
disks behind it and the guest driver; the same guest cases (tests/cases/*.sh)
run against every suite.

Suites run side by side (--jobs, default QLISP_JOBS or one per core), the
longest first; each has its own QEMU, sockets, disks and results directory.

Output: "PASS suite/case (12.3s)" or "FAIL suite/case: reason" per case, and
as the last line "N passed, N failed".  Exit status 1 when anything failed.

Host channel: the guest's ttyS1 is a unix socket this runner listens on.  The
guest sends @@BOOTED, @@START <case>, @@RESULT <case> PASS|FAIL <reason>,
@@LOG <text>, @@QMP ..., @@GET <key>, @@WROTE/@@FORGET/@@TRUTH ..., @@DONE;
requests are answered with one @@REPLY line (see tests/guest/lib.sh); a
request numbered "@@QMP#N ..." gets "@@REPLY#N ...".

Host-side truth: the guest reports the deterministic patterns it wrote
(@@WROTE DISK LBA COUNT SEED, see tpat in tests/guest/lib.sh); after the
guest powers off, the runner compares the disk images with them and reports
the result as the suite's "host_truth" test, so a write that never landed
or landed at another LBA fails even if the guest read back what it expected.
@@TRUTH DISK runs the same comparison at once.

Host-side shutdown check: a suite with "shutdown_check" (True, or a list
of the HBAs' QOM paths) runs QEMU with -no-shutdown; after the guest's
power-off (the driver's .shutdown has run) the runner reads each model's
fw-ready through QMP and reports the suite's
"host_shutdown" test: the chip must no longer run its firmware on the rings
it was given.  It fails too when the HBA had no driver at power-off
(@@DONE unbound), as then nothing was checked.

Migration: "@@QMP migrate" live-migrates the guest to a second QEMU with the
same devices and disks (-incoming on a unix socket) and carries on with it
(its QMP, its host channel; the source quits); "@@QMP savevm-loadvm" saves
the VM state with snapshot-save to a qcow2 image of its own and loads it
back (cases migrate and savevm).
"""
import argparse
import json
import os
import runpy
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TESTS = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(TESTS)
CACHE = os.environ.get("QLISP_CACHE", os.path.expanduser("~/.cache/qlisp"))
ROMS = {  # file QEMU needs -> Debian package providing it
    "/usr/share/seabios/bios-256k.bin": "seabios",
    "/usr/share/qemu/kvmvapic.bin": "qemu-system-data",
    "/usr/share/qemu/linuxboot_dma.bin": "qemu-system-data",
}


SECTOR = 512
# measured per-case times and the timeouts made from them
CASE_TIMES = runpy.run_path(os.path.join(TESTS, "case_times.py"))


def truth_pattern(seed, lba, count):
    """The bytes of tpat SEED LBA COUNT (tests/guest/lib.sh)."""
    fill = (("qlisp-%08x-" % seed) * 41)[:489]
    return b"".join(("%08x:%012d;%s\n" % (seed, lba + i, fill)).encode()
                    for i in range(count))


class Truth:
    """What the guest says each disk holds: sector ranges of tpat patterns,
    the latest write of a sector replacing what was recorded before."""

    def __init__(self):
        self.ranges = {}    # disk index -> [(lba, count, seed)]

    def forget(self, disk, lba, count):
        end = lba + count
        keep = []
        for (l, c, s) in self.ranges.get(disk, []):
            e = l + c
            if e <= lba or l >= end:
                keep.append((l, c, s))
                continue
            if l < lba:
                keep.append((l, lba - l, s))
            if e > end:
                keep.append((end, e - end, s))
        self.ranges[disk] = keep

    def wrote(self, disk, lba, count, seed):
        self.forget(disk, lba, count)
        self.ranges[disk].append((lba, count, seed))

    def check(self, disk, img):
        """None if IMG holds every range of DISK, else what differs."""
        ranges = sorted(self.ranges.get(disk, []))
        sectors = 0
        self.last_sectors = 0
        with open(img, "rb") as f:
            for (lba, count, seed) in ranges:
                for off in range(0, count, 8192):   # 4 MiB at a time
                    n = min(8192, count - off)
                    f.seek((lba + off) * SECTOR)
                    have = f.read(n * SECTOR)
                    want = truth_pattern(seed, lba + off, n)
                    if have == want:
                        continue
                    for i in range(n):
                        h = have[i * SECTOR:(i + 1) * SECTOR]
                        w = want[i * SECTOR:(i + 1) * SECTOR]
                        if h != w:
                            b = next((k for k in range(len(h)) if h[k] != w[k]), len(h))
                            return ("disk %d LBA %d (of %d+%d, seed %d): holds %r, want %r"
                                    " (first difference at byte %d)"
                                    % (disk, lba + off + i, lba, count, seed,
                                       h[:22].decode("latin-1") if h else "EOF",
                                       w[:22].decode(), b))
                sectors += count
        self.last_sectors = sectors
        return None


# Suites run side by side (--jobs): one lock keeps each line, and each
# console dump, whole.
OUT_LOCK = threading.Lock()
RUNS = []   # the Runs going on, for the SIGTERM handler


def log(msg):
    # one write per line: unbuffered (PYTHONUNBUFFERED), print() writes the
    # newline on its own and another stream's line could land before it
    with OUT_LOCK:
        sys.stderr.write("run-vm: " + msg + "\n")
        sys.stderr.flush()


def out(msg):
    with OUT_LOCK:
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()


def ensure_roms():
    missing = sorted({pkg for f, pkg in ROMS.items() if not os.path.exists(f)})
    if not missing:
        return
    log("installing " + " ".join(missing))
    subprocess.run([os.path.join(TOP, "scripts", "apt-setup.sh")], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def load_suite(name):
    path = name if name.endswith(".py") else os.path.join(TESTS, "suites", name + ".py")
    if not os.path.exists(path):
        raise SystemExit("run-vm: no suite %s (%s)" % (name, path))
    suite = dict(runpy.run_path(path)["SUITE"])
    suite.setdefault("name", os.path.basename(path)[:-3])
    suite.setdefault("proc_name", suite["driver"])
    suite.setdefault("modargs", [])
    suite.setdefault("case_timeout", 240)
    suite.setdefault("timeouts", {})
    suite.setdefault("guest", {})
    suite.setdefault("extra_args", [])
    return suite


class QMP:
    """Minimal synchronous QMP client over an accepted unix socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.sock.settimeout(30)
        self._read()  # greeting
        self.call("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            resp = self._read()
            if "return" in resp:
                return resp["return"]
            if "error" in resp:
                raise RuntimeError("%s: %s" % (resp["error"].get("class"),
                                               resp["error"].get("desc")))
            # events are skipped


class Run:
    """One QEMU boot of one suite."""

    def __init__(self, suite, cases, args, kernel, initrd):
        self.suite = suite
        self.cases = cases
        self.args = args
        self.kernel = kernel
        self.initrd = initrd
        self.name = suite["name"]
        self.resdir = os.path.join(args.results, self.name)
        self.results = {}  # case -> (ok, reason, seconds)
        self.qemu = None
        self.qmp = None
        self.transcript = None
        self.truth = Truth()
        self.images = []
        self.wake_at = None  # "wakeup-after": when to send system_wakeup
        self.wakes = []  # the run state QEMU reported before each wakeup

    # -- setup ------------------------------------------------------------
    def qemu_cmd(self, disks, chan_path, qmp_path, console_append=False):
        s = self.suite
        # "guest_disks": disks the guest makes itself (scsi_debug)
        # (disks with "listed": False, last in the list, are not in the
        # guest's list: a CD-ROM, a disk it must not see)
        ddesc = s.get("guest_disks") or ",".join(
            "%d:%d:%d" % (d["target"], d["lun"], d["size_mib"]) for d in s["disks"]
            if d.get("listed", True))
        append = ["console=ttyS0", "panic=-1", "oops=panic", "loglevel=6",
                  "vmt_suite=" + self.name, "vmt_cases=" + ",".join(self.cases),
                  "vmt_driver=" + s["driver"], "vmt_proc=" + s["proc_name"],
                  "vmt_qom=" + s["qom"], "vmt_disks=" + ddesc]
        if s["modargs"]:
            append.append("vmt_modargs=" + ":".join(s["modargs"]))
        append += s.get("kernel_args", []) + self.args.append
        cmd = [self.args.qemu, "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
               "-machine", "pc", "-accel", self.args.accel or s.get("accel", "tcg"), "-m", str(s.get("mem", self.args.mem)),
               "-smp", str(s.get("smp", 2)), "-nographic", "-no-reboot", "-vga", "none",
               "-nic", "none", "-monitor", "none",
               "-kernel", self.kernel, "-initrd", self.initrd,
               "-append", " ".join(append),
               "-chardev", "file,id=con,path=%s%s" % (os.path.join(self.resdir, "console.log"),
                                                       ",append=on" if console_append else ""),
               "-serial", "chardev:con",
               "-chardev", "socket,id=chan,path=" + chan_path,
               "-serial", "chardev:chan",
               "-chardev", "socket,id=qmp,path=" + qmp_path,
               "-mon", "chardev=qmp,mode=control"]
        if s.get("shutdown_check"):
            # the VM stops at the guest's power-off: the host then reads
            # the model's state (shutdown_check())
            cmd.append("-no-shutdown")
        cmd += s["hba"]
        for i, (d, img) in enumerate(zip(s["disks"], disks)):
            # -blockdev nodes, unlike -drive, survive a device_del, so a
            # case can unplug a disk and plug it back (drive=dN)
            if d.get("null"):
                # QEMU's null-co: no storage behind it (benchmarks)
                cmd += ["-blockdev", "driver=null-co,node-name=d%d,size=%d"
                        % (i, d["size_mib"] << 20),
                        "-device", "scsi-hd,bus=%s,scsi-id=%d,lun=%d,drive=d%d,id=hd%d"
                        % (d.get("bus", s["bus"]), d["target"], d["lun"], i, i)]
                continue
            cmd += ["-blockdev", "driver=file,node-name=f%d,filename=%s" % (i, img)]
            node = "f%d" % i
            if d.get("blkdebug"):
                # QEMU's blkdebug driver in front of the image injects
                # errors (its config text comes from the suite)
                conf = img + ".blkdebug"
                with open(conf, "w") as f:
                    f.write(d["blkdebug"])
                cmd += ["-blockdev", "driver=blkdebug,node-name=g%d,config=%s,image=%s"
                        % (i, conf, node)]
                node = "g%d" % i
            # "device": "scsi-cd" for a CD-ROM (read-only)
            cmd += ["-blockdev", "driver=raw,node-name=d%d,file=%s%s"
                    % (i, node, ",read-only=on" if d.get("device") == "scsi-cd" else ""),
                    "-device", "%s,bus=%s,scsi-id=%d,lun=%d,drive=d%d,id=hd%d"
                    % (d.get("device", "scsi-hd"), d.get("bus", s["bus"]),
                       d["target"], d["lun"], i, i)]
        cmd += s["extra_args"]
        return cmd

    def run(self):
        os.makedirs(self.resdir, exist_ok=True)
        for f in ("console.log", "channel.log", "qemu.log"):
            try:
                os.unlink(os.path.join(self.resdir, f))
            except FileNotFoundError:
                pass
        work = tempfile.mkdtemp(prefix="qlisp-%s-" % self.name, dir="/dev/shm")
        self.work = work
        try:
            return self._run(work)
        finally:
            if self.qemu and self.qemu.poll() is None:
                self.qemu.kill()
                self.qemu.wait()
            if self.args.keep:
                log("kept disks and sockets in " + work)
            else:
                shutil.rmtree(work, ignore_errors=True)

    def _run(self, work):
        s = self.suite
        disks = []
        for i, d in enumerate(s["disks"]):
            img = os.path.join(work, "d%d.img" % i)
            with open(img, "wb") as f:
                f.truncate(d["size_mib"] << 20)  # sparse
                if "fill_seed" in d:
                    # the whole image holds tpat FILL_SEED 0 N (a CD-ROM
                    # the guest reads and compares)
                    n = (d["size_mib"] << 20) // SECTOR
                    for off in range(0, n, 8192):
                        f.write(truth_pattern(d["fill_seed"], off, min(8192, n - off)))
            disks.append(img)
        self.images = disks
        chan_path = os.path.join(work, "chan.sock")
        qmp_path = os.path.join(work, "qmp.sock")
        listeners = {}
        for p in (chan_path, qmp_path):
            l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            l.bind(p)
            l.listen(1)
            l.settimeout(20)
            listeners[p] = l
        cmd = self.qemu_cmd(disks, chan_path, qmp_path)
        self.transcript = open(os.path.join(self.resdir, "channel.log"), "w")
        self.transcript.write("# " + " ".join(cmd) + "\n")
        qlog = open(os.path.join(self.resdir, "qemu.log"), "w")
        self.t_start = time.monotonic()
        self.qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog,
                                     stderr=subprocess.STDOUT, cwd=work)
        try:
            chan, _ = listeners[chan_path].accept()
            qsock, _ = listeners[qmp_path].accept()
            self.qmp = QMP(qsock)
        except (OSError, EOFError, ValueError) as e:
            time.sleep(0.5)
            return self.abort("QEMU did not start (%s): %s" % (e, self.qemu_log_tail()))
        for l in listeners.values():
            l.close()
        self.chan = chan
        return self.loop()

    # -- main loop --------------------------------------------------------
    def case_timeout(self, case):
        # 3x the measured time, or the suite's figure (tests/case_times.py)
        return CASE_TIMES["case_timeout"](self.suite, case) * self.args.timeout_scale

    def total_timeout(self):
        """The suite's cap: at least the boot plus every case's timeout."""
        need = self.args.boot_timeout + sum(self.case_timeout(c) for c in self.cases)
        return max(self.suite.get("timeout_total", self.args.timeout_total), need)

    def loop(self):
        buf = b""
        current = None
        t_case = None
        booted = False
        total = self.total_timeout()
        deadline_total = self.t_start + total
        deadline = self.t_start + self.args.boot_timeout
        while True:
            now = time.monotonic()
            if now > deadline_total:
                return self.abort("overall timeout (%ds) reached" % total, current, t_case)
            if now > deadline:
                if not booted:
                    return self.abort("guest did not boot within %ds" % self.args.boot_timeout)
                if current:
                    return self.abort("timeout after %ds" % self.case_timeout(current), current, t_case)
                return self.abort("guest went silent between cases", current, t_case)
            if self.wake_at is not None and now >= self.wake_at:
                self.wakeup()
            r, _, _ = select.select([self.chan], [], [], 0.5)
            if not r:
                if self.qemu.poll() is not None:
                    return self.abort("QEMU exited with status %d" % self.qemu.returncode, current, t_case)
                continue
            data = self.chan.recv(65536)
            if not data:
                self.qemu_wait(10)
                return self.abort("host channel closed (QEMU exit %s)" % self.qemu.poll(), current, t_case)
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip("\r\x00 ")
                if not line.startswith("@@"):
                    continue
                self.transcript.write("%8.2f < %s\n" % (time.monotonic() - self.t_start, line))
                self.transcript.flush()
                word, _, rest = line.partition(" ")
                # a request's number ("@@QMP#12 ..."), repeated in its
                # reply so the guest can skip a late one (lib.sh)
                word, _, tag = word.partition("#")
                if word == "@@BOOTED":
                    booted = True
                    self.boot_time = time.monotonic() - self.t_start
                    log("%s: guest booted in %.1fs (guest uptime %ss)" % (self.name, self.boot_time, rest))
                    deadline = time.monotonic() + 60
                elif word == "@@START":
                    current = rest.strip()
                    t_case = time.monotonic()
                    deadline = t_case + self.case_timeout(current)
                elif word == "@@RESULT":
                    case, _, rest2 = rest.partition(" ")
                    verdict, _, reason = rest2.partition(" ")
                    secs = time.monotonic() - (t_case or self.t_start)
                    self.report(case, verdict == "PASS", reason, secs)
                    current = None
                    deadline = time.monotonic() + 60
                elif word == "@@LOG":
                    log("%s: %s" % (self.name, rest))
                elif word in ("@@QMP", "@@GET", "@@WROTE", "@@FORGET", "@@TRUTH"):
                    t_req = time.monotonic()
                    reply = self.request(word, rest)
                    if tag:
                        reply = "@@REPLY#" + tag + reply[len("@@REPLY"):]
                    self.transcript.write("%8.2f > %s\n" % (time.monotonic() - self.t_start, reply))
                    # (a migration replaced the channel: the reply goes
                    # to the guest where it now runs)
                    self.chan.sendall(reply.encode() + b"\n")
                    deadline += time.monotonic() - t_req  # host time does not count
                elif word == "@@DONE":
                    if self.suite.get("shutdown_check"):
                        self.shutdown_check(rest.strip() == "bound")
                    self.qemu_wait(30)
                    self.host_truth()
                    return self.finish()

    def shutdown_check(self, bound):
        """The suite's "shutdown_check": after the guest's power-off (the
        driver's .shutdown ran), the chip must have been stopped: the
        model's firmware no longer runs with the rings it was given
        (fw-ready false).  A test of its own; QEMU is told to quit after."""
        t0 = time.monotonic()
        why = None
        if not bound:
            why = "the HBA had no driver when the guest powered off: its shutdown was not checked"
        try:
            while not why:
                st = self.qmp.call("query-status").get("status")
                if st == "shutdown":
                    break
                if time.monotonic() - t0 > 60:
                    why = "the guest did not power off within 60 s (QEMU %s)" % st
                    break
                time.sleep(0.5)
            # True: the suite's HBA; a list: each of those HBAs
            chk = self.suite["shutdown_check"]
            for path in (chk if isinstance(chk, list) else [self.suite["qom"]]):
                if why:
                    break
                ready = self.qmp.call("qom-get", path=path, property="fw-ready")
                resets = self.qmp.call("qom-get", path=path, property="x-stat-chip-resets")
                log("%s: host_shutdown: after power-off %s fw-ready=%s, %s chip soft resets"
                    % (self.name, path, ready, resets))
                if ready is not False:
                    why = ("after the guest's shutdown the chip %s still runs its firmware "
                           "on the rings (fw-ready %s)" % (path, ready))
        except Exception as e:  # a failed read fails the check
            why = "QMP after power-off: %s" % str(e).replace("\n", " ")
        self.cases = self.cases + ["host_shutdown"]
        self.report("host_shutdown", why is None, why or "", time.monotonic() - t0)
        try:
            self.qmp.call("quit")
        except Exception:
            pass

    def truth_request(self, word, rest):
        a = [int(x, 0) for x in rest.split()]
        if not a or not 0 <= a[0] < len(self.images) or self.suite["disks"][a[0]].get("null"):
            return "@@REPLY ERROR no disk image %s" % rest
        if word == "@@WROTE" and len(a) == 4:
            self.truth.wrote(*a)
            return "@@REPLY ok"
        if word == "@@FORGET" and len(a) == 3:
            self.truth.forget(*a)
            return "@@REPLY ok"
        if word == "@@TRUTH" and len(a) == 1:
            bad = self.truth.check(a[0], self.images[a[0]])
            if bad:
                return "@@REPLY ERROR mismatch: " + bad
            return "@@REPLY ok %d sectors" % self.truth.last_sectors
        return "@@REPLY ERROR bad request %s %s" % (word, rest)

    def host_truth(self):
        """After the guest powered off: every disk image against what the
        guest said it wrote (a test of its own when anything was written)."""
        disks = [d for d in sorted(self.truth.ranges) if self.truth.ranges[d]]
        if not disks:
            return
        t0 = time.monotonic()
        bad = []
        sectors = 0
        for d in disks:
            why = self.truth.check(d, self.images[d])
            if why:
                bad.append(why)
            else:
                sectors += self.truth.last_sectors
        self.cases = self.cases + ["host_truth"]
        if bad:
            self.report("host_truth", False, "; ".join(bad), time.monotonic() - t0)
        else:
            self.report("host_truth", True, "", time.monotonic() - t0)
            log("%s: host_truth: %d sectors on %d disk(s) hold what the guest wrote"
                % (self.name, sectors, len(disks)))

    def request(self, word, rest):
        try:
            if word in ("@@WROTE", "@@FORGET", "@@TRUTH"):
                return self.truth_request(word, rest)
            if word == "@@GET":
                val = self.suite["guest"].get(rest.strip())
                if val is None:
                    return "@@REPLY ERROR no such key " + rest.strip()
                return "@@REPLY " + str(val).replace("\n", " ")
            op, _, argstr = rest.partition(" ")
            if op == "qom-get":
                path, prop = argstr.split(None, 1)
                val = self.qmp.call("qom-get", path=path, property=prop.strip())
            elif op == "qom-set":
                path, prop, value = argstr.split(None, 2)
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
                val = self.qmp.call("qom-set", path=path, property=prop, value=value)
            elif op == "snap":
                # bench/insn-count.c snapshots its counters on SIGUSR2
                # (without that plugin the signal would kill QEMU)
                if not self.suite.get("insn_snap"):
                    return "@@REPLY ERROR snap needs the insn-count plugin"
                os.kill(self.qemu.pid, signal.SIGUSR2)
                time.sleep(0.1)
                return "@@REPLY ok"
            elif op == "migrate":
                return self.migrate()
            elif op == "savevm-loadvm":
                return self.savevm_loadvm()
            elif op == "wakeup-after":
                # the guest is about to sleep (S3) and cannot ask then
                self.wake_at = time.monotonic() + float(argstr)
                return "@@REPLY ok"
            elif op == "throttle":
                # "throttle ID BPS": QEMU's read throttle on the disk with
                # qdev id ID (0 turns it off)
                dev, bps = argstr.split()
                val = self.qmp.call("block_set_io_throttle", id=dev, bps=0,
                                    bps_rd=int(bps), bps_wr=0, iops=0,
                                    iops_rd=0, iops_wr=0)
            elif op == "wakeups":
                val = self.wakes
            elif op == "hmp":
                val = self.qmp.call("human-monitor-command", **{"command-line": argstr})
                return "@@REPLY " + json.dumps(val)
            else:
                return "@@REPLY ERROR unknown request " + op
            return "@@REPLY " + json.dumps(val)
        except Exception as e:  # the guest gets the error, the run goes on
            return "@@REPLY ERROR " + str(e).replace("\n", " ")

    # -- migration and savevm (@@QMP migrate, @@QMP savevm-loadvm) --------
    def mig_wait(self, qmp, secs):
        """Poll query-migrate on QMP until the migration ends; its result."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < secs:
            info = qmp.call("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                return info
            time.sleep(0.1)
        return {"status": "timeout"}

    def migrate(self):
        """Live-migrate the running guest to a second QEMU with the same
        devices and disks (-incoming on a unix socket), make it the guest's
        QEMU (its QMP, its host channel) and make the source quit.  The
        reply, on the destination's channel, says what was measured."""
        self.migrations = getattr(self, "migrations", 0) + 1
        n = self.migrations
        chan_path = os.path.join(self.work, "chan%d.sock" % n)
        qmp_path = os.path.join(self.work, "qmp%d.sock" % n)
        mig_path = os.path.join(self.work, "mig%d.sock" % n)
        listeners = {}
        for p in (chan_path, qmp_path):
            l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            l.bind(p)
            l.listen(1)
            l.settimeout(30)
            listeners[p] = l
        cmd = self.qemu_cmd(self.images, chan_path, qmp_path, console_append=True)
        cmd += ["-incoming", "unix:" + mig_path]
        self.transcript.write("# migration %d: %s\n" % (n, " ".join(cmd)))
        qlog = open(os.path.join(self.resdir, "qemu.log"), "a")
        dst = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qlog,
                               stderr=subprocess.STDOUT, cwd=self.work)
        try:
            dchan, _ = listeners[chan_path].accept()
            dqmp = QMP(listeners[qmp_path].accept()[0])
        except (OSError, EOFError, ValueError) as e:
            dst.kill()
            dst.wait()
            return "@@REPLY ERROR destination QEMU did not start: %s" % e
        finally:
            for l in listeners.values():
                l.close()
        t0 = time.monotonic()
        while not os.path.exists(mig_path) and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        # a unix socket on one machine: no bandwidth limit worth having
        self.qmp.call("migrate-set-parameters", **{"max-bandwidth": 8 << 30})
        self.qmp.call("migrate", uri="unix:" + mig_path)
        info = self.mig_wait(self.qmp, 600)
        if info.get("status") != "completed":
            dst.kill()
            dst.wait()
            return "@@REPLY ERROR migration %s: %s" % (info.get("status"), info.get("error-desc", ""))
        t0 = time.monotonic()
        st = None
        while time.monotonic() - t0 < 60:
            st = dqmp.call("query-status").get("status")
            if st == "running":
                break
            time.sleep(0.1)
        if st != "running":
            return "@@REPLY ERROR destination is %s after the migration" % st
        src = self.qemu
        try:
            self.qmp.call("quit")
        except (OSError, EOFError, RuntimeError):
            pass
        try:
            src_rc = src.wait(30)
        except subprocess.TimeoutExpired:
            src.kill()
            src_rc = "killed"
        self.qemu, self.qmp, self.chan = dst, dqmp, dchan
        log("%s: migrated to a new QEMU (pid %d): %d ms, downtime %s ms, %d MiB; source exited %s"
            % (self.name, dst.pid, info.get("total-time", -1), info.get("downtime", "?"),
               info.get("ram", {}).get("transferred", 0) >> 20, src_rc))
        return "@@REPLY ok pid %d total %d ms downtime %s ms source-exit %s" % (
            dst.pid, info.get("total-time", -1), info.get("downtime", "?"), src_rc)

    def job_run(self, cmd, job_id, secs=300, **args):
        """Start a QMP job, wait for it to conclude; None or its error."""
        self.qmp.call(cmd, **dict(args, **{"job-id": job_id}))
        t0 = time.monotonic()
        while time.monotonic() - t0 < secs:
            for j in self.qmp.call("query-jobs"):
                if j["id"] == job_id and j["status"] == "concluded":
                    self.qmp.call("job-dismiss", id=job_id)
                    return j.get("error")
            time.sleep(0.1)
        return "job %s did not conclude in %d s" % (job_id, secs)

    def savevm_loadvm(self):
        """Stop the guest, save a snapshot of the VM state (snapshot-save,
        to a qcow2 image of its own: the disks are raw), load it back
        (snapshot-load: a machine reset, then the saved state) and let the
        guest run on.  The disks are not snapshotted and nothing runs
        between the save and the load, so they still match the state."""
        self.snapshots = getattr(self, "snapshots", 0) + 1
        if not getattr(self, "vmstate_node", None):
            img = os.path.join(self.work, "vmstate.qcow2")
            open(img, "wb").close()
            self.qmp.call("blockdev-add", driver="file", filename=img,
                          **{"node-name": "vmstf"})
            err = self.job_run("blockdev-create", "mkvmst",
                               options={"driver": "qcow2", "file": "vmstf",
                                        "size": 4 << 30})
            if err:
                return "@@REPLY ERROR creating the vmstate image: " + err
            self.qmp.call("blockdev-add", driver="qcow2", file="vmstf",
                          **{"node-name": "vmst"})
            self.vmstate_node = "vmst"
        tag = "qlisp%d" % self.snapshots
        t0 = time.monotonic()
        self.qmp.call("stop")
        err = self.job_run("snapshot-save", "save%d" % self.snapshots, tag=tag,
                           vmstate="vmst", devices=["vmst"])
        t_save = time.monotonic() - t0
        if not err:
            err = self.job_run("snapshot-load", "load%d" % self.snapshots, tag=tag,
                               vmstate="vmst", devices=["vmst"])
        t_load = time.monotonic() - t0 - t_save
        self.qmp.call("cont")
        if err:
            return "@@REPLY ERROR snapshot: " + err
        log("%s: snapshot %s saved in %.1f s and loaded in %.1f s"
            % (self.name, tag, t_save, t_load))
        return "@@REPLY ok saved %.1f s loaded %.1f s" % (t_save, t_load)

    def wakeup(self):
        """Wake a guest that asked for it (wakeup-after) from S3 with
        system_wakeup, noting the run state it was in ("suspended" when it
        really slept; the guest reads the list with "wakeups")."""
        self.wake_at = None
        try:
            st = self.qmp.call("query-status").get("status")
            self.qmp.call("system_wakeup")
        except Exception as e:  # noted for the guest to see
            st = "error: " + str(e).replace("\n", " ")
        self.wakes.append(st)
        log("%s: system_wakeup (guest was %s)" % (self.name, st))

    # -- verdicts -----------------------------------------------------------
    def report(self, case, ok, reason, secs):
        if case not in self.cases or case in self.results:
            log("%s: unexpected result for %s ignored" % (self.name, case))
            return
        self.results[case] = (ok, reason, secs)
        if ok:
            out("PASS %s/%s (%.1fs)" % (self.name, case, secs))
        else:
            out("FAIL %s/%s: %s (%.1fs)" % (self.name, case, reason, secs))

    def qemu_wait(self, secs):
        try:
            self.qemu.wait(secs)
        except subprocess.TimeoutExpired:
            self.qemu.kill()
            self.qemu.wait()

    def qemu_log_tail(self):
        try:
            with open(os.path.join(self.resdir, "qemu.log")) as f:
                return " ".join(f.read().split("\n")[-5:]).strip()
        except OSError:
            return ""

    def diagnose(self):
        """Before killing a stuck guest: is QEMU alive, and what do the
        guest's blocked tasks and CPUs do (sysrq w + l, to the console)?"""
        if not self.qmp or not self.qemu or self.qemu.poll() is not None:
            return "QEMU gone"
        try:
            self.qmp.sock.settimeout(5)
            st = self.qmp.call("query-status")
            for key in ("alt-sysrq-w", "alt-sysrq-l"):
                self.qmp.call("human-monitor-command", **{"command-line": "sendkey " + key})
                time.sleep(2)
            return "QEMU %s; sysrq w/l sent, see console" % st.get("status")
        except Exception as e:
            return "QEMU monitor unresponsive (%s)" % e

    def abort(self, why, current=None, t_case=None):
        if "timeout" in why or "did not boot" in why or "silent" in why:
            note = self.diagnose()
            log("%s: %s: %s" % (self.name, why, note))
            if self.transcript:
                self.transcript.write("# %s: %s\n" % (why, note))
        if self.qemu and self.qemu.poll() is None:
            self.qemu.kill()
            self.qemu.wait()
        if current and current not in self.results:
            self.report(current, False, why, time.monotonic() - (t_case or self.t_start))
        for c in self.cases:
            if c not in self.results:
                self.report(c, False, "not run: " + why, 0.0)
        return self.finish()

    def finish(self):
        for c in self.cases:
            if c not in self.results:
                self.report(c, False, "no result from the guest", 0.0)
        if self.transcript:
            self.transcript.close()
        failed = [c for c in self.cases if not self.results[c][0]]
        if failed:
            self.show_console()
        total = time.monotonic() - self.t_start if hasattr(self, "t_start") else 0
        log("%s: %d cases in %.1fs, results in %s" % (self.name, len(self.cases), total, self.resdir))
        return self.results

    def show_console(self, lines=60):
        path = os.path.join(self.resdir, "console.log")
        try:
            with open(path, errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
        except OSError:
            return
        out("\n".join(["---- %s: last %d lines of %s" % (self.name, len(tail), path)] +
                       ["| " + l for l in tail] + ["----"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", action="append", help="suite name (tests/suites/NAME.py) or file; repeatable (default qla1280)")
    ap.add_argument("--case", action="append", help="run only these cases (repeatable, in the order given)")
    ap.add_argument("--keep", action="store_true", help="keep the disk images and sockets")
    ap.add_argument("--append", action="append", default=[],
                    help="extra guest kernel argument (repeatable)")
    ap.add_argument("--list", action="store_true", help="list suites and cases")
    ap.add_argument("--qemu", default=os.environ.get("QLISP_QEMU") or
                    os.path.join(TOP, "build", "qemu-system-x86_64"))
    ap.add_argument("--kernel", help="guest kernel (default: build with tests/guest/build-guest.sh)")
    ap.add_argument("--initrd", help="guest initramfs (default: as --kernel)")
    ap.add_argument("--ko", default=os.environ.get("QLISP_KO"), help="qlisp.ko to put in the guest")
    ap.add_argument("--ko-debug", default=os.environ.get("QLISP_KO_DEBUG"),
                    help="qlisp.ko built for the debug kernel (suites with \"kernel\": \"debug\")")
    ap.add_argument("--no-build", action="store_true", help="do not run build-guest.sh; use the cached guest")
    ap.add_argument("--results", default=os.environ.get("QLISP_RESULTS", "/tmp/qlisp-results"))
    ap.add_argument("--mem", type=int, default=1024)
    ap.add_argument("--accel", help="QEMU -accel value for every suite (default: the suite's, or tcg)")
    ap.add_argument("--boot-timeout", type=int, default=180)
    ap.add_argument("--timeout-total", type=int, default=900, help="seconds per suite")
    ap.add_argument("--jobs", type=int, default=0,
                    help="suites run at once (default: QLISP_JOBS, or the cores there are,"
                    " at most one per 2 GiB available)")
    ap.add_argument("--timeout-scale", type=float, default=float(os.environ.get("QLISP_TIMEOUT_SCALE", "1")))
    args = ap.parse_args()

    if args.list:
        for f in sorted(os.listdir(os.path.join(TESTS, "suites"))):
            if f.endswith(".py"):
                s = load_suite(f[:-3])
                print("%-12s %s; cases: %s" % (s["name"], s.get("description", ""), " ".join(s["cases"])))
        print("cases:", " ".join(sorted(c[:-3] for c in os.listdir(os.path.join(TESTS, "cases")) if c.endswith(".sh"))))
        return 0

    suites = [load_suite(n) for n in (args.suite or ["qla1280"])]
    guests = {}  # flavor -> (kernel, initrd)

    def guest_for(suite):
        # "kernel": "debug" in a suite boots the debug kernel
        # (tests/kdebug) with a qlisp.ko built for it (--ko-debug)
        flavor = suite.get("kernel", "stock")
        if flavor in guests:
            return guests[flavor]
        kernel, initrd = args.kernel, args.initrd
        if flavor != "stock":
            kernel = initrd = None
        if not kernel or not initrd:
            gdir = os.path.join(CACHE, "guest" if flavor == "stock" else "guest-" + flavor)
            if not args.no_build or flavor != "stock":
                cmd = [os.path.join(TESTS, "guest", "build-guest.sh")]
                ko = args.ko if flavor == "stock" else args.ko_debug
                if ko:
                    cmd.append(ko)
                r = subprocess.run(cmd, stdout=subprocess.PIPE, universal_newlines=True,
                                   env=dict(os.environ, QLISP_GUEST_FLAVOR=flavor))
                if r.returncode != 0:
                    raise SystemExit("run-vm: guest build (%s) failed" % flavor)
            kernel = kernel or os.path.join(gdir, "vmlinuz")
            initrd = initrd or os.path.join(gdir, "initrd.img")
        for f in (args.qemu, kernel, initrd):
            if not os.path.exists(f):
                raise SystemExit("run-vm: missing %s" % f)
        guests[flavor] = (kernel, initrd)
        return guests[flavor]

    ensure_roms()

    # the guests first, one at a time (a build is not run twice at once)
    work = []
    failed = 0
    known = {c[:-3] for c in os.listdir(os.path.join(TESTS, "cases")) if c.endswith(".sh")}
    for s in suites:
        cases = args.case or s["cases"]
        bad = [c for c in cases if c not in known]
        if bad:
            raise SystemExit("run-vm: unknown case(s): " + " ".join(bad))
        try:
            kernel, initrd = guest_for(s)
        except SystemExit as e:
            out("FAIL %s/boot: %s" % (s["name"], e))
            failed += 1
            continue
        work.append((s, cases, kernel, initrd))

    # Suites run side by side, the longest (by their measured times) first.
    # One TCG guest keeps 0.8 of a core busy on average (qlisp-2hba: 47 s of
    # CPU in 56 s), less while a case waits: two light suites took 63 s side
    # by side on 2 cores and 112 s one after the other (qlisp-2hba,
    # qla1280-2hba); busy ones gain less (the debug suite took 1.7 times as
    # long beside another).
    jobs = max(1, min(args.jobs or default_jobs(), len(work) or 1))
    work.sort(key=lambda w: -CASE_TIMES["estimate"](w[0], w[1]))
    if jobs > 1:
        log("%d suites, %d at a time: %s" % (len(work), jobs, " ".join(w[0]["name"] for w in work)))
    results = []
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not work:
                    return
                s, cases, kernel, initrd = work.pop(0)
            run = Run(s, cases, args, kernel, initrd)
            with lock:
                RUNS.append(run)
            try:
                res = run.run()
            except Exception as e:  # a runner bug fails the suite, not the others
                why = "run-vm error: %s: %s" % (type(e).__name__, str(e).replace("\n", " "))
                res = dict(run.results)
                for c in run.cases:
                    if c not in res:
                        out("FAIL %s/%s: %s" % (s["name"], c, why))
                        res[c] = (False, why, 0.0)
            with lock:
                RUNS.remove(run)
                results.append(res)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(1)
    passed = sum(1 for res in results for r in res.values() if r[0])
    failed += sum(1 for res in results for r in res.values() if not r[0])
    out("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def default_jobs():
    """QLISP_JOBS, or as many suites at once as there are cores, if each
    can have 2 GiB of the memory available."""
    if os.environ.get("QLISP_JOBS"):
        return int(os.environ["QLISP_JOBS"])
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(l.split()[1]) for l in f if l.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        avail = 2 << 20
    return max(1, min(os.cpu_count() or 1, avail >> 21))


def on_sigterm(*_):
    """Kill the QEMUs of the suites running, then exit."""
    for run in list(RUNS):
        if run.qemu and run.qemu.poll() is None:
            run.qemu.kill()
        if getattr(run, "work", None) and not run.args.keep:
            shutil.rmtree(run.work, ignore_errors=True)
    sys.exit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    sys.exit(main())
