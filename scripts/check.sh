#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check.sh: every test and check (make check).  Each step records its
# outcomes in $RESULTS; the last line printed is "N passed, N failed" over
# all of them, KUnit cases included, and the exit status is non-zero if
# anything failed.
#
# CHECK_ONLY=REGEX runs only the steps whose name matches (grep -E), for
# a quick look at one part; the full list is what counts.
#
# CHECK_SLOW=1 adds the checks that do not fit in make check's time
# budget yet: the KUnit suite of the later API on a 7.3 kernel built from
# Debian's source (against upstream's manager and ours), and the installed
# Debian 13 with trixie-backports' 7.3.

. "$(dirname "$0")/lib.sh"

RESULTS=$CACHE/results.$$
export RESULTS
: >"$RESULTS"
start=$SECONDS
mkdir -p "$CACHE/logs"
: >"$RETRIED_BOOTS"

selected() { [ -z "${CHECK_ONLY:-}" ] || grep -qE -- "$CHECK_ONLY" <<<"$1"; }

# The installed-system test's images are mostly downloads and unpacking,
# minutes of them: make them while the kernels build.  What installed.sh
# needs is installed first, so that apt has one user at a time; the test
# itself waits for an image still being made.
INSTALLED_STEP="installed Debian systems: apt install, boot, remove"
images=
if selected "$INSTALLED_STEP"; then
	bash "$REPO/scripts/installed.sh" --needs
	bash "$REPO/scripts/installed.sh" --images \
		>"$CACHE/logs/installed-images.log" 2>&1 &
	images=$!
fi
# Under set -e a failing command in the EXIT trap replaces the script's
# exit status, and the image job has usually ended long before: || true.
trap 'rm -f "$RESULTS"; [ -z "$images" ] || kill "$images" 2>/dev/null || true' EXIT

# The CPU time, in seconds, that this shell's finished children used (user
# and system): what a step costs the machine, next to its wall time.  A
# step that uses far less CPU than wall time could share the machine.
children_cpu() {
	# Fields 16 and 17 of /proc/PID/stat, in clock ticks; $$ is this
	# shell even inside the command substitution.
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, "")
		printf "%d\n", ($14 + $15) / hz }' "/proc/$$/stat"
}

# step NAME SCRIPT [ARGS...]: a script that dies before recording anything
# still counts as a failure.
step() {
	local name=$1 before t0 cpu0
	shift
	selected "$name" || return 0
	log "$name"
	before=$(wc -l <"$RESULTS")
	t0=$SECONDS
	cpu0=$(children_cpu)
	if ! bash "$REPO/scripts/$1" "${@:2}"; then
		if [ "$(wc -l <"$RESULTS")" -eq "$before" ]; then
			fail "$name" "the step itself failed"
		fi
	fi
	log "$name done at $((SECONDS - start)) s: $((SECONDS - t0)) s, $(($(children_cpu) - cpu0)) s of CPU"
}

step "modversions CRCs" crc.sh
step "Debian 11, 13 and 14 kernels, 7.3, and =y refused" kernels.sh
step "KUnit, plain config with the in-tree callers, KCSAN, fault injection" \
	kunit.sh plain .kunitconfig callers.kunitconfig kcsan.kunitconfig \
	x86-slim.kunitconfig
# The API of Linux 6.17 and later, on Debian's linux-source-7.3: the suite
# of that API against upstream's own manager, unchanged, which proves the
# cases encode upstream's contract, then against ours.  The two runs share
# one build: the second recompiles irqbypass.o and relinks.
# Only with CHECK_SLOW=1: a 7.x kernel build from scratch is longer than
# make check's time budget has room for (an hour of this machine while
# other work ran, 21 minutes of CPU).  KUNIT73_DEBUG=1 adds both in the
# debug config (lockdep, KASAN, DEBUG_LIST), a second full 7.3 build.
kunit73() {	# kunit73 BUILD TITLE KUNITCONFIG...
	local build=$1 title=$2 m
	local -A who=([upstream]="upstream's manager" [ours]=ours)
	shift 2
	for m in upstream ours; do
		KUNIT_TREE=7.3-$m KUNIT_BUILD=$build \
			step "KUnit, 7.3 (API of 6.17+)$title: ${who[$m]}" \
			kunit.sh "$build-$m" .kunitconfig eventfd.kunitconfig "$@"
	done
}
if [ -n "${CHECK_SLOW:-}" ]; then
	kunit73 v73-plain ""
	[ -z "${KUNIT73_DEBUG:-}" ] ||
		kunit73 v73-debug ", debug config" debug.kunitconfig
fi
step "static checks" static.sh
step "userspace: fuzzer, TSan, mutants" userspace.sh
step "KUnit, debug config" kunit.sh debug .kunitconfig debug.kunitconfig
ARCH=arm64 KUNIT_FROZEN_CHECK=1 step "KUnit, arm64" kunit.sh arm64 .kunitconfig arm64.kunitconfig
step "real clients on Debian kernels" ../tests/realclient/run.sh
step "Debian's QEMU, nested, on Debian kernels" ../tests/nested/run.sh
step "sample producer and consumer" ../tests/samples/run.sh
step "documentation" docs.sh
step "Debian package, lintian" deb.sh
step "$INSTALLED_STEP" installed.sh
step "benchmark smoke run" bench.sh --smoke

passed=$(grep -c '^PASS' "$RESULTS" || true)
failed=$(grep -c '^FAIL' "$RESULTS" || true)
if [ "$failed" -gt 0 ]; then
	echo "Failed:"
	grep '^FAIL' "$RESULTS" | sort | uniq -c
fi
if [ -s "$RETRIED_BOOTS" ]; then
	echo "Guests booted a second time:"
	sed 's/^/      /' "$RETRIED_BOOTS"
fi
log "make check took $((SECONDS - start)) s, $(children_cpu) s of CPU on $(nproc) CPUs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
