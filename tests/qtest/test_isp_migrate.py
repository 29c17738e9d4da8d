#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Migration qtest for the QEMU ISP1040 model (emu/hw/scsi/isp1040.c).

Issue 13, item 3: the model's VMState carries everything the chip holds.
One source QEMU (qtest accelerator, an isp1040 with scsi-hd at targets 0
and 1 on raw files) is brought up and left in a busy state; it is then
migrated over a unix socket to a second QEMU started with -incoming, the
source quits, and the destination must go on exactly where the source
stopped:

  - state a mailbox query shows (target and device-queue parameters,
    selection timeout, firmware status and features, RISC RAM words with
    fresh random values) answers the same before and after
  - a mailbox answer the host had not yet taken is still there (SEMA, ISR,
    mailbox 0)
  - a command completed while that answer was pending (so its status entry
    was not yet posted) is posted after the host takes the answer, with its
    data in memory
  - after a bus reset, two commands for target 1 held by the firmware
    until a marker (a TEST UNIT READY, then a WRITE of fresh random data)
    stay held until a marker is queued on the destination, then end, the
    TEST UNIT READY first with the reset's unit attention; a READ of the
    same blocks returns what the WRITE wrote, and the host-side file holds
    it
  - a command swallowed by the fault property (in flight, never answered)
    with a 5 s IOCB timeout ends with the timeout status 0x06 on the
    destination, once the destination's clock has passed its deadline
  - the counters (x-stat-cmds, x-stat-markers) go on from the source's values

