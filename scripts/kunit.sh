#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kunit.sh NAME KUNITCONFIG...: build the 6.12 tree with this checkout
# overlaid and the given kunitconfig fragments (relative to tests/), boot it
# under QEMU with kunit.py, and record every test case and a clean-console
# check in $RESULTS.  The build is cached in $CACHE/kunit-NAME.
#
# ARCH=arm64 runs it under qemu-system-aarch64 with Debian's cross compiler.
#
# KUNIT_TREE=7.3-upstream or 7.3-ours runs the suite of the API of Linux
# 6.17 and later (irqbypass_eventfd_kunit.c) on Debian's linux-source-7.3
# instead (see prepare_tree73 in lib.sh): against upstream's own
# virt/lib/irqbypass.c, unchanged, or against this checkout's.
# KUNIT_BUILD=NAME builds in $CACHE/kunit-NAME instead, so that the two
# share one build and the second is an incremental rebuild.

. "$(dirname "$0")/lib.sh"

name=$1
shift
arch=${ARCH:-x86_64}
build=$CACHE/kunit-${KUNIT_BUILD:-$name}
raw=$CACHE/logs/kunit-$name.raw
mkdir -p "$CACHE/logs"

# The suite's object, how many of its cases must at least have run, and
# the cases that ask for a warning (see the expected warnings below).
case ${KUNIT_TREE:-6.12} in
6.12)
	prepare_tree
	suite=irqbypass_kunit
	min_cases=30
	;;
7.3-upstream | 7.3-ours)
	prepare_tree73 "${KUNIT_TREE#7.3-}"
	TREE=$TREE73
	suite=irqbypass_eventfd_kunit
	min_cases=29
	;;
*)
	die "KUNIT_TREE: 6.12, 7.3-upstream or 7.3-ours, not '$KUNIT_TREE'"
	;;
esac
args=(--arch="$arch" --build_dir="$build")
for cfg in "$@"; do
	args+=(--kunitconfig="$REPO/tests/$cfg")
done
cc=gcc
case $arch in
x86_64)
	need qemu-system-x86
	;;
arm64)
	need gcc-aarch64-linux-gnu qemu-system-arm
	args+=(--cross_compile=aarch64-linux-gnu-)
	cc=aarch64-linux-gnu-gcc
	;;
esac
splat='BUG:|WARNING:|KASAN|UBSAN|possible recursive locking|circular locking|inconsistent lock state|list_(add|del) corruption|ODEBUG:|Call Trace:|Kernel panic'

