#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The real clients: Debian's own, unmodified kvm.ko and vfio-pci.ko against
# our irqbypass.ko, in Debian's own kernels booted under QEMU (TCG).  In
# each scenario tools/vfio-kvm-pair makes one eventfd both a VFIO MSI
# trigger (an IRQ bypass producer) and a KVM irqfd (a consumer), raises the
# edu device's interrupt while they are paired, and tears them down in a
# chosen order; the guest (tools/init) dumps the trace events and debugfs at
# every stage, and this script asserts on them: the pairing, its irq, the
# exact number of connects, disconnects and callbacks, the module
# references, unloading, and a console free of warnings.  Nothing here
# depends on timing.
#
# One result per scenario, through lib.sh's check:
#   realclient/debian-6.1/...     the kernel linux-image-amd64 depends on
#   realclient/debian-6.1-rt/...  linux-image-rt-amd64 (PREEMPT_RT)
#   realclient/debian-6.12/...    the newest linux-image-6.12.*+deb12-amd64
#   realclient/debian-5.10/...    Debian 11's (private archive, archive.sh)
#   realclient/debian-6.12-deb13/...  Debian 13's 6.12 (the same)
#   realclient/debian-6.12-deb13-rt/...  and its PREEMPT_RT flavour
#   realclient/debian-7.3/...     trixie-backports' newest 7.3, the API of
#                                 Linux 6.17 and later (private archive)
#   realclient/debian-7.3-stock/...  the same kernel with Debian's own
#                                 irqbypass.ko: what ours must match
#   realclient/dkms-build         dkms.conf, against the installed headers
#   realclient/tcg-crashes-are-booted-again   which consoles distro_boot
#                                 boots again (host only)
#
# Usage: run.sh [PATTERN...]           run the scenarios whose names contain
# one of the PATTERNs (all by default).  Logs: $CACHE/logs/.  With
# REALCLIENT_KO=PATH (or "stock") the scenarios use that irqbypass.ko instead
# of building ours, to show that the checks catch a wrong module.

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/distro.sh"

RC_LOGS=$CACHE/logs/realclient
mkdir -p "$RC_LOGS"

# ---- assertions (in the child that runs one scenario) ----

failures=0

# expect, section, fact, field, events, calls...: distro.sh's assertion
# helpers, on $LOG, counting into $failures.

# What every scenario must show.
# $1 is the manager: ours, or stock (Debian's, which has no debugfs and no
# trace events: only what the function tracer and /sys show is asserted).
assert_common() {
	local which=${1:-ours} bad loaded raised arrived

	expect "guest ran to the end" "$(grep -c '^=== DONE$' "$LOG")" 1
	expect "kernel" "$(fact kernel)" "$DISTRO_KVER"
	expect "modules that failed to load" "$(fact insmod-failed)" ""
	expect "irqbypass.ko loaded" "$(fact irqbypass)" "$which"
	[ "$which" = stock ] ||
		expect "trace events" "$(fact tracing)" on
	expect "function tracer on irq_bypass_* and kvm_arch_irq_bypass_*" \
		"$(fact ftrace | grep -o '[a-z_]*irq_bypass_[a-z_]*' | sort -u |
		wc -l)" 8
	expect "edu bound to" "$(fact driver)" vfio-pci
	expect "vfio-kvm-pair exit status" "$(fact pair-exit)" 0
	raised=$(grep '^pair: raised=' "$LOG" | field raised)
	arrived=$(grep '^pair: raised=' "$LOG" | field arrived)
	expect "edu interrupts that arrived on the vfio-msi irq" \
		"${arrived:-none}/${raised:-none}" "${raised:-3}/${raised:-3}"
	expect "rmmod irqbypass while registered" \
		"$(fact rmmod-while-paired)" failed
	expect "irqbypass still loaded after that" \
		"$(fact loaded-after-rmmod)" yes
	if [ "$which" != stock ]; then
		expect "producers in debugfs after teardown" \
			"$(section producers@done | lines)" 0
		expect "consumers in debugfs after teardown" \
			"$(section consumers@done | lines)" 0
		expect "stats: producers, consumers after teardown" \
			"$(stat end producers) $(stat end consumers)" "0 0"
	fi
	expect "module references after teardown" \
		"$(fact refcnt@done)" "$(fact refcnt@before)"
	loaded=$(section modules | grep -c '^ok ' || true)
	expect "modules loaded" "$loaded" "$(zcat "$INITRD" |
		cpio -i --quiet --to-stdout etc/modules | lines)"
	expect "modules unloaded" "$(section rmmod | grep -c '^ok ' || true)" \
		"$loaded"
	expect "modules that failed to unload" \
		"$(section rmmod | grep -c '^FAILED' || true)" 0
	bad=$(distro_bad_lines "$LOG")
	expect "warnings, BUGs, lockdep reports, stack dumps on the console" \
		"$(printf '%s' "$bad" | head -n 3)" ""
}

