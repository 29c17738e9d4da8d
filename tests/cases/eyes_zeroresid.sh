#!/bin/sh
# eyes_zeroresid: the residual check (underrun_check: a 64 KiB READ(10)
# through sg with a 4096-byte underrun must arrive as 61440 bytes) must
# fail when the underrun is reported as a clean completion with residual 0
# (the model's "zero-resid" fault).  The case passes only if it does, and
# the check passes again without the fault.
. /qlisp/lib.sh
need_disks
f0=$(qom_num stat-faults) || fail "cannot read stat-faults"
host_qom_set fault "zero-resid 1" >/dev/null || fail "cannot arm zero-resid"
underrun_check 0 && { host_qom_set fault clear >/dev/null; fail "residual check passed with the residual reported as 0"; }
say "residual check caught it: $RESID_WHY"
host_qom_set fault clear >/dev/null
f1=$(qom_num stat-faults) || fail "cannot read stat-faults"
[ "$f1" -eq $((f0 + 2)) ] || fail "underrun and zero-resid did not both fire ($f0 -> $f1)"
underrun_check 0 || fail "without the fault: $RESID_WHY"
check_dmesg_clean
pass "an underrun reported with residual 0 failed the residual check"
