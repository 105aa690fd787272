#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Debian's own QEMU as the client: in Debian's kernel under QEMU TCG (L1),
# with our irqbypass.ko (or Debian's stock one) and Debian's kvm-amd and
# vfio-pci, Debian's qemu-system-x86_64 runs nested guests (L2,
# tests/nested/l2guest.c) with KVM and an edu device assigned through
# vfio-pci.  The nested guest enables MSI, so QEMU makes one eventfd VFIO's
# MSI trigger (a producer) and a KVM irqfd (a consumer); it raises edu's
# interrupt and counts the ones that arrive.  tests/nested/l1.sh runs the
# cases one after the other in ONE boot, dumping the manager's state at
# every step; this script asserts on it, one result per case:
#
#   nested/debian-FLAVOUR[-stock]/boot       ran to the end, modules unload
#   nested/debian-FLAVOUR[-stock]/CASE       msi, kill, toggle, reprogram,
#                                            reset, two, msix (see l1.sh)
#   nested/vm/...                            l1.sh's driver of the nested
#                                            VMs (vm.sh) on the host, with
#                                            a fake QEMU (see vm-test.sh)
#
# FLAVOUR is 6.1 and rt, with ours and with stock, and 7.3 with ours (see
# assert_case73: no pair forms there under TCG; its boot runs msi and kill
# only).  With ours, the assertions read our trace events
# and debugfs: which producer paired with which consumer (same token, the
# vfio-msi irq), the exact connects and disconnects, the consumers QEMU
# leaves unpaired (the INTx irqfd), an empty registry at the end.  With
# stock there is neither; there the function tracer shows KVM's bypass
# callbacks, and the interrupts that arrived show the rest: both must agree
# on those.
#
# While these scenarios were written, 3 of 4 boots with Debian's stock
# module on 6.1 stalled as a new nested QEMU started (RCU stall and soft
# lockups, both vCPUs in finish_task_switch); with the finished scenarios,
# 5 of 5 such boots on a loaded host ran through, so all four boots run.
# A stall shows as a failed boot, with the console kept in
# .cache/logs/nested/.  A boot that does not reach its end is tried once
# more (see main), and each boot may take 480 s (NESTED_TIMEOUT), twice
# the default: the seven cases are many nested QEMU runs under TCG.
#
# Usage: run.sh [PATTERN...]   the boots whose name contains a PATTERN
#                              (debian-6.1, debian-6.1-rt-stock, debian-7.3...);
#                              all five by default
#        run.sh --boot FLAVOUR ours|stock LOG   boot once, console to LOG
#        run.sh --assert LOG ours|stock CASE [FLAVOUR]
#                                     assert one case on LOG (FLAVOUR 6.1)

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/distro.sh"
# shellcheck source=tests/nested/nested.sh
source "$REPO/tests/nested/nested.sh"

CASES=(msi kill toggle reprogram reset two msix emulated)
# On 7.3 KVM registers no consumer under TCG, so no pair forms and the
# cases that vary the pair say nothing more: MSI on and off, and SIGKILL.
# The boot adds about 155 s on the loaded two-core host (75 s to build and
# pack, 55-80 s under TCG).  Of the first six 7.3 boots (these and the
# demo's), one took TCG's stale-translation int3 (in __schedule, as the
# kill case's QEMU set its MSR filter): distro_boot booted it again.
CASES73=(msi kill)
failures=0

# cases FLAVOUR: the cases booted for FLAVOUR.
cases() {
	if [ "$1" = 7.3 ]; then
		echo "${CASES73[*]}"
	else
		echo "${CASES[*]}"
	fi
}

# ---- reading one stage's dump ----

# pairs STAGE: "token irq" of each producer in debugfs, sorted.
pairs() {
	section "producers@$1" | sed -n 's/^token=\([^ ]*\) irq=\([0-9]*\) .*/\1 \2/p' |
		sort
}
paired_consumers() {
	section "consumers@$1" | grep ' paired=yes' |
		sed -n 's/^token=\([^ ]*\) irq=\([0-9]*\) .*/\1 \2/p' | sort
}
# msi_irqs STAGE: the vfio-msi irqs of /proc/interrupts, sorted.
msi_irqs() {
	section "interrupts@$1" | sed -n 's/^ *\([0-9]*\):.*/\1/p' | sort
}
# connects STAGE: "token irq" of each connect event in the stage.
connects() {
	section "trace@$1" | grep ': irqbypass_connect: ' |
		sed -n 's/.*token=\([^ ]*\) irq=\([0-9]*\) .* ret=0$/\1 \2/p' | sort
}
disconnects() {
	section "trace@$1" | grep ': irqbypass_disconnect: ' |
		sed -n 's/.*token=\([^ ]*\) irq=\([0-9]*\) .*/\1 \2/p' | sort
}
one_line() { tr '\n' ' ' | sed 's/ $//'; }

