#!/bin/sh
# eyes_zeroresid: the residual check (underrun_check: a 64 KiB READ(10)
# through sg with a 4096-byte underrun must arrive as 61440 bytes) must
# fail when the underrun is reported as a clean completion with residual 0
# (the model's "zero-resid" fault).  The case passes only if it does, and
# the check passes again without the fault; the same for sg_basic's
# REPORT LUNS allocation-length check.
. /qlisp/lib.sh
need_disks
f0=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
host_qom_set x-fault "zero-resid 1" >/dev/null || fail "cannot arm zero-resid"
underrun_check 0 && { host_qom_set x-fault clear >/dev/null; fail "residual check passed with the residual reported as 0"; }
say "residual check caught it: $RESID_WHY"
host_qom_set x-fault clear >/dev/null
f1=$(qom_num x-stat-faults) || fail "cannot read x-stat-faults"
[ "$f1" -eq $((f0 + 2)) ] || fail "underrun and zero-resid did not both fire ($f0 -> $f1)"
underrun_check 0 || fail "without the fault: $RESID_WHY"
# sg_basic's allocation-length check: REPORT LUNS on disk A's LUN 0 (one
# LUN: 16 bytes of 4096) with the residual reported as 0
sg=$(disk_sg 0)
host_qom_set x-fault "zero-resid 1" >/dev/null || fail "cannot arm zero-resid"
got=$(sg_in_bytes "$sg" 4096 a0 00 00 00 00 00 00 00 10 00 00 00) ||
	{ host_qom_set x-fault clear >/dev/null; fail "REPORT LUNS through sg_raw failed"; }
host_qom_set x-fault clear >/dev/null
[ "$got" = 16 ] && fail "REPORT LUNS check passed with the residual reported as 0"
say "allocation-length check caught it: $got bytes said to arrive, the device sent 16"
got=$(sg_in_bytes "$sg" 4096 a0 00 00 00 00 00 00 00 10 00 00 00) || fail "REPORT LUNS through sg_raw failed"
[ "$got" = 16 ] || fail "without the fault: REPORT LUNS gave $got bytes, want 16"
check_dmesg_clean
pass "an underrun reported with residual 0 failed the residual and allocation-length checks"