# kunit run|exec OUT [TIMEOUT [QEMU-ARG...]]: kunit.py run (build, then
# boot) or exec (boot what is built), its output to OUT; sets $status.
# A run takes 5-10 s; kunit.py waits TIMEOUT s (300) for one that froze.
kunit() {
	local mode=$1 out=$2 timeout=${3:-300}
	shift 2
	shift $(($# > 0))
	local -a more=(--timeout="$timeout")
	[ "$mode" = run ] && more+=(--jobs="$(nproc)")
	set +e
	python3 tools/testing/kunit/kunit.py "$mode" "${args[@]}" "${more[@]}" \
		--qemu_args="-smp 2${*:+ $*}" --make_options="CC=ccache $cc" \
		--raw_output=all >"$out" 2>&1
	status=$?
	set -e
}

# kunit_froze OUT: kunit.py gave up waiting for the kernel (with
# --raw_output it still exits 0), no case failed and the kernel reported
# no bug of its own: the guest froze (TCG does that now and then,
# hardware does not).  A kernel that crashed or panicked ends QEMU
# (-no-reboot) and is not waited for.
kunit_froze() {
	grep -q 'timed out after [0-9]* seconds' "$1" &&
		! grep -Eq '^[[:space:]]*not ok ' "$1" && ! grep -Eq "$splat" "$1"
}

# kunit_again OUT: if the run that wrote OUT froze, boot the built kernel
# once more, the first output kept as OUT.first and the run listed in
# $RETRIED_BOOTS, as distro_boot does for the other guests.  A deadlock of
# ours freezes the second run too.
kunit_again() {
	local out=$1
	kunit_froze "$out" || return 0
	retried "$out" "$out.first" \
		"KUnit run 1 did not finish (kunit.py timed out; froze, no bug of its kernel's)"
	kunit exec "$out"
}

log "KUnit $name ($arch): building and booting; log in $raw"
start=$SECONDS
cd "$TREE"
kunit run "$raw"
kunit_again "$raw"
log "KUnit $name: kunit.py exited $status after $((SECONDS - start)) s"

# Count the cases from the KTAP the kernel printed.  Kernel messages from
# delayed work (the TSC's refined calibration, a mouse probe) land between
# KTAP lines, and one that falls between a suite's "KTAP version" and its
# "# Subtest:" makes kunit.py's parser lose its place and call every later
# case crashed.  A KTAP line is indented or starts with a KTAP keyword, a
# printk line with neither: parse without those.  A case that never
# printed its result still counts as crashed.
ktap=$CACHE/logs/kunit-$name.ktap
parsed=$CACHE/logs/kunit-$name.parsed
grep -E '^([[:space:]]|KTAP version|TAP version|ok |not ok |1\.\.|# )' \
	"$raw" >"$ktap" || true
python3 tools/testing/kunit/kunit.py parse "$ktap" >"$parsed" 2>&1 || true
grep -E '^\[[0-9:]+\] (\[(PASSED|FAILED|SKIPPED|CRASHED)\]|Testing complete|=+ \[)' \
	"$parsed" | sed 's/^\[[0-9:]*\] //' | tail -n 80
summary=$(grep -o 'Ran [0-9]* tests: .*' "$parsed" | tail -n 1)
passed=$(sed -n 's/.*passed: \([0-9]*\).*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$summary")
crashed=$(sed -n 's/.*crashed: \([0-9]*\).*/\1/p' <<<"$summary")
passed=${passed:-0}
failed=$((${failed:-0} + ${crashed:-0}))
for ((i = 0; i < passed; i++)); do echo "PASS kunit-$name-case" >>"$RESULTS"; done
for ((i = 0; i < failed; i++)); do echo "FAIL kunit-$name-case" >>"$RESULTS"; done
log "KUnit $name: $passed cases passed, $failed failed"

if [ "$status" -ne 0 ]; then
	fail "kunit-$name: kunit.py run" "exit status $status, see $raw"
else
	pass "kunit-$name: kunit.py run"
fi
if [ "$passed" -lt "$min_cases" ]; then
	fail "kunit-$name: at least $min_cases irqbypass cases ran" "only $passed passed"
else
	pass "kunit-$name: at least $min_cases irqbypass cases ran"
fi

# KCSAN (a config with CONFIG_KCSAN): a data-race report any of whose
# frames is a function of irqbypass.c or of the suites fails the run.
# Reports that name none are the rest of the kernel's races, not ours to
# fix: they are kept in the log and counted, not failed on.  Either way
# they go to their own log, and the splat check looks at the rest.
kcsan=$CACHE/logs/kunit-$name.kcsan
console=$CACHE/logs/kunit-$name.console
: >"$kcsan"
awk -v out="$kcsan" '/BUG: KCSAN:/ { r = 1 } r { print >out } !r { print }
	r && /====================/ { r = 0 }' "$raw" >"$console"
if grep -qx 'CONFIG_KCSAN=y' "$build/.config" 2>/dev/null; then
	nm --defined-only "$build/virt/lib/irqbypass.o" \
		"$build/virt/lib/tests/$suite.o" |
		awk '$2 ~ /^[tT]$/ && $3 !~ /^_sub_I_/ { print $3 }' >"$kcsan.ours" || true
	read -r reports ours < <(awk -v ours="$kcsan.ours" '
		BEGIN { while ((getline f <ours) > 0) fn[f] = 1 }
		/BUG: KCSAN:/ { n++ }
		{
			m = split($0, w, /[^A-Za-z0-9_.+]+/)
			for (i = 1; i <= m; i++)
				if (sub(/\+0x.*/, "", w[i]) && w[i] in fn)
					hit[n] = 1
		}
		END { for (r in hit) bad++; print n + 0, bad + 0 }' "$kcsan")
	echo "kunit-$name: KCSAN: $ours data races in irqbypass code," \
	     "$((reports - ours)) elsewhere in the kernel (ignored)"
	if [ "$ours" -gt 0 ] || ! grep -q "kcsan: enabled" "$raw"; then
		fail "kunit-$name: KCSAN: no data race in irqbypass code" \
			"see $kcsan"
		grep -A3 'BUG: KCSAN:' "$kcsan" | head -n 20 | sed 's/^/    /'
	else
		pass "kunit-$name: KCSAN: no data race in irqbypass code"
	fi
fi

# The warnings the cases ask for.  Old API: registering an object that is
# already registered (register_*_twice, register_*_other_token) warns
# once, naming the caller.  API of 6.17+: registering an object whose
# ->eventfd is set warns (WARN_ON_ONCE upstream), once from each of
# register_producer_eventfd_set and register_consumer_eventfd_set, whose
# frames its call trace shows, in the register function.  Each such report
# is taken out of the console, so that any other splat still fails the
# run, and must be there, exactly once.
expected=$CACHE/logs/kunit-$name.expected-warnings
eventfd_cases='register_(producer|consumer)_eventfd_set'
: >"$expected"
awk -v out="$expected" -v cases="$eventfd_cases" '
	function flush(to, i) {
		for (i = 0; i < n; i++)
			if (to) print buf[i] >out; else print buf[i]
		n = 0
	}
	/-+\[ cut here \]-+/ { flush(0); blk = 1; ours = 0; frame = 0; site = 0 }
	blk && n == 1 { ours = $0 ~ /^irqbypass: .* registered a (producer|consumer) that is already registered: refused$/ }
	blk && $0 ~ ("[ ?]" cases "\\+0x") { frame = 1 }
	blk && /irq_bypass_register_(producer|consumer)\+0x/ { site = 1 }
	blk { buf[n++] = $0 }
	blk && /^---\[ end trace/ { flush(ours || (frame && site)); blk = 0; next }
	!blk { print }
	END { flush(0) }' "$console" >"$console.tmp"
mv "$console.tmp" "$console"
if [ "$suite" = irqbypass_kunit ]; then
	warned=$(grep -c 'that is already registered: refused$' "$expected" || true)
	caller=$(sed -n 's/^irqbypass: \([A-Za-z0-9_.]*\)+0x.*/\1/p;T;q' "$expected")
	if [ "$warned" -eq 1 ] && [ -n "$caller" ] &&
	   grep -q " [tT] $caller\$" <(nm "$build/virt/lib/tests/$suite.o"); then
		echo "kunit-$name: the registered-again warning names $caller"
		pass "kunit-$name: registering a registered object warned once, naming the caller"
	else
		fail "kunit-$name: registering a registered object warned once, naming the caller" \
			"$warned such warnings, naming '${caller:-nothing}'; see $expected"
	fi
else
	for c in register_producer_eventfd_set register_consumer_eventfd_set; do
		warned=$(awk -v c="$c" '/-+\[ cut here \]-+/ { hit = 0 }
			!hit && $0 ~ ("[ ?]" c "\\+0x") { hit = 1; n++ }
			END { print n + 0 }' "$expected")
		if [ "$warned" -eq 1 ]; then
			pass "kunit-$name: $c warned once"
		else
			fail "kunit-$name: $c warned once" \
				"$warned warnings from it; see $expected"
		fi
	done
fi

# Any splat fails the run, whatever the cases said.
if grep -En "$splat" "$console" >"$CACHE/logs/kunit-$name.splats"; then
	fail "kunit-$name: console free of WARN/BUG/lockdep/KASAN reports" \
		"see $CACHE/logs/kunit-$name.splats"
	head -n 20 "$CACHE/logs/kunit-$name.splats" | sed 's/^/    /'
else
	pass "kunit-$name: console free of WARN/BUG/lockdep/KASAN reports"
fi

# KUNIT_FROZEN_CHECK=1: boot the built kernel with QEMU stopped (-S), as
# a guest that froze at once, for 20 s; kunit_again must boot it again
# and that run must report what the first run above did.
if [ -n "${KUNIT_FROZEN_CHECK:-}" ]; then
	frozen=$CACHE/logs/kunit-$name-frozen.raw
	rm -f "$frozen" "$frozen.first"
	kunit exec "$frozen" 20 -S
	kunit_again "$frozen"
	results() { grep -Ec '^[[:space:]]*(not )?ok ' "$1" || true; }
	if [ -s "$frozen.first" ] && [ "$(results "$frozen.first")" -eq 0 ] &&
	   grep -qF "$frozen: KUnit run 1 did not finish" "$RETRIED_BOOTS" &&
	   [ "$status" -eq 0 ] &&
	   [ "$(results "$frozen")" -eq "$(results "$raw")" ]; then
		pass "kunit-$name: a run that froze is booted again"
	else
		fail "kunit-$name: a run that froze is booted again" "first try: $(results \
			"$frozen.first") results in $frozen.first; second: status $status, $(results \
			"$frozen") results, want $(results "$raw")"
	fi
fi
