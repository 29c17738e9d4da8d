#!/bin/bash
# make demo: boot the guest under the ISP1040 model with two disks, load
# qlisp, and show what it sees.  Needs the module (make) and QEMU (make qemu).
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
tests=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$tests/.." && pwd)
results=${QLISP_RESULTS:-/tmp/qlisp-results}
ko=${QLISP_KO:-$top/drivers/scsi/qlisp/qlisp.ko}
[ -f "$ko" ] || { echo "demo: $ko missing: run make first" >&2; exit 1; }
for p in python3 seabios qemu-system-data; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || {
		"$top/scripts/apt-setup.sh"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
	}
done
/usr/bin/python3 "$tests/run-vm.py" --suite demo --ko "$ko" --results "$results" >"$results.demo.log" 2>&1
rc=$?
grep -a '^demo' "$results/demo/console.log" | sed 's/^demo: //; s/^demo\$ /$ /'
tail -n 2 "$results.demo.log"
exit $rc
