#!/bin/bash
# Static gates for the driver and the model.  Each gate prints PASS/FAIL;
# the last line is "N passed, N failed".
#   W=1 build warnings, sparse (C=2), checkpatch --strict, kernel-doc,
#   coccicheck, QEMU's checkpatch on the device model, the model built
#   against Debian trixie's QEMU 10.0.
# --quick (make check-quick): without the two slow gates, coccicheck and the
# trixie build; it says so, and make check always runs them.
set -uo pipefail
quick=0
[ "${1:-}" = --quick ] && quick=1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
src=(drivers/scsi/qlisp/qlisp_main.c drivers/scsi/qlisp/qlisp_dma.c
     drivers/scsi/qlisp/qlisp.h drivers/scsi/qlisp/qlisp_compat.h)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

gate() { # name command...
	local name=$1
	shift
	if "$@" >"$log/$name" 2>&1; then
		echo "PASS static/$name"
		pass=$((pass + 1))
	else
		echo "FAIL static/$name"
		sed 's/^/    /' "$log/$name" | tail -n 40
		fail=$((fail + 1))
	fi
}

dpkg-query -W -f='${Status}' sparse 2>/dev/null | grep -q 'ok installed' || {
	scripts/apt-setup.sh
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sparse >/dev/null
}
KDIR=${KDIR:-$(scripts/kernel-headers.sh)}
kdoc=$(ls /usr/lib/linux-kbuild-*/scripts/kernel-doc 2>/dev/null | tail -n 1)

# Warnings are what these builds are about: any compiler or sparse
# diagnostic fails the gate.
build_clean() { # extra make args...
	make -s -C "$KDIR" M="$top/drivers/scsi/qlisp" CONFIG_SCSI_QLISP=m clean >/dev/null
	make -C "$KDIR" M="$top/drivers/scsi/qlisp" CONFIG_SCSI_QLISP=m "$@" modules \
		>"$log/build.out" 2>&1 || { cat "$log/build.out"; return 1; }
	cat "$log/build.out"
	! grep -E 'warning:|error:|sparse: ' "$log/build.out" | grep -v 'Skipping BTF'
}
gate build-W1 build_clean W=1
# sparse must really have run on both files (an unusable sparse makes
# kbuild skip the check quietly)
sparse_clean() {
	build_clean C=2 CHECK="sparse -Wbitwise -Wcast-to-as -Wdefault-bitfield-sign" &&
		[ "$(grep -c '^  CHECK .*qlisp_\(main\|dma\)\.c' "$log/build.out")" -eq 2 ]
}
gate sparse sparse_clean
gate checkpatch scripts/checkpatch.sh "${src[@]}"
gate kernel-doc bash -c "out=\$(perl '$kdoc' -none ${src[*]} 2>&1 || true); echo \"\$out\"; [ -z \"\$out\" ]"
# coccicheck: the kernel's semantic patches (report mode) on the driver,
# from Debian's linux-source-6.1 and Debian's coccinelle.  Any report fails.
dpkg-query -W -f='${Status}' coccinelle 2>/dev/null | grep -q 'ok installed' || {
	scripts/apt-setup.sh
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coccinelle >/dev/null
}
cocci() {
	local ksrc out
	ksrc=$(tests/kdebug/build-kernel.sh --source-only | sed -n 's/^SRC=//p')
	[ -f "$ksrc/scripts/coccicheck" ] || { echo "no kernel source"; return 1; }
	out=$(make -s -C "$ksrc" coccicheck MODE=report M="$top/drivers/scsi/qlisp" 2>&1) ||
		{ echo "$out" | tail -n 20; return 1; }
	# a report names a file and line of the driver; the rest is progress.
	# spatch must really have run (one run per semantic patch): a missing
	# or broken spatch reports nothing and would read as clean.
	local runs
	runs=$(printf '%s\n' "$out" | grep -c '^/usr/bin/spatch')
	echo "spatch runs: $runs"
	[ "$runs" -gt 0 ] || { echo "coccicheck ran no spatch"; echo "$out" | tail -n 20; return 1; }
	! printf '%s\n' "$out" | grep -E 'qlisp/[a-z_]+\.[ch]:[0-9]+'

}
[ $quick = 1 ] || gate coccicheck cocci
# QEMU's checkpatch comes with the QEMU source emu/build-qemu.sh unpacks;
# without it the gate fails (it is never skipped)
qsrc=$(ls -d "${QLISP_CACHE:-$HOME/.cache/qlisp}"/qemu-src/qemu-7.2* 2>/dev/null | head -n1)
qemu_checkpatch() {
	[ -n "$qsrc" ] && [ -f "$qsrc/scripts/checkpatch.pl" ] ||
		{ echo "no QEMU source with scripts/checkpatch.pl (run emu/build-qemu.sh)"; return 1; }
	perl "$qsrc/scripts/checkpatch.pl" --no-tree \
		--file emu/hw/scsi/isp1040.c emu/hw/scsi/isp1040-compat.h \
		emu/hw/scsi/isp-regs.h
}
gate qemu-checkpatch qemu_checkpatch
# The model (with emu/hw/scsi/isp1040-compat.h) against trixie's QEMU 10.0:
# configured once and cached, then only the model's object, with -Werror.
if [ $quick = 1 ]; then
	echo "static: --quick: coccicheck and qemu10-model not run (make check runs them)"
else
	gate qemu10-model env QEMU_RELEASE=trixie emu/build-qemu.sh --model-only
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
