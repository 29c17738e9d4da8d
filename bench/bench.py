#!/usr/bin/python3
"""make bench: fio in the guest on the ISP1040 model with qlisp (also with
fast posting on, qlisp-fastpost) and with qla1280, and on QEMU's
virtio-scsi, pvscsi, megasas, lsi53c895a and the guest's scsi_debug
(delay=0) as anchors.  Every HBA has one null-co disk.

Repeats are interleaved (run 1 of every HBA, then run 2, ...); the table
shows the median IOPS per job and HBA, qlisp / qla1280 and qlisp / pvscsi,
and for the model the register reads and writes and interrupts per I/O of
the fixed-count cost jobs, and for qlisp, qla1280 and the anchors in
INSN_HBAS the guest instructions per I/O (TCG plugin bench/insn-count.c,
one vCPU): all kernel, the driver module's own code, user; the median of
--insn-repeats boots, since how completions batch follows the timing and
moves the count by some hundreds between boots.  Writes
build/bench/results.json, table.txt and chart.png.

With --profile the instruction counts also come by kernel function
(per I/O, from the same two spans): the top functions of every HBA and
side by side, in build/bench/profile.txt.

Usage: bench/bench.py [--repeats N] [--secs S] [--ios N] [--only NAME,...]
                      [--no-insn] [--insn-repeats N] [--cost JOB,...]
                      [--profile] [--sched NAME]
"""
import argparse
import bisect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "build", "bench")
DISK = [{"target": 0, "lun": 0, "size_mib": 1024, "null": True}]


def hba(name, dev, driver, irq=None, modargs=None, qom="", preload="", channel=0):
    return {"name": name, "hba": ["-device", dev + ",id=hba"], "bus": "hba.0",
            "qom": qom, "driver": driver, "modargs": modargs or [],
            "disks": DISK, "irq": irq or driver, "preload": preload,
            "channel": channel}


HBAS = [
    hba("qlisp", "isp1040", "qlisp", qom="/machine/peripheral/hba"),
    hba("qla1280", "isp1040", "qla1280", qom="/machine/peripheral/hba"),
    hba("qlisp-fastpost", "isp1040", "qlisp", qom="/machine/peripheral/hba", modargs=["fast_post=1"]),
    hba("virtio-scsi", "virtio-scsi-pci", "virtio_scsi", irq="virtio", preload="virtio_pci"),
    hba("pvscsi", "pvscsi", "vmw_pvscsi"),
    hba("megasas", "megasas", "megaraid_sas", irq="megasas", channel=2),
    hba("lsi53c895a", "lsi53c895a", "sym53c8xx", irq="sym53c8xx"),
    {"name": "scsi_debug", "hba": [], "bus": "", "qom": "", "driver": "scsi_debug",
     "modargs": ["delay=0", "dev_size_mb=256", "num_tgts=1", "max_luns=1"],
     "disks": [], "guest_disks": "0:0:256", "irq": "none"},
]
JOBS = ["randread4k_qd1", "randread4k_qd32", "randwrite4k_qd32", "read1m_qd4",
        "write1m_qd4"]
COST = ["cost_randread4k_qd1", "cost_randread4k_qd32"]
# instruction counts: both drivers on the model, and as anchors pvscsi,
# virtio-scsi and scsi_debug (no hardware at all: what the kernel's own
# block and SCSI path costs per I/O, below which no driver can go)
INSN_HBAS = ("qlisp", "qla1280", "pvscsi", "virtio-scsi", "scsi_debug")
PLUGIN = os.path.join(OUT, "insn-count.so")


def build_plugin():
    """Build bench/insn-count.c against the QEMU source make qemu used."""
    cache = os.environ.get("QLISP_CACHE", os.path.expanduser("~/.cache/qlisp"))
    srcs = [d for d in os.listdir(os.path.join(cache, "qemu-src"))
            if d.startswith("qemu-") and os.path.isdir(os.path.join(cache, "qemu-src", d))]
    if not srcs:
        return False
    inc = os.path.join(cache, "qemu-src", srcs[0], "include", "qemu")
    glib = subprocess.run(["pkg-config", "--cflags", "glib-2.0"], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.split()
    r = subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-I" + inc] + glib +
                       ["-o", PLUGIN, os.path.join(TOP, "bench", "insn-count.c")])
    return r.returncode == 0


