#!/bin/bash
# Run the kernel's checkpatch.pl --strict on files, taking checkpatch from
# Debian's linux-source-6.1 package (fetched once, only its checkpatch
# files kept under ${QLISP_CACHE:-~/.cache/qlisp}/checkpatch).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
here=$(cd "$(dirname "$0")" && pwd)
cache=${QLISP_CACHE:-$HOME/.cache/qlisp}/checkpatch
if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	"$here/apt-setup.sh" >&2
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq linux-source-6.1 >/dev/null 2>&1)
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb |
		tar -x -C "$tmp" --wildcards '*/linux-source-*.tar.xz'
	mkdir -p "$tmp/src"
	tar -xJf "$tmp"/usr/src/linux-source-*.tar.xz -C "$tmp/src" \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	rm -rf "$cache"
	mkdir -p "$cache"
	mv "$tmp"/src/linux-source-*/scripts "$cache/"
fi
# Allowed, and only these: the kernel's own type name Scsi_Host (checkpatch
# cannot see the kernel headers outside a kernel tree), and version tests in
# the one compat header whose job they are.
allowed='CAMELCASE: Avoid CamelCase: <Scsi_Host>'
allowed_compat='LINUX_VERSION_CODE:|CONSTANT_COMPARISON:'
status=0
[ $# -gt 0 ] || { echo "checkpatch.sh: no files given" >&2; exit 2; }
for f in "$@"; do
	[ -f "$f" ] || { echo "$f: no such file"; status=1; continue; }
	# checkpatch exits 0 (clean: nothing printed in terse mode) or 1
	# (something reported, then its "total:" line); anything else (a
	# crash, a missing module) is a failure, never a clean result
	rc=0
	raw=$(perl "$cache/scripts/checkpatch.pl" --no-tree --strict --terse \
		--show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		--file "$f" 2>&1) || rc=$?
	if [ $rc -gt 1 ] || { [ $rc -eq 1 ] && ! printf '%s\n' "$raw" | grep -qE '^total: [0-9]+ errors, [0-9]+ warnings, [0-9]+ checks, [0-9]+ lines checked$'; }; then
		printf '%s\n' "$raw" | tail -n 10
		echo "$f: checkpatch.pl did not finish (exit $rc)"
		status=1
		continue
	fi
	issues=$(printf '%s\n' "$raw" | grep -E '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' || true)
	if [ $rc -eq 1 ] && [ -z "$issues" ]; then
		printf '%s\n' "$raw" | tail -n 10
		echo "$f: checkpatch.pl exited 1 with no report line this script understands"
		status=1
		continue
	fi
	out=$(printf '%s\n' "$issues" | grep -vF "$allowed" || true)
	case $f in
	*_compat.h) out=$(printf '%s\n' "$out" | grep -vE "$allowed_compat" || true) ;;
	esac
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		status=1
	fi
done
[ $status -eq 0 ] && echo "checkpatch --strict: clean ($# files)"
exit $status
