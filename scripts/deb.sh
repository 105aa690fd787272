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

# deb_build: the package alone, under $CACHE/deb/; sets DEB (its path)
# and DEB_VERSION.  Other scripts source this file for it.
deb_build() {
	local v dir
	v=$(tr -d '[:space:]' <"$REPO/VERSION")
	dir=$CACHE/deb/irqbypass-$v
	rm -rf "$CACHE/deb"
	sync_sources "$dir"
	rm -f "$dir"/*.deb
	log "building irqbypass-dkms $v"
	(cd "$dir" && dpkg-buildpackage -us -uc --build=full) >&2
	DEB=$CACHE/deb/irqbypass-dkms_${v}_all.deb
	DEB_VERSION=$v
	[ -f "$DEB" ] || die "no $DEB"
}

build_deb() {
	local v deb
	deb_build
	v=$DEB_VERSION
	log "lintian"
	lintian --fail-on error,warning,info,pedantic --info \
		"$CACHE/deb/irqbypass_${v}_amd64.changes"
	echo "lintian: no tags"
	cp "$DEB" "$REPO/"
	echo "built ${DEB##*/}"
	deb=$DEB
	# What an operator gets: the sources where DKMS looks, and dkms.conf
	# with this version.  Each listing is read whole before grep looks at
	# it: grep -q stops at the first match, and under pipefail the writer's
	# SIGPIPE would fail the check.
	local list conf postinst
	list=$(dpkg-deb -c "$deb")
	conf=$(dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/irqbypass-$v/dkms.conf")
	postinst=$(dpkg-deb -I "$deb" postinst)
	grep -q "usr/src/irqbypass-$v/irqbypass.c$" <<<"$list" ||
		die "no usr/src/irqbypass-$v/irqbypass.c in the package"
	grep -qx "PACKAGE_VERSION=\"$v\"" <<<"$conf" ||
		die "the package's dkms.conf is not version $v"
	grep -q dkms <<<"$postinst" || die "no DKMS postinst"
	echo "contents: sources and dkms.conf $v under /usr/src, DKMS postinst"
}

# Sourced, it only defines deb_build.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case ${1:-} in
--check) build_deb ;;
*) check deb/build-lintian bash "$0" --check ;;
esac
