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
#   kernels/build-6.12-deb13-rt  ... and its PREEMPT_RT flavour
#   kernels/build-7.3            ... trixie-backports' newest 7.3 (the API
#                                of 6.17 and later)
#   kernels/build-7.3-rt         ... and its PREEMPT_RT flavour
#   kernels/build-7.2-deb14      ... forky's (Debian 14's) 7.2, with gcc-16
#                                in a forky root; each without a warning,
#                                with the four exports' CRCs of that
#                                kernel's Module.symvers (7.x: no
#                                CONFIG_MODVERSIONS, no CRCs in either), and
#                                modinfo showing our version and
#                                description; the 7.x ones also with W=1
#                                and sparse (C=2), each without a warning
#                                (sparse where the build root's can check
#                                the kernel: forky's 0.6.5, not trixie's
#                                0.6.4, which 7.x's headers are beyond)
#   kernels/refuse-builtin       7.3's headers with CONFIG_IRQ_BYPASS_MANAGER=y
#                                (the manager built in, as on Debian's arm64
#                                kernels) and then not set: "make KDIR=" and
#                                "make -C KDIR M=" stop with one sentence
#                                before compiling anything
#   kernels/dkms-config          dkms.conf's BUILD_EXCLUSIVE_CONFIG, read as
#                                DKMS reads it, accepts =m (old API and new),
#                                excludes =y and not set, and names no
#                                kernel versions
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
# distro_build_module; then what modinfo tells an operator.  The 7.x
# kernels, whose front end is built only for them, once more with W=1 and
# sparse.
build() {
	local desc
	DISTRO_HEADERS_ONLY=1 distro_fetch "$1"
	distro_build_module
	modinfo "$DISTRO_MODULE" | grep -E '^(version|description|vermagic):'
	[ "$(modinfo -F version "$DISTRO_MODULE")" = "$(version)" ] ||
		die "modinfo's version is not $(version)"
	# Read whole before grep looks at it (grep -q and pipefail).
	desc=$(modinfo -F description "$DISTRO_MODULE")
	grep -q 'irqbypass project' <<<"$desc" ||
		die "modinfo's description does not name the project"
	distro_crcs "$DISTRO_KDIR/Module.symvers"
	if distro_modversions; then
		echo "CRCs equal $DISTRO_KVER's Module.symvers"
	else
		echo "no CONFIG_MODVERSIONS: no CRCs in $DISTRO_KVER's Module.symvers or ours, the same four exports"
	fi
	if [[ $DISTRO_KVER == [7-9].* ]]; then
		if sparse_fits; then
			distro_build_module W=1 C=2
			echo "W=1 C=2: no warnings from the compiler or sparse"
		else
			distro_build_module W=1
			echo "W=1: no warnings; sparse not run: the build root's $(in_root sparse --version) cannot parse $DISTRO_KVER's headers (__typeof_unqual__), says kbuild's scripts/checker-valid.sh"
		fi
	fi
}

# in_root CMD...: CMD where the module is built for DISTRO_KDIR.
in_root() {
	local -a env
	mapfile -t env < <(distro_build_env)
	unset 'env[-1]'	# make
	"${env[@]}" "$@"
}

# sparse_fits: whether that root's sparse can check the kernel, as kbuild
# asks it (C= is quietly off otherwise).
sparse_fits() {
	[ "$(in_root sh "$DISTRO_KDIR/scripts/checker-valid.sh" sparse \
		--arch=x86_64 -mlittle-endian -m64 2>/dev/null)" = 1 ]
}

# stops DIR KDIR WHY: "make KDIR=" and "make -C KDIR M=" on a copy of the
# sources in DIR stop, saying WHY, before they compile anything.
stops() {
	local dir=$1 kdir=$2 why=$3 how out
	rm -rf "$dir"
	sync_sources "$dir" "${MODULE_SOURCES[@]}" Makefile
	for how in "make -C $dir KDIR=$kdir" "make -C $kdir M=$dir modules"; do
		echo "\$ $how"
		# shellcheck disable=SC2086
		if out=$($how 2>&1); then
			echo "$out"
			die "the build did not stop"
		fi
		echo "$out"
		grep -qF "$why" <<<"$out" || die "no sentence saying why"
		[ "$(grep -c 'irqbypass: ' <<<"$out")" -eq 1 ] ||
			die "not one sentence"
		! grep -qE '^ *(CC|LD|MODPOST|CHECK) ' <<<"$out" ||
			die "it compiled before it stopped"
		! compgen -G "$dir/*.o" >/dev/null || die "it left objects"
	done
}