# Debian 6.1 (and its RT flavour): KVM registers a consumer for every
# irqfd, so the two pair.  $1 is the side torn down first.
assert_paired() {
	local teardown=$1 tr irq tok

	expect "register_producer events (ret=0)" \
		"$(events irqbypass_register_producer) $(distro_traces "$LOG" |
		grep ': irqbypass_register_producer: ' | field ret)" "1 0"
	expect "register_consumer events (ret=0)" \
		"$(events irqbypass_register_consumer) $(distro_traces "$LOG" |
		grep ': irqbypass_register_consumer: ' | field ret)" "1 0"
	expect "connect events" "$(events irqbypass_connect)" 1
	expect "connect events when the second side registered" \
		"$(events_at irqbypass_connect paired)" 1
	tr=$(distro_traces "$LOG" | grep ': irqbypass_connect: ' | head -n 1)
	expect "connect ret" "$(field ret <<<"$tr")" 0
	irq=$(field irq <<<"$tr")
	tok=$(field token <<<"$tr")
	# 5.10's trace output shows pointers raw, debugfs hashed (as on every
	# kernel): there, producer and consumer must show one hashed token.
	[[ $tok == 00000000* ]] || tok=$(section producers@paired | field token)
	expect "vfio-kvm-pair saw the vfio-msi irq" \
		"$(grep '^pair: vfio_msi=on' "$LOG" | field irq)" "$irq"
	expect "/proc/interrupts vfio-msi irq while paired" \
		"$(section interrupts@paired | sed -n 's/^ *\([0-9]*\):.*/\1/p')" \
		"$irq"
	expect "debugfs producers while paired" \
		"$(section producers@paired | lines) $(section producers@paired |
		field irq) $(section producers@paired | field paired) $(section \
		producers@paired | field token)" "1 $irq yes $tok"
	expect "debugfs consumers while paired" \
		"$(section consumers@paired | lines) $(section consumers@paired |
		field irq) $(section consumers@paired | field paired) $(section \
		consumers@paired | field token)" "1 $irq yes $tok"
	expect "the consumer is KVM's" "$(section consumers@paired |
		grep -c 'add_producer=kvm_arch_irq_bypass_add_producer \[kvm\]' ||
		true)" 1
	expect_module_refs paired
	status_expect paired "" "" "$(fact edu)" "$irq" paired 0

	expect "disconnect events" "$(events irqbypass_disconnect)" 1
	expect "disconnect events at the first teardown" \
		"$(events_at irqbypass_disconnect half)" 1
	expect "disconnect irq" "$(distro_traces "$LOG" |
		grep ': irqbypass_disconnect: ' | field irq)" "$irq"
	expect "unregister_producer events" \
		"$(events irqbypass_unregister_producer)" 1
	expect "unregister_consumer events" \
		"$(events irqbypass_unregister_consumer)" 1
	if [ "$teardown" = kvm ]; then
		expect "after KVM went: producers, consumers" \
			"$(section producers@half | lines) $(section producers@half |
			field paired) $(section consumers@half | lines)" "1 no 0"
	else
		expect "after VFIO went: producers, consumers" \
			"$(section producers@half | lines) $(section consumers@half |
			lines) $(section consumers@half | field paired)" "0 1 no"
	fi

	# The function tracer counts the callbacks themselves.
	expect "calls of KVM's add_producer, del_producer, stop, start" \
		"$(calls kvm_arch_irq_bypass_add_producer) $(calls \
		kvm_arch_irq_bypass_del_producer) $(calls \
		kvm_arch_irq_bypass_stop) $(calls kvm_arch_irq_bypass_start)" \
		"1 1 2 2"
	expect "stats at the end: connects, disconnects, failures" \
		"$(stat end connects) $(stat end disconnects) $(stat end \
		connect_failures)" "1 1 0"
}

