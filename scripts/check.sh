#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# check.sh: every test and check (make check).  Each step records its
# outcomes in $RESULTS; the last line printed is "N passed, N failed" over
# all of them, KUnit cases included, and the exit status is non-zero if
# anything failed.

. "$(dirname "$0")/lib.sh"

RESULTS=$CACHE/results.$$
export RESULTS
: >"$RESULTS"
trap 'rm -f "$RESULTS"' EXIT
start=$SECONDS

# step NAME SCRIPT [ARGS...]: a script that dies before recording anything
# still counts as a failure.
step() {
	local name=$1 before
	shift
	log "$name"
	before=$(wc -l <"$RESULTS")
	if ! bash "$REPO/scripts/$1" "${@:2}"; then
		if [ "$(wc -l <"$RESULTS")" -eq "$before" ]; then
			fail "$name" "the step itself failed"
		fi
	fi
	log "$name done at $((SECONDS - start)) s"
}

step "modversions CRCs" crc.sh
step "Debian 11 and 13 kernels, and 6.17+ refused" kernels.sh
step "KUnit, plain config with the in-tree callers" kunit.sh plain \
	.kunitconfig callers.kunitconfig
step "static checks" static.sh
step "userspace: fuzzer, TSan, mutants" userspace.sh
step "KUnit, debug config" kunit.sh debug .kunitconfig debug.kunitconfig
ARCH=arm64 step "KUnit, arm64" kunit.sh arm64 .kunitconfig arm64.kunitconfig
step "real clients on Debian kernels" realclient.sh
step "Debian's QEMU, nested, on Debian kernels" ../tests/nested/run.sh
step "sample producer and consumer" samples.sh
step "documentation" docs.sh
step "Debian package, lintian" deb.sh
step "benchmark smoke run" bench.sh --smoke

passed=$(grep -c '^PASS' "$RESULTS" || true)
failed=$(grep -c '^FAIL' "$RESULTS" || true)
if [ "$failed" -gt 0 ]; then
	echo "Failed:"
	grep '^FAIL' "$RESULTS" | sort | uniq -c
fi
log "make check took $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
