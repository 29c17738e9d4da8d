#!/bin/bash
# Build Debian bookworm's QEMU with the qlisp ISP1040 device model added.
#
# Everything heavy lives under $QLISP_CACHE (default ~/.cache/qlisp): the
# unpacked Debian source and the ninja build tree.  The model sources from
# emu/hw/ are copied into the source tree only when they changed, so a warm
# run with nothing changed is a no-op ninja invocation.
#
# Output: build/qemu-system-x86_64 (a copy of the cached build) in the checkout.
#
# Usage: [QEMU_RELEASE=bookworm|trixie] emu/build-qemu.sh [--model-only]
#   QEMU_RELEASE=trixie  Debian trixie's QEMU 10.0 instead of bookworm's 7.2,
#                        built with the host's compiler and libraries and
#                        trixie's meson (10.0 needs meson >= 1.5); cached in
#                        qemu10-src and qemu10-build, linked as
#                        build/qemu-system-x86_64-trixie
#   --model-only         configure if needed, then compile only the model's
#                        object file; fails on any compiler warning in it
set -euo pipefail
# Debian's python3 and meson, whatever else is first on PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${QLISP_CACHE:-$HOME/.cache/qlisp}
release=${QEMU_RELEASE:-bookworm}
jobs=${JOBS:-$(nproc)}
model_only=0

log() { printf 'build-qemu: %s\n' "$*" >&2; }

for a in "$@"; do
	case $a in
	--model-only) model_only=1 ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) log "unknown argument $a"; exit 2 ;;
	esac
done
case $release in
bookworm)
	srcroot=$cache/qemu-src
	bld=$cache/qemu-build
	srcglob='qemu-7.2*'
	out=qemu-system-x86_64
	;;
trixie)
	srcroot=$cache/qemu10-src
	bld=$cache/qemu10-build
	srcglob='qemu-10.0*'
	out=qemu-system-x86_64-trixie
	;;
*) log "QEMU_RELEASE must be bookworm or trixie"; exit 2 ;;
esac

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
# ($srcglob unquoted: it is a pattern)
src=$(ls -d "$srcroot"/$srcglob 2>/dev/null | head -n1 || true)
if [ -z "$src" ] || [ ! -f "$src/.qlisp-unpacked" ]; then
	"$top/scripts/apt-setup.sh"
	rm -rf "$srcroot"
	mkdir -p "$srcroot"
	log "fetching Debian $release qemu source"
	(cd "$srcroot" && apt-get source -qq --download-only "qemu/$release" >/dev/null 2>&1)
	(cd "$srcroot" && dpkg-source -x "$(ls ./qemu_*.dsc | head -n1)" >/dev/null)
	src=$(ls -d "$srcroot"/$srcglob | head -n1)
	touch "$src/.qlisp-unpacked"
fi

# QEMU 10.0's configure wants meson >= 1.5, bookworm has 1.0 and Debian's
# source leaves out the meson wheel QEMU bundles.  Trixie's meson package
# is pure Python and runs with bookworm's python3: it is downloaded with a
# private apt state (the host's sources and lists stay as they are),
# unpacked under the cache and found by configure's venv through
# PYTHONPATH, which ninja's regeneration of build.ninja needs as well.
if [ "$release" = trixie ]; then
	mdir=$cache/meson-trixie
	if [ ! -f "$mdir/.qlisp-unpacked" ]; then
		log "fetching trixie's meson"
		rm -rf "$mdir"
		mkdir -p "$mdir/apt/lists/partial" "$mdir/apt/archives/partial"
		mirror=$("$top/scripts/apt-mirror.sh" main)
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
			>"$mdir/apt/sources.list"
		aptopt=(-o "Dir::Etc::SourceList=$mdir/apt/sources.list"
			-o Dir::Etc::SourceParts=/nonexistent
			-o "Dir::State::Lists=$mdir/apt/lists"
			-o "Dir::Cache::Archives=$mdir/apt/archives"
			-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
			-o APT::Sandbox::User=root)
		apt-get "${aptopt[@]}" update -qq
		(cd "$mdir/apt" && apt-get "${aptopt[@]}" download -qq meson >/dev/null)
		dpkg-deb -x "$(ls "$mdir"/apt/meson_*.deb | head -n1)" "$mdir/root"
		rm -rf "$mdir/apt/lists"
		touch "$mdir/.qlisp-unpacked"
	fi
	export PYTHONPATH=$mdir/root/usr/lib/python3/dist-packages
