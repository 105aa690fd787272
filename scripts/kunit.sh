#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kunit.sh NAME KUNITCONFIG...: build the 6.12 tree with this checkout
# overlaid and the given kunitconfig fragments (relative to tests/), boot it
# under QEMU with kunit.py, and record every test case and a clean-console
# check in $RESULTS.  The build is cached in $CACHE/kunit-NAME.
#
# ARCH=arm64 runs it under qemu-system-aarch64 with Debian's cross compiler.

. "$(dirname "$0")/lib.sh"

name=$1
shift
arch=${ARCH:-x86_64}
build=$CACHE/kunit-$name
raw=$CACHE/logs/kunit-$name.raw
mkdir -p "$CACHE/logs"

prepare_tree
args=(--arch="$arch" --build_dir="$build" --jobs="$(nproc)"
      --timeout=1800 --qemu_args="-smp 2")
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

log "KUnit $name ($arch): building and booting; log in $raw"
start=$SECONDS
cd "$TREE"
set +e
python3 tools/testing/kunit/kunit.py run "${args[@]}" \
	--make_options="CC=ccache $cc" --raw_output=all >"$raw" 2>&1
status=$?
set -e
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
if [ "$passed" -lt 30 ]; then
	fail "kunit-$name: at least 30 irqbypass cases ran" "only $passed passed"
else
	pass "kunit-$name: at least 30 irqbypass cases ran"
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
		"$build/virt/lib/tests/irqbypass_kunit.o" |
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

# Any splat fails the run, whatever the cases said.
splat='BUG:|WARNING:|KASAN|UBSAN|possible recursive locking|circular locking|inconsistent lock state|list_(add|del) corruption|ODEBUG:|Call Trace:|Kernel panic'
if grep -En "$splat" "$console" >"$CACHE/logs/kunit-$name.splats"; then
	fail "kunit-$name: console free of WARN/BUG/lockdep/KASAN reports" \
		"see $CACHE/logs/kunit-$name.splats"
	head -n 20 "$CACHE/logs/kunit-$name.splats" | sed 's/^/    /'
else
	pass "kunit-$name: console free of WARN/BUG/lockdep/KASAN reports"
fi
