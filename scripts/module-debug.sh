#!/bin/bash
# Build qlisp.ko for the debug guest kernel (tests/kdebug/build-kernel.sh).
# The sources are copied to the cache first so that this build does not
# overwrite the objects of the normal one in drivers/scsi/qlisp.
# Prints the path of the module on stdout.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$("$top/tests/kdebug/build-kernel.sh" | sed -n 's/^KDIR=//p')
[ -n "$kdir" ] || { echo "module-debug: no debug kernel" >&2; exit 1; }
mod=${QLISP_CACHE:-$HOME/.cache/qlisp}/kdebug/qlisp-mod
mkdir -p "$mod"
for f in "$top"/drivers/scsi/qlisp/{Makefile,*.c,*.h}; do
	cmp -s "$f" "$mod/${f##*/}" || cp "$f" "$mod/"
done
make -s -C "$kdir" M="$mod" CONFIG_SCSI_QLISP=m W=1 modules >&2
echo "$mod/qlisp.ko"
