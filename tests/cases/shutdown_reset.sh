#!/bin/sh
# shutdown_reset: the guest powers off while the first adapter (hba) is in
# the middle of a re-initialisation after a firmware error.  Its .shutdown
# must wait for that re-initialisation (or stop it) and halt the chip after
# it; a shutdown that halts the chip at once and returns leaves the reset
# work to load and start the firmware again while the machine still runs.
# The host's host_shutdown check (shutdown_check in the suite) reads hba's
# fw-ready after the power-off: it must be false.  Run as the suite's last
# case: the power-off follows it.
#
# What happens, in order; each wait is one of the driver's own timeouts on
# the guest clock, with seconds to spare, not a race:
#  1. hba is removed from the PCI bus and found again by a rescan, and the
#     disk it brings back is deleted.  device_shutdown() walks the devices
#     from the last registered to the first: hba, registered again now
#     with no child that has a .shutdown, comes before hba2's disks
#     (registered when the driver was loaded), and those before hba2.
#  2. Both firmwares fail the mailbox register test (0x06) of the next
#     bring-up ("syserr-mbox N 6": the firmware halts and never answers,
#     the polled mailbox times out after 5 s): hba2's four times, hba's
#     twice.  A firmware error (0x8002) on hba2, then one on hba, starts
#     the reset work of each; the case waits until each first mailbox test
#     has failed (fault counts).  hba's re-initialisation cannot end
#     sooner than 2 x 5 s + 0.1 s after that; hba2's, which holds the
#     power-off, not sooner than 4 x 5 s + 0.7 s after its own, earlier.
#  3. The case ends and init.sh powers off (no I/O to either adapter): hba's
#     .shutdown runs a few seconds into hba's first 5 s timeout (about 4 s
#     after its firmware error, on a loaded machine).  With qlisp_stop() it
#     waits for the running work (cancel_work_sync(), chip_mutex; the work
#     stops retrying once removing is set) and halts the chip after it.
#  4. Then hba2's disks: sd's SYNCHRONIZE CACHE waits for hba2's reset work
#     (scsi_block_requests()) whatever hba's .shutdown did, so the power-off
#     comes about 10 s after hba's work has ended in any case.  A shutdown
#     that only halts the chip (the driver before qlisp_stop()) lets hba's
#     work start the firmware again in that time: fw-ready true after the
#     power-off, host_shutdown fails.
. /qlisp/lib.sh
is_qlisp || fail "shutdown_reset checks qlisp's shutdown"
driver_loaded || must load_driver
q2=/machine/peripheral/hba2
# hba: the adapter with the disk at target 0 (hba2 has 5:0 and 3:1)
hba_bdf() {
	for d in /sys/class/scsi_device/*:0:0:0; do
		[ -e "$d" ] || continue
		h=${d##*/}
		h=${h%%:*}
		[ "$(cat "/sys/class/scsi_host/host$h/proc_name" 2>/dev/null)" = "$VMT_PROC" ] || continue
		p=$(readlink -f "/sys/class/scsi_host/host$h/device/..")
		echo "${p##*/}"
		return 0
	done
	return 1
}
n=0
until bdf=$(hba_bdf) && [ "$(ls /sys/class/scsi_disk | wc -l)" -ge 3 ]; do
	n=$((n + 1))
	[ $n -lt 60 ] || fail "hba's disk 0:0 and hba2's disks did not all appear"
	sleep 1
done
# removed and found again: registered anew, at the end of the device list
echo 1 >"/sys/bus/pci/devices/$bdf/remove" || fail "cannot remove $bdf"
echo 1 >/sys/bus/pci/rescan || fail "PCI rescan failed"
n=0
until hbad=$(ls -d "/sys/bus/pci/devices/$bdf"/host*/target*/*:0:0:0 2>/dev/null) &&
	[ -e "$hbad/block" ]; do
	n=$((n + 1))
	[ $n -lt 60 ] || fail "hba's disk did not come back after the rescan"
	sleep 1
done
echo 1 >"$hbad/delete" || fail "cannot delete hba's disk"
f1=$(qom_num x-stat-faults) || fail "cannot read hba's fault count"
f2=$(host_qom_get_path $q2 x-stat-faults) || fail "cannot read hba2's fault count"
host_qom_set_path $q2 x-fault "syserr-mbox 4 6" >/dev/null || fail "cannot arm hba2"
host_qom_set x-fault "syserr-mbox 2 6" >/dev/null || fail "cannot arm hba"
host_qom_set_path $q2 x-fault system-error >/dev/null || fail "cannot post hba2's system error"
# faults_reach QOM-PATH N WHO: wait up to 4 s until the adapter counted N
# faults (its firmware error taken and its first mailbox test failed)
faults_reach() {
	n=0
	until [ "$(host_qom_get_path "$1" x-stat-faults)" -ge "$2" ] 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 40 ] || fail "$3's re-initialisation did not reach its mailbox test"
		usleep 100000
	done
}
faults_reach $q2 $((f2 + 2)) hba2
host_qom_set x-fault system-error >/dev/null || fail "cannot post hba's system error"
faults_reach "$VMT_QOM" $((f1 + 2)) hba
dmesg_since_start | grep -q "$bdf: firmware error 0x8002" ||
	fail "hba's firmware error was not taken"
host_log "hba $bdf re-initialising, hba2 too: powering off"
pass "power-off with hba re-initialising and hba2 holding the power-off"
