#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# static.sh: the static checks on every C file and header we own:
# checkpatch.pl --strict, kernel-doc -none -Wall, sparse (C=2) and W=1,
# each with zero findings.  Needs the tree prepared and the plain KUnit
# build (kunit.sh x86) for its configuration.

. "$(dirname "$0")/lib.sh"

prepare_tree
need sparse perl

cd "$REPO"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h')
[ ${#files[@]} -gt 0 ] || die "no sources found"

checkpatch() {
	local f out=0
	for f in "${files[@]}"; do
		(cd "$TREE" && perl scripts/checkpatch.pl --strict --no-signoff \
			--show-types -q -f "virt/lib/$f") || out=1
	done
	return $out
}

kerneldoc() {
	local out
	out=$(perl "$TREE/scripts/kernel-doc" -none -Wall "${files[@]}" 2>&1)
	echo "$out"
	[ -z "$out" ]
}

# Rebuild our directory of the x86_64 KUnit build with sparse and W=1; any
# warning, from the compiler or sparse, fails.
inkernel() {
	local build=$CACHE/kunit-x86 out
	[ -e "$build/.config" ] || die "run the x86_64 KUnit build first"
	out=$(make -C "$TREE" O="$build" ARCH=x86_64 "CC=ccache gcc" \
		-j"$(nproc)" C=2 W=1 virt/lib/ 2>&1)
	echo "$out"
	! grep -E 'warning:|error:' <<<"$out"
}

# The same against Debian's 6.1 headers, out of tree.
outoftree() {
	local kdir dir=$CACHE/build/static-6.1 out
	kdir=$(debian_headers linux-headers-amd64)
	sync_sources "$dir"
	out=$(make -C "$kdir" M="$dir" C=2 W=1 2>&1)
	echo "$out"
	! grep -E 'warning:|error:' <<<"$out"
}

# The bench's kernel modules (bench/Kbuild), the same way: the benchmark
# module and the two peers that stand in for irqbypass.ko.
bench() {
	local kdir dir m out=
	kdir=$(debian_headers linux-headers-amd64)
	for m in irqbypass_bench irqbypass_xa irqbypass_floor; do
		dir=$CACHE/build/static-bench/$m
		mkdir -p "$dir"
		cp -u "$REPO/bench/Kbuild" "$REPO/bench/$m.c" "$dir/"
		[ "$m" = irqbypass_bench ] && m=
		out+=$(make -C "$kdir" M="$dir" BENCH_MANAGER="$m" C=2 W=1 2>&1)
	done
	echo "$out"
	! grep -E 'warning:|error:' <<<"$out"
}

check checkpatch-strict checkpatch
check kernel-doc-Wall kerneldoc
check sparse-W1-kunit-tree inkernel
check sparse-W1-debian-6.1 outoftree
check sparse-W1-bench-6.1 bench
