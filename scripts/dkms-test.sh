#!/bin/bash
# Build the qlisp-dkms Debian package from this tree, install it in a clean
# Debian bookworm chroot that has Debian's kernel headers and dkms, let DKMS
# build qlisp.ko there, and boot the test guest with that module (cases
# attach and sg_basic of the qlisp suite).
#
# The chroot (debootstrap, minbase + linux-headers + dkms) is cached under
# ${QLISP_CACHE:-~/.cache/qlisp}/chroot-bookworm; each run installs the
# package into a fresh copy of it.  Prints "N passed, N failed" last.
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${QLISP_CACHE:-$HOME/.cache/qlisp}
base=$cache/chroot-bookworm
work=$cache/chroot-dkms
pass=0
fail=0
ok() { echo "PASS dkms/$1"; pass=$((pass + 1)); }
bad() { echo "FAIL dkms/$1"; fail=$((fail + 1)); }
finish() {
	for m in proc sys dev; do umount "$work/$m" 2>/dev/null; done
	echo "$pass passed, $fail failed"
	[ $fail -eq 0 ]
	exit $?
}
log() { printf 'dkms-test: %s\n' "$*" >&2; }

need=(debhelper dh-dkms debootstrap dpkg-dev)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	"$top/scripts/apt-setup.sh"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
kdir=$("$top/scripts/kernel-headers.sh")
kver=${kdir##*/linux-headers-}

# 1. the package, from a copy of the tree (dpkg-buildpackage writes to ..)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/qlisp"
(cd "$top" && git ls-files -z 2>/dev/null | xargs -0 -I{} cp --parents {} "$tmp/qlisp/") ||
	cp -a "$top/." "$tmp/qlisp/"
if (cd "$tmp/qlisp" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1); then
	deb=$(ls "$tmp"/qlisp-dkms_*_all.deb)
	ok "package-build ($(basename "$deb"))"
else
	tail -n 30 "$tmp/build.log"
	bad "package-build"
	finish
fi

# 2. the chroot: bookworm minbase with the same kernel headers and dkms
if [ ! -f "$base/.qlisp-$kver" ]; then
	log "debootstrap bookworm (cached afterwards)"
	rm -rf "$base"
	mirror=$("$top/scripts/apt-mirror.sh" main) || { bad chroot; finish; }
	security=$("$top/scripts/apt-mirror.sh" security) || { bad chroot; finish; }
	debootstrap --variant=minbase bookworm "$base" "$mirror" \
		>"$tmp/debootstrap.log" 2>&1 || { tail -n 20 "$tmp/debootstrap.log"; bad chroot; finish; }
	cat >"$base/etc/apt/sources.list" <<-SRC
	deb $mirror bookworm main
	deb $mirror bookworm-updates main
	deb $security bookworm-security main
	SRC
	chroot "$base" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends dkms linux-headers-$kver" \
		>"$tmp/chroot.log" 2>&1 || { tail -n 20 "$tmp/chroot.log"; bad chroot; finish; }
	chroot "$base" apt-get clean
	touch "$base/.qlisp-$kver"
fi
ok "chroot (bookworm, linux-headers-$kver, dkms)"

# 3. install the package in a fresh copy; DKMS builds for the headers there
rm -rf "$work"
cp -a "$base" "$work"
for m in proc sys dev; do mount --bind "/$m" "$work/$m"; done
cp "$deb" "$work/tmp/"
if chroot "$work" sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/$(basename "$deb") &&
	dkms status && dkms install qlisp/1.0 -k $kver" >"$tmp/install.log" 2>&1; then
	ok "install"
else
	tail -n 30 "$tmp/install.log"
	bad "install"
	finish
fi
ko=$(ls "$work/lib/modules/$kver/updates/dkms/"qlisp.ko* 2>/dev/null | head -n 1)
case $ko in
*.ko.xz) xz -dc "$ko" >"$tmp/qlisp.ko" ;;
*.ko.zst) zstd -qdc "$ko" >"$tmp/qlisp.ko" ;;
*.ko) cp "$ko" "$tmp/qlisp.ko" ;;
*) grep -i qlisp "$tmp/install.log" | tail -n 5; bad "module built by DKMS"; finish ;;
esac
if modinfo -F vermagic "$tmp/qlisp.ko" | grep -q "^$kver "; then
	ok "module built by DKMS for $kver"
else
	bad "module vermagic: $(modinfo -F vermagic "$tmp/qlisp.ko")"
fi

# 4. the guest loads the DKMS-built module and does I/O with it
"$top/emu/build-qemu.sh" >/dev/null || { bad qemu; finish; }
o=$(QLISP_KO=$tmp/qlisp.ko /usr/bin/python3 "$top/tests/run-vm.py" --suite qlisp \
	--case attach --case sg_basic --results /tmp/qlisp-results-dkms 2>&1)
printf '%s\n' "$o" | grep -E '^(PASS|FAIL) '
l=$(printf '%s\n' "$o" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
pass=$((pass + ${l%% *}))
f=${l#*, }
fail=$((fail + ${f%% *}))
[ -n "$l" ] || bad "guest run"
finish