def profile_per_io(prof, ksyms, n):
    """{function: instructions per I/O} from the plugin's per-block counts
    at three snapshots (see insn_per_io) and the guest's text symbols."""
    syms = sorted(ksyms)
    addrs = [a for a, _ in syms]
    out = {}
    for ln in open(prof):
        w = ln.split()
        if len(w) != 4:
            continue
        va = int(w[0], 16)
        s0, s1, s2 = (int(x) for x in w[1:])
        per = ((s2 - s1) - (s1 - s0)) / n
        i = bisect.bisect_right(addrs, va) - 1
        name = syms[i][1] if i >= 0 and va else "?"
        out[name] = out.get(name, 0.0) + per
    return out


def insn_per_io(h, args, tmp, job):
    """Guest instructions per I/O of @job, from one boot: the guest runs the
    job twice, with BENCH_IOS/2 and 3*BENCH_IOS/2 I/Os, and the plugin
    snapshots its counters before, between and after; the difference of the
    two spans over the difference of the I/O counts cancels fio's start and
    exit.  Returns (kernel, user, driver) per I/O, or None; driver: the
    instructions in the driver module's own code (part of kernel)."""
    outf = os.path.join(tmp, "insn-%s-%s" % (h["name"], job))
    rows = run_one(h, args, tmp, "insn-%s" % job, jobs=job, plugin_out=outf)
    r1, r2 = rows.get(job + ":p1"), rows.get(job + ":p2")
    if not (r1 and r2 and os.path.exists(outf)):
        return None
    n = int(r2["ios"]) - int(r1["ios"])
    if n <= 0:
        return None
    if args.profile and rows.get("ksyms") and os.path.exists(outf + ".prof"):
        args.profiles.setdefault("%s %s" % (job[5:], h["name"]), []).append(
            profile_per_io(outf + ".prof", rows["ksyms"], n))
    lines = open(outf).read().splitlines()
    kv = dict(x.split("=", 1) for x in lines[0].split())
    snaps = [[int(v) for v in x.split(":")] for x in kv.get("snaps", "").split(",") if x]
    if len(snaps) != 3:
        return None
    lo, hi = rows.get("module", (0, 0))
    for s in snaps:
        s.append(0)
    for ln in lines[1:]:
        w = ln.split()
        if len(w) == 4 and w[0] == "modpage" and lo <= int(w[2], 16) < hi:
            snaps[int(w[1])][2] += int(w[3])
    return tuple(((snaps[2][i] - snaps[1][i]) - (snaps[1][i] - snaps[0][i])) / n
                 for i in (0, 1, 2))


def suite_file(h, args, tmp, ios=None, jobs=None, plugin_out=None):
    env = "BENCH_SECS=%d:BENCH_IOS=%d:BENCH_IRQ=%s" % (args.secs, ios or args.ios, h["irq"])
    if jobs:
        env += ":BENCH_JOBS=" + jobs
    if h.get("preload"):
        env += ":BENCH_PRELOAD=" + h["preload"]
    if args.sched:
        env += ":BENCH_SCHED=" + args.sched
    if h.get("channel"):
        env += ":DISK_CHANNEL=%d" % h["channel"]
    if plugin_out:
        env += ":BENCH_SNAP=1"
        if args.profile:
            env += ":BENCH_PROF=1"
    suite = {
        "description": "bench on " + h["name"],
        "hba": h["hba"], "bus": h["bus"], "qom": h["qom"], "driver": h["driver"],
        "modargs": h["modargs"], "proc_name": h["driver"], "disks": h["disks"],
        "cases": ["bench"], "case_timeout": 60 + 12 * (args.secs + 2) + 120,
        "kernel_args": ["vmt_env=" + env], "guest": {"dmesg_allow": ""},
    }
    if "guest_disks" in h:
        suite["guest_disks"] = h["guest_disks"]
    if plugin_out:
        suite["insn_snap"] = True
        # one TCG thread: the plugin's inline counters are not atomic; and
        # one vCPU: with two, round-robin TCG lets one vCPU spin on a lock
        # the other holds for a whole time slice, time-proportional noise
        suite["accel"] = "tcg,thread=single"
        suite["smp"] = 1
        suite["extra_args"] = ["-plugin", "%s,out=%s%s" % (
            PLUGIN, plugin_out, ",prof=%s.prof" % plugin_out if args.profile else "")]
    path = os.path.join(tmp, "bench-%s.py" % h["name"])
    with open(path, "w") as f:
        f.write("SUITE = %r\n" % suite)
    return path


