#!/bin/bash
# Build the qlisp test guest: a Debian bookworm kernel and an initramfs with
# busybox, sg3-utils, fio, e2fsprogs, the SCSI modules the suites need,
# qlogic/1040.bin and the test scripts from tests/guest and tests/cases.
#
# Usage: tests/guest/build-guest.sh [QLISP_KO]
#   QLISP_KO (argument or environment): a qlisp.ko to install in the guest as
#   /lib/modules/KVER/extra/qlisp.ko.
#
# Output (under ${QLISP_CACHE:-~/.cache/qlisp}/guest):
#   vmlinuz      the kernel
#   initrd.img   base.cpio (packages; rebuilt when a package version or this
#                script changes) followed by overlay.cpio (scripts, qlisp.ko;
#                rebuilt when one of them changes).  Linux unpacks both.
#   guest.env    KVER=... for scripts that want to know
# The paths are printed on stdout, one "NAME=PATH" per line.
#
# Environment: QLISP_GUEST_COMPRESS=none|gzip|zstd|lz4 for base.cpio
# (default none: loading is faster than decompressing under TCG).
# QLISP_GUEST_FLAVOR=debug: the debug kernel of tests/kdebug/build-kernel.sh
# (KASAN, lockdep, DMA-API debugging, kmemleak, ...) and its modules instead
# of Debian's; output under .../guest-debug, QLISP_KO must then be built
# against that kernel.
# QLISP_GUEST_FLAVOR=root:NAME: the kernel installed in the directory
# QLISP_GUEST_ROOT (a chroot with /boot/vmlinuz-KVER and /lib/modules/KVER,
# e.g. Debian trixie's or sid's, see scripts/kbuild-other.sh); output under
# .../guest-NAME.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
tests=$(cd "$here/.." && pwd)
top=$(cd "$tests/.." && pwd)
flavor=${QLISP_GUEST_FLAVOR:-stock}
case $flavor in
stock) cache=${QLISP_CACHE:-$HOME/.cache/qlisp}/guest ;;
debug) cache=${QLISP_CACHE:-$HOME/.cache/qlisp}/guest-debug ;;
root:?*)
	cache=${QLISP_CACHE:-$HOME/.cache/qlisp}/guest-${flavor#root:}
	groot=${QLISP_GUEST_ROOT:?QLISP_GUEST_ROOT must name the kernel root}
	flavor=root
	;;
*) echo "build-guest: QLISP_GUEST_FLAVOR must be stock, debug or root:NAME" >&2; exit 1 ;;
esac
ko=${1:-${QLISP_KO:-}}
compress=${QLISP_GUEST_COMPRESS:-none}

log() { printf 'build-guest: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -z "$ko" ] || [ -f "$ko" ] || die "qlisp.ko not found: $ko"
mkdir -p "$cache/debs"

# --- host tools the build and the guest userland come from -----------------
host_pkgs=(busybox-static sg3-utils fio e2fsprogs kmod cpio dpkg)
case $compress in
none) ;; gzip) host_pkgs+=(gzip) ;; zstd) host_pkgs+=(zstd) ;; lz4) host_pkgs+=(lz4) ;;
*) die "QLISP_GUEST_COMPRESS must be none, gzip, zstd or lz4" ;;
esac
missing=()
for p in "${host_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
apt_ready=0
apt_setup() {
	[ $apt_ready = 1 ] && return
	"$top/scripts/apt-setup.sh"
	apt_ready=1
}
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt_setup
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pkgver() { dpkg-query -W -f='${Version}' "$1"; }

# --- which kernel: the one linux-image-amd64 depends on ---------------------
if [ "$flavor" = debug ]; then
	kd=$("$tests/kdebug/build-kernel.sh") || die "debug kernel build failed"
	kd_modroot=$(printf '%s\n' "$kd" | sed -n 's/^MODROOT=//p')
	kd_kernel=$(printf '%s\n' "$kd" | sed -n 's/^KERNEL=//p')
	kd_kver=$(printf '%s\n' "$kd" | sed -n 's/^KVER=//p')
