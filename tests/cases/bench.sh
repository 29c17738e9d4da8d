#!/bin/sh
# bench: fio jobs on disk A for make bench (bench/bench.py).  Not a test:
# it reports numbers, one "@@LOG bench: ..." line per job, and fails only if
# a job fails.  Parameters (vmt_env): BENCH_SECS (runtime per timed job),
# BENCH_IOS (I/O count of the fixed-count cost jobs), BENCH_JOBS (only
# these jobs), BENCH_IRQ (the HBA's name in /proc/interrupts).
#   timed jobs: randread 4k QD1/QD32, randwrite 4k QD32, read/write 1M QD4
#   cost jobs:  randread 4k QD1/QD32 with a fixed I/O count, with the
#               model's register and interrupt counters (isp1040 only)
. /qlisp/lib.sh
# BENCH_PRELOAD: a module the driver needs first (virtio_pci for virtio_scsi)
[ -n "${BENCH_PRELOAD:-}" ] && { modprobe "$BENCH_PRELOAD" || fail "modprobe $BENCH_PRELOAD"; }
need_disks
# Until the kernel's random pool is initialised, fio's getrandom() makes the
# kernel generate jitter entropy, a busy loop that would land in the first
# job; wait for it here (reading /dev/random blocks until then).
dd if=/dev/random of=/dev/null bs=1 count=1 2>/dev/null
dev=$(disk_sd 0)
blk=${dev#/dev/}
# BENCH_SCHED: the disk's I/O scheduler (default: the kernel's choice)
if [ -n "${BENCH_SCHED:-}" ]; then
	echo "$BENCH_SCHED" >"/sys/block/$blk/queue/scheduler" ||
		fail "cannot set scheduler $BENCH_SCHED"
fi
host_log "bench: scheduler $(cat "/sys/block/$blk/queue/scheduler")"
secs=${BENCH_SECS:-5}
nios=${BENCH_IOS:-20000}
# model counters, if the HBA is the isp1040 model
counters() {
	if [ -n "$VMT_QOM" ] && c=$(model_counters 2>/dev/null); then
		echo "$c"
	else
		echo "- - - -"
	fi
}
ios() { awk '{print $1 + $5}' "/sys/block/$blk/stat"; }
intr() { # interrupts of the HBA's IRQ line(s), all CPUs
	awk -v d="$1" '$0 ~ d { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts
}
# BENCH_SNAP: instruction counting (bench/insn-count.c): each cost job runs
# twice, with BENCH_IOS/2 and 3*BENCH_IOS/2 I/Os, between counter snapshots;
# the difference of the two spans cancels fio's start and exit
snap() { host_request "@@QMP snap" >/dev/null || fail "no counter snapshot"; }
# BENCH_IRQ: the HBA's name in /proc/interrupts (default: the driver's)
irqname=${BENCH_IRQ:-$VMT_DRIVER}
run_job() { # name kind(timed|cost) rw bs qd
	c0=$(counters)
	i0=$(ios)
	q0=$(intr "$irqname")
	if [ "$2" = timed ]; then
		lim="--time_based --runtime=$secs --ramp_time=1"
	else
		lim="--number_ios=$nios"
	fi
	# shellcheck disable=SC2086
	/usr/bin/fio --name="$1" --filename="$dev" --ioengine=libaio --direct=1 \
		--rw="$3" --bs="$4" --iodepth="$5" $lim --size=512m --norandommap \
		--randrepeat=0 --output-format=terse --terse-version=3 >/tmp/bench.out 2>&1 ||
		{ cat /tmp/bench.out; fail "fio $1 failed"; }
	i1=$(ios)
	q1=$(intr "$irqname")
	c1=$(counters)
	# terse v3: 8 read iops, 49 write iops
	iops=$(awk -F';' 'NF > 50 { print $8 + $49; exit }' /tmp/bench.out)
	[ -n "$iops" ] || { cat /tmp/bench.out; fail "no fio result for $1"; }
	set -- $c0 $c1
	if [ "$1" = - ]; then
		model="-"
	else
		model="regr=$(($5 - $1)) regw=$(($6 - $2)) irqs=$(($7 - $3)) cmds=$(($8 - $4))"
	fi
	host_log "bench: job=$job kind=$kind pass=${pass:-0} iops=$iops ios=$((i1 - i0)) guest_irqs=$((q1 - q0)) $model"
	say "bench $job: $iops IOPS, $((i1 - i0)) I/Os, $model"
}
for spec in randread4k_qd1:timed:randread:4k:1 randread4k_qd32:timed:randread:4k:32 \
	randwrite4k_qd32:timed:randwrite:4k:32 read1m_qd4:timed:read:1m:4 \
	write1m_qd4:timed:write:1m:4 cost_randread4k_qd1:cost:randread:4k:1 \
	cost_randread4k_qd32:cost:randread:4k:32; do
	job=${spec%%:*}
	# BENCH_JOBS: run only these (comma-separated job names)
	case ,${BENCH_JOBS:-$job}, in *,$job,*) ;; *) continue ;; esac
	rest=${spec#*:}
	kind=${rest%%:*}
	rest=${rest#*:}
	if [ "$kind" = cost ] && [ -n "${BENCH_SNAP:-}" ]; then
		# where the driver's code is: its own share of the instructions
		host_log "bench: module $(grep "^$VMT_DRIVER " /proc/modules)"
		# BENCH_PROF: the kernel's text symbols, for the profile by
		# function (bench.py --profile); once per boot
		if [ -n "${BENCH_PROF:-}" ] && [ -z "${ksyms_sent:-}" ]; then
			awk '$2 ~ /^[tTwW]$/ { print "@@LOG bench: bench: ksym " $1 " " $3 $4 }' \
				/proc/kallsyms >&3
			ksyms_sent=1
		fi
		full=${BENCH_IOS:-20000}
		snap
		for pass in 1 2; do
			nios=$((full * (2 * pass - 1) / 2))
			# shellcheck disable=SC2046
			run_job "$job" "$kind" $(echo "$rest" | tr ':' ' ')
			snap
		done
		pass=
		continue
	fi
	# shellcheck disable=SC2046
	run_job "$job" "$kind" $(echo "$rest" | tr ':' ' ')
done
pass "bench jobs done"