# refuse_builtin: 7.3's headers, copied, with the manager built in and then
# not configured at all (auto.conf, which kbuild reads, and .config, which
# DKMS reads).  The headers of a kernel that really has it built in are
# Debian's arm64 ones; amd64's with one line changed are the same to the
# build, need no second architecture, and stay in step with 7.3.
refuse_builtin() {
	refuse_kdir
	set_manager "$REFUSE_KDIR" y
	stops "$CACHE/build/refuse" "$REFUSE_KDIR" \
		'has the IRQ bypass manager built in (CONFIG_IRQ_BYPASS_MANAGER=y)'
	set_manager "$REFUSE_KDIR" n
	stops "$CACHE/build/refuse" "$REFUSE_KDIR" \
		'without the IRQ bypass manager (CONFIG_IRQ_BYPASS_MANAGER is not set)'
	rm -rf "$CACHE/build/refuse" "$CACHE/build/refuse-kdir"
}

# refuse_kdir: the copy of 7.3's headers; sets REFUSE_KDIR (its build tree).
refuse_kdir() {
	local kdir=$CACHE/build/refuse-kdir hdrs f
	DISTRO_HEADERS_ONLY=1 distro_fetch 7.3
	hdrs=$DISTRO_ROOT/headers
	rm -rf "$kdir"
	# The tree, its scripts and its -common through symlinks; the files
	# that state the configuration as copies.
	mkdir -p "$kdir"
	cp -as "$hdrs/." "$kdir/"
	kdir=$kdir/usr/src/linux-headers-$DISTRO_KVER
	for f in Makefile .config include/config/auto.conf \
		 include/generated/autoconf.h; do
		rm -f "$kdir/$f"
		cp "$hdrs/usr/src/linux-headers-$DISTRO_KVER/$f" "$kdir/$f"
	done
	sed -i "s|$hdrs/|${kdir%/usr/src/*}/|g" "$kdir/Makefile"
	grep -qx 'CONFIG_IRQ_BYPASS_MANAGER=m' "$kdir/include/config/auto.conf" ||
		die "$DISTRO_KVER does not have CONFIG_IRQ_BYPASS_MANAGER=m"
	REFUSE_KDIR=$kdir
}

# set_manager KDIR y|n: the manager built in, or not configured.
set_manager() {
	local f
	for f in .config include/config/auto.conf; do
		if [ "$2" = y ]; then
			sed -i 's/^CONFIG_IRQ_BYPASS_MANAGER=.*/CONFIG_IRQ_BYPASS_MANAGER=y/' "$1/$f"
		else
			sed -i '/^CONFIG_IRQ_BYPASS_MANAGER=/d' "$1/$f"
		fi
	done
	echo "== CONFIG_IRQ_BYPASS_MANAGER: $(sed -n 's/^CONFIG_IRQ_BYPASS_MANAGER=//p' "$1/include/config/auto.conf")"
}

