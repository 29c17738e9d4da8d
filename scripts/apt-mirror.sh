#!/bin/sh
# apt-mirror.sh [main|security]: the URI of the Debian archive (main, the
# default) or of its security archive that this host's apt already uses,
# read from /etc/apt/sources.list and /etc/apt/sources.list.d/ (one-line
# .list files and deb822 .sources files).  The project names no mirror of
# its own: a mirror or proxy the user configured is the one used.
# Only entries whose suite is a Debian release (bookworm, trixie, sid, ...,
# with -updates/-backports/-security) count; third-party repositories and
# qlisp's own additions (qlisp.sources) are skipped.  Prints the URI without
# a trailing slash; exits 1 with a message if there is none.
set -eu
kind=${1:-main}
case $kind in main|security) ;; *) echo "usage: $0 [main|security]" >&2; exit 2 ;; esac
files=
# APT_SOURCES: other files to read instead (for testing this script)
for f in ${APT_SOURCES:-/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources}; do
	[ -f "$f" ] || continue
	[ "$(basename "$f")" = qlisp.sources ] && continue
	files="$files $f"
done
[ -n "$files" ] || { echo "apt-mirror: no apt sources on this host" >&2; exit 1; }
# shellcheck disable=SC2086
uri=$(awk -v kind="$kind" '
function rel(s) {
	return s ~ /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldstable|stable|testing|unstable)(-(updates|backports|security|proposed-updates))?$/
}
function want(types, uris, suites,   n, i, s, u) {
	if (types !~ /(^| )deb( |$)/ || enabled ~ /^no$/)
		return
	n = split(suites, s, " ")
	for (i = 1; i <= n; i++) {
		if (!rel(s[i]))
			continue
		if ((kind == "security") != (s[i] ~ /-security$/))
			continue
		split(uris, u, " ")
		if (!found) { print u[1]; found = 1 }
	}
}
FNR == 1 { flush() }
function flush() { if (t != "") want(t, us, ss); t = us = ss = enabled = "" }
FILENAME ~ /\.sources$/ {
	if ($0 ~ /^[ \t]*$/) { flush(); next }
	if ($0 ~ /^#/) next
	if ($1 == "Types:") { $1 = ""; t = $0 }
	else if ($1 == "URIs:") { $1 = ""; sub(/^ +/, ""); us = $0 }
	else if ($1 == "Suites:") { $1 = ""; ss = $0 }
	else if ($1 == "Enabled:") enabled = $2
	next
}
/^[ \t]*deb[ \t]/ {
	line = $0
	sub(/^[ \t]*deb[ \t]+/, "", line)
	if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
	split(line, w, /[ \t]+/)
	enabled = ""
	want("deb", w[1], w[2])
}
END { flush() }
' $files)
[ -n "$uri" ] || { echo "apt-mirror: no Debian $kind archive in this host's apt sources" >&2; exit 1; }
echo "${uri%/}"
