#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/nested/vm.sh (the L1 driver of the nested VMs) on the host, in
# busybox's sh as in L1, with a fake QEMU that speaks the nested guest's
# serial protocol: "l2: wait STAGE", then a line from L1 to go on.  The
# nested boots cannot make an L2 die on demand; this can, in the two ways
# seen under TCG, and checks what L1 does then.
#
#   nested/vm/two                   case two: both guests pass, every
#                                   stage dumped, both QEMUs reaped
#   nested/vm/two-one-dies-paired   case two, the first guest's QEMU exits
#                                   0 (a triple fault) while it waits at
#                                   "paired": L1 is not killed by SIGPIPE
#                                   writing to it, reaps it, ends the boot
#                                   unfinished, and leaves no QEMU behind
#   nested/vm/msi-triple-fault      case msi, exit 0 after "disabled": the
#                                   boot ends unfinished
#   nested/vm/kill                  case kill: the QEMU L1 killed is no
#                                   death by itself (137, boot goes on)
#   nested/vm/guest-fails           a guest that reports failure (exit 3)
#                                   is a result, not a reason to boot again
#   nested/vm/guest-cpu-exception   case two, the first guest takes a CPU
#                                   exception (exit 5): the boot ends
#                                   unfinished, to be booted again
#   nested/vm/stall-is-shown        a guest silent for a while: vm_watch
#                                   says L1 is alive and shows where the
#                                   QEMU's threads wait
#
# Usage: vm-test.sh            all of them
#        vm-test.sh --one NAME ...   one of them (internal)
#        vm-test.sh --run CASE DIR   one driver run (internal)

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/distro.sh"

failures=0

# The fake QEMU: FAKE_DIE=BDF:STAGE makes the guest on BDF close its
# serial input at "wait STAGE", then exit 0 half a second later;
# FAKE_FAIL=BDF makes it fail (exit 3), FAKE_FAULT=BDF take a CPU
# exception (exit 5); FAKE_STALL=BDF:STAGE:S makes it
# stall S seconds at STAGE.  case=hold waits at "paired" until killed.
fake_qemu() {
	cat <<'EOF'
#!/bin/busybox sh
while [ $# -gt 0 ]; do
	case $1 in
	-append) append=$2; shift ;;
	vfio-pci,host=*) bdf=${1#vfio-pci,host=} bdf=${bdf%%,*} ;;
	esac
	shift
done
case " $append " in
*" case=hold "*) stages="paired" ;;
*) stages="paired disabled" ;;
esac
echo "l2: up, cmdline \"$append\""
echo "l2: raised=3 arrived=3 vector=40"
for s in $stages; do
	if [ "${FAKE_DIE:-}" = "$bdf:$s" ]; then
		exec 0<&-
		echo "l2: wait $s"
		sleep 0.5
		exit 0
	fi
	echo "l2: wait $s"
	case ${FAKE_STALL:-} in
	"$bdf:$s:"*) sleep "${FAKE_STALL##*:}" ;;
	esac
	read -r _ || exit 2
done
if [ "${FAKE_FAIL:-}" = "$bdf" ]; then
	echo "l2: FAIL interrupts lost"
	exit 3
fi
if [ "${FAKE_FAULT:-}" = "$bdf" ]; then
	echo "l2: exception 6"
	echo "l2: FAIL CPU exception"
	exit 5
fi
echo "l2: ok"
exit 1
EOF
}

# --run CASE DIR: the driver in busybox sh, as l1.sh runs it, with the
# fake QEMU and the fifos in DIR.
run_driver() {
	fake_qemu >"$2/qemu"
	chmod +x "$2/qemu"
	QEMU=$2/qemu VM_DIR=$2 busybox sh -c '
		GUEST=/nested/l2guest
		edu1=00:03.0 edu2=00:04.0 nic=00:05.0
		fact() { echo "@@ $1=$2"; }
		dump() { echo "@@ dump=$1"; }
		unfinished() {
			fact unfinished "$1"
			vm_leftovers
			exit 42
		}
		. "$0"
		if [ -n "${VM_WATCH:-}" ]; then
			vm_watch &
			watch=$!
		fi
		vm_case "$1"
		case_"$1"
		[ -z "${watch:-}" ] || kill "$watch"
		vm_leftovers
	' "$REPO/tests/nested/vm.sh" "$1"
}

facts() {
	sed -n "s/^@@ $1=//p" "$2" | tr '\n' ' ' | sed 's/ $//'
}

