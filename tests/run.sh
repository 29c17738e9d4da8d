#!/bin/bash
# qlisp test entry point: build QEMU (emu/build-qemu.sh) and the guest
# (tests/guest/build-guest.sh), run the host-side tests (tests/qtest/test_*.py
# and, with --static, tests/static.sh) beside the VM suites (tests/run-vm.py,
# which runs QLISP_JOBS suites at once, one per core by default; their
# output comes first).  The last line of output is the total
# "N passed, N failed"; the exit status is non-zero when anything failed.
# Builds are setup, not tests: a build that works prints "ok build/..." and
# is not counted; one that fails is counted as a failure.
#
# Usage: tests/run.sh [--module] [--static|--static-quick] [--no-qtest] [--case NAME]... [SUITE...]
#        (default suite: qla1280)
#   --module  build qlisp.ko first (a build failure counts as a failed test)
#             and put it into the guest
#   --static  run the static gates (tests/static.sh) too
#   --static-quick  the static gates without the slow ones (make check-quick)
#   --portability  after the suites: build and boot on Debian trixie and sid
#             (scripts/kbuild-other.sh), the DKMS package in a chroot
#             (scripts/dkms-test.sh), the in-tree build (scripts/intree.sh)
# Environment: QLISP_KO=path/to/qlisp.ko  put a qlisp.ko into the guest
#              QEMU_RELEASE=trixie  build and test with Debian trixie's
#              QEMU 10.0 (build/qemu-system-x86_64-trixie) instead of 7.2
#              QLISP_QEMU=path  test with this QEMU binary
#              QLISP_JOBS=N  guest suites at once (tests/run-vm.py --jobs)
#              QLISP_CACHE, QLISP_RESULTS as for the scripts called
# host_tests counts into its own (subshell) passed/failed on purpose
# shellcheck disable=SC2030,SC2031
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
tests=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$tests/.." && pwd)

suites=()
cases=()
qtest=1
static=0
module=0
portability=0
while [ $# -gt 0 ]; do
	case $1 in
	--no-qtest) qtest=0 ;;
	--static) static=1 ;;
	--static-quick) static=quick ;;
	--module) module=1 ;;
	--portability) portability=1 ;;
	--case) cases+=(--case "$2"); shift ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) suites+=("$1") ;;
	esac
	shift