# ---- what each kind of stage must show ----

# at_paired STAGE N NEW: N pairs, each producer paired with the consumer of
# its token, on a vfio-msi irq; NEW of them connected in this stage.
at_paired() {
	local s=$1 n=$2 new=$3 p
	expect "$s: kvm_arch_irq_bypass_add_producer calls" \
		"$(calls_at kvm_arch_irq_bypass_add_producer "$s")" "$new"
	expect "$s: vfio-msi irqs in /proc/interrupts" \
		"$(msi_irqs "$s" | lines)" "$n"
	[ "$kind" = ours ] || return 0
	# Registrations take no module reference (stock takes one each).
	expect "$s: module references, holders" "$(fact "refcnt@$s") $(fact \
		"holders@$s")" "$(fact refcnt@nested-before) $(fact \
		refcnt@nested-before)"
	p=$(pairs "$s")
	expect "$s: producers in debugfs, all paired" \
		"$(section "producers@$s" | lines) $(section "producers@$s" |
		grep -c ' paired=yes' || true)" "$n $n"
	expect "$s: paired consumers have the producers' tokens and irqs" \
		"$(paired_consumers "$s" | one_line)" "$(one_line <<<"$p")"
	expect "$s: the producers' irqs are the vfio-msi irqs" \
		"$(awk '{ print $2 }' <<<"$p" | sort | one_line)" \
		"$(msi_irqs "$s" | one_line)"
	expect "$s: distinct tokens" "$(awk '{ print $1 }' <<<"$p" |
		sort -u | lines)" "$n"
	expect "$s: connect events (ret=0)" \
		"$(section "trace@$s" | grep -c ': irqbypass_connect: ' ||
		true) $(connects "$s" | lines)" "$new $new"
	if [ "$new" -gt 0 ]; then
		expect "$s: the connects are the pairs" \
			"$(connects "$s" | sort -u | one_line)" "$(one_line <<<"$p")"
	fi
	expect "$s: consumer KVM's" "$(section "consumers@$s" |
		grep ' paired=yes' | grep -c \
		'add_producer=kvm_arch_irq_bypass_add_producer \[kvm\]' ||
		true)" "$n"
}

# at_unpaired STAGE PAIRED-STAGE [N]: MSI off: the N pairs (1) of
# PAIRED-STAGE were disconnected, no producer left; QEMU's INTx irqfd
# stays, unpaired.
at_unpaired() {
	local s=$1 was=$2 n=${3:-1}
	expect "$s: kvm_arch_irq_bypass_del_producer calls" \
		"$(calls_at kvm_arch_irq_bypass_del_producer "$s")" "$n"
	expect "$s: vfio-msi irqs in /proc/interrupts" \
		"$(msi_irqs "$s" | lines)" 0
	[ "$kind" = ours ] || return 0
	expect "$s: disconnect events" "$(disconnects "$s" | one_line)" \
		"$(pairs "$was" | one_line)"
	expect "$s: producers in debugfs" "$(section "producers@$s" | lines)" 0
	expect "$s: consumers in debugfs: the INTx irqfd, unpaired" \
		"$(section "consumers@$s" | lines) $(section "consumers@$s" |
		grep -c 'irq=- paired=no' || true)" "1 1"
}

# at_end CASE PREVIOUS-END CONNECTS: QEMU gone, the registry empty, the
# module references back, CONNECTS connects and as many disconnects since
# PREVIOUS-END.
at_end() {
	local c=$1 prev=$2 n=$3
	expect "$c-end: module references" "$(fact "refcnt@$c-end")" \
		"$(fact refcnt@nested-before)"
	expect "$c: calls of add_producer, del_producer in the case" \
		"$(case_calls "$c" kvm_arch_irq_bypass_add_producer) $(case_calls \
		"$c" kvm_arch_irq_bypass_del_producer)" "$n $n"
	[ "$kind" = ours ] || return 0
	expect "$c-end: producers, consumers in debugfs" \
		"$(section "producers@$c-end" | lines) $(section \
		"consumers@$c-end" | lines)" "0 0"
	expect "$c-end: stats producers, consumers" \
		"$(stat "$c-end" producers) $(stat "$c-end" consumers)" "0 0"
	expect "$c: connects, disconnects, failures in the case" \
		"$(delta "$prev" "$c-end" connects) $(delta "$prev" "$c-end" \
		disconnects) $(delta "$prev" "$c-end" connect_failures)" "$n $n 0"
}

