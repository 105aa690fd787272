# SPDX-License-Identifier: GPL-2.0-only
# Shared by the scripts under scripts/: where things are cached, how
# packages get installed, and how checks are counted.
#
# Source it; it sets REPO (the checkout) and CACHE (downloads and builds,
# $IRQBYPASS_CACHE or .cache/ in the checkout, git-ignored).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${IRQBYPASS_CACHE:-$REPO/.cache}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
export REPO CACHE
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
# A check's results go here, one "PASS name" or "FAIL name" a line; the
# KUnit runs add one line per case.
RESULTS=${RESULTS:-$CACHE/results}
export RESULTS
# The guests that were booted a second time (scripts/distro.sh), one line
# each; make check lists them before its last line.
RETRIED_BOOTS=${RETRIED_BOOTS:-$CACHE/logs/retried-boots}
export RETRIED_BOOTS

# retried LOG KEPT WHAT: a guest's try did not finish and is run again;
# keep its console LOG as KEPT and list it, WHAT saying how it ended.
retried() {
	log "$3: booting it once more; its console: $2"
	mv "$1" "$2"
	mkdir -p "${RETRIED_BOOTS%/*}"
	echo "$1: $3; its console: $2" >>"$RETRIED_BOOTS"
}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# need PKG...: install the Debian packages that are not installed yet.
need() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	local sudo= lock
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	# make check's two lines may both install: one apt at a time.
	mkdir -p "$CACHE"
	exec {lock}>"$CACHE/.lock-apt"
	flock "$lock"
	if [ ! -e "$CACHE/.apt-updated" ]; then
		$sudo apt-get update -qq >&2
		touch "$CACHE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2
	exec {lock}>&-
}

# json_check SCHEMA: the JSON document on stdin against the JSON Schema
# (draft 2020-12) SCHEMA, with Debian's python3-jsonschema: prints "valid",
# or why not.
json_check() {
	need python3-jsonschema
	/usr/bin/python3 -c '
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
try:
    jsonschema.Draft202012Validator(schema).validate(json.load(sys.stdin))
    print("valid")
except (ValueError, jsonschema.ValidationError) as e:
    print("not valid:", str(e).splitlines()[0])' "$1"
}

# pass NAME / fail NAME [WHY]: record the outcome of one check.
pass() { echo "PASS $1" >>"$RESULTS"; printf 'PASS  %s\n' "$1"; }
fail() {
	echo "FAIL $1" >>"$RESULTS"
	printf 'FAIL  %s%s\n' "$1" "${2:+: $2}"
}

# check NAME CMD...: run CMD with its output in $CACHE/logs/NAME.log and
# record whether it succeeded; the log's tail is shown on failure.
check() {
	local name=$1 logf
	shift
	mkdir -p "$CACHE/logs"
	logf="$CACHE/logs/${name//\//_}.log"
	if "$@" >"$logf" 2>&1; then
		pass "$name"
	else
		fail "$name" "see $logf"
		tail -n 30 "$logf" | sed 's/^/    /'
	fi
}

# Newest version of a Debian package whose name matches a pattern,
# resolved through apt, never hard-coded.
apt_depends_on() {	# apt_depends_on META-PACKAGE PREFIX: the dependency named PREFIX*
	apt-cache depends "$1" 2>/dev/null |
		sed -n "s/^ *Depends: \($2[^ ]*\)$/\1/p" | head -n 1
}

# The 6.12 tree from Debian's linux-source-6.12, unpacked once into the
# cache, with this checkout overlaid as virt/lib/ plus our header.
TREE=$CACHE/linux-6.12
export TREE

prepare_tree() {
	need linux-source-6.12 build-essential bc bison flex libelf-dev \
		libssl-dev python3 cpio kmod ccache
	if [ ! -e "$TREE/.unpacked" ]; then
		local tarball
		tarball=$(ls /usr/src/linux-source-6.12*.tar.xz | tail -n 1)
		log "unpacking $tarball"
		rm -rf "$TREE" "$CACHE/unpack"
		mkdir -p "$CACHE/unpack"
		tar -C "$CACHE/unpack" -xf "$tarball"
		mv "$CACHE"/unpack/linux-source-6.12* "$TREE"
		rmdir "$CACHE/unpack"
		touch "$TREE/.unpacked"
	fi
	# The overlay, as a jury-rigged tree would have it: kbuild compiles
	# our files, never the tree's own copies.
	if [ ! -L "$TREE/virt/lib" ]; then
		rm -rf "$TREE/virt/lib"
	fi
	ln -sfn "$REPO" "$TREE/virt/lib"
	ln -sfn "$REPO/include/linux/irqbypass.h" \
		"$TREE/include/linux/irqbypass.h"
}

# Build products and places that are never sources: kbuild's output, the
# cache, git's store and the rendered documentation.
SYNC_SKIP=(-name .git -o -name .cache -o -path ./Documentation/output)
SYNC_PRODUCTS=(-name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c'
	       -o -name '.*.cmd' -o -name '.*.d' -o -name '*.a' -o -name '*.dwo'
	       -o -name Module.symvers -o -name modules.order)

