#!/bin/sh
# /init of the qlisp test guest (busybox sh).
#
# Kernel command line (all optional except vmt_cases):
#   vmt_suite=NAME        suite name, for messages
#   vmt_cases=a,b,c       cases to run, in order (tests/cases/NAME.sh)
#   vmt_driver=MOD        HBA driver module the cases load
#   vmt_modargs=A:B       module parameters for it, ':'-separated
#   vmt_proc=NAME         proc_name of its scsi_host (default: vmt_driver)
#   vmt_qom=PATH          QOM path of the HBA for host_qom_get/set
#   vmt_disks=T:L:MIB,... the disks the runner attached, in order
#   vmt_env=K=V:K=V       case parameters to export (see lib.sh)
# Protocol on /dev/ttyS1 (see lib.sh): @@START, @@RESULT, @@DONE.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /tmp /mnt
mount -t tmpfs -o size=600m tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
echo 1 >/proc/sys/kernel/sysrq 2>/dev/null   # the runner sends sysrq w/l on a timeout

# Kernel parameters -> VMT_* shell variables.
for arg in $(cat /proc/cmdline); do
	case $arg in
	vmt_*=*)
		k=${arg%%=*}
		v=${arg#*=}
		eval "VMT_$(echo "${k#vmt_}" | tr a-z A-Z)=\$v"
		;;
	esac
done
export VMT_SUITE VMT_CASES VMT_DRIVER VMT_MODARGS VMT_PROC VMT_QOM VMT_DISKS VMT_ENV
: "${VMT_PROC:=$VMT_DRIVER}"
export VMT_PROC

# Host channel: raw, no echo, kept open on fd 3 for all cases.
if ! stty -F /dev/ttyS1 raw -echo; then
	echo "qlisp-init: stty on /dev/ttyS1 failed" >&2
fi
exec 3<>/dev/ttyS1

. /qlisp/lib.sh

say "init: suite=$VMT_SUITE driver=$VMT_DRIVER cases=$VMT_CASES disks=$VMT_DISKS kernel=$(uname -r)"
chan_send "@@BOOTED $(cut -d' ' -f1 /proc/uptime)"

# Generic SCSI upper layers; the HBA driver itself is loaded by the cases.
modprobe -q sd_mod || say "init: modprobe sd_mod failed"
modprobe -q sg || say "init: modprobe sg failed"

# reap_case CASE SID: kill what the case left running in its session SID
# (its own, from setsid) and wait, up to 60 s, until it is gone, I/O
# included; say what it was.  A case that ends with jobs still running is
# a test defect: the next case would share the disks with them.
# case_procs SID: the processes of session SID, as name[pid] ...
case_procs() {
	_rsid=$1
	for _st in /proc/[0-9]*/stat; do
		_l=$(cat "$_st" 2>/dev/null) || continue
		_c=${_l#* (}
		_c=${_c%%) *}
		# fields after the name: state ppid pgrp session
		# shellcheck disable=SC2086
		set -- ${_l##*) }
		[ "$4" = "$_rsid" ] && printf '%s[%s] ' "$_c" "${_l%% *}"
	done
}
reap_case() {
	_left=$(case_procs "$2")
	[ -n "$_left" ] || return 0
	say "case $1 left running: $_left; killing them"
	chan_send "@@LOG case $1 left running: $_left"
	kill -KILL -- "-$2" 2>/dev/null
	_rw=0
	while [ -n "$(case_procs "$2")" ] && [ $_rw -lt 600 ]; do
		usleep 100000
		_rw=$((_rw + 1))
	done
	_left=$(case_procs "$2")
	[ -z "$_left" ] || say "case $1: still running after 60 s: $_left"
	# the host channel's lock, if a killed job held it
	rm -rf /tmp/chan.lock /tmp/seed.lock
}
seq=0
for c in $(echo "$VMT_CASES" | tr ',' ' '); do
	seq=$((seq + 1))
	tag="$c.$seq"
	rm -f /tmp/result
	echo "qlisp: case-start $tag" >/dev/kmsg
	chan_send "@@START $c"
	say "=== case $c"
	if [ -f "/qlisp/cases/$c.sh" ]; then
		# in a session of its own, so that what it left running (a
		# background fio after a fail) is killed before the next case
		(cd /tmp && CASE=$c CASE_TAG=$tag exec setsid sh "/qlisp/cases/$c.sh") &
		cpid=$!
		wait $cpid
		rc=$?
		reap_case "$c" "$cpid"
		if [ ! -f /tmp/result ]; then
			chan_send "@@RESULT $c FAIL exited with status $rc without a verdict"
		fi
	else
		chan_send "@@RESULT $c FAIL no such case in the guest"
	fi
	echo "qlisp: case-end $tag" >/dev/kmsg
done
sync
# (whether the HBA still has its driver: the host checks what its
# shutdown left of the chip, see run-vm.py's shutdown_check)
if hba_host >/dev/null; then chan_send "@@DONE bound"; else chan_send "@@DONE unbound"; fi
say "init: all cases done, powering off"
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
