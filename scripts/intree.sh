#!/bin/bash
# Put qlisp into a kernel source tree as an in-tree driver and build it =m
# with W=1.
#
# Usage: scripts/intree.sh [--no-build] [KSRC]
#   KSRC  a kernel source tree to modify in place.  Default: a hard-linked
#         copy of Debian's linux-source-6.1 (the one tests/kdebug unpacks)
#         under ${QLISP_CACHE:-~/.cache/qlisp}/intree/linux.
# It copies drivers/scsi/qlisp and Documentation/scsi/qlisp.rst, adds the
# Kconfig, Makefile, MAINTAINERS and Documentation/scsi/index.rst hunks,
# prints them as a patch (intree.patch next to the tree), then configures
# x86_64_defconfig + SCSI_QLISP=m in a separate O= directory and builds
# drivers/scsi/qlisp/qlisp.ko with W=1; any warning fails.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
top=$(cd "$(dirname "$0")/.." && pwd)
build=1
[ "${1:-}" = --no-build ] && { build=0; shift; }
cache=${QLISP_CACHE:-$HOME/.cache/qlisp}/intree
log() { printf 'intree: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [ -n "${1:-}" ]; then
	ksrc=$(cd "$1" && pwd)
else
	orig=${QLISP_CACHE:-$HOME/.cache/qlisp}/kdebug/src
	if [ ! -f "$orig/Makefile" ]; then
		# the debug kernel recipe fetches and unpacks linux-source
		"$top/tests/kdebug/build-kernel.sh" >/dev/null
	fi
	ksrc=$cache/linux
	rm -rf "$ksrc"
	mkdir -p "$cache"
	cp -al "$orig" "$ksrc"
	# the pristine files the hunks touch, for the patch
	rm -rf "$cache/a"
	mkdir -p "$cache/a/drivers/scsi" "$cache/a/Documentation/scsi"
	cp "$orig/MAINTAINERS" "$cache/a/"
	cp "$orig/drivers/scsi/Kconfig" "$orig/drivers/scsi/Makefile" "$cache/a/drivers/scsi/"
	cp "$orig/Documentation/scsi/index.rst" "$cache/a/Documentation/scsi/"
fi
[ -f "$ksrc/drivers/scsi/Kconfig" ] || die "$ksrc is not a kernel tree"

# edit FILE: replace it by a copy first (the tree may be hard-linked)
own() { cp "$1" "$1.own" && mv "$1.own" "$1"; }

# 1. the driver and its documentation
rm -rf "$ksrc/drivers/scsi/qlisp"
mkdir -p "$ksrc/drivers/scsi/qlisp"
cp "$top"/drivers/scsi/qlisp/{Kconfig,Makefile,*.c,*.h} "$ksrc/drivers/scsi/qlisp/"
cp "$top/Documentation/scsi/qlisp.rst" "$ksrc/Documentation/scsi/"

# 2. Kconfig: after SCSI_QLOGIC_1280, the other driver of these chips
k=$ksrc/drivers/scsi/Kconfig
if ! grep -q 'drivers/scsi/qlisp/Kconfig' "$k"; then
	own "$k"
	awk 'inblk && /^(config|source|menu|endmenu|if|endif|comment) / {
		print "source \"drivers/scsi/qlisp/Kconfig\"\n"; inblk = 0 }
	     { print }
	     /^config SCSI_QLOGIC_1280$/ { inblk = 1 }' \
		"$k" >"$k.new" && mv "$k.new" "$k"
	grep -q 'drivers/scsi/qlisp/Kconfig' "$k" || die "Kconfig hunk did not apply"
fi
# 3. Makefile
m=$ksrc/drivers/scsi/Makefile
if ! grep -q 'CONFIG_SCSI_QLISP' "$m"; then
	own "$m"
	sed -i 's|^\(obj-$(CONFIG_SCSI_QLOGIC_1280)\t*+= qla1280.o.*\)$|\1\nobj-$(CONFIG_SCSI_QLISP)\t+= qlisp/|' "$m"
	grep -q 'CONFIG_SCSI_QLISP' "$m" || die "Makefile hunk did not apply"
fi
# 4. MAINTAINERS, in order before the QLA1280 entry
mt=$ksrc/MAINTAINERS
if ! grep -q '^QLOGIC ISP1020/1040 SCSI DRIVER (QLISP)' "$mt"; then
	own "$mt"
	awk '/^QLOGIC QLA1280 SCSI DRIVER$/ {
		print "QLOGIC ISP1020/1040 SCSI DRIVER (QLISP)"
		print "L:\tlinux-scsi@vger.kernel.org"
		print "S:\tMaintained"
		print "F:\tDocumentation/scsi/qlisp.rst"
		print "F:\tdrivers/scsi/qlisp/"
		print ""
	     } { print }' "$mt" >"$mt.new" && mv "$mt.new" "$mt"
	grep -q '^F:.drivers/scsi/qlisp/' "$mt" || die "MAINTAINERS hunk did not apply"
fi
# 5. Documentation index, alphabetical
ix=$ksrc/Documentation/scsi/index.rst
if ! grep -q '^   qlisp$' "$ix"; then
	own "$ix"
	sed -i 's/^   qlogicfas$/   qlisp\n   qlogicfas/' "$ix"
	grep -q '^   qlisp$' "$ix" || die "index.rst hunk did not apply"
fi

if [ -d "$cache/a" ] && [ "$ksrc" = "$cache/linux" ]; then
	(cd "$cache" && for f in MAINTAINERS drivers/scsi/Kconfig drivers/scsi/Makefile \
		Documentation/scsi/index.rst; do
		diff -u --label "a/$f" --label "b/$f" "a/$f" "linux/$f" || true
	done) >"$cache/intree.patch"
	log "hunks: $cache/intree.patch"
fi
[ $build = 1 ] || exit 0

# 6. build =m with W=1 in its own output directory
out=$cache/out
mkdir -p "$out"
jobs=${QLISP_JOBS:-$(nproc)}
make -s -C "$ksrc" O="$out" x86_64_defconfig >/dev/null
"$ksrc/scripts/config" --file "$out/.config" -e PCI -e SCSI -m SCSI_QLISP \
	-d MODULE_SIG -d DEBUG_INFO_BTF
make -s -C "$ksrc" O="$out" olddefconfig >/dev/null
grep -qx 'CONFIG_SCSI_QLISP=m' "$out/.config" || die "SCSI_QLISP=m did not take"
log "make modules_prepare (first run: a few minutes)"
make -s -C "$ksrc" O="$out" -j"$jobs" modules_prepare >"$cache/build.log" 2>&1 ||
	{ tail -n 30 "$cache/build.log" >&2; die "modules_prepare failed"; }
rm -f "$out"/drivers/scsi/qlisp/*.o "$out"/drivers/scsi/qlisp/*.ko
make -C "$ksrc" O="$out" -j"$jobs" W=1 drivers/scsi/qlisp/qlisp.ko >"$cache/qlisp.log" 2>&1 ||
	{ cat "$cache/qlisp.log" >&2; die "in-tree build failed"; }
if grep -E 'warning:|error:' "$cache/qlisp.log"; then
	die "warnings in the in-tree W=1 build"
fi
[ -f "$out/drivers/scsi/qlisp/qlisp.ko" ] || die "no qlisp.ko"
log "ok: $out/drivers/scsi/qlisp/qlisp.ko (W=1, no warnings)"