# delta FROM TO KEY: how much the stats counter KEY grew from FROM to TO.
delta() {
	local a b
	a=$(stat "$1" "$3")
	b=$(stat "$2" "$3")
	if [ -n "$a" ] && [ -n "$b" ]; then
		echo $((b - a))
	else
		echo "?"
	fi
}

# case_calls CASE FUNC: calls of FUNC in all the stages of CASE (and of
# its VMs a and b).
case_calls() {
	awk -v c="$1" '/^=== END trace@/ { p = 0 }
		p { print }
		/^=== BEGIN trace@/ { p = ($3 ~ ("^trace@" c "[ab]?-")) }' \
		"$LOG" | grep -Ec ": $2( \[[a-z_]+\])? <-" || true
}

# arrived CASE: the guest's "raised=N arrived=N" lines, as "N/N ...".
arrived() {
	sed -n "s/^l2\\[$1\\]: raised=\\([0-9]*\\) arrived=\\([0-9]*\\) .*/\\2\\/\\1/p" \
		"$LOG" | one_line
}

# status_at STAGE VM WANT EXIT: irqbypass-status at STAGE (see
# status_expect) on QEMU's nested VM named VM (its pid: nested-pid@VM)
# with edu's MSI, or "-" for no vector.
status_at() {
	local vm=$2 pid= edu
	[ "$vm" = - ] || pid=$(fact "nested-pid@$vm")
	read -r edu _ <<<"$(fact edus)"
	# The text is golden on 6.1 and rt; on 7.3 the lines above say it.
	status_expect "$1" "$vm" "$pid" "$edu" "$(msi_irqs "$1")" "$3" "$4" \
		"$([ "$flavour" = 7.3 ] || echo "nested-$flavour-${1%1}-$kind")"
}