def run_one(h, args, tmp, rep, **kw):
    res = os.path.join(tmp, "res-%s" % rep)
    cmd = [sys.executable, os.path.join(TOP, "tests", "run-vm.py"), "--no-build",
           "--suite", suite_file(h, args, tmp, **kw), "--results", res]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    chan = os.path.join(res, "bench-" + h["name"], "channel.log")
    rows = {}
    if os.path.exists(chan):
        for line in open(chan):
            # "qlisp 45056 0 - Live 0xffffffffc0a1b000 (OE)" from /proc/modules
            m = re.search(r"@@LOG bench: bench: module \S+ (\d+) .* (0x[0-9a-f]+)", line)
            if m:
                rows["module"] = (int(m.group(2), 16), int(m.group(2), 16) + int(m.group(1)))
                continue
            m = re.search(r"@@LOG bench: bench: ksym ([0-9a-f]+) (\S+)", line)
            if m:
                rows.setdefault("ksyms", []).append((int(m.group(1), 16), m.group(2)))
                continue
            m = re.search(r"@@LOG bench: bench: (job=.*)$", line.strip())
            if not m:
                continue
            kv = dict(x.split("=", 1) for x in m.group(1).split() if "=" in x)
            key = kv["job"]
            if kv.get("pass", "0") != "0":
                key += ":p" + kv["pass"]
            rows[key] = kv
    if not rows:
        print("bench: %s run %s produced nothing:\n%s" % (h["name"], rep, p.stdout[-1500:]),
              file=sys.stderr)
    return rows


# areas of the kernel for the profile's summary, by function name (the
# first that matches); rough, but the same for every HBA
AREAS = [
    ("HBA driver", r"\[(qlisp|qla1280|scsi_debug|vmw_pvscsi|virtio_scsi|megaraid_sas|sym53c8xx)\]"),
    ("SCSI midlayer, sd", r"\[(scsi_mod|sd_mod)\]|^scsi_"),
    ("scheduler, context switch",
     r"schedule|psi_|load_avg|switch_to|pick_next|enqueue|dequeue|update_curr|wake_up|"
     r"ttwu|finish_task_switch|rcu_note_context|update_rq_clock|sched_clock|select_task|"
     r"check_preempt|resched|set_next_entity|put_prev|min_vruntime|__calc_delta|reweight|"
     r"account_|cpuacct|idle|update_cfs|place_entity|hrtick|tick_|clear_buddies|"
     r"prepare_task_switch|__enqueue|__dequeue|wakeup|cgroup"),
    ("workqueue (kblockd)", r"work|kthread|wq_|kblockd"),
    ("interrupt entry, exit", r"interrupt|irq|ioapic|apic|fast_mix|error_entry|_randomness|eoi"),
    ("block layer, I/O scheduler",
     r"^blk_|^__blk|^bio|^__bio|^dd_|^__dd|sbitmap|^elv|^rq_|deadline|plug|^part_|^bdev|"
     r"^submit_bio|^update_io_ticks|^ktime"),
    ("DMA mapping", r"dma|_sg|^sg_"),
    ("aio, system call",
     r"aio|io_|^__x64|syscall|entry_|^fget|^fput|^__fget|^__fdget|blkdev|iov|get_user_pages|"
     r"read_events|ioctx|^percpu_ref|^exit_to_user|^rw_verify|^security|^filemap"),
    ("memory, slab, copies", r"kmem_cache|slab|page|^kfree|alloc|^memset|^memcpy|free"),
    ("locks, RCU", r"spin|rcu|lock|preempt"),
]