fi

# One build at a time per release: checkouts share the cached tree (a CI
# clone next to a work tree, say).
exec 9>"$cache/build-$release.lock"
flock 9

# 2. Add the device: copy changed model files (isp1040.c, its headers
# isp-regs.h and isp1040-compat.h, its trace events), hook Kconfig/meson once.
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
      --disable-werror --enable-plugins)
# 7.2 takes the meson to use.  10.0 finds trixie's (above) and must not
# try to download anything; Debian's 10.0 source has none of the firmware
# blobs that 10.0 installs by default (run-vm.py passes -L to Debian's).
# 10.0 turns QOM cast checks on by default, 7.2 had them off: off, as there.
case $release in
bookworm) conf+=(--meson=/usr/bin/meson) ;;
trixie) conf+=(--disable-download --disable-install-blobs --disable-qom-cast-debug) ;;
esac
if [ ! -f "$bld/build.ninja" ] || [ "$(cat "$bld/qlisp-configure" 2>/dev/null)" != "${conf[*]}" ]; then
	rm -rf "$bld"
	mkdir -p "$bld"
	log "configuring (cold build, several minutes)"
	(cd "$bld" && "$src/configure" "${conf[@]}" >configure.log 2>&1) ||
		{ tail -n 30 "$bld/configure.log"; exit 1; }
	printf '%s\n' "${conf[*]}" >"$bld/qlisp-configure"
fi

# --model-only: just the model's object (ninja builds the generated headers
# it needs first), then its compile command once more with -Werror into a
# scratch file, so that warnings show on a warm run too without touching
# the build tree.
if [ $model_only = 1 ]; then
	obj=$(ninja -C "$bld" -t targets all |
		sed -n 's/^\([^:]*hw_scsi_isp1040\.c\.o\): .*/\1/p' | head -n1)
	[ -n "$obj" ] || { log "no ninja target for hw/scsi/isp1040.c"; exit 1; }
	log "ninja $obj"
	ninja -C "$bld" -j"$jobs" "$obj" >"$bld/ninja-model.log" 2>&1 ||
		{ grep -E 'error|Error' "$bld/ninja-model.log" | head -n 40;
		  tail -n 20 "$bld/ninja-model.log"; exit 1; }
	cmd=$(ninja -C "$bld" -t commands "$obj" | tail -n1)
	dep="-MD -MQ $obj -MF $obj.d -o $obj "
	[[ $cmd == *"$dep"* ]] || { log "unexpected compile command: $cmd"; exit 1; }
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	cmd=${cmd/"$dep"/"-o $scratch/isp1040.o "}
	if ! (cd "$bld" && eval "$cmd -Werror") >"$scratch/log" 2>&1; then
		cat "$scratch/log"
		log "hw/scsi/isp1040.c: warnings or errors ($release)"
		exit 1
	fi
	log "ok: hw/scsi/isp1040.c compiles without warnings ($release)"
	exit 0
fi

log "ninja -j$jobs"
ninja -C "$bld" -j"$jobs" qemu-system-x86_64 >"$bld/ninja.log" 2>&1 ||
	{ grep -E 'error|Error' "$bld/ninja.log" | head -n 40; tail -n 20 "$bld/ninja.log"; exit 1; }

# A copy, not a link into the cache: another checkout that shares the cache
# rebuilds the cached binary with its own model, and this checkout's tests
# must keep running this one.
mkdir -p "$top/build"
dst=$top/build/$out
if [ -L "$dst" ] || ! cmp -s "$bld/qemu-system-x86_64" "$dst"; then
	cp "$bld/qemu-system-x86_64" "$dst.tmp.$$"
	mv -f "$dst.tmp.$$" "$dst"
fi
log "ok: build/$out"
