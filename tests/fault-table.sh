#!/bin/bash
# Run every fault case with qlisp and with Linux's qla1280 on the same model
# and print the table of Documentation/scsi/qlisp.rst ("Faults: qlisp and
# qla1280").  qla1280's fault_badentry run is separate and short: the driver
# spins in its interrupt handler on an unknown entry type, so that boot
# ends in a timeout.
#
# Usage: tests/fault-table.sh   (after make module qemu; takes ~15 minutes)
set -uo pipefail
tests=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$tests/.." && pwd)
export QLISP_KO=${QLISP_KO:-$top/drivers/scsi/qlisp/qlisp.ko}
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
run() { # file suite [run-vm args]
	local f=$1
	shift
	/usr/bin/python3 "$tests/run-vm.py" "$@" 2>&1 | tee -a "$res/log" |
		grep -E '^(PASS|FAIL) ' >"$res/$f"
}
run qlisp --suite qlisp-faults
run qla1280 --suite qla1280-faults
run qla1280-bad --suite qla1280-faults --case attach --case fault_badentry \
	--timeout-scale 0.25
cat "$res/qla1280-bad" >>"$res/qla1280"
# outcome CASE FILE: "pass (12 s)" or "FAIL: reason"
outcome() {
	local l
	l=$(grep -E "^(PASS|FAIL) [^/]+/$1[ :]" "$res/$2" | tail -n 1)
	case $l in
	PASS*) echo "pass ($(sed -n 's/.*(\([0-9]*\)\.[0-9]s)$/\1/p' <<<"$l") s)" ;;
	FAIL*) echo "FAIL: $(sed 's/^FAIL [^:]*: //' <<<"$l" | cut -c1-70)" ;;
	*) echo "not run" ;;
	esac
}
printf '%-16s | %-28s | %s\n' case qlisp qla1280
for c in $(sed -n 's/^\(PASS\|FAIL\) [^/]*\/\([a-z0-9_]*\).*/\2/p' "$res/qlisp" "$res/qla1280" | awk '!seen[$0]++'); do
	printf '%-16s | %-28s | %s\n' "$c" "$(outcome "$c" qlisp)" "$(outcome "$c" qla1280)"
done
