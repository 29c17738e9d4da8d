#!/bin/sh
# Make Debian's source packages (deb-src) and the non-free-firmware component
# reachable, then refresh the package lists once.  Idempotent; needs root.
set -eu
list=/etc/apt/sources.list.d/qlisp.sources
if [ ! -f "$list" ]; then
	cat >"$list" <<'SRC'
# Added by qlisp: QEMU source for the emulator build, firmware-qlogic for tests.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	rm -f /var/lib/apt/qlisp-updated
fi
# trixie's sources too: emu/build-qemu.sh builds its QEMU 10.0 on request
# (QEMU_RELEASE=trixie).  deb-src only, so nothing installs from trixie.
if ! grep -q '^Suites: trixie$' "$list"; then
	cat >>"$list" <<'SRC'

Types: deb-src
URIs: http://deb.debian.org/debian
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