# one NAME CASE STATUS UNFINISHED EXITS DUMPS [FAKE-ENV...]: run CASE
# with the fake's environment; expect the driver's exit STATUS, the
# unfinished reason, the nested-exit facts and the dumps.
one() {
	local name=$1 c=$2 status=$3 why=$4 exits=$5 dumps=$6 out dir left rc=0
	shift 6
	out=$CACHE/logs/nested/vm-$name.out
	mkdir -p "${out%/*}"
	dir=$(mktemp -d)
	env "$@" timeout 30 bash "$0" --run "$c" "$dir" >"$out" 2>&1 || rc=$?
	left=$(pgrep -f "^/bin/busybox sh $dir/qemu" || true)
	# shellcheck disable=SC2086 # one word per process
	[ -z "$left" ] || kill -9 $left
	rm -rf "$dir"
	echo "driver output: $out"
	sed 's/^/    /' "$out"
	expect "driver's exit status (141: killed by SIGPIPE)" "$rc" "$status"
	expect "boot ended unfinished" "$(facts unfinished "$out")" "$why"
	expect "QEMUs' exit statuses" "$(grep -o '^@@ nested-exit@[a-z]*=[0-9]*' \
		"$out" | sed 's/^@@ nested-exit@//' | tr '\n' ' ' | sed 's/ $//')" "$exits"
	expect "dumps" "$(facts dump "$out")" "$dumps"
	expect "fake QEMUs left running" "${left//$'\n'/ }" ""
	[ "$failures" -eq 0 ]
}

# stall: case msi, the guest silent for 5 s at "paired", L1 watching
# every second with 2 s for a stall: the lines that say L1 is alive, and
# the stalled QEMU's threads with their state and kernel stack.
stall() {
	local out=$CACHE/logs/nested/vm-stall.out dir rc=0
	dir=$(mktemp -d)
	env FAKE_STALL=00:03.0:paired:5 VM_WATCH=1 VM_STALL=2 VM_COMM=qemu \
		timeout 30 bash "$0" --run msi "$dir" >"$out" 2>&1 || rc=$?
	rm -rf "$dir"
	echo "driver output: $out"
	sed 's/^/    /' "$out"
	expect "driver's exit status" "$rc" 0
	expect "QEMU's exit status" "$(facts nested-exit@msi "$out")" 1
	expect "L1 said it was alive at least 3 times" "$(($(grep -c \
		'^l1: alive at [0-9]* s$' "$out") >= 3))" 1
	expect "the stalled QEMU's thread, named, with its state" "$(grep -Ec \
		'^l1: case msi for [0-9]+ s: [0-9]+/[0-9]+ "qemu" State:' "$out" |
		sed 's/^[1-9][0-9]*$/some/')" some
	expect "its kernel stack" "$(grep -c '^l1:     \[<' "$out" |
		sed 's/^[1-9][0-9]*$/some/')" some
	[ "$failures" -eq 0 ]
}

main() {
	need busybox-static procps coreutils
	check nested/vm/two bash "$0" --one two two 0 "" "twoa=1 twob=1" \
		"two-paired1 twoa-end twob-end two-end"
	check nested/vm/two-one-dies-paired bash "$0" --one two-one-dies-paired two 42 \
		"the nested guest of twoa ended by itself (QEMU exit 0)" "twoa=0" \
		"two-paired1 twoa-end" FAKE_DIE=00:03.0:paired
	check nested/vm/msi-triple-fault bash "$0" --one msi-triple-fault msi 42 \
		"the nested guest of msi ended by itself (QEMU exit 0)" "msi=0" \
		"msi-paired1 msi-disabled1 msi-end" FAKE_DIE=00:03.0:disabled
	check nested/vm/kill bash "$0" --one kill kill 0 "" "kill=137" "kill-paired1 kill-end"
	check nested/vm/guest-fails bash "$0" --one guest-fails msi 0 "" "msi=3" \
		"msi-paired1 msi-disabled1 msi-end" FAKE_FAIL=00:03.0
	check nested/vm/guest-cpu-exception bash "$0" --one guest-cpu-exception two 42 \
		"the nested guest of twoa ended by itself (QEMU exit 5)" "twoa=5" \
		"two-paired1 twoa-end" FAKE_FAULT=00:03.0
	check nested/vm/stall-is-shown bash "$0" --stall
}

case ${1:-} in
--run)
	run_driver "$2" "$3"
	;;
--one)
	shift
	one "$@"
	;;
--stall)
	stall
	;;
*)
	main
	;;
esac