def area_of(fn):
    for name, rx in AREAS:
        if re.search(rx, fn):
            return name
    return "other"


def write_profile(profiles, cost, top=40):
    """profile.txt: per cost job, the functions with the most instructions
    per I/O on any HBA, side by side."""
    lines = []
    for j in cost:
        keys = [k for k in profiles if k.startswith(j[5:] + " ")]
        if not keys:
            continue
        names = [k.split(" ", 1)[1] for k in keys]
        funcs = set()
        for k in keys:
            funcs |= set(sorted(profiles[k], key=profiles[k].get, reverse=True)[:top])
        by_area = {k: {} for k in keys}
        for k in keys:
            for fn, v in profiles[k].items():
                a = area_of(fn)
                by_area[k][a] = by_area[k].get(a, 0.0) + v
        lines.append("kernel instructions per I/O by area, %s" % j[5:])
        lines.append("%-40s" % "area" + "".join("%12s" % n[:11] for n in names))
        for a in [a for a, _ in AREAS] + ["other"]:
            lines.append("%-40s" % a + "".join(
                "%12.0f" % by_area[k].get(a, 0.0) for k in keys))
        lines.append("")
        lines.append("kernel instructions per I/O by function, %s" % j[5:])
        lines.append("%-40s" % "function" + "".join("%12s" % n[:11] for n in names))
        lines.append("%-40s" % "(all)" + "".join(
            "%12.0f" % sum(profiles[k].values()) for k in keys))
        for fn in sorted(funcs, key=lambda f: -max(profiles[k].get(f, 0) for k in keys)):
            lines.append("%-40s" % fn[:40] + "".join(
                "%12.0f" % profiles[k].get(fn, 0) for k in keys))
        lines.append("")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(OUT, "profile.json"), "w") as f:
        json.dump(profiles, f, indent=0, sort_keys=True)
    with open(os.path.join(OUT, "profile.txt"), "w") as f:
        f.write(text + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--ios", type=int, default=20000)
    ap.add_argument("--only", help="comma-separated HBA names")
    ap.add_argument("--no-insn", dest="insn", action="store_false",
                    help="skip the instruction counts (TCG plugin)")
    ap.add_argument("--sched", help="the disks' I/O scheduler (e.g. none; "
                    "default: the kernel's, mq-deadline for one hardware queue)")
    ap.add_argument("--insn-repeats", type=int, default=1,
                    help="boots per instruction count (median; default 1)")
    ap.add_argument("--cost", help="comma-separated cost jobs to count (default: all)")
    ap.add_argument("--profile", action="store_true",
                    help="also count instructions by kernel function")
    args = ap.parse_args()
    args.profiles = {}
    cost = [j for j in COST if not args.cost or j in args.cost.split(",")]
    hbas = [h for h in HBAS if not args.only or h["name"] in args.only.split(",")]
    os.makedirs(OUT, exist_ok=True)
    data = {h["name"]: [] for h in hbas}
    with tempfile.TemporaryDirectory(prefix="qlisp-bench-") as tmp:
        for rep in range(1, args.repeats + 1):
            for h in hbas:
                rows = run_one(h, args, tmp, rep)
                data[h["name"]].append(rows)
                print("bench: run %d %-12s %s" % (rep, h["name"], " ".join(
                    "%s=%s" % (j, rows[j]["iops"]) for j in JOBS if j in rows)), flush=True)
        insn = {}
        if args.insn and build_plugin():
            # interleaved like the timed runs; the medians are reported
            counts = {}
            for rep in range(args.insn_repeats):
                for h in hbas:
                    if h["name"] not in INSN_HBAS:
                        continue    # (qlisp-fastpost: its counters suffice)
                    for j in cost:
                        key = "%s %s" % (j[5:], h["name"])
                        r = insn_per_io(h, args, tmp, j)
                        if r:
                            counts.setdefault(key, []).append(r)
                        print("bench: instructions per I/O, %s: %s" % (key, r), flush=True)
            insn = {k: tuple(statistics.median(x[i] for x in v) for i in range(3))
                    for k, v in counts.items()}
        elif args.insn:
            print("bench: could not build the instruction-count plugin", file=sys.stderr)
    # per function, the median over the repeats (0 where a run lacks it)
    profiles = {k: {fn: statistics.median(p.get(fn, 0.0) for p in v)
                    for fn in set().union(*v)}
                for k, v in args.profiles.items()}
    del args.profiles
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"args": vars(args), "runs": data, "insn_per_io": insn}, f, indent=1)
    if profiles:
        write_profile(profiles, cost)

    def med(name, job, key="iops"):
        vals = [float(r[job][key]) for r in data.get(name, []) if job in r and r[job].get(key, "-") != "-"]
        return statistics.median(vals) if vals else None

    lines = []
    names = [h["name"] for h in hbas]
    lines.append("median IOPS of %d interleaved runs (%d s each, null-co disk, TCG, "
                 "I/O scheduler %s)" % (args.repeats, args.secs, args.sched or "default"))
    lines.append("%-18s" % "job" + "".join("%15s" % n for n in names) +
                 "  qlisp/qla1280  qlisp/pvscsi")
    for j in JOBS:
        row = "%-18s" % j + "".join("%15s" % ("%.0f" % med(n, j) if med(n, j) else "-")
                                    for n in names)
        q, a, p = med("qlisp", j), med("qla1280", j), med("pvscsi", j)
        row += "  %13s" % ("%.2f" % (q / a) if q and a else "-")
        row += "  %12s" % ("%.2f" % (q / p) if q and p else "-")
        lines.append(row)
    lines.append("")
    lines.append("per I/O on the model (fixed %d I/Os, medians): register reads, "
                 "register writes, interrupts;" % args.ios)
    lines.append("guest instructions per I/O (one vCPU): kernel, of which the driver "
                 "module's own code, and user")
    lines.append("%-31s %10s %10s %8s %14s %13s %11s" % (
        "job / driver", "reg reads", "reg writes", "irqs", "kernel insns", "driver insns",
        "user insns"))
    model = [h["name"] for h in hbas if h["qom"]]
    rows = model + [h["name"] for h in hbas
                    if not h["qom"] and any("%s %s" % (j[5:], h["name"]) in insn for j in cost)]
    for j in cost:
        for n in rows:
            per = []
            for key in ("regr", "regw", "irqs"):
                vals = [float(r[j][key]) / float(r[j]["ios"]) for r in data[n]
                        if j in r and r[j].get(key) and float(r[j]["ios"]) > 0]
                per.append(statistics.median(vals) if vals else None)
            ins = insn.get("%s %s" % (j[5:], n))
            lines.append("%-31s %10s %10s %8s %14s %13s %11s" % ("%s %s" % (j[5:], n), *[
                "%.2f" % v if v is not None else "-" for v in per],
                *["%.0f" % ins[i] if ins else "-" for i in (0, 2, 1)]))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(OUT, "table.txt"), "w") as f:
        f.write(text + "\n")
    if subprocess.run(["dpkg-query", "-W", "python3-matplotlib"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        subprocess.run([os.path.join(TOP, "scripts", "apt-setup.sh")])
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3-matplotlib"],
                       stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: no matplotlib (python3-matplotlib): no chart", file=sys.stderr)
        return 0
    fig, axes = plt.subplots(1, len(JOBS), figsize=(3.2 * len(JOBS), 4))
    for ax, j in zip(axes, JOBS):
        vals = [med(n, j) or 0 for n in names]
        colors = ["#c0392b" if n == "qlisp" else "#2c3e50" if n == "qla1280" else "#95a5a6"
                  for n in names]
        ax.bar(range(len(names)), vals, color=colors)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        ax.set_title(j, fontsize=9)
        ax.set_ylabel("IOPS (median)", fontsize=8)
    fig.suptitle("qlisp bench: QEMU TCG, null-co disk, %d runs" % args.repeats, fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "chart.png"), dpi=90)
    print("bench: wrote %s/{results.json,table.txt,chart.png}" % OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