assert_case() {
	case $1 in
	msi)
		expect "msi: QEMU's exit (1: the guest passed)" \
			"$(fact nested-exit@msi)" 1
		expect "msi: interrupts arrived/raised" "$(arrived msi)" 3/3
		at_paired msi-paired1 1 1
		at_unpaired msi-disabled1 msi-paired1
		at_end msi nested-before 1
		if [ "$kind" = ours ]; then
			status_at msi-paired1 msi paired 0
			# QEMU frees the vector with MSI: nothing to list.
			status_at msi-disabled1 - "" 0
		else
			status_at msi-paired1 msi \
				"unknown: the stock manager shows no pairing (no debugfs)" 3
		fi
		;;
	emulated)
		expect "emulated: QEMU's exit" "$(fact nested-exit@emulated)" 1
		expect "emulated: interrupts arrived/raised" \
			"$(arrived emulated)" 3/3
		expect "emulated-paired1: vfio-msi irqs in /proc/interrupts" \
			"$(msi_irqs emulated-paired1 | lines)" 1
		expect "emulated-paired1: add_producer calls" \
			"$(calls_at kvm_arch_irq_bypass_add_producer emulated-paired1)" 0
		if [ "$kind" = ours ]; then
			expect "emulated-paired1: producers in debugfs, unpaired" \
				"$(section producers@emulated-paired1 | grep -c \
				' paired=no' || true)" 1
			status_at emulated-paired1 emulated \
				"not paired: no irqfd uses this eventfd (an emulated route)" 1
		fi
		at_end emulated msix-end 0
		;;
	kill)
		expect "kill: QEMU killed by SIGKILL" "$(fact nested-exit@kill)" 137
		expect "kill: interrupts arrived/raised" "$(arrived kill)" 3/3
		at_paired kill-paired1 1 1
		if [ "$kind" = ours ]; then
			expect "kill-end: the pair disconnected on QEMU's death" \
				"$(disconnects kill-end | one_line)" \
				"$(pairs kill-paired1 | one_line)"
			status_at kill-paired1 kill paired 0
			status_at kill-end - "" 0
		fi
		at_end kill msi-end 1
		;;
	toggle)
		expect "toggle: QEMU's exit" "$(fact nested-exit@toggle)" 1
		expect "toggle: interrupts arrived/raised" "$(arrived toggle)" \
			"2/2 2/2 2/2"
		local i
		for i in 1 2 3; do
			at_paired "toggle-on$i" 1 1
			at_unpaired "toggle-off$i" "toggle-on$i"
		done
		at_end toggle kill-end 3
		;;
	reprogram)
		expect "reprogram: QEMU's exit" "$(fact nested-exit@reprogram)" 1
		expect "reprogram: interrupts arrived/raised (old, new vector)" \
			"$(arrived reprogram)" "3/3 3/3"
		at_paired reprogram-paired1 1 1
		# QEMU re-routes the irqfd; the pair stays as it was.
		at_paired reprogram-reprogrammed1 1 0
		if [ "$kind" = ours ]; then
			expect "reprogrammed: the same pair" \
				"$(pairs reprogram-reprogrammed1 | one_line)" \
				"$(pairs reprogram-paired1 | one_line)"
			expect "reprogrammed: no disconnect" \
				"$(disconnects reprogram-reprogrammed1 | lines)" 0
		fi
		at_unpaired reprogram-disabled1 reprogram-reprogrammed1
		at_end reprogram toggle-end 1
		;;
	reset)
		expect "reset: QEMU's exit" "$(fact nested-exit@reset)" 1
		expect "reset: guest boots" "$(grep -c '^l2\[reset\]: boot ' \
			"$LOG")" 2
		expect "reset: interrupts arrived/raised (each boot)" \
			"$(arrived reset)" "3/3 3/3"
		at_paired reset-paired1 1 1
		# The reset unpairs (QEMU disables MSI), the new boot pairs again.
		at_paired reset-paired-again1 1 1
		expect "reset: del_producer calls at the reset" \
			"$(calls_at kvm_arch_irq_bypass_del_producer \
			reset-paired-again1)" 1
		if [ "$kind" = ours ]; then
			expect "reset: the old pair disconnected" \
				"$(disconnects reset-paired-again1 | one_line)" \
				"$(pairs reset-paired1 | one_line)"
		fi
		at_unpaired reset-disabled1 reset-paired-again1
		at_end reset reprogram-end 2
		;;
	msix)
		expect "msix: QEMU's exit" "$(fact nested-exit@msix)" 1
		expect "msix: interrupts arrived/raised (each vector)" \
			"$(arrived msix)" "3/3 3/3 3/3 3/3"
		# QEMU 7.2 sets all vectors anew each time the guest unmasks
		# one more: 1 + 2 + 3 + 4 connects, 0 + 1 + 2 + 3 disconnects.
		at_paired msix-paired1 4 10
		expect "msix-paired1: del_producer calls" "$(calls_at \
			kvm_arch_irq_bypass_del_producer msix-paired1)" 6
		# On disable, QEMU first moves each vector to an eventfd of its
		# own (a producer with no consumer), then turns MSI-X off.
		at_unpaired msix-disabled1 msix-paired1 4
		expect "msix-disabled1: register_producer calls" \
			"$(calls_at irq_bypass_register_producer msix-disabled1)" 4
		if [ "$kind" = ours ]; then
			expect "msix-disabled1: producers registered, unpaired" \
				"$(section trace@msix-disabled1 | grep -c \
				': irqbypass_register_producer: .* ret=0$' ||
				true) $(connects msix-disabled1 | lines)" "4 0"
		fi
		at_end msix two-end 10
		;;
	two)
		expect "two: QEMUs' exit" "$(fact nested-exit@twoa) $(fact \
			nested-exit@twob)" "1 1"
		expect "two: interrupts arrived/raised" \
			"$(arrived twoa) $(arrived twob)" "3/3 3/3"
		at_paired two-paired1 2 2
		expect "two: irqs of the two pairs" \
			"$(msi_irqs two-paired1 | sort -u | lines)" 2
		at_end two reset-end 2
		;;
	*) die "unknown case $1" ;;
	esac
}

# ---- Linux 6.17 and later (7.3): a producer, no consumer ----
#
# KVM registers a consumer only if it may post device interrupts
# (enable_device_posted_irqs, kvm_amd's parameter), which it may not under
# TCG: no IOMMU QEMU emulates posts them.  So vfio-pci's producer registers
# alone when the nested guest enables MSI, and its interrupts reach the
# guest through the host (the eventfd, KVM's irqfd).  Asserted, so that a
# kernel or QEMU that changes it is noticed.

