#!/bin/bash
# Build qlisp for another Debian release's kernel and boot it: trixie (6.12)
# or sid (the newest).  A debootstrap chroot of that release (cached under
# ${QLISP_CACHE:-~/.cache/qlisp}/chroot-SUITE) brings the kernel, its
# headers, its compiler and its sparse; the module is built there with W=1
# and sparse (C=2), both must be silent and sparse must have checked both
# files.  Then the test guest boots that kernel with that module (cases
# attach, sg_basic, continuation).  Prints "N passed, N failed" last.
#
# Usage: scripts/kbuild-other.sh trixie|sid
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
suite=${1:?usage: kbuild-other.sh trixie|sid}
case $suite in trixie|sid) ;; *) echo "kbuild-other: trixie or sid" >&2; exit 2 ;; esac
root=${QLISP_CACHE:-$HOME/.cache/qlisp}/chroot-$suite
pass=0
fail=0
ok() { echo "PASS $suite/$1"; pass=$((pass + 1)); }
bad() { echo "FAIL $suite/$1"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ $fail -eq 0 ]; exit $?; }
log() { printf 'kbuild-other: %s\n' "$*" >&2; }

dpkg-query -W -f='${Status}' debootstrap 2>/dev/null | grep -q 'ok installed' || {
	"$top/scripts/apt-setup.sh"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
# the host's own Debian archive (scripts/apt-mirror.sh)
mirror=$("$top/scripts/apt-mirror.sh" main) || { bad chroot; finish; }
# refreshed once a day: sid moves
stamp=$root/.qlisp-ready
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
	if [ ! -x "$root/usr/bin/apt-get" ]; then
		log "debootstrap $suite (cached afterwards)"
		rm -rf "$root"
		debootstrap --variant=minbase "$suite" "$root" "$mirror" \
			>/tmp/qlisp-debootstrap-$suite.log 2>&1 ||
			{ tail -n 20 /tmp/qlisp-debootstrap-$suite.log; bad chroot; finish; }
	fi
	echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
	log "installing the kernel, its headers, gcc and sparse in the chroot"
	# (the mirror may serve a snapshot whose sid Release has expired)
	chroot "$root" sh -c "apt-get -o Acquire::Check-Valid-Until=false update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get -o Acquire::Check-Valid-Until=false install -y -qq --no-install-recommends linux-image-amd64 \
		linux-headers-amd64 sparse make kmod && apt-get clean" \
		>/tmp/qlisp-chroot-$suite.log 2>&1 ||
		{ tail -n 20 /tmp/qlisp-chroot-$suite.log; bad chroot; finish; }
	# (a newer kernel installs beside the old one: the newest is used)
	touch "$stamp"
fi
kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
[ -d "$root/usr/src/linux-headers-$kver" ] || { bad "headers for $kver"; finish; }
ok "chroot ($suite, kernel $kver, $(chroot "$root" sh -c 'ls /usr/bin/gcc-[0-9]* | sort -V | tail -n 1 | xargs basename'), sparse $(chroot "$root" sparse --version))"

# Debian's headers packages for 7.x lack scripts/checker-valid.sh, and
# without it kbuild turns C=2 off with a warning.  A stand-in that asks the
# chroot's sparse to check a small file keeps sparse in the build (and the
# gate below still fails if sparse did not check both files).
cv=$(readlink -f "$root/usr/src/linux-headers-$kver/scripts" 2>/dev/null)/checker-valid.sh
common=$(ls -d "$root/usr/src/linux-headers-${kver%-amd64}-common" 2>/dev/null)
[ -n "$common" ] && cv=$common/scripts/checker-valid.sh
if [ -n "$common" ] && [ ! -e "$cv" ]; then
	log "adding a checker-valid.sh stand-in to the chroot's headers"
	cat >"$cv" <<-'CV'
	#!/bin/sh
	# qlisp stand-in for the kernel's checker-valid.sh (not in Debian's headers)
	f=$(mktemp --suffix=.c) || exit 0
	printf 'int qlisp_checker_probe(void) { return 0; }\n' >"$f"
	"$@" "$f" >/dev/null 2>&1 && echo 1
	rm -f "$f"
	CV
	chmod +x "$cv"
fi

# build with W=1 and sparse
b=$root/build/qlisp
rm -rf "$b"
mkdir -p "$b"
cp "$top"/drivers/scsi/qlisp/{Makefile,*.c,*.h} "$b/"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"   # objtool reads it
chroot "$root" make -C "/usr/src/linux-headers-$kver" M=/build/qlisp \
	CONFIG_SCSI_QLISP=m W=1 C=2 modules >"$b/build.log" 2>&1
rc=$?
umount "$root/proc" 2>/dev/null
if [ $rc -eq 0 ]; then
	if grep -E 'warning|error|sparse' "$b/build.log" | grep -v '^  CHECK'; then
		bad "build W=1 C=2: diagnostics"
	elif [ "$(grep -c '^  CHECK .*qlisp_\(main\|dma\)\.c' "$b/build.log")" -ne 2 ]; then
		cat "$b/build.log"
		bad "build: sparse did not check both files"
	else
		ok "build W=1 C=2 for $kver: no diagnostics"
	fi
else
	tail -n 30 "$b/build.log"
	bad "build for $kver"
	finish
fi

# kernel-doc -Wall with the release's kernel-doc, where its kbuild package
# ships one (trixie's does; 6.1's has no -Wall)
kd=$(ls "$root"/usr/lib/linux-kbuild-*/scripts/kernel-doc 2>/dev/null | sort -V | tail -n 1)
if [ -n "$kd" ]; then
	o=$(chroot "$root" perl "${kd#"$root"}" -none -Wall /build/qlisp/qlisp_main.c \
		/build/qlisp/qlisp_dma.c /build/qlisp/qlisp.h /build/qlisp/qlisp_compat.h 2>&1)
	if [ -z "$o" ]; then
		ok "kernel-doc -Wall"
	else
		printf '%s\n' "$o" | head -n 20
		bad "kernel-doc -Wall"
	fi
fi

# boot that kernel with that module
"$top/emu/build-qemu.sh" >/dev/null || { bad qemu; finish; }
g=$(QLISP_GUEST_FLAVOR=root:$suite QLISP_GUEST_ROOT=$root \
	"$top/tests/guest/build-guest.sh" "$b/qlisp.ko") || { bad "guest build"; finish; }
kernel=$(printf '%s\n' "$g" | sed -n 's/^KERNEL=//p')
initrd=$(printf '%s\n' "$g" | sed -n 's/^INITRD=//p')
# tsc=reliable: newer kernels' clocksource watchdog reports TCG's slow
# cross-CPU reads ("Watchdog remote CPU read timed out"), nothing to do
# with the HBA.  thread=single: sid's 7.2 kernel once died at boot with an
# int3 oops at a code-patching site (sched_clock_cpu) while the other vCPU
# ran code being patched; one TCG thread for both vCPUs makes code patching
# atomic to the other CPU, as it is on hardware
o=$(/usr/bin/python3 "$top/tests/run-vm.py" --kernel "$kernel" --initrd "$initrd" \
	--append tsc=reliable --accel tcg,thread=single \
	--suite qlisp --case attach --case sg_basic --case continuation \
	--results "/tmp/qlisp-results-$suite" 2>&1)
printf '%s\n' "$o" | grep -E '^(PASS|FAIL) ' | sed -E "s#^(PASS|FAIL) #\1 $suite:#"
l=$(printf '%s\n' "$o" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -n "$l" ]; then
	pass=$((pass + ${l%% *}))
	f=${l#*, }
	fail=$((fail + ${f%% *}))
else
	printf '%s\n' "$o" | tail -n 20
	bad "guest run"
fi
finish