# sync_sources DEST [PATH...]: copy the checkout's sources under PATH...
# (relative to the checkout; all of it by default) to DEST, touching only
# the files that differ, so that kbuild rebuilds only what it must, and
# deleting the sources DEST has that the checkout no longer has.  Builds
# against several kernels each get a DEST of their own and never collide.
# Only find, cmp and cp: nothing to install.
sync_sources() {
	local dest=$1 f
	local -A have=()
	shift
	[ $# -gt 0 ] || set -- .
	mkdir -p "$dest"
	while IFS= read -r -d '' f; do
		f=${f#./}
		have[$f]=1
		[[ $f != */* ]] || mkdir -p "$dest/${f%/*}"
		cmp -s "$REPO/$f" "$dest/$f" || cp "$REPO/$f" "$dest/$f"
	done < <(cd "$REPO" && find "$@" \( "${SYNC_SKIP[@]}" \) -prune -o \
		 -type f ! \( "${SYNC_PRODUCTS[@]}" \) -print0)
	while IFS= read -r -d '' f; do
		f=${f#./}
		[ -n "${have[$f]:-}" ] || rm -f "$dest/$f"
	done < <(cd "$dest" && find "$@" -type f ! \( "${SYNC_PRODUCTS[@]}" \) \
		 -print0 2>/dev/null)
}

# The module's own sources, for a build of irqbypass.ko alone.
MODULE_SOURCES=(Kbuild api.mk VERSION irqbypass.c irqbypass_compat.h
		irqbypass_internal.h irqbypass_trace.h include tests)

# The Debian kernel headers that a meta-package (linux-headers-amd64,
# linux-headers-rt-amd64) currently stands for, installed; prints KDIR.
debian_headers() {
	local meta=$1 pkg
	need "$meta"
	pkg=$(apt_depends_on "$meta" linux-headers-)
	[ -n "$pkg" ] || die "cannot resolve $meta"
	need "$pkg"
	echo "/usr/src/$pkg"
}

# The 7.3 tree (the API of Linux 6.17 and later) from Debian's
# linux-source-7.3, the newest in trixie-backports, resolved through the
# private apt configuration (scripts/archive.sh) and unpacked once into
# the cache.  One tree and one build directory serve both KUnit runs on
# it, which differ only in what virt/lib/ is (prepare_tree73 MANAGER):
#
#   upstream  the tree's own virt/lib/ (kept as virt/lib.upstream/),
#             irqbypass.c unchanged, with our tests/ added by a test-only
#             patch to its Makefile and Kconfig;
#   ours      this checkout, as for 6.12, but with the kernel's own
#             <linux/irqbypass.h> (ours is the old API).
#
# Switching changes only irqbypass.o's command line and sources, so the
# second run is an incremental rebuild.
TREE73=$CACHE/linux-7.3
export TREE73

prepare_tree73() {
	local manager=$1 deb
	need build-essential bc bison flex libelf-dev libssl-dev python3 \
		cpio kmod ccache xz-utils
	if [ ! -e "$TREE73/.unpacked" ]; then
		# shellcheck source=scripts/archive.sh
		. "$REPO/scripts/archive.sh"
		mkdir -p "$CACHE/deb73"
		rm -f "$CACHE"/deb73/linux-source-7.3_*.deb
		(cd "$CACHE/deb73" &&
		 archive apt-get -qq download linux-source-7.3/trixie-backports)
		deb=$(ls "$CACHE"/deb73/linux-source-7.3_*.deb)
		log "unpacking $deb"
		rm -rf "$TREE73" "$CACHE/unpack73"
		mkdir -p "$CACHE/unpack73"
		dpkg-deb --fsys-tarfile "$deb" |
			tar -xO --wildcards './usr/src/linux-source-7.3*.tar.xz' |
			tar -C "$CACHE/unpack73" -xJ
		mv "$CACHE"/unpack73/linux-source-7.3* "$TREE73"
		rmdir "$CACHE/unpack73"
		mv "$TREE73/virt/lib" "$TREE73/virt/lib.upstream"
		# The test-only patch: build our suites next to upstream's
		# manager, under the same Kconfig symbol as ours.
		cat >>"$TREE73/virt/lib.upstream/Makefile" <<-'MK'
		obj-$(CONFIG_IRQ_BYPASS_MANAGER_KUNIT_TEST) += tests/
		MK
		cat >>"$TREE73/virt/lib.upstream/Kconfig" <<-'KC'

		config IRQ_BYPASS_MANAGER_KUNIT_TEST
			tristate "KUnit tests for the IRQ bypass manager" if !KUNIT_ALL_TESTS
			depends on KUNIT
			select IRQ_BYPASS_MANAGER
			default KUNIT_ALL_TESTS
		KC
		touch "$TREE73/.unpacked"
	fi
	# kunit.py of 7.x tries KVM first; this machine's /dev/kvm (nested)
	# hangs the guest with no output, so run under TCG, as on 6.12.
	sed -i "/'-accel', 'kvm',/d; /'-accel', 'hvf',/d" \
		"$TREE73/tools/testing/kunit/kunit_kernel.py"
	case $manager in
	upstream)
		ln -sfn "$REPO/tests" "$TREE73/virt/lib.upstream/tests"
		ln -sfn lib.upstream "$TREE73/virt/lib"
		;;
	ours)
		ln -sfn "$REPO" "$TREE73/virt/lib"
		;;
	*)
		die "prepare_tree73: upstream or ours, not '$manager'"
		;;
	esac
}