# at_producer STAGE: MSI on: one producer, unpaired, on the vfio-msi irq,
# registered by vfio-pci in this stage; no consumer.
at_producer() {
	local s=$1
	expect "$s: vfio-msi irqs in /proc/interrupts" \
		"$(msi_irqs "$s" | lines)" 1
	expect "$s: vfio-pci registered its producer" "$(section "trace@$s" |
		grep -c ': irq_bypass_register_producer.* <-vfio_msi_set_vector_signal' ||
		true)" 1
	expect "$s: module references, holders" "$(fact "refcnt@$s") $(fact \
		"holders@$s")" "$(fact refcnt@nested-before) $(fact \
		refcnt@nested-before)"
	expect "$s: producers in debugfs, unpaired" \
		"$(section "producers@$s" | lines) $(section "producers@$s" |
		grep -c ' paired=no' || true)" "1 1"
	expect "$s: the producer's irq is the vfio-msi irq" \
		"$(pairs "$s" | awk '{ print $2 }')" "$(msi_irqs "$s")"
	expect "$s: register_producer events (ret=0)" "$(section "trace@$s" |
		grep -c ': irqbypass_register_producer: .* ret=0$' || true)" 1
	expect "$s: consumers in debugfs, connects" \
		"$(section "consumers@$s" | lines) $(stat "$s" connects)" "0 0"
}

# at_no_producer STAGE WAS: MSI off (or QEMU gone): WAS's producer
# unregistered in this stage, nothing registered.
at_no_producer() {
	local s=$1 was=$2
	expect "$s: vfio-msi irqs in /proc/interrupts" \
		"$(msi_irqs "$s" | lines)" 0
	expect "$s: unregister_producer events: WAS's producer" \
		"$(section "trace@$s" | grep ': irqbypass_unregister_producer: ' |
		sed -n 's/.*token=\([^ ]*\) irq=\([0-9]*\) ret=0$/\1 \2/p' |
		one_line)" "$(pairs "$was" | one_line)"
	expect "$s: producers, consumers in debugfs" \
		"$(section "producers@$s" | lines) $(section "consumers@$s" |
		lines)" "0 0"
	expect "$s: stats producers, consumers" \
		"$(stat "$s" producers) $(stat "$s" consumers)" "0 0"
	expect "$s: module references" "$(fact "refcnt@$s")" \
		"$(fact refcnt@nested-before)"
}

# at_no_consumer CASE: no consumer and no callback of KVM in all of CASE.
at_no_consumer() {
	local c=$1
	expect "$c: calls of irq_bypass_register_consumer, KVM's callbacks" \
		"$(case_calls "$c" irq_bypass_register_consumer) $(case_calls \
		"$c" 'kvm_arch_irq_bypass_[a-z_]+')" "0 0"
	expect "$c: connects, disconnects, consumer registrations" \
		"$(stat "$c-end" connects) $(stat "$c-end" disconnects) $(stat \
		"$c-end" consumer_registrations)" "0 0 0"
}

assert_case73() {
	case $1 in
	msi)
		expect "msi: QEMU's exit (1: the guest passed)" \
			"$(fact nested-exit@msi)" 1
		expect "msi: interrupts arrived/raised (through the host)" \
			"$(arrived msi)" 3/3
		at_producer msi-paired1
		at_no_producer msi-disabled1 msi-paired1
		at_no_producer msi-end msi-disabled1
		at_no_consumer msi
		;;
	kill)
		expect "kill: QEMU killed by SIGKILL" "$(fact nested-exit@kill)" 137
		expect "kill: interrupts arrived/raised" "$(arrived kill)" 3/3
		at_producer kill-paired1
		status_at kill-paired1 kill "not paired: KVM registers no consumers: kvm_amd enable_device_posted_irqs=N" 1
		# QEMU's death closes the device: vfio-pci unregisters.
		at_no_producer kill-end kill-paired1
		status_at kill-end - "" 0
		at_no_consumer kill
		;;
	*) die "unknown case $1" ;;
	esac
}

