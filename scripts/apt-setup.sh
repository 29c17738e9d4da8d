#!/bin/sh
# Make Debian's source packages (deb-src) and the non-free-firmware component
# reachable, then refresh the package lists once.  Idempotent; needs root.
set -eu
list=/etc/apt/sources.list.d/qlisp.sources
# the archives this host already uses: no mirror is named here
here=$(dirname "$0")
main=$("$here/apt-mirror.sh" main)
security=$("$here/apt-mirror.sh" security)
if [ ! -f "$list" ]; then
	cat >"$list" <<SRC
# Added by qlisp: QEMU source for the emulator build, firmware-qlogic for tests.
Types: deb-src
URIs: $main
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $main
Suites: bookworm bookworm-updates
Components: non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	rm -f /var/lib/apt/qlisp-updated
fi
# trixie's sources too: emu/build-qemu.sh builds its QEMU 10.0 on request
# (QEMU_RELEASE=trixie).  deb-src only, so nothing installs from trixie.
if ! grep -q '^Suites: trixie$' "$list"; then
	cat >>"$list" <<SRC

Types: deb-src
URIs: $main
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	rm -f /var/lib/apt/qlisp-updated
fi
stamp=/var/lib/apt/qlisp-updated
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
	apt-get update -qq
	touch "$stamp"
fi