elif [ "$flavor" = root ]; then
	kd_kver=$(ls "$groot/lib/modules" | head -n 1)
	kd_modroot=$groot
	kd_kernel=$groot/boot/vmlinuz-$kd_kver
	[ -n "$kd_kver" ] && [ -f "$kd_kernel" ] || die "no kernel in $groot"
fi
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
	apt_setup
	kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || die "cannot resolve the kernel package of linux-image-amd64"
kver=${kpkg#linux-image-}
kpkgver=$(apt-cache policy "$kpkg" | awk '/Candidate:/ {print $2}')
fwver=$(apt-cache policy firmware-qlogic | awk '/Candidate:/ {print $2}')
if [ -z "$fwver" ] || [ "$fwver" = "(none)" ]; then
	apt_setup   # firmware-qlogic is in non-free-firmware
	fwver=$(apt-cache policy firmware-qlogic | awk '/Candidate:/ {print $2}')
	[ -n "$fwver" ] && [ "$fwver" != "(none)" ] || die "firmware-qlogic not available"
fi

# download PKG VERSION -> path of the .deb in the cache
download() {
	local f
	f=$(ls "$cache/debs/$1"_"${2#*:}"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$f" ]; then
		log "downloading $1 $2"
		(cd "$cache/debs" && apt-get download -qq "$1=$2" 2>/dev/null) ||
			{ apt_setup; (cd "$cache/debs" && apt-get download -qq "$1=$2" 2>/dev/null); } ||
			die "apt-get download $1=$2 failed"
		f=$(ls "$cache/debs/$1"_"${2#*:}"_*.deb | head -n1)
	fi
	printf '%s\n' "$f"
}

# --- base archive: kernel modules, firmware, userland ----------------------
self_sum=$(sha256sum "$0" | cut -c1-16)
base_key="kpkg=$kpkg $kpkgver fw=$fwver compress=$compress script=$self_sum"
if [ "$flavor" = debug ]; then
	kver=$kd_kver
	base_key="flavor=debug kernel=$(cat "${QLISP_CACHE:-$HOME/.cache/qlisp}/kdebug/key" | sha256sum | cut -c1-16) kver=$kver fw=$fwver compress=$compress script=$self_sum"
elif [ "$flavor" = root ]; then
	kver=$kd_kver
	base_key="flavor=root kernel=$(sha256sum "$kd_kernel" | cut -c1-16) kver=$kver fw=$fwver compress=$compress script=$self_sum"
fi
for p in busybox-static sg3-utils fio e2fsprogs libc6; do base_key+=" $p=$(pkgver "$p")"; done
base=$cache/base.cpio
if [ ! -f "$base" ] || [ "$(cat "$cache/base.key" 2>/dev/null)" != "$base_key" ]; then
	t0=$(date +%s)
	fwdeb=$(download firmware-qlogic "$fwver")
	if [ "$flavor" != stock ]; then
		kroot=$kd_modroot
		vmlinuz=$kd_kernel
	else
		kdeb=$(download "$kpkg" "$kpkgver")
		kroot=$cache/kernel-$kver
		vmlinuz=$kroot/boot/vmlinuz-$kver
	fi
	if [ ! -f "$kroot/.done" ] && [ "$flavor" = stock ]; then
		log "unpacking $kpkg"
		rm -rf "$kroot" && mkdir -p "$kroot"
		dpkg-deb -x "$kdeb" "$kroot"
		depmod -b "$kroot" "$kver"
		touch "$kroot/.done"
	fi
	fwroot=$cache/fw-$fwver
	if [ ! -f "$fwroot/.done" ]; then
		rm -rf "$fwroot" && mkdir -p "$fwroot"
		dpkg-deb -x "$fwdeb" "$fwroot"
		touch "$fwroot/.done"
	fi

	stage=$cache/stage.base
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,mnt,run,root,lib/firmware/qlogic}

	# Modules: exactly what modprobe says the wanted ones need.
	# (the debug kernel has the trimmed set: the rest is built in or absent)
	want=(scsi_mod sd_mod sg qla1280 sym53c8xx virtio_scsi virtio_pci ext4
	      crc32c crc32c_generic crc32c_intel vmw_pvscsi megaraid_sas scsi_debug
	      sr_mod)
	[ "$flavor" = debug ] && want=(sd_mod sg qla1280)
	[ "$flavor" = root ] && want=(scsi_mod sd_mod sg qla1280 ext4 crc32c crc32c_generic)
	mdir=lib/modules/$kver
	for m in "${want[@]}"; do
		if ! deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>/dev/null); then
			# another kernel may have it built in or not at all; the
			# ones that matter are checked below
			[ "$flavor" = stock ] && die "modprobe --show-depends $m failed"
			continue
		fi
		while read -r kind path _; do
			[ "$kind" = insmod ] || continue
			rel=${path#"$kroot"/}
			mkdir -p "$stage/$(dirname "$rel")"
			# busybox's modprobe wants them uncompressed
			case $rel in
			*.ko.xz) xz -dc "$path" >"$stage/${rel%.xz}" ;;
			*.ko.zst) zstd -qdc "$path" >"$stage/${rel%.zst}" ;;
			*.ko.gz) gzip -dc "$path" >"$stage/${rel%.gz}" ;;
			*) cp "$path" "$stage/$rel" ;;
			esac
		done <<<"$deps"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -f "$kroot/$mdir/$f" ] && cp "$kroot/$mdir/$f" "$stage/$mdir/"
	done
	depmod -b "$stage" "$kver"
	must=(qla1280 sym53c8xx sd_mod sg ext4)
	[ "$flavor" = stock ] || must=(qla1280 sd_mod sg)
	for m in "${must[@]}"; do
		grep -q "/$m.ko:" "$stage/$mdir/modules.dep" || die "module $m missing from the guest"
	done

	cp "$fwroot/lib/firmware/qlogic/1040.bin" "$stage/lib/firmware/qlogic/1040.bin"

	# Userland. busybox is static; the rest come with their libraries.
	cp /bin/busybox "$stage/bin/busybox"
	for a in $("$stage/bin/busybox" --list); do
		[ -e "$stage/bin/$a" ] || ln -s busybox "$stage/bin/$a"
	done
	ln -sf ../bin/busybox "$stage/sbin/modprobe"   # the kernel's request_module
	ln -sf ../bin/busybox "$stage/sbin/insmod"
	ln -sf ../bin/busybox "$stage/sbin/poweroff"
	bins=(/usr/bin/fio /sbin/mke2fs /sbin/e2fsck)
	for b in $(dpkg -L sg3-utils | grep '/bin/sg_'); do bins+=("$b"); done
	declare -A libs=()
	for b in "${bins[@]}"; do
		[ -f "$b" ] || die "missing host binary $b"
		mkdir -p "$stage/$(dirname "$b")"
		cp -L "$b" "$stage/$b"
		while read -r l; do libs[$l]=1; done < <(ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
	done
	for l in "${!libs[@]}"; do
		mkdir -p "$stage/$(dirname "$l")"
		cp -L "$l" "$stage/$l"
	done
	ln -sf mke2fs "$stage/sbin/mkfs.ext4"
	ln -sf e2fsck "$stage/sbin/fsck.ext4"
	[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$stage/etc/"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
	echo 'root:x:0:' >"$stage/etc/group"
	# Same binaries the guest will run: make sure they at least load here.
	/usr/bin/fio --version >/dev/null || die "host fio does not run"

	log "packing base.cpio ($(du -sh "$stage" | cut -f1) unpacked)"
	(cd "$stage" && find . -mindepth 1 | sort | cpio -o -H newc --quiet -R 0:0) >"$cache/base.raw"
	case $compress in
	none) mv "$cache/base.raw" "$base.tmp" ;;
	gzip) gzip -1 -c "$cache/base.raw" >"$base.tmp" && rm "$cache/base.raw" ;;
	zstd) zstd -q -3 -T0 -c "$cache/base.raw" >"$base.tmp" && rm "$cache/base.raw" ;;
	lz4)  lz4 -q -l -c "$cache/base.raw" >"$base.tmp" && rm "$cache/base.raw" ;;
	esac
	mv "$base.tmp" "$base"
	cp "$vmlinuz" "$cache/vmlinuz.tmp" && mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
	rm -rf "$stage"
	printf '%s\n' "$base_key" >"$cache/base.key"
	rm -f "$cache/overlay.key"
	log "base built in $(( $(date +%s) - t0 ))s ($(du -h "$base" | cut -f1))"