assert_boot() {
	local loaded
	expect "guest ran to the end" "$(grep -c '^=== DONE$' "$LOG")" 1
	expect "modules that failed to load" "$(fact insmod-failed)" ""
	expect "irqbypass.ko" "$(fact irqbypass)" "$kind"
	expect "devices bound to vfio-pci (two edus, an e1000e)" "$(grep -c \
		'^@@ driver@.*=vfio-pci$' "$LOG")" 3
	expect "cases run" "$(sed -n 's/^@@ nested-case=//p' "$LOG" |
		one_line)" "$(cases "$flavour")"
	if [ "$flavour" = 7.3 ]; then
		expect "kvm_amd's enable_device_posted_irqs" \
			"$(fact posted-irqs@kvm_amd)" N
	fi
	expect "l1.sh exit status" "$(fact run-exit)" 0
	expect "rmmod irqbypass while kvm and vfio are loaded" \
		"$(fact rmmod-in-use)" refused
	loaded=$(section modules | grep -c '^ok ' || true)
	expect "modules unloaded" "$(section rmmod | grep -c '^ok ' ||
		true)" "$loaded"
	expect "modules that failed to unload" \
		"$(section rmmod | grep -c '^FAILED' || true)" 0
	expect "warnings, BUGs, lockdep reports, stack dumps on the console" \
		"$(distro_bad_lines "$LOG" | head -n 3)" ""
}

# boot FLAVOUR ours|stock LOG
boot() {
	local flavour=$1 initrd
	distro_fetch "$flavour"
	if [ "$2" = ours ]; then
		distro_build_module
	else
		DISTRO_MODULE=stock
		# The comparison runs Debian's own module, and nested KVM runs
		# on TCG's emulated SVM: a crash there says nothing of ours (one
		# was seen: "corrupted stack end detected inside scheduler",
		# in user mode, with two nested VMs).  Boot it again, listed;
		# a report in a boot with ours still fails at once.
		DISTRO_RETRY_CRASH=yes
	fi
	# Nested boots freeze under TCG far more often than the others
	# (about one in six here, with ours and with stock alike, at any
	# case; in the first freeze seen with vm_watch, L1 printed no
	# "l1: alive" in 450 s either: the whole L1 stopped).  Two more
	# tries, not one, so that two freezes in a row do not fail the step.
	# A deadlock of ours freezes all three; every try is listed.
	DISTRO_RETRY=2
	initrd=$DISTRO_ROOT/initrd-nested-$2.$$.cpio.gz
	# shellcheck disable=SC2064
	trap "rm -f '$initrd'" EXIT
	nested_initramfs "$initrd" "$DISTRO_MODULE"
	nested_boot "$initrd" "$3" "$(cases "$flavour" | tr ' ' ,)"
}

main() {
	local flavour kind name want p c logf
	export DISTRO_TIMEOUT=${NESTED_TIMEOUT:-480}
	mkdir -p "$CACHE/logs/nested"
	# L1's driver of the nested VMs first, on the host with a fake QEMU:
	# a second, and it makes the L2 deaths the boots cannot provoke.
	bash "$REPO/tests/nested/vm-test.sh"
	for flavour in 6.1 rt 7.3; do
		for kind in ours stock; do
			# 7.3 with ours alone: Debian's own module there is the
			# realclient step's (no consumer, so no pair to compare).
			[ "$flavour:$kind" != 7.3:stock ] || continue
			name=debian-$flavour
			[ "$flavour" = rt ] && name=debian-6.1-rt
			[ "$kind" = stock ] && name+=-stock
			want=$#
			for p in "$@"; do
				[[ $name == *"$p"* ]] && want=0
			done
			[ "$want" -eq 0 ] || continue
			logf=$CACHE/logs/nested/$name.console
			rm -f "$logf" "$logf".first "$logf".try*
			log "nested: $name"
			# A boot that froze under TCG is booted once more by
			# distro_boot, the first console kept.
			bash "$0" --boot "$flavour" "$kind" "$logf" \
				>"$CACHE/logs/nested/$name.boot.log" 2>&1 ||
				echo "  boot of $name failed or timed out"
			check "nested/$name/boot" bash "$0" --assert "$logf" \
				"$kind" boot "$flavour"
			for c in $(cases "$flavour"); do
				check "nested/$name/$c" bash "$0" --assert "$logf" \
					"$kind" "$c" "$flavour"
			done
		done
	done
}

case ${1:-} in
--boot)
	boot "$2" "$3" "$4"
	;;
--assert)
	LOG=$2
	kind=$3
	flavour=${5:-6.1}
	[ -s "$LOG" ] || die "no console in $LOG"
	echo "console: $LOG"
	if [ "$4" = boot ]; then
		assert_boot
	elif [ "$flavour" = 7.3 ]; then
		assert_case73 "$4"
	else
		assert_case "$4"
	fi
	[ "$failures" -eq 0 ]
	;;
*)
	main "$@"
	;;
esac
