#!/bin/bash
# Build Debian bookworm's QEMU with the qlisp ISP1040 device model added.
#
# Everything heavy lives under $QLISP_CACHE (default ~/.cache/qlisp): the
# unpacked Debian source and the ninja build tree.  The model sources from
# emu/hw/ are copied into the source tree only when they changed, so a warm
# run with nothing changed is a no-op ninja invocation.
#
# Output: build/qemu-system-x86_64 (a symlink into the cache) in the checkout.
set -euo pipefail
# Debian's python3 and meson, whatever else is first on PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${QLISP_CACHE:-$HOME/.cache/qlisp}
srcroot=$cache/qemu-src
bld=$cache/qemu-build
jobs=${JOBS:-$(nproc)}

log() { printf 'build-qemu: %s\n' "$*" >&2; }

need_pkgs=(dpkg-dev ninja-build meson pkg-config gcc flex bison
	   libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev python3-venv)
missing=()
for p in "${need_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	"$top/scripts/apt-setup.sh"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 1. Debian's QEMU source, unpacked once.
src=$(ls -d "$srcroot"/qemu-7.2* 2>/dev/null | head -n1 || true)
if [ -z "$src" ] || [ ! -f "$src/.qlisp-unpacked" ]; then
	"$top/scripts/apt-setup.sh"
	rm -rf "$srcroot"
	mkdir -p "$srcroot"
	log "fetching Debian bookworm qemu source"
	(cd "$srcroot" && apt-get source -qq --download-only qemu/bookworm >/dev/null 2>&1)
	(cd "$srcroot" && dpkg-source -x "$(ls ./qemu_*.dsc | head -n1)" >/dev/null)
	src=$(ls -d "$srcroot"/qemu-7.2* | head -n1)
	touch "$src/.qlisp-unpacked"
fi

# 2. Add the device: copy changed model files, hook Kconfig/meson once.
install_if_changed() {
	mkdir -p "$(dirname "$2")"
	cmp -s "$1" "$2" || cp "$1" "$2"
}
for f in "$top"/emu/hw/scsi/*; do
	install_if_changed "$f" "$src/hw/scsi/$(basename "$f")"
done
if ! grep -q 'config ISP1040' "$src/hw/scsi/Kconfig"; then
	cat >>"$src/hw/scsi/Kconfig" <<'KC'

config ISP1040
    bool
    default y if PCI_DEVICES
    depends on PCI
    select SCSI
KC
fi
if ! grep -q "isp1040.c" "$src/hw/scsi/meson.build"; then
	sed -i "0,/^scsi_ss.add(when: 'CONFIG_LSI_SCSI_PCI'/s//scsi_ss.add(when: 'CONFIG_ISP1040', if_true: files('isp1040.c'))\n&/" \
		"$src/hw/scsi/meson.build"
	grep -q "isp1040.c" "$src/hw/scsi/meson.build" ||
		{ log "could not hook hw/scsi/meson.build"; exit 1; }
fi
# Trace events of the model live in their own file, appended to hw/scsi's.
if [ -f "$top/emu/hw/scsi/isp1040-trace-events" ]; then
	ev=$src/hw/scsi/trace-events
	if ! grep -q '^# qlisp-isp1040-begin' "$ev" ||
	   ! diff -q <(sed -n '/^# qlisp-isp1040-begin/,/^# qlisp-isp1040-end/p' "$ev" | sed '1d;$d') \
		     "$top/emu/hw/scsi/isp1040-trace-events" >/dev/null; then
		sed -i '/^# qlisp-isp1040-begin/,/^# qlisp-isp1040-end/d' "$ev"
		{ echo '# qlisp-isp1040-begin'; cat "$top/emu/hw/scsi/isp1040-trace-events";
		  echo '# qlisp-isp1040-end'; } >>"$ev"
	fi
fi

# 3. Configure once (again when the options change), then ninja.
# --enable-plugins: make bench counts guest instructions with a TCG plugin.
conf=(--target-list=x86_64-softmmu --without-default-features --disable-docs
      --disable-werror --enable-plugins --meson=/usr/bin/meson)
if [ ! -f "$bld/build.ninja" ] || [ "$(cat "$bld/qlisp-configure" 2>/dev/null)" != "${conf[*]}" ]; then
	rm -rf "$bld"
	mkdir -p "$bld"
	log "configuring (cold build, several minutes)"
	(cd "$bld" && "$src/configure" "${conf[@]}" >configure.log 2>&1) ||
		{ tail -n 30 "$bld/configure.log"; exit 1; }
	printf '%s\n' "${conf[*]}" >"$bld/qlisp-configure"
fi
log "ninja -j$jobs"
ninja -C "$bld" -j"$jobs" qemu-system-x86_64 >"$bld/ninja.log" 2>&1 ||
	{ grep -E 'error|Error' "$bld/ninja.log" | head -n 40; tail -n 20 "$bld/ninja.log"; exit 1; }

mkdir -p "$top/build"
ln -sf "$bld/qemu-system-x86_64" "$top/build/qemu-system-x86_64"
log "ok: build/qemu-system-x86_64"