# Debian 6.12: KVM registers no consumer (the IOMMU cannot post
# interrupts), but its irqfd shutdown still unregisters one.
assert_producer_only() {
	local irq

	expect "register_producer events (ret=0)" \
		"$(events irqbypass_register_producer) $(distro_traces "$LOG" |
		grep ': irqbypass_register_producer: ' | field ret)" "1 0"
	irq=$(distro_traces "$LOG" | grep ': irqbypass_register_producer: ' |
		field irq)
	expect "vfio-kvm-pair saw the vfio-msi irq" \
		"$(grep '^pair: vfio_msi=on' "$LOG" | field irq)" "$irq"
	expect "debugfs producers while the irqfd exists" \
		"$(section producers@paired | lines) $(section producers@paired |
		field irq) $(section producers@paired | field paired)" \
		"1 $irq no"
	expect "debugfs consumers while the irqfd exists" \
		"$(section consumers@paired | lines)" 0
	# Why: 7.x's parameter; on 6.12, no AVIC under TCG and an IOMMU
	# that cannot post.
	if [[ $flavour == 7.* ]]; then
		status_expect paired "" "" "$(fact edu)" "$irq" \
			"not paired: KVM registers no consumers: kvm_amd enable_device_posted_irqs=N" 1
	else
		status_expect paired "" "" "$(fact edu)" "$irq" \
			"not paired: KVM registers no consumers: AVIC is off (kvm_amd avic=N); the IOMMU cannot post interrupts (dmar0:no-posting)" 1
	fi
	expect "stats while the irqfd exists: producers, producer_registrations" \
		"$(stat paired producers) $(stat paired producer_registrations)" \
		"1 1"
	expect_module_refs paired
	expect "calls of irq_bypass_register_consumer" \
		"$(calls irq_bypass_register_consumer)" 0
	expect "KVM's irqfd shutdown called irq_bypass_unregister_consumer" \
		"$(calls_at irq_bypass_unregister_consumer half)" 1
	expect "... and it was a no-op: consumer events, connects, disconnects" \
		"$(events irqbypass_register_consumer) $(events \
		irqbypass_unregister_consumer) $(events irqbypass_connect) \
$(events irqbypass_disconnect)" "0 0 0 0"
	expect "... callbacks of KVM called" \
		"$(distro_traces "$LOG" | grep -c ': kvm_arch_irq_bypass_' ||
		true)" 0
	expect "... stats unchanged by it" "$(section stats@half | md5sum)" \
		"$(section stats@paired | md5sum)"
	expect "... the producer stayed registered" \
		"$(section producers@half | lines) $(section producers@half |
		field irq)" "1 $irq"
	expect "unregister_producer events" \
		"$(events irqbypass_unregister_producer)" 1
	expect "stats at the end: consumer registrations, connects" \
		"$(stat end consumer_registrations) $(stat end connects)" "0 0"
}