done
[ ${#suites[@]} -gt 0 ] || suites=(qla1280)

passed=0
failed=0
# add_counts TEXT: add the last "N passed, N failed" line of TEXT; false if none
add_counts() {
	local l
	l=$(printf '%s\n' "$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	[ -n "$l" ] || return 1
	passed=$((passed + $(echo "$l" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$l" | cut -d' ' -f3)))
}
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# Tools this script itself needs; the build scripts install their own.
missing=()
for p in python3 seabios qemu-system-data; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# A tool that cannot be installed fails the run; nothing is skipped.
if [ ${#missing[@]} -gt 0 ]; then
	if ! "$top/scripts/apt-setup.sh" ||
		! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
			--no-install-recommends "${missing[@]}" >/dev/null; then
		echo "FAIL setup/tools: cannot install ${missing[*]}"
		failed=$((failed + 1))
		summary
	fi
fi

t0=$(date +%s)
if [ $module = 1 ]; then
	if make -C "$top" module >/tmp/qlisp-module-build.log 2>&1; then
		export QLISP_KO=$top/drivers/scsi/qlisp/qlisp.ko
		echo "ok build/module"
	else
		tail -n 30 /tmp/qlisp-module-build.log
		echo "FAIL build/module: make module failed"
		failed=$((failed + 1))
	fi
fi
# Suites on the debug kernel ("kernel": "debug") need it and a qlisp.ko
# built for it (setup: counted only if it fails).
debug=0
for s in "${suites[@]}"; do
	grep -qE '"kernel": *"debug"' "$tests/suites/$s.py" 2>/dev/null && debug=1
done
if [ $debug = 1 ] && [ $module = 1 ]; then
	t1=$(date +%s)
	if ko=$("$top/scripts/module-debug.sh" 2>/tmp/qlisp-kdebug-build.log); then
		export QLISP_KO_DEBUG=$ko
		echo "ok build/debug-kernel-and-module ($(( $(date +%s) - t1 ))s)"
	else
		tail -n 30 /tmp/qlisp-kdebug-build.log
		echo "FAIL build/debug-kernel-and-module: see /tmp/qlisp-kdebug-build.log"
		failed=$((failed + 1))
	fi
fi
if ! "$top/emu/build-qemu.sh"; then
	echo "FAIL build/qemu: emu/build-qemu.sh failed"
	failed=$((failed + 1))
	summary
fi
qemu=$top/build/qemu-system-x86_64
[ "${QEMU_RELEASE:-bookworm}" = bookworm ] || qemu=$qemu-$QEMU_RELEASE
export QLISP_QEMU=${QLISP_QEMU:-$qemu}
export QTEST_QEMU_BINARY=$QLISP_QEMU
if ! "$tests/guest/build-guest.sh" ${QLISP_KO:+"$QLISP_KO"} >/dev/null; then
	echo "FAIL build/guest: tests/guest/build-guest.sh failed"
	failed=$((failed + 1))
	summary
fi
echo "run.sh: builds done in $(( $(date +%s) - t0 ))s" >&2

# Host-side tests (qtests, static gates): their own "N passed, N failed"
# at the end.  They run beside the guest suites (the qtests mostly wait on
# QEMU's clock; the static gates rebuild qlisp.ko in the source tree, which
# the guests, built above, no longer read) and print when those are done.
# (a subshell: its own passed/failed, counted by add_counts)
host_tests() (
	passed=0
	failed=0
	if [ $qtest = 1 ]; then
		for t in "$tests"/qtest/test_*.py; do
			[ -f "$t" ] || continue
			name=qtest/$(basename "$t" .py)
			o=$(cd "$top" && timeout 600 /usr/bin/python3 "$t" 2>&1)
			rc=$?
			printf '%s\n' "$o" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
			if ! add_counts "$o"; then
				echo "FAIL $name: exited $rc without a summary line"
				failed=$((failed + 1))
			elif [ $rc -ne 0 ] && ! printf '%s\n' "$o" | grep -qE '^[0-9]+ passed, [1-9][0-9]* failed$'; then
				echo "FAIL $name: exited $rc"
				failed=$((failed + 1))
			fi
		done
	fi
	if [ $static != 0 ]; then
		if [ $static = quick ]; then
			o=$("$tests/static.sh" --quick 2>&1)
		else
			o=$("$tests/static.sh" 2>&1)
		fi
		rc=$?
		printf '%s\n' "$o" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
		if ! add_counts "$o"; then
			echo "FAIL static: exited $rc without a summary line"
			failed=$((failed + 1))
		fi
	fi
	echo "run.sh: host tests (qtests, static) took $(( $(date +%s) - t_hs ))s" >&2
	echo "$passed passed, $failed failed"
)
hs=$(mktemp)
t_hs=$(date +%s)
host_tests >"$hs" 2>&1 &
hs_pid=$!

args=()
for s in "${suites[@]}"; do args+=(--suite "$s"); done
tmp=$(mktemp)
/usr/bin/python3 "$tests/run-vm.py" --no-build "${args[@]}" "${cases[@]}" |
	tee "$tmp" | grep --line-buffered -vE '^[0-9]+ passed, [0-9]+ failed$'
rc=${PIPESTATUS[0]}
o=$(cat "$tmp")
rm -f "$tmp"
if ! add_counts "$o"; then
	echo "FAIL run-vm: exited $rc without a summary line"
	failed=$((failed + 1))
fi
wait "$hs_pid"
o=$(cat "$hs")
rm -f "$hs"
printf '%s\n' "$o" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
if ! add_counts "$o"; then
	echo "FAIL host tests: no summary line"
	failed=$((failed + 1))
fi

# After the suites: these rebuild the stock guest with other modules.
if [ $portability = 1 ]; then
	for p in "kbuild-other.sh trixie" "kbuild-other.sh sid" "dkms-test.sh"; do
		# shellcheck disable=SC2086
		o=$("$top"/scripts/$p 2>&1)
		printf '%s\n' "$o" | grep -E '^(PASS|FAIL) '
		add_counts "$o" || { printf '%s\n' "$o" | tail -n 20; echo "FAIL $p: no summary"; failed=$((failed + 1)); }
	done
	if "$top/scripts/intree.sh" >/tmp/qlisp-intree.log 2>&1; then
		echo "PASS intree/build W=1"
		passed=$((passed + 1))
	else
		tail -n 20 /tmp/qlisp-intree.log
		echo "FAIL intree/build W=1"
		failed=$((failed + 1))
	fi
fi
summary