fi

# --- overlay archive: /init, lib.sh, the cases, optionally qlisp.ko --------
inputs=("$here/init.sh" "$here/lib.sh" "$here/sgiov.c" "$here/sgresid.c" "$tests"/cases/*.sh)
[ -n "$ko" ] && inputs+=("$ko")
ov_key="$base_key ko=${ko:+set} $(cat "${inputs[@]}" | sha256sum | cut -c1-32)"
if [ ! -f "$cache/initrd.img" ] || [ "$(cat "$cache/overlay.key" 2>/dev/null)" != "$ov_key" ]; then
	stage=$cache/stage.overlay
	rm -rf "$stage"
	mkdir -p "$stage/qlisp/cases"
	install -m 0755 "$here/init.sh" "$stage/init"
	install -m 0644 "$here/lib.sh" "$stage/qlisp/lib.sh"
	for c in "$tests"/cases/*.sh; do install -m 0755 "$c" "$stage/qlisp/cases/"; done
	# sgiov: SG_IO with an iovec of exact segments (case sg_segments)
	mkdir -p "$stage/usr/bin"
	gcc -static -O2 -Wall -o "$stage/usr/bin/sgiov" "$here/sgiov.c" || die "building sgiov failed"
	# sgresid: SG_IO data-in into a pre-filled buffer, the resid (case residuals)
	gcc -static -O2 -Wall -o "$stage/usr/bin/sgresid" "$here/sgresid.c" || die "building sgresid failed"
	if [ -n "$ko" ]; then
		mkdir -p "$stage/lib/modules/$kver/extra"
		install -m 0644 "$ko" "$stage/lib/modules/$kver/extra/qlisp.ko"
		# modules.dep of the base does not know it: the overlay carries a
		# complete one generated from base + qlisp.ko.
		tmpm=$(mktemp -d)
		(cd "$tmpm" && cpio -id --quiet "lib/modules/*" < <(case $compress in
			none) cat "$base" ;; gzip) zcat "$base" ;; zstd) zstd -dc "$base" ;; lz4) lz4 -dc "$base" ;; esac))
		cp "$stage/lib/modules/$kver/extra/qlisp.ko" "$tmpm/lib/modules/$kver/extra/" 2>/dev/null ||
			{ mkdir -p "$tmpm/lib/modules/$kver/extra"; cp "$ko" "$tmpm/lib/modules/$kver/extra/qlisp.ko"; }
		depmod -b "$tmpm" "$kver"
		cp "$tmpm/lib/modules/$kver"/modules.* "$stage/lib/modules/$kver/"
		rm -rf "$tmpm"
	fi
	(cd "$stage" && find . -mindepth 1 | sort | cpio -o -H newc --quiet -R 0:0) >"$cache/overlay.cpio"
	cat "$base" "$cache/overlay.cpio" >"$cache/initrd.img.tmp"
	mv "$cache/initrd.img.tmp" "$cache/initrd.img"
	rm -rf "$stage"
	printf '%s\n' "$ov_key" >"$cache/overlay.key"
	log "initrd.img updated ($(du -h "$cache/initrd.img" | cut -f1))"
fi
printf 'KVER=%s\n' "$kver" >"$cache/guest.env"
printf 'KERNEL=%s\nINITRD=%s\nKVER=%s\n' "$cache/vmlinuz" "$cache/initrd.img" "$kver"