# Linux 6.17 and later: KVM registers a consumer only if it may post
# device interrupts (enable_device_posted_irqs, a parameter of kvm_amd or
# kvm_intel), which it may not under TCG: no IOMMU QEMU emulates posts
# them.  Asserted, so that a kernel or QEMU that changes it is noticed:
# then the pair forms, and these scenarios want assert_paired.
assert_no_posting() {
	expect "kvm_amd's enable_device_posted_irqs" \
		"$(fact posted-irqs@kvm_amd)" N
}

# Debian's own irqbypass.ko on a kernel like 6.12's or 7.3's, where KVM
# registers no consumer: the function tracer shows vfio-pci's producer
# registering while MSI is on, and no consumer ever registering.
assert_stock_producer_only() {
	local irq

	irq=$(grep '^pair: vfio_msi=on' "$LOG" | field irq)
	expect "vfio-pci registered its producer when MSI went on" \
		"$(calls_at irq_bypass_register_producer first) $(section \
		trace@first | grep -c ': irq_bypass_register_producer.* <-vfio_msi_set_vector_signal' ||
		true)" "1 1"
	expect "/proc/interrupts vfio-msi irq while the irqfd exists" \
		"$(section interrupts@paired | sed -n 's/^ *\([0-9]*\):.*/\1/p')" \
		"${irq:-none}"
	expect_module_refs paired
	status_expect paired "" "" "$(fact edu)" "$irq" \
		"unknown: the stock manager shows no pairing (no debugfs)" 3
	expect "calls of irq_bypass_register_consumer" \
		"$(calls irq_bypass_register_consumer)" 0
	expect "KVM's irqfd shutdown called irq_bypass_unregister_consumer" \
		"$(calls_at irq_bypass_unregister_consumer half)" 1
	expect "callbacks of KVM called" \
		"$(distro_traces "$LOG" | grep -c ': kvm_arch_irq_bypass_' ||
		true)" 0
	expect "vfio-pci unregistered its producer when MSI went off" \
		"$(calls_at irq_bypass_unregister_producer "done") $(calls \
		irq_bypass_register_producer) $(calls \
		irq_bypass_unregister_producer)" "1 1 1"
}

# A guest that freezes under TCG: its first boot stops before the
# scenario (tools/init's ib_freeze=1) and QEMU is ended at the timeout;
# distro_boot must keep that console, list the boot, and boot once more,
# and the second boot must show everything a paired scenario shows.
assert_retried() {
	expect "first boot: frozen on purpose, no end" \
		"$(distro_fact "$LOG.first" frozen) $(grep -c '^=== DONE$' \
		"$LOG.first" 2>/dev/null)" "try 1 0"
	expect "first boot: listed as booted a second time" \
		"$(grep -c "^$LOG: try 1 did not finish" "$RETRIED_BOOTS")" 1
	expect "second boot: its try, and not frozen" \
		"$(fact cmdline | grep -o 'ib_try=[0-9]*') $(fact frozen)" \
		"ib_try=2 "
}

