#!/bin/bash
# Build the qlisp debug guest kernel: Debian's linux-source-6.1 with
# x86_64_defconfig trimmed and debugging switched on by debug.config (KASAN,
# PROVE_LOCKING, DEBUG_ATOMIC_SLEEP, DMA_API_DEBUG, KMEMLEAK, DEBUG_OBJECTS).
#
# Cached under ${QLISP_CACHE:-~/.cache/qlisp}/kdebug:
#   src/       the unpacked source (per linux-source version)
#   out/       the O= build tree; also the KDIR for building qlisp.ko
#   modroot/   modules_install output (lib/modules/KVER)
#   bzImage    the kernel
# Rebuilt (incrementally) when the source version, debug.config or this
# script changes; otherwise a run takes a second.
#
# Prints KDIR=, KERNEL=, MODROOT=, KVER= lines on stdout.
# --source-only: just fetch and unpack the source; prints SRC=.
set -euo pipefail
source_only=0
[ "${1:-}" = --source-only ] && source_only=1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${QLISP_CACHE:-$HOME/.cache/qlisp}/kdebug
jobs=${QLISP_JOBS:-$(nproc)}

log() { printf 'kdebug: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need=(bc bison flex libelf-dev libssl-dev kmod cpio xz-utils)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
srcver=$(apt-cache policy linux-source-6.1 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ ${#missing[@]} -gt 0 ] || [ -z "$srcver" ] || [ "$srcver" = "(none)" ]; then
	"$top/scripts/apt-setup.sh" >&2
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	srcver=$(apt-cache policy linux-source-6.1 | awk '/Candidate:/ {print $2}')
fi
[ -n "$srcver" ] && [ "$srcver" != "(none)" ] || die "linux-source-6.1 not available"

key="src=$srcver gcc=$(gcc -dumpfullversion) config=$(sha256sum "$here/debug.config" | cut -c1-16) script=$(sha256sum "$0" | cut -c1-16)"
mkdir -p "$cache"

emit() {
	kver=$(cat "$cache/out/include/config/kernel.release")
	printf 'KDIR=%s\nKERNEL=%s\nMODROOT=%s\nKVER=%s\n' \
		"$cache/out" "$cache/bzImage" "$cache/modroot" "$kver"
}
if [ $source_only = 0 ] && [ -f "$cache/bzImage" ] &&
   [ "$(cat "$cache/key" 2>/dev/null)" = "$key" ]; then
	emit
	exit 0
fi
t0=$(date +%s)

# --- source ------------------------------------------------------------
if [ "$(cat "$cache/src.version" 2>/dev/null)" != "$srcver" ]; then
	log "fetching linux-source-6.1 $srcver"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq "linux-source-6.1=$srcver" >/dev/null 2>&1) ||
		die "apt-get download linux-source-6.1=$srcver failed"
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb |
		tar -x -C "$tmp" --wildcards '*/linux-source-*.tar.xz'
	rm -rf "$cache/src" "$cache/out" "$cache/modroot"
	mkdir -p "$cache/src"
	log "unpacking"
	tar -xJf "$tmp"/usr/src/linux-source-*.tar.xz -C "$cache/src" --strip-components=1
	rm -rf "$tmp"
	printf '%s\n' "$srcver" >"$cache/src.version"
fi

if [ $source_only = 1 ]; then
	printf 'SRC=%s\n' "$cache/src"
	exit 0
fi

# --- configure -----------------------------------------------------------
src=$cache/src
out=$cache/out
mkdir -p "$out"
make -s -C "$src" O="$out" x86_64_defconfig >/dev/null
(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
	"$here/debug.config" >/dev/null)
make -s -C "$src" O="$out" olddefconfig >/dev/null
# Every option debug.config switches on must have survived olddefconfig.
bad=()
while IFS= read -r l; do
	case $l in CONFIG_*=*) ;; *) continue ;; esac
	grep -qxF "$l" "$out/.config" || bad+=("$l")
done <"$here/debug.config"
[ ${#bad[@]} -eq 0 ] || die "config did not take: ${bad[*]}"

# --- build -----------------------------------------------------------------
log "building (make -j$jobs bzImage modules; cold: about 9 minutes on 2 cores)"
make -s -C "$src" O="$out" -j"$jobs" bzImage modules >"$cache/build.log" 2>&1 ||
	{ tail -n 40 "$cache/build.log" >&2; die "kernel build failed (log: $cache/build.log)"; }
rm -rf "$cache/modroot"
make -s -C "$src" O="$out" INSTALL_MOD_PATH="$cache/modroot" INSTALL_MOD_STRIP=1 \
	modules_install >>"$cache/build.log" 2>&1 || die "modules_install failed"
cp "$out/arch/x86/boot/bzImage" "$cache/bzImage.tmp"
mv "$cache/bzImage.tmp" "$cache/bzImage"
printf '%s\n' "$key" >"$cache/key"
log "built in $(( $(date +%s) - t0 ))s"
emit
