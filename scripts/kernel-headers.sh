#!/bin/sh
# Print the build directory of Debian's current bookworm kernel headers
# (the linux-headers-amd64 metapackage's target), installing them if
# needed.  The guest kernel (linux-image-amd64) is the same version.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(apt-cache depends linux-headers-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-headers-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
	"$here/apt-setup.sh" >&2
	pkg=$(apt-cache depends linux-headers-amd64 |
		sed -n 's/^ *Depends: \(linux-headers-[0-9].*-amd64\)$/\1/p' | head -n1)
fi
[ -n "$pkg" ] || { echo "kernel-headers: cannot resolve linux-headers-amd64" >&2; exit 1; }
kver=${pkg#linux-headers-}
if [ ! -f "/usr/src/$pkg/Makefile" ]; then
	"$here/apt-setup.sh" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
fi
echo "/usr/src/$pkg"
