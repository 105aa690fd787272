#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kernels.sh: the Debian kernels beyond Debian 12's, through the private
# archive (scripts/archive.sh), and the version.
#
#   kernels/version              VERSION, dkms.conf's PACKAGE_VERSION and
#                                (with debian/) the package's version agree
#   kernels/build-5.10           irqbypass.ko builds against Debian 11's 5.10
#   kernels/build-6.12-deb13     ... Debian 13's 6.12
#   kernels/build-6.12-deb13-rt  ... and its PREEMPT_RT flavour, each without
#                                a warning, with the four exports' CRCs of
#                                that kernel's Module.symvers, and modinfo
#                                showing our version and description
#   kernels/refuse-7.2           trixie-backports' newest 7.2 (the API of
#                                6.17 and later): "make KDIR=" and
#                                "make -C KDIR M=" stop with one sentence
#                                before compiling anything, and dkms.conf's
#                                BUILD_EXCLUSIVE_KERNEL refuses it while it
#                                accepts 5.10
#
# Usage: kernels.sh [PATTERN...]   the checks whose names contain a PATTERN.

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/distro.sh"

version() { tr -d '[:space:]' <"$REPO/VERSION"; }

dkms_conf() {	# dkms_conf KEY: a value of dkms.conf
	sed -n "s/^$1=\"\\(.*\\)\"\$/\\1/p" "$REPO/dkms.conf"
}

check_version() {
	local v
	v=$(version)
	echo "VERSION: $v"
	[ -n "$v" ] || die "VERSION is empty"
	echo "dkms.conf: $(dkms_conf PACKAGE_VERSION)"
	[ "$(dkms_conf PACKAGE_VERSION)" = "$v" ] ||
		die "dkms.conf's PACKAGE_VERSION is not VERSION's $v"
	if [ -f "$REPO/debian/changelog" ]; then
		local deb
		deb=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$REPO/debian/changelog")
		echo "debian/changelog: $deb"
		[ "$deb" = "$v" ] || die "debian/changelog's version is not $v"
	fi
}

# build FLAVOUR: build against it, CRCs and warnings checked by
# distro_build_module; then what modinfo tells an operator.
build() {
	DISTRO_HEADERS_ONLY=1 distro_fetch "$1"
	distro_build_module
	modinfo "$DISTRO_MODULE" | grep -E '^(version|description|vermagic):'
	[ "$(modinfo -F version "$DISTRO_MODULE")" = "$(version)" ] ||
		die "modinfo's version is not $(version)"
	modinfo -F description "$DISTRO_MODULE" | grep -q 'irqbypass project' ||
		die "modinfo's description does not name the project"
	distro_crcs "$DISTRO_KDIR/Module.symvers"
	echo "CRCs equal $DISTRO_KVER's Module.symvers"
}

refuse() {
	local dir=$CACHE/build/refuse out re v510
	distro_resolve 5.10
	v510=$DISTRO_KVER
	distro_fetch 7.2
	rm -rf "$dir"
	sync_sources "$dir" "${MODULE_SOURCES[@]}" Makefile
	for how in "make -C $dir KDIR=$DISTRO_KDIR" \
		   "make -C $DISTRO_KDIR M=$dir modules"; do
		echo "\$ $how"
		# shellcheck disable=SC2086
		if out=$($how 2>&1); then
			echo "$out"
			die "the build did not stop"
		fi
		echo "$out"
		grep -q 'API of Linux 6.17 and later' <<<"$out" ||
			die "no sentence saying why"
		! grep -qE '^ *(CC|LD|MODPOST) ' <<<"$out" ||
			die "it compiled before it stopped"
		! compgen -G "$dir/*.o" >/dev/null || die "it left objects"
	done
	re=$(dkms_conf BUILD_EXCLUSIVE_KERNEL)
	[[ $v510 =~ $re ]] || die "BUILD_EXCLUSIVE_KERNEL refuses $v510"
	[[ ! $DISTRO_KVER =~ $re ]] ||
		die "BUILD_EXCLUSIVE_KERNEL accepts $DISTRO_KVER"
	echo "BUILD_EXCLUSIVE_KERNEL $re: accepts $v510, refuses $DISTRO_KVER"
}

main() {
	local name p want
	for name in kernels/version kernels/build-5.10 kernels/build-6.12-deb13 \
		    kernels/build-6.12-deb13-rt kernels/refuse-7.2; do
		want=$#
		for p in "$@"; do
			[[ $name == *"$p"* ]] && want=0
		done
		[ "$want" -eq 0 ] || continue
		case $name in
		*/version) check "$name" bash "$0" --version ;;
		*/build-*) check "$name" bash "$0" --build "${name#*/build-}" ;;
		*/refuse-*) check "$name" bash "$0" --refuse ;;
		esac
	done
}

case ${1:-} in
--version) check_version ;;
--build) build "$2" ;;
--refuse) refuse ;;
*) main "$@" ;;
esac