# scenario NAME FLAVOUR KIND SETUP TEARDOWN: boot and assert (the child).
# KIND is paired, producer-only, paired-frozen (paired, after a first
# boot that froze) or stock-producer-only (producer-only, with Debian's
# irqbypass.ko).
scenario() {
	local name=$1 flavour=$2 kind=$3 setup=$4 teardown=$5 frozen=
	local which=ours
	local -a extra=()

	if [ "$kind" = stock-producer-only ]; then
		which=stock
		REALCLIENT_KO=stock
		DISTRO_RETRY_CRASH=1
	fi

	if [ "$kind" = paired-frozen ]; then
		kind=paired
		frozen=yes
		extra=(ib_freeze=1)
		DISTRO_TIMEOUT=${FROZEN_TIMEOUT:-120}
	fi

	distro_fetch "$flavour"
	if [ -n "${REALCLIENT_KO:-}" ]; then
		# For checking the checks: another irqbypass.ko, or "stock".
		DISTRO_MODULE=$REALCLIENT_KO
	else
		distro_build_module
	fi
	LOG=$RC_LOGS/${name//\//_}.console
	INITRD=$DISTRO_ROOT/initrd-realclient.$$.cpio.gz
	# shellcheck disable=SC2064
	trap "rm -f '$INITRD'" EXIT
	distro_initramfs "$INITRD" "$DISTRO_MODULE" \
		kvm_amd vfio_pci vfio_iommu_type1
	rm -f "$LOG" "$LOG.first"
	distro_boot "$INITRD" "$LOG" "ib_setup=$setup" \
		"ib_teardown=$teardown" ib_raises=3 "${extra[@]}" ||
		echo "  QEMU failed or timed out (see $LOG)"
	echo "$name: $DISTRO_KVER, setup $setup first, teardown $teardown first"
	echo "  console: $LOG"
	assert_common "$which"
	case $kind in
	paired) assert_paired "$teardown" ;;
	producer-only) assert_producer_only ;;
	stock-producer-only) assert_stock_producer_only ;;
	esac
	[[ $flavour != 7.* ]] || assert_no_posting
	[ -z "$frozen" ] || assert_retried
	[ "$failures" -eq 0 ]
}