# dkms_config: dkms.conf's rule.  Real DKMS (a private tree) on 7.3's
# headers with the manager built in and then not set: status 77 (what
# dh-dkms's postinst reports as "Skipped.") with its one sentence, nothing
# compiled.  On 7.3's own headers (=m, the new API) and on the host's 6.1
# (=m, the old) the file is sourced as DKMS sources it, with its test of
# BUILD_EXCLUSIVE_CONFIG, which must accept them; the real builds are the
# builds above and tests/realclient's dkms build.  No version range.
dkms_config() {
	local kdir=$CACHE/build/refuse-kdir tmp ver out rc k6
	need dkms linux-headers-amd64
	! grep -q '^BUILD_EXCLUSIVE_KERNEL' "$REPO/dkms.conf" ||
		die "dkms.conf still has BUILD_EXCLUSIVE_KERNEL"
	ver=$(dkms_conf PACKAGE_VERSION)
	k6=/lib/modules/$(apt_depends_on linux-headers-amd64 linux-headers-)
	k6=${k6/linux-headers-/}/build
	DISTRO_HEADERS_ONLY=1 distro_fetch 7.3
	for k in "$DISTRO_KDIR" "$k6"; do
		echo "== $k: $(grep '^CONFIG_IRQ_BYPASS_MANAGER=' "$k/.config")"
		dkms_accepts "$k" || die "BUILD_EXCLUSIVE_CONFIG excludes $k"
		echo "BUILD_EXCLUSIVE_CONFIG=\"$(dkms_exclusive "$k")\": accepted"
	done

	tmp=$(mktemp -d "$CACHE/dkms.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp' '$CACHE/build/refuse-kdir'" EXIT
	sync_sources "$tmp/src/irqbypass-$ver" "${MODULE_SOURCES[@]}"
	cp "$REPO/dkms.conf" "$tmp/src/irqbypass-$ver/"
	mkdir -p "$tmp/tree" "$tmp/install"
	local -a opts=(--dkmstree "$tmp/tree" --sourcetree "$tmp/src"
		--installtree "$tmp/install")
	dkms add "${opts[@]}" -m irqbypass -v "$ver"
	refuse_kdir
	kdir=$REFUSE_KDIR
	for m in y n; do
		set_manager "$kdir" "$m"
		! dkms_accepts "$kdir" || die "BUILD_EXCLUSIVE_CONFIG accepts it"
		rc=0
		out=$(dkms build "${opts[@]}" -m irqbypass -v "$ver" \
			-k "$DISTRO_KVER" --kernelsourcedir "$kdir" 2>&1) || rc=$?
		echo "\$ dkms build -k $DISTRO_KVER --kernelsourcedir $kdir"
		echo "$out"
		[ "$rc" -eq 77 ] || die "dkms build's status is $rc, not 77"
		grep -q 'includes a BUILD_EXCLUSIVE directive which does not match this kernel' \
			<(tr -s '\n ' '  ' <<<"$out") || die "dkms does not say why"
		[ -z "$(find "$tmp/tree" -name '*.o')" ] || die "dkms compiled"
	done
}

# dkms_exclusive KDIR: BUILD_EXCLUSIVE_CONFIG as DKMS reads it for KDIR:
# dkms.conf sourced with kernel_source_dir set.
dkms_exclusive() {
	# shellcheck disable=SC2034,SC1091 # read by dkms.conf
	(kernel_source_dir=$1 dkms_tree=/nonexistent
	 . "$REPO/dkms.conf"
	 echo "$BUILD_EXCLUSIVE_CONFIG")
}

# dkms_accepts KDIR: DKMS 3.x's test (dkms's read_conf): each CONFIG_X must
# be =y or =m in KDIR/.config, each !CONFIG_X neither.
dkms_accepts() {
	local kconf
	for kconf in $(dkms_exclusive "$1"); do
		case $kconf in
		!*) ! grep -qE "^${kconf#!}=[ym]" "$1/.config" || return 1 ;;
		*) grep -qE "^${kconf}=[ym]" "$1/.config" || return 1 ;;
		esac
	done
}

main() {
	local name p want
	for name in kernels/version kernels/build-5.10 kernels/build-6.12-deb13 \
		    kernels/build-6.12-deb13-rt kernels/build-7.3 \
		    kernels/build-7.3-rt kernels/build-7.2-deb14 \
		    kernels/refuse-builtin kernels/dkms-config; do
		want=$#
		for p in "$@"; do
			[[ $name == *"$p"* ]] && want=0
		done
		[ "$want" -eq 0 ] || continue
		case $name in
		*/version) check "$name" bash "$0" --version ;;
		*/build-*) check "$name" bash "$0" --build "${name#*/build-}" ;;
		*/refuse-builtin) check "$name" bash "$0" --refuse-builtin ;;
		*/dkms-config) check "$name" bash "$0" --dkms-config ;;
		esac
	done
}

case ${1:-} in
--version) check_version ;;
--build) build "$2" ;;
--refuse-builtin) refuse_builtin ;;
--dkms-config) dkms_config ;;
*) main "$@" ;;
esac
