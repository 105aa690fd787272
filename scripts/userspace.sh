#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# userspace.sh: irqbypass.c, unchanged, built in userspace against the shim
# of tools/testing/irqbypass/ and checked there:
#
#   - the fuzz target replays the committed corpus, built with gcc and with
#     clang, under ASan and UBSan, then libFuzzer fuzzes it for FUZZ_TIME
#     seconds (30) from a fixed seed against the reference model; a failing
#     input is kept in .cache/userspace/crashes/ and replayed on every run;
#   - the unit checks (resizing, failed allocations, re-entry);
#   - the concurrency test under ThreadSanitizer;
#   - every mutant of tools/testing/irqbypass/mutants/ applied to a copy
#     must be killed by those same tests;
#   - all of it again for the front end of the API of Linux 6.17 and later
#     (the *-eventfd targets, corpus-eventfd/, FUZZ_TIME_EVENTFD seconds of
#     fuzzing, 30), which its own mutants, mutants/eventfd-*, face.
#
# Prints ops fuzzed, divergences, mutants killed, the TSan result.

. "$(dirname "$0")/lib.sh"

need build-essential clang-14 libclang-rt-14-dev patch

T=$REPO/tools/testing/irqbypass
OUT=$CACHE/userspace
FUZZ_TIME=${FUZZ_TIME:-30}
FUZZ_TIME_EVENTFD=${FUZZ_TIME_EVENTFD:-30}
MUTANT_FUZZ_TIME=${MUTANT_FUZZ_TIME:-15}
mkdir -p "$OUT/crashes" "$OUT/crashes-eventfd"
logs=$CACHE/logs

build() {
	make -C "$T" -j"$(nproc)" OUT="$OUT" all
}

# Inputs that failed before are replayed first: a fixed bug stays fixed.
# replay [-eventfd]: of the older API's front end, or of the later one's.
replay() {
	local api=${1:-}
	make -C "$T" OUT="$OUT" replay-gcc$api replay$api
	if compgen -G "$OUT/crashes$api/*" >/dev/null; then
		"$OUT/fuzz-gcc$api" "$OUT"/crashes$api/*
	fi
}

# fuzz SECONDS [-eventfd]
fuzz() {
	local time=$1 api=${2:-} before after f
	before=$(ls "$OUT/crashes$api" | wc -l)
	if make -C "$T" OUT="$OUT" FUZZ_TIME="$time" fuzz-run$api; then
		return 0
	fi
	after=$(ls "$OUT/crashes$api" | wc -l)
	[ "$after" -gt "$before" ] || return 1
	# CI's cache goes away: show the reproducer in the log too.
	for f in $(ls -t "$OUT"/crashes$api/* | head -n 1); do
		echo "reproducer kept in $f:"
		od -An -tx1 "$f"
	done
	return 1
}

check userspace-build-gcc-clang build
check userspace-replay-corpus replay
check userspace-unit timeout 300 make -C "$T" OUT="$OUT" run-unit
check userspace-tsan timeout 300 make -C "$T" OUT="$OUT" run-stress
check userspace-fuzz-${FUZZ_TIME}s fuzz "$FUZZ_TIME"
check userspace-eventfd-replay-corpus replay -eventfd
check userspace-eventfd-unit timeout 300 make -C "$T" OUT="$OUT" run-unit-eventfd
check userspace-eventfd-tsan timeout 300 make -C "$T" OUT="$OUT" run-stress-eventfd
check userspace-eventfd-fuzz-${FUZZ_TIME_EVENTFD}s fuzz "$FUZZ_TIME_EVENTFD" -eventfd

# A race shows only when the threads interleave badly: three runs.
# stress3 API MAKE...: API is "" or -eventfd.
stress3() {
	local api=$1
	shift
	"$@" run-stress$api && "$@" run-stress$api && "$@" run-stress$api
}

# mutant PATCH: 0 if the tests kill it; says what killed it.  A mutant
# of the later API's front end (eventfd-*) faces that front end's tests.
mutant() {
	local patch=$1 dir name api=
	name=$(basename "$patch" .patch)
	[[ $name != eventfd-* ]] || api=-eventfd
	dir=$OUT/mutants/$name
	rm -rf "$dir"
	sync_sources "$dir/src" "${MODULE_SOURCES[@]}"
	patch -s -p1 -d "$dir/src" <"$patch" || {
		echo "$name: does not apply"
		return 2
	}
	local m=(make -C "$T" SRC="$dir/src" OUT="$dir")
	"${m[@]}" "$dir/fuzz$api" >"$dir/build.log" 2>&1 || {
		echo "$name: does not build"
		return 2
	}
	# A mutant may hang the tests: that kills it too.
	m=(timeout 120 "${m[@]}")
	if ! "${m[@]}" replay$api >"$dir/replay.log" 2>&1; then
		echo "$name: killed by the corpus"
	elif ! "${m[@]}" run-unit$api >"$dir/unit.log" 2>&1; then
		echo "$name: killed by the unit checks"
	elif ! stress3 "$api" "${m[@]}" >"$dir/stress.log" 2>&1; then
		echo "$name: killed by TSan or the stress checks"
	elif ! "${m[@]}" FUZZ_TIME="$MUTANT_FUZZ_TIME" fuzz-run$api \
			>"$dir/fuzz.log" 2>&1; then
		echo "$name: killed by ${MUTANT_FUZZ_TIME} s of fuzzing"
	else
		echo "$name: SURVIVED"
		return 1
	fi
}

mutants=("$T"/mutants/*.patch)
killed=0
for p in "${mutants[@]}"; do
	name=$(basename "$p" .patch)
	if mutant "$p" >"$logs/mutant-$name.log" 2>&1; then
		killed=$((killed + 1))
		pass "userspace-mutant-$name"
		sed 's/^/    /' "$logs/mutant-$name.log"
	else
		fail "userspace-mutant-$name" "$(cat "$logs/mutant-$name.log")"
	fi
done

ops=$(sed -n 's/^irqbypass-fuzz: \([0-9]*\) inputs, \([0-9]*\) operations.*/\2/p' \
	"$logs/userspace-replay-corpus.log" "$logs/userspace-fuzz-${FUZZ_TIME}s.log" \
	"$logs/userspace-eventfd-replay-corpus.log" \
	"$logs/userspace-eventfd-fuzz-${FUZZ_TIME_EVENTFD}s.log" |
	awk '{ n += $1 } END { print n + 0 }')
divergences=$(cat "$logs"/userspace-*.log | grep -c '^DIVERGENCE' || true)
tsan=$(grep -q 'WARNING: ThreadSanitizer' "$logs/userspace-tsan.log" \
	"$logs/userspace-eventfd-tsan.log" &&
	echo "data races reported" || echo "no reports")
echo "userspace: $ops operations fuzzed against the model, $divergences divergences"
echo "userspace: mutants killed: $killed of ${#mutants[@]}"
echo "userspace: ThreadSanitizer: $tsan; $(grep -h '^stress:' "$logs/userspace-tsan.log" || echo 'stress did not finish')"
echo "userspace: eventfd API: $(grep -h '^stress:' "$logs/userspace-eventfd-tsan.log" || echo 'stress did not finish')"
