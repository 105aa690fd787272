# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Debian's archive beyond what this machine's sources name: a private apt
# configuration under $CACHE/apt/ with its own sources list, package lists
# and package cache, so that the kernels of other releases can be resolved
# and downloaded without touching the system's sources, lists or dpkg.
#
# Source it (lib.sh first).  Then:
#
#   archive apt-get|apt-cache ARGS...   run the command on the private
#                                       configuration
#   archive_update                      fetch its package lists (once; again
#                                       only when asked to, or when they are
#                                       older than ARCHIVE_MAX_AGE days)
#
# Suites: bullseye (Debian 11), bookworm (12), trixie (13) and
# trixie-backports, forky (14, testing), and bookworm-security (where
# bookworm's builds of the 6.12 kbuild tools are), amd64 only, main only,
# no translations.  A package of one suite is named PKG/SUITE in apt's
# arguments.  Testing's Release files expire within a week of being signed
# (Valid-Until), and a mirror that lags behind serves expired ones: for
# forky, apt does not check that date (its signature still is).

ARCHIVE_MIRROR=${ARCHIVE_MIRROR:-http://deb.debian.org/debian}
ARCHIVE_SECURITY=${ARCHIVE_SECURITY:-http://deb.debian.org/debian-security}
ARCHIVE_SUITES=(bullseye bookworm trixie trixie-backports forky)
ARCHIVE_MAX_AGE=${ARCHIVE_MAX_AGE:-7}
# One configuration per set of suites and mirrors, so that checkouts that
# name different suites and share a cache (IRQBYPASS_CACHE) never rewrite
# each other's sources list and package lists.
ARCHIVE_DIR=$CACHE/apt/$(printf '%s\n' "${ARCHIVE_SUITES[@]}" \
	"$ARCHIVE_MIRROR" "$ARCHIVE_SECURITY" | cksum | cut -d' ' -f1)

# The options that make apt read and write only $ARCHIVE_DIR, and the
# system's dpkg status read-only (nothing is ever installed through it).
ARCHIVE_OPTS=(
	-o "Dir::Etc::SourceList=$ARCHIVE_DIR/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$ARCHIVE_DIR/lists"
	-o "Dir::Cache=$ARCHIVE_DIR/cache"
	-o Dir::Etc::Preferences=/dev/null
	-o Dir::Etc::PreferencesParts=/dev/null
	-o APT::Architecture=amd64
	-o APT::Architectures=amd64
	-o Acquire::Languages=none
	-o APT::Sandbox::User=root
)

# The sources.list option for SUITE's Valid-Until (see above).
archive_valid_until() {
	[ "$1" != forky ] || echo ' check-valid-until=no'
}

archive_config() {
	local s
	mkdir -p "$ARCHIVE_DIR/lists/partial" "$ARCHIVE_DIR/cache/archives/partial"
	for s in "${ARCHIVE_SUITES[@]}"; do
		printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg%s] %s %s main\n' \
			"$(archive_valid_until "$s")" "$ARCHIVE_MIRROR" "$s"
	done >"$ARCHIVE_DIR/sources.list.new"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm-security main\n' \
		"$ARCHIVE_SECURITY" >>"$ARCHIVE_DIR/sources.list.new"
	if cmp -s "$ARCHIVE_DIR/sources.list.new" "$ARCHIVE_DIR/sources.list"; then
		rm -f "$ARCHIVE_DIR/sources.list.new"
	else
		mv "$ARCHIVE_DIR/sources.list.new" "$ARCHIVE_DIR/sources.list"
		rm -f "$ARCHIVE_DIR/.updated"
	fi
}

archive() {
	local cmd=$1
	shift
	archive_config
	[ -e "$ARCHIVE_DIR/.updated" ] || archive_update
	"$cmd" "${ARCHIVE_OPTS[@]}" "$@"
}

# archive_update [force]
archive_update() {
	need debian-archive-keyring
	archive_config
	if [ "${1:-}" != force ] && [ -e "$ARCHIVE_DIR/.updated" ] &&
	   [ -z "$(find "$ARCHIVE_DIR/.updated" -mtime +"$ARCHIVE_MAX_AGE")" ]; then
		return 0
	fi
	log "updating the private package lists (${ARCHIVE_SUITES[*]})"
	apt-get "${ARCHIVE_OPTS[@]}" -qq update >&2
	touch "$ARCHIVE_DIR/.updated"
}

# archive_chroot SUITE CC [PKG...]: a minimal SUITE root with the compiler
# CC (gcc-14 for trixie, gcc-16 for forky) and what kbuild needs to build
# modules, made once with mmdebstrap under $CACHE/chroot/; prints its path.
# For kernels whose compiler and kbuild tools need a newer Debian than this
# host's.  PKG... (sparse) are installed into it with its own apt when it
# lacks them, so that a root made before they were asked for gets them too.
archive_chroot() {
	local suite=$1 cc=$2 root
	shift 2
	root=$CACHE/chroot/$suite-$cc
	mkdir -p "$CACHE/chroot"
	(
		flock 9
		if [ ! -e "$root/.done" ]; then
			need mmdebstrap debian-archive-keyring
			log "making a $suite root with $cc (mmdebstrap)"
			rm -rf "$root"
			local -a opts=()
			[ -z "$(archive_valid_until "$suite")" ] || opts+=(
				--aptopt='Acquire::Check-Valid-Until "false"')
			mmdebstrap --quiet --variant=minbase "${opts[@]}" \
				--include="$(IFS=,; echo "$cc,make,dwarves${*:+,$*}")" \
				"$suite" "$root" \
				"$ARCHIVE_MIRROR" >&2
			touch "$root/.done"
		fi
		local p missing=()
		for p in "$@"; do
			[ -e "$root/var/lib/dpkg/info/$p.list" ] ||
				[ -e "$root/var/lib/dpkg/info/$p:amd64.list" ] ||
				missing+=("$p")
		done
		if [ ${#missing[@]} -gt 0 ]; then
			log "installing ${missing[*]} in the $suite root"
			archive_in_chroot "$root" apt-get -qq update >&2
			archive_in_chroot "$root" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends \
				"${missing[@]}" >&2
		fi
	) 9>"$CACHE/chroot/.lock"
	echo "$root"
}

# archive_in_chroot ROOT CMD...: run CMD in ROOT with $CACHE mounted at the
# same path (builds there see the same paths as on the host), and /proc and
# /dev (for apt and dpkg), in a mount namespace of its own, so that nothing
# stays mounted.
archive_in_chroot() {
	local root=$1
	shift
	mkdir -p "$root$CACHE"
	unshare --mount --propagation private bash -euc '
		root=$1
		shift
		mount --bind "$CACHE" "$root$CACHE"
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
			LANG=C.UTF-8 "$@"' archive "$root" "$@"
}
