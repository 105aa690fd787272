#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# deb.sh: make deb.  Builds irqbypass-dkms_VERSION_all.deb (and the native
# source package) from debian/ with Debian's own tooling, debhelper and
# dh-dkms, in a copy of the checkout under $CACHE/deb/, runs lintian on
# the result, and copies the .deb into the checkout.
#
#   deb.sh           build, lintian, copy; fails on any lintian tag
#                    (overrides in debian/ say why)
#   deb.sh --check   the same as the make check result deb/build-lintian,
#                    with the package's contents checked as well

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need debhelper dh-dkms lintian dpkg-dev

build_deb() {
	local v dir deb
	v=$(tr -d '[:space:]' <"$REPO/VERSION")
	dir=$CACHE/deb/irqbypass-$v
	rm -rf "$CACHE/deb"
	sync_sources "$dir"
	rm -f "$dir"/*.deb
	log "building irqbypass-dkms $v"
	(cd "$dir" && dpkg-buildpackage -us -uc --build=full) >&2
	DEB=$CACHE/deb/irqbypass-dkms_${v}_all.deb
	[ -f "$DEB" ] || die "no $DEB"
	log "lintian"
	lintian --fail-on error,warning,info,pedantic --info \
		"$CACHE/deb/irqbypass_${v}_amd64.changes"
	echo "lintian: no tags"
	cp "$DEB" "$REPO/"
	echo "built ${DEB##*/}"
	deb=$DEB
	# What an operator gets: the sources where DKMS looks, and dkms.conf
	# with this version.
	dpkg-deb -c "$deb" | grep -q "usr/src/irqbypass-$v/irqbypass.c$" ||
		die "no usr/src/irqbypass-$v/irqbypass.c in the package"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/irqbypass-$v/dkms.conf" |
		grep -qx "PACKAGE_VERSION=\"$v\"" ||
		die "the package's dkms.conf is not version $v"
	dpkg-deb -I "$deb" postinst | grep -q dkms ||
		die "no DKMS postinst"
	echo "contents: sources and dkms.conf $v under /usr/src, DKMS postinst"
}

case ${1:-} in
--check) build_deb ;;
*) check deb/build-lintian bash "$0" --check ;;
esac
