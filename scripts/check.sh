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
# CHECK_SLOW=1 adds what does not fit in make check's time budget: the
# KUnit suite of the later API in the plain config of a 7.3 kernel too.

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
side=
trap 'rm -f "$RESULTS"; kill $images $side 2>/dev/null || true' EXIT

# The CPU time, in seconds, that this shell's finished children used (user
# and system): what a step costs the machine, next to its wall time.  A
# step that uses far less CPU than wall time could share the machine.
# children_cpu PID: those of the shell PID.
children_cpu() {
	# Fields 16 and 17 of /proc/PID/stat, in clock ticks.
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, "")
		printf "%d\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# step NAME SCRIPT [ARGS...]: a script that dies before recording anything
# still counts as a failure.  The shell that runs it (this one, or the side line's subshell) counts
# its CPU.  The step records into a file of its own first, so that a step
# of the side line that records nothing is still told apart.
step() {
	local name=$1 t0 cpu0 me=$BASHPID mine
	shift
	selected "$name" || return 0
	log "$name"
	t0=$SECONDS
	cpu0=$(children_cpu "$me")
	mine=$RESULTS.$me
	: >"$mine"
	if ! RESULTS=$mine bash "$REPO/scripts/$1" "${@:2}" && [ ! -s "$mine" ]; then
		fail "$name" "the step itself failed"
	fi
	cat "$mine" >>"$RESULTS"
	rm -f "$mine"
	log "$name done at $((SECONDS - start)) s: $((SECONDS - t0)) s, $(($(children_cpu "$me") - cpu0)) s of CPU"
}

step "modversions CRCs" crc.sh
step "Debian 11, 13 and 14 kernels, 7.3, and =y refused" kernels.sh
# The older API's suites in two kernels, each with a sanitizer that the
# other cannot have (KASAN and KCSAN exclude each other): x86_64 with the
# in-tree callers built in, lockdep, KASAN, DEBUG_LIST and fault
# injection; arm64 with its KVM and VFIO callers and KCSAN.
step "KUnit, x86_64: in-tree callers, debug config, fault injection" \
	kunit.sh x86 .kunitconfig callers.kunitconfig debug.kunitconfig \
	faults.kunitconfig x86-slim.kunitconfig
# The API of Linux 6.17 and later, on Debian's linux-source-7.3 with the
# in-tree callers built in: the suite of that API against upstream's own
# manager, unchanged, which proves the cases encode upstream's contract,
# then against ours.  The two runs share one build: the second recompiles
# irqbypass.o and relinks.  make check runs them in the debug config
# (lockdep, KASAN, DEBUG_LIST), which checks all that the plain config
# does and more; CHECK_SLOW=1 adds the plain config, a second full 7.3
# build that make check's time budget has no room for.
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
kunit73 v73-debug ", debug config" debug.kunitconfig x86-slim.kunitconfig
[ -z "${CHECK_SLOW:-}" ] || kunit73 v73-plain "" x86-slim.kunitconfig
ARCH=arm64 KUNIT_FROZEN_CHECK=1 step "KUnit, arm64: KVM and VFIO callers, KCSAN, fault injection" \
	kunit.sh arm64 .kunitconfig arm64.kunitconfig kcsan.kunitconfig faults.kunitconfig

# What is left keeps one CPU busy at a time (a guest under TCG, a fuzzer),
# so it runs in two lines side by side: the side line in a subshell, its
# output kept in a log and printed once both lines have ended.  Steps that
# fetch or build for the same kernel take turns (distro.sh), and so does
# apt (need).
side_line() {
	step "userspace: fuzzer, TSan, mutants" userspace.sh
	step "irqbypass-status on made-up hosts" ../tests/status/run.sh
	step "Debian's QEMU, nested, on Debian kernels" ../tests/nested/run.sh
	step "documentation" docs.sh
	step "Debian package, lintian" deb.sh
	step "$INSTALLED_STEP" installed.sh
}
side_log=$CACHE/logs/check-side-line.log
log "the side line starts: userspace, irqbypass-status, nested, documentation, package, installed; its output: $side_log"
side_line >"$side_log" 2>&1 &
side=$!
step "static checks" static.sh
step "real clients on Debian kernels" ../tests/realclient/run.sh
step "sample producer and consumer" ../tests/samples/run.sh
step "benchmark smoke run" bench.sh --smoke
wait "$side" || true
side=
log "the side line's output"
cat "$side_log"

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
log "make check took $((SECONDS - start)) s, $(children_cpu $$) s of CPU on $(nproc) CPUs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
