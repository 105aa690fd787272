#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fresh-machine.sh [--together] [--keep] [--refresh] [STEP...]
#
# Runs the README's commands as a new user would: in a clean clone of this
# checkout's HEAD, on a machine that has nothing but a minimal Debian 12
# (mmdebstrap --variant=minbase, plus git and make), so that a command a
# script uses but never installs fails here instead of on the next new
# machine.  A clean checkout is not a clean machine: this is the check to
# run after adding a command to a script.
#
# The machine is a chroot into a root file system that mmdebstrap builds
# once from Debian's archive and caches as a tarball in $CACHE/fresh/; every
# run unpacks it anew.  It shares the host's network (apt-get reaches
# Debian's archive as on the host) and its /dev, and runs in a mount
# namespace of its own, so nothing stays mounted when it ends.  QEMU runs
# there as TCG, as on the host.
#
#   STEP        a make target (demo, check, bench, docs...), or a shell
#               command with spaces, run in the clone; default: demo
#   --together  run the STEPs one after the other on one fresh machine;
#               by default each STEP gets a fresh machine of its own, since
#               each must work alone and in any order
#   --keep      keep the machines' roots (under $CACHE/fresh/run-*)
#   --refresh   build the minimal root again
#
# Prints PASS or FAIL and the time taken for each STEP, the output of each
# in $CACHE/logs/fresh-*.log, and last "N passed, N failed".
#
# Examples: make fresh-machine                  (make demo)
#           make fresh-machine STEPS="demo docs"
#           make fresh-machine STEPS=check      (about as long as CI)

. "$(dirname "$0")/lib.sh"

together=
keep=
refresh=
steps=()
while [ $# -gt 0 ]; do
	case $1 in
	--together) together=1 ;;
	--keep) keep=1 ;;
	--refresh) refresh=1 ;;
	-h | --help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) steps+=("$1") ;;
	esac
	shift
done
[ ${#steps[@]} -gt 0 ] || steps=(demo)
[ "$(id -u)" -eq 0 ] || die "run as root: it builds and enters a chroot"

need mmdebstrap
FRESH=$CACHE/fresh
TARBALL=$FRESH/bookworm-minbase.tar
mkdir -p "$FRESH" "$CACHE/logs"

# What a Debian 12 installer writes into sources.list.
SOURCES=(
	"deb http://deb.debian.org/debian bookworm main"
	"deb http://deb.debian.org/debian bookworm-updates main"
	"deb http://deb.debian.org/debian-security bookworm-security main"
)

if [ -n "$refresh" ] || [ ! -s "$TARBALL" ]; then
	log "building a minimal Debian 12 root (minbase, git, make)"
	mmdebstrap --quiet --format=tar --variant=minbase --include=git,make bookworm \
		"$TARBALL.tmp" "${SOURCES[@]}"
	mv "$TARBALL.tmp" "$TARBALL"
fi

if ! git -C "$REPO" diff --quiet HEAD 2>/dev/null; then
	log "note: uncommitted changes are not tested; the machine clones HEAD"
fi

# machine NAME: unpack a fresh root for NAME; prints its path.
machine() {
	local root=$FRESH/run-$1
	rm -rf "$root"
	mkdir -p "$root"
	tar -C "$root" -xf "$TARBALL" || return 1
	cp /etc/resolv.conf "$root/etc/resolv.conf" || return 1
	# A clone of HEAD, as a new user's; made from outside, since a git
	# worktree's .git points to a store that the chroot cannot see.
	git clone -q --no-hardlinks "$REPO" "$root/root/irqbypass" || return 1
	echo "$root"
}

# inside ROOT SCRIPT: run SCRIPT with bash as root in the chroot at ROOT,
# with a clean environment, and /proc, /sys, /dev, /dev/pts and /dev/shm as a machine
# has them, in a mount namespace that takes them away at the end.
inside() {
	local root=$1 script=$2
	unshare --mount --propagation private bash -euc '
		root=$1
		# A machine'"'"'s / is a mount point (unshare and mount
		# --make-rprivate / inside need that), a bare directory is not.
		mount --bind "$root" "$root"
		mount -t proc proc "$root/proc"
		mount -t sysfs sysfs "$root/sys"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
		exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
			TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			/bin/bash -euc "$2"
	' inside "$root" "$script"
}

# command_of STEP: what the user types for STEP.
command_of() {
	case $1 in
	*" "*) echo "$1" ;;
	*) echo "make $1" ;;
	esac
}

# run_steps NAME STEP...: on one fresh machine, clone and run the STEPs.
run_steps() {
	local name=$1 root s cmd logf t0 rc
	shift
	root=$(machine "$name") || die "cannot unpack $TARBALL"
	for s in "$@"; do
		cmd=$(command_of "$s")
		logf=$CACHE/logs/fresh-${s//[^a-zA-Z0-9]/_}.log
		log "fresh machine $name: $cmd (log in $logf)"
		t0=$SECONDS
		set +e
		inside "$root" "
			cd /root/irqbypass
			echo \"\$ $cmd   (in a clone of \$(git log -1 --format=%h), on:\"
			grep PRETTY_NAME /etc/os-release
			echo \"  packages installed: \$(dpkg-query -f . -W | wc -c))\"
			$cmd
		" </dev/null 2>&1 | tee "$logf"
		rc=${PIPESTATUS[0]}
		set -e
		if [ "$rc" -eq 0 ]; then
			pass "fresh machine: $cmd ($((SECONDS - t0)) s)"
		else
			fail "fresh machine: $cmd ($((SECONDS - t0)) s)" \
				"exit status $rc, see $logf"
		fi
	done
	[ -n "$keep" ] || rm -rf "$root"
}

RESULTS=$FRESH/results.$$
: >"$RESULTS"
trap 'rm -f "$RESULTS"' EXIT

if [ -n "$together" ]; then
	run_steps together "${steps[@]}"
else
	for s in "${steps[@]}"; do
		run_steps "${s//[^a-zA-Z0-9]/_}" "$s"
	done
fi

grep -E '^(PASS|FAIL)' "$RESULTS" | sed 's/^/  /'
echo "$(grep -c '^PASS' "$RESULTS" || true) passed, $(grep -c '^FAIL' "$RESULTS" || true) failed"
! grep -q '^FAIL' "$RESULTS"