The same again through a file (exec:cat), and before the good load three
corrupted copies of that stream, each of which must fail to load with an
error from the model (a request out of range, a segment count past any
command's, a held request whose CDB no longer matches its segments).

And a READ the SCSI layer keeps for a retry (blkdebug fails it once on a
drive with rerror=stop, which stops the VM) is migrated with the stopped VM
and retried on the destination: it must end well, its data in its
segments.

Usage: test_isp_migrate.py [--qemu BINARY] [--seed N] [-v]
Prints one PASS/FAIL line per check and, last, "N passed, N failed".
"""

import argparse
import os
import random
import struct
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtestlib import QEMU, QEMUGone, Results  # noqa: E402
import test_isp_malformed as M  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QEMU = os.environ.get("QTEST_QEMU_BINARY") or os.path.normpath(
    os.path.join(HERE, "..", "..", "build", "qemu-system-x86_64"))

R_MB, R_ISR, R_SEMA, R_HCCR = M.R_MB, M.R_ISR, M.R_SEMA, M.R_HCCR
HCCR_SET_HOST = M.HCCR_SET_HOST
RF_IN, RF_OUT = M.RF_IN, M.RF_OUT
CS_OK, CS_TIMEOUT = 0x00, 0x06
HBA = "/machine/peripheral/hba"

WBUF = 0x00200000               # WRITE data (8 blocks)
RBUF = 0x00210000               # READ of the same blocks
DBUF = 0x00220000               # the READ completed before migration
SBUF = 0x00230000               # the swallowed READ
RAM_WORDS = (0x3000, 0x3001, 0x7FF0)


def args_for(disks, incoming=None):
    a = ["-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
         "-device", "isp1040,id=hba"]
    for i, d in enumerate(disks):
        a += ["-drive", "if=none,id=d%d,file=%s,format=raw" % (i, d),
              "-device", "scsi-hd,id=sd%d,bus=hba.0,scsi-id=%d,lun=0,"
              "drive=d%d" % (i, i, i)]
    if incoming:
        a += ["-incoming", incoming]
    return a


def qom_get(vm, prop):
    return vm.qmp.execute("qom-get", path=HBA, property=prop)


def fault(vm, what):
    vm.qmp.execute("qom-set", path=HBA, property="x-fault", value=what)


def queries(isp):
    """Mailbox queries whose answers are chip state: {name: the outgoing
    mailboxes the command sets (others keep what was there)}."""
    q = {}

    def ask(name, regs, words):
        out = isp.mbox(regs)
        q[name] = [out[0]] + [out[i] for i in words]

    for t in (0, 1):
        ask("target params %d" % t, {0: 0x28, 1: t << 8}, (2, 3, 6))
        ask("device queue %d" % t, {0: 0x29, 1: t << 8}, (2, 3))
    for op, name, words in ((0x20, "initiator id", (1,)),
                            (0x21, "selection timeout", (1,)),
                            (0x1F, "firmware status", (1, 2)),
                            (0x4B, "firmware features", (1,)),
                            (0x08, "about firmware", (1, 2, 3))):
        ask(name, {0: op}, words)
    for a in RAM_WORDS + (M.FW_ORG + 5,):
        ask("RAM word 0x%04x" % a, {0: 0x05, 1: a}, (2,))
    return q


def wait_async(isp, code, secs=5.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        isp.collect_once([])
        if any(ev[0] == code for ev in isp.async_events):
            return True
        isp.q.clock_step(100000)
    return False


def bad_streams(t, mfile):
    """The stream is untrusted input: a request out of range, a segment
    count past any command's, a held request whose CDB no longer matches
    its segments.  Each load must fail cleanly (an error, no crash), and
    QEMU must say why."""
    res = t.res
    with open(mfile, "rb") as f:
        good = f.read()
    sec = good.find(b"isp1040")
    # done request 0x300 (kind 1) and held WRITE 0x101 (kind 2), see
    # isp_put_request(): kind, handle, bus, ..., [CDB length, CDB], nsg
    done = good.find(b"\x01\x00\x00\x03\x00", sec)
    held = good.find(b"\x02\x00\x00\x01\x01", sec)
    res.check("stream: the requests are found", sec > 0 and done > sec and
              held > sec, "%d %d %d" % (sec, done, held))
    if not (sec > 0 and done > sec and held > sec):
        return
    cases = (("bus 7", done + 5, b"\x07"),
             ("segment count 0xffffffff", done + 97, b"\xff" * 4),
             ("held WRITE(10) of 9 blocks over 8 blocks' segments",
              held + 98 + 8, b"\x09"))
    for name, off, patch in cases:
        bad = good[:off] + patch + good[off + len(patch):]
        path = mfile + ".bad"
        with open(path, "wb") as f:
            f.write(bad)
        vm = QEMU(t.qemu, args_for(t.disks, "exec:cat " + path))
        try:
            rc = vm.proc.wait(15)
        except Exception:
            rc = None
        err = vm.stderr_text()
        res.check("bad stream (%s): the load fails cleanly" % name,
                  rc == 1 and "isp1040: migration" in err and
                  "ssertion" not in err, "rc %s: %s" % (rc, err[-300:]))
        vm.cleanup()
        os.unlink(path)


def case_migrate(t, via_file=False):
    res, rng = t.res, t.rng
    for d in t.disks:
        M.make_disk(d)
    src = QEMU(t.qemu, args_for(t.disks))
    t.vms.append(src)
    isp = M.ISP(src, res, rng)
    isp.pci_setup()
    res.check("source: bring-up", isp.bringup(16, 16, check=False))
    for tgt in (0, 1):          # clear each disk's power-on unit attention
        for i in range(4):
            r, _ = isp.run1([M.cmd_entry(0x0EEF0000 + tgt * 16 + i,
                                         M.cdb_tur(), target=tgt)], 3.0)
            if r and r["comp"] == CS_OK and r["scsi"] == 0:
                break

    # state only the VMState can carry, fresh values each run
    ramvals = [rng.randrange(0x10000) for _ in RAM_WORDS]
    for a, v in zip(RAM_WORDS, ramvals):
        isp.mbox({0: 0x04, 1: a, 2: v})
    isp.mbox({0: 0x38, 1: 1 << 8, 2: 0x3000 | rng.randrange(0x100),
              3: rng.randrange(8, 13) << 8 | 12})
    isp.mbox({0: 0x39, 1: 1 << 8, 2: rng.randrange(4, 32),
              3: rng.randrange(2, 16)})
    isp.mbox({0: 0x31, 1: rng.randrange(100, 1000)})

    # a bus reset: target 1's commands wait for a marker; target 0 is
    # freed by a sync-target marker
    fault(src, "bus-reset")
    res.check("source: async 0x8001 after the bus reset",
              wait_async(isp, 0x8001))
    isp.post([M.marker_entry(1, target=0)])
    reset_ua = None             # what the reset left target 0 to report
    for i in range(4):
        r, _ = isp.run1([M.cmd_entry(0x0EEF0100 + i, M.cdb_tur())], 3.0)
        if r and r["scsi"] == 2 and reset_ua is None:
            reset_ua = r["raw"][32 + 12:32 + 14]
        if r and r["comp"] == CS_OK and r["scsi"] == 0:
            break
    res.check("source: target 0 reports the bus reset's unit attention",
              reset_ua is not None and reset_ua[0] == 0x29)
    lba = rng.randrange(1000, 100000)
    wdata = bytes(rng.randrange(256) for _ in range(8 * 512))
    t.q_mem_w = (lba, wdata)
    src.qtest.memwrite(WBUF, wdata)
    src.qtest.memset(RBUF, 8 * 512, 0)
    held = [M.cmd_entry(0x100, M.cdb_tur(), target=1),
            M.cmd_entry(0x101, M.cdb_write10(lba, 8), [(WBUF, 4096)],
                        target=1, flags=RF_OUT)]
    isp.post(held)
    got = isp.collect(1, 1.0)
    res.check("source: target 1's commands are held for the marker",
              not got, M.fmt_ent(got[0]) if got else "")

    # a swallowed READ whose 5 s IOCB timeout runs across the migration
    fault(src, "swallow 1")
    src.qtest.memset(SBUF, 512, 0)
    isp.post([M.cmd_entry(0x200, M.cdb_read10(7, 1), [(SBUF, 512)],
                          flags=RF_IN, timeout=5)])
    isp.wait_consumed(2.0)
    before = queries(isp)

    # a mailbox answer the host does not take, and a READ that completes
    # behind it: its status entry waits in the chip
    src.qtest.memset(DBUF, 512, 0)
    isp.w(R_MB(0), 0x00)
    isp.w(R_HCCR, HCCR_SET_HOST)
    isp.poll(lambda: isp.r(R_ISR) & 0x0004, 2.0)
    rin0 = isp.r(R_MB(5))
    dlba = rng.randrange(0, M.PATTERN_SECTORS)
    isp.post([M.cmd_entry(0x300, M.cdb_read10(dlba, 1), [(DBUF, 512)],
                          flags=RF_IN)])
    isp.wait_consumed(2.0)
    for _ in range(20):
        src.qtest.clock_step(100000)
    res.check("source: the READ's status is not posted while the mailbox "
              "answer waits", isp.r(R_MB(5)) == rin0)
    stats = {k: qom_get(src, k) for k in ("x-stat-cmds", "x-stat-markers",
                                           "x-stat-faults")}

    # migrate
    if via_file:
        mfile = os.path.join(t.tmp, "mig.stream")
        src.qmp.execute("migrate", uri="exec:cat > " + mfile)
    else:
        sock = os.path.join(t.tmp, "mig.sock")
        dst = QEMU(t.qemu, args_for(t.disks, "unix:" + sock))
        t.vms.append(dst)
        src.qmp.execute("migrate", uri="unix:" + sock)
    status = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        status = src.qmp.execute("query-migrate").get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    res.check("migration completed", status == "completed", str(status))
    if status != "completed":
        print(src.stderr_text()[-1500:])
        return
    if via_file:
        src.quit()
        bad_streams(t, mfile)
        dst = QEMU(t.qemu, args_for(t.disks, "exec:cat " + mfile))
        t.vms.append(dst)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        st = dst.qmp.execute("query-status")["status"]
        if st == "running":
            break
        time.sleep(0.05)
    res.check("destination runs", st == "running", st)
    src.quit()
    res.check("source QEMU is gone", not src.alive())

    d = M.ISP(dst, res, rng)
    d.bdf = isp.bdf
    d.req_len, d.rsp_len = isp.req_len, isp.rsp_len
    d.req_in, d.rsp_out = isp.req_in, isp.rsp_out
    stats2 = {k: qom_get(dst, k) for k in stats}
    res.check("counters go on from the source's", stats2 == stats,
              "%s -> %s" % (stats, stats2))

    # the pending mailbox answer
    isr, sema, mb0 = d.r(R_ISR), d.r(R_SEMA), d.r(R_MB(0))
    res.check("the untaken mailbox answer is still there",
              isr & 0x0004 and sema & 1 and mb0 == 0x4000,
              "ISR 0x%04x SEMA 0x%04x mb0 0x%04x" % (isr, sema, mb0))
    d.ack()
    got = d.collect(1, 5.0)
    ok = (len(got) == 1 and got[0]["handle"] == 0x300 and
          got[0]["comp"] == CS_OK and got[0]["scsi"] == 0)
    res.check("the READ completed before the migration is posted after it",
              ok, " / ".join(M.fmt_ent(g) for g in got))
    data = dst.qtest.memread(DBUF, 512)
    res.check("its data is in memory", data == M.sector_pattern(dlba))

    after = queries(d)
    diff = [k for k in before if before[k] != after.get(k)]
    res.check("%d mailbox queries answer as before" % len(before), not diff,
              "; ".join("%s: %s -> %s" % (k, before[k], after.get(k))
                        for k in diff))
    res.check("RISC RAM words as written",
              [before["RAM word 0x%04x" % a][1] for a in RAM_WORDS] ==
              ramvals)

    got = d.collect(1, 1.0)
    res.check("target 1's commands are still held", not got,
              M.fmt_ent(got[0]) if got else "")
    d.post([M.marker_entry(1, target=1)])
    got = d.collect(2, 10.0)
    hs = [g["handle"] for g in got]
    res.check("after the marker the held commands end, the first first",
              hs == [0x100, 0x101], str([hex(h) for h in hs]))
    byh = {g["handle"]: g for g in got}
    u, w = byh.get(0x100), byh.get(0x101)
    # it took the unit attention when it was fetched, on the source
    res.check("held TEST UNIT READY reports the bus reset's unit attention",
              u and u["scsi"] == 2 and
              u["raw"][32 + 12:32 + 14] == reset_ua,
              "%s sense %s, want %s" % (M.fmt_ent(u), u and
                                        u["raw"][32 + 12:32 + 14].hex(),
                                        reset_ua and reset_ua.hex()))
    r, _ = d.run1([M.cmd_entry(0x103, M.cdb_tur(), target=1)], 5.0)
    res.check("and no unit attention is left behind", r and
              r["comp"] == CS_OK and r["scsi"] == 0, M.fmt_ent(r))
    r, _ = d.run1([M.cmd_entry(0x102, M.cdb_read10(lba, 8), [(RBUF, 4096)],
                               target=1, flags=RF_IN)], 5.0)
    res.check("held WRITE and the READ after it complete", w and r and
              w["comp"] == CS_OK and w["scsi"] == 0 and
              r["comp"] == CS_OK and r["scsi"] == 0,
              "%s / %s" % (M.fmt_ent(w), M.fmt_ent(r)))
    res.check("the READ returns what the WRITE wrote",
              dst.qtest.memread(RBUF, 4096) == wdata)
    with open(t.disks[1], "rb") as f:
        f.seek(lba * 512)
        res.check("host side: the disk file holds the written data",
                  f.read(4096) == wdata)

    # the swallowed READ times out on the destination's clock
    got = []
    for _ in range(40):
        dst.qtest.clock_step(500000000)
        d.collect_once(got)
        if any(g["handle"] == 0x200 for g in got):
            break
    byh = {g["handle"]: g for g in got}
    s = byh.get(0x200)
    res.check("the swallowed READ ends with its timeout (0x06)",
              s is not None and s["comp"] == CS_TIMEOUT, M.fmt_ent(s))
    res.check("destination QEMU still runs", dst.alive())


def wait_status(vm, want, secs=30.0):
    st = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        st = vm.qmp.execute("query-status")["status"]
        if st in want:
            break
        time.sleep(0.05)
    return st


def case_retry(t):
    """A request the SCSI layer holds across the migration: a READ whose
    disk read fails once (blkdebug) on a drive with rerror=stop stops the
    VM with the request kept for a retry; the stopped VM is migrated, and
    on the destination (no error there) "cont" retries it: it must end
    well, its data in the segments the source was given (the request's
    SCSIRequest comes with the disk's state, its segments with the HBA's:
    isp_save_request/isp_load_request)."""
    res, rng = t.res, t.rng
    for d in t.disks:
        M.make_disk(d)
    lba = rng.randrange(16, M.PATTERN_SECTORS - 8)
    conf = os.path.join(t.tmp, "blkdebug.conf")
    with open(conf, "w") as f:
        f.write('[inject-error]\nevent = "read_aio"\nerrno = "5"\n'
                'once = "on"\nsector = "%d"\n' % lba)
    opts = ",rerror=stop,werror=stop"
    sargs = args_for(t.disks)
    i = sargs.index("if=none,id=d0,file=%s,format=raw" % t.disks[0])
    sargs[i] = ("if=none,id=d0,format=raw,file=blkdebug:%s:%s" %
                (conf, t.disks[0])) + opts
    src = QEMU(t.qemu, sargs)
    t.vms.append(src)
    isp = M.ISP(src, res, rng)
    isp.pci_setup()
    res.check("source: bring-up", isp.bringup(16, 16, check=False))
    # segments that split the 4 blocks unevenly, scattered in memory
    segs = [(RBUF + 0x3000, 700), (RBUF, 1000), (RBUF + 0x8000, 4),
            (RBUF + 0x6000, 344)]
    for a, n in segs:
        src.qtest.memset(a, n, 0x5A)
    isp.post([M.cmd_entry(0x400, M.cdb_read10(lba, 4), segs, flags=RF_IN,
                          timeout=0)])
    st = wait_status(src, ("io-error", "paused"), 10.0)
    res.check("source: the failed read stops the VM (rerror=stop)",
              st in ("io-error", "paused"), str(st))
    sock = os.path.join(t.tmp, "mig.sock")
    dst = QEMU(t.qemu, args_for(t.disks, "unix:" + sock))
    t.vms.append(dst)
    src.qmp.execute("migrate", uri="unix:" + sock)
    status = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        status = src.qmp.execute("query-migrate").get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    res.check("migration of the stopped VM completed", status == "completed",
              str(status))
    if status != "completed":
        print(dst.stderr_text()[-1500:])
        return
    st = wait_status(dst, ("paused", "postmigrate", "running"), 10.0)
    src.quit()
    res.check("source QEMU is gone", not src.alive())
    d = M.ISP(dst, res, rng)
    d.bdf = isp.bdf
    d.req_len, d.rsp_len = isp.req_len, isp.rsp_len
    d.req_in, d.rsp_out = isp.req_in, isp.rsp_out
    if st != "running":
        dst.qmp.execute("cont")
    got = d.collect(1, 10.0)
    ok = (len(got) == 1 and got[0]["handle"] == 0x400 and
          got[0]["comp"] == CS_OK and got[0]["scsi"] == 0 and
          got[0]["resid"] == 0)
    res.check("destination: the retried READ ends well", ok,
              " / ".join(M.fmt_ent(g) for g in got) or "no response")
    data = b"".join(dst.qtest.memread(a, n) for a, n in segs)
    want = b"".join(M.sector_pattern(lba + k) for k in range(4))
    res.check("its data is in the segments, in order", data == want)
    got = d.quiet()
    res.check("nothing else is posted", not got,
              " / ".join(M.fmt_ent(g) for g in got))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", default=DEFAULT_QEMU)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print("seed %d" % seed)

    t = type("Ctx", (), {})()
    t.qemu = args.qemu
    t.res = Results(args.verbose)
    t.rng = random.Random(seed)
    t.tmp = tempfile.mkdtemp(prefix="isp-migrate-")
    t.vms = []
    t.disks = [os.path.join(t.tmp, "d%d.raw" % i) for i in range(2)]
    t0 = time.monotonic()
    try:
        for name, fn in (("socket", case_migrate),
                         ("file", lambda t: case_migrate(t, True)),
                         ("retry", case_retry)):
            t.res.prefix = "[%s] " % name
            fn(t)
            for vm in t.vms:
                err = vm.stderr_text()
                t.res.check("stderr clean (%s)" %
                            ("source" if vm is t.vms[0] else "destination"),
                            not any(k in err for k in
                                    ("ssertion", "Aborted", "core dumped",
                                     "isp1040")), err[-500:])
                vm.cleanup()
            t.vms = []
    except QEMUGone as e:
        t.res.check("QEMU survives", False, str(e))
        for vm in t.vms:
            print("---- QEMU stderr (tail) ----\n%s\n----" %
                  vm.stderr_text()[-2000:])
    except (AssertionError, M.MboxTimeout, RuntimeError) as e:
        t.res.check("case ran to completion", False,
                    "%s: %s" % (type(e).__name__, e))
        traceback.print_exc(file=sys.stdout)
    finally:
        for vm in t.vms:
            vm.cleanup()
        for d in t.disks:
            os.unlink(d)
        for f in ("mig.sock", "mig.stream", "blkdebug.conf"):
            try:
                os.unlink(os.path.join(t.tmp, f))
            except OSError:
                pass
        os.rmdir(t.tmp)
    print("TIME total %.2f s" % (time.monotonic() - t0))
    print(t.res.summary())
    return 1 if t.res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