# classify: distro_boot's judgement of a guest that did not finish, on
# consoles.  consoles/6.12-stale-int3.console is Debian 13's 6.12 dying early
# of a stale translation under TCG: an "Oops: int3" whose trapping byte is
# a nop (<90>), not the int3 text_poke_bp() wrote.  From it: the same
# report with the int3 in the text (<cc>: a real trap); with a warning
# before it; the boot frozen before the report; and frozen after a
# warning.  Only TCG's faults may be booted again.
classify() {
	local stale=$REPO/tests/realclient/consoles/6.12-stale-int3.console
	local tmp c got=
	local warn='[    1.201007] WARNING: CPU: 0 PID: 1 at virt/lib/irqbypass.c:520 irq_bypass_register_producer+0x1f/0x40 [irqbypass]'

	tmp=$(mktemp -d "$CACHE/classify.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	sed 's/<90>/<cc>/' "$stale" >"$tmp/real-int3"
	awk -v w="$warn" '/Oops: int3/ { print w } { print }' "$stale" \
		>"$tmp/warning-then-stale-int3"
	sed '/Oops: int3/,$d' "$stale" >"$tmp/frozen"
	{ cat "$tmp/frozen"; echo "$warn"; } >"$tmp/warning-then-frozen"
	for c in "$stale" "$tmp/real-int3" "$tmp/warning-then-stale-int3" \
		"$tmp/frozen" "$tmp/warning-then-frozen"; do
		if distro_kernel_bug "$c"; then
			got+="bug "
		else
			got+="tcg "
		fi
	done
	expect "stale int3, real int3, warning + stale int3, frozen, warning + frozen" \
		"$got" "tcg bug bug tcg bug "
	[ "$failures" -eq 0 ]
}

# dkms: add and build dkms.conf against the installed 6.1 headers, in a
# private dkms tree, and remove it again.
dkms_build() {
	local hdr kver ver tmp src f

	need dkms linux-headers-amd64
	hdr=$(apt_depends_on linux-headers-amd64 linux-headers-)
	kver=${hdr#linux-headers-}
	[ -d "/lib/modules/$kver/build" ] || die "no /lib/modules/$kver/build"
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
	[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"

	# Every kernel with the manager as a module, whatever its version
	# (scripts/kernels.sh checks dkms.conf's rule, kernels/dkms-config).
	! grep -q '^BUILD_EXCLUSIVE_KERNEL' "$REPO/dkms.conf" ||
		die "dkms.conf limits the kernel versions"
	grep -qx 'CONFIG_IRQ_BYPASS_MANAGER=m' "/lib/modules/$kver/build/.config" ||
		die "$kver's manager is not a module"

	tmp=$(mktemp -d "$CACHE/dkms.XXXXXX")
	# shellcheck disable=SC2064
	trap "dkms remove irqbypass/$ver --all --dkmstree '$tmp/tree' \
		--sourcetree '$tmp/src' >/dev/null 2>&1 || true; rm -rf '$tmp'" EXIT
	src=$tmp/src/irqbypass-$ver
	sync_sources "$src" "${MODULE_SOURCES[@]}"
	cp "$REPO/dkms.conf" "$src/"
	mkdir -p "$tmp/tree" "$tmp/install"
	local -a opts=(--dkmstree "$tmp/tree" --sourcetree "$tmp/src"
		--installtree "$tmp/install")
	dkms add "${opts[@]}" -m irqbypass -v "$ver"
	dkms build "${opts[@]}" -m irqbypass -v "$ver" -k "$kver"
	f=$(dkms status "${opts[@]}" -m irqbypass -v "$ver" -k "$kver")
	echo "$f"
	[[ $f == *": built"* ]] || die "dkms status does not say built"
	f=$(find "$tmp/tree/irqbypass/$ver/$kver" -name 'irqbypass.ko*' | head -n 1)
	[ -n "$f" ] || die "dkms built no irqbypass.ko"
	modinfo "$f" | grep -E '^(vermagic|depends|name):'
	modinfo -F vermagic "$f" | grep -q "^$kver " ||
		die "vermagic of $f is not $kver"
	dkms remove "${opts[@]}" irqbypass/"$ver" --all
	echo "dkms add, build, remove: ok"
}

main() {
	local -a all=(
		"realclient/debian-6.1/pair-teardown-kvm-first 6.1 paired vfio kvm"
		"realclient/debian-6.1/pair-teardown-vfio-first 6.1 paired vfio vfio"
		"realclient/debian-6.1/consumer-first-teardown-vfio-close 6.1 paired kvm close"
		"realclient/debian-6.1/first-boot-frozen-tried-again 6.1 paired-frozen vfio kvm"
		"realclient/debian-6.1-rt/pair-teardown-kvm-first rt paired vfio kvm"
		"realclient/debian-6.12/unregister-never-registered-consumer 6.12 producer-only vfio kvm"
		"realclient/debian-5.10/pair-teardown-kvm-first 5.10 paired vfio kvm"
		"realclient/debian-6.12-deb13/unregister-never-registered-consumer 6.12-deb13 producer-only vfio kvm"
		"realclient/debian-6.12-deb13-rt/unregister-never-registered-consumer 6.12-deb13-rt producer-only vfio kvm"
		"realclient/debian-7.3/vfio-producer-no-kvm-consumer 7.3 producer-only vfio kvm"
		"realclient/debian-7.3-stock/vfio-producer-no-kvm-consumer 7.3 stock-producer-only vfio kvm"
	)
	local s name p want

	for s in "${all[@]}" "realclient/dkms-build" \
		"realclient/tcg-crashes-are-booted-again"; do
		read -r name _ <<<"$s"
		want=$#
		for p in "$@"; do
			[[ $name == *"$p"* ]] && want=0
		done
		[ "$want" -eq 0 ] || continue
		if [ "$name" = realclient/dkms-build ]; then
			check "$name" bash "$0" --dkms
		elif [ "$name" = realclient/tcg-crashes-are-booted-again ]; then
			check "$name" bash "$0" --classify
		else
			# shellcheck disable=SC2086
			check "$name" bash "$0" --scenario $s
		fi
	done
}

case ${1:-} in
--scenario)
	shift
	scenario "$@"
	;;
--dkms)
	dkms_build
	;;
--classify)
	classify
	;;
*)
	main "$@"
	;;
esac
