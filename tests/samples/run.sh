#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/samples/run.sh: the sample producer and consumer (samples/).
#
#   samples-build-debian-6.1    both build against Debian's 6.1 headers
#                               (linux-headers-amd64) with W=1 and sparse
#                               (C=2), without a single warning
#   samples-build-debian-6.12   the same against Debian's 6.12 headers, as
#                               scripts/distro.sh fetches them
#   samples-qemu-6.1            Debian's 6.1 kernel under QEMU with our
#                               irqbypass.ko: the samples pair with each
#                               other, fail and recover as documented, and
#                               unload (tests/samples/guest.sh)
#   samples-qemu-6.1-stock      the same with Debian's own irqbypass.ko, when
#                               SAMPLES_STOCK=1
#   samples-qemu-6.12-vfio      Debian's 6.12 kernel under QEMU with our
#                               irqbypass.ko, where KVM registers no consumer:
#                               the sample consumer pairs with a real producer,
#                               vfio-pci, through the eventfd that is edu's MSI
#                               trigger, takes edu's interrupts while paired,
#                               and unregisters and unloads cleanly
#                               (tests/samples/vfio-guest.sh)
#   samples-qemu-6.12-deb13-vfio  the same on Debian 13's 6.12
#   samples-build-debian-7.3    both build against trixie-backports' 7.3
#                               headers, the API of Linux 6.17 and later
#   samples-qemu-7.3-vfio       samples-qemu-6.12-vfio on that 7.3
#
# Usage: run.sh [PATTERN...]       run the checks whose names contain one of
# the PATTERNs (all by default).
#
# checkpatch, kernel-doc and sparse on the sources are static.sh's: it checks
# every C file in the checkout.  The QEMU checks need scripts/distro.sh.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../../scripts/lib.sh"

need sparse gcc libc6-dev make

PATTERNS=("$@")

# want NAME: whether the check NAME was asked for.
want() {
	local p
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	for p in "${PATTERNS[@]}"; do
		[[ $1 == *"$p"* ]] && return 0
	done
	return 1
}

# build_samples KDIR DIR [MAKE...]: build the samples out of tree against
# KDIR in DIR (our include/ and samples/ are copied there) with MAKE (make
# W=1 C=2 by default), and fail on any warning from the compiler, sparse
# or modpost.
build_samples() {
	local kdir=$1 dir=$2 out
	local -a mk=("${@:3}")
	[ ${#mk[@]} -gt 0 ] || mk=(make W=1 C=2)
	mkdir -p "$dir"
	sync_sources "$dir" include samples
	out=$("${mk[@]}" -C "$kdir" M="$dir/samples" modules 2>&1) || {
		echo "$out"
		return 1
	}
	echo "$out"
	# Our header, not the kernel's, must have been used; but the kernel's
	# if it has the API of 6.17 and later, which samples/Kbuild then
	# passes on as IRQBYPASS_EVENTFD_API.
	local cmd=$dir/samples/.irqbypass_sample_consumer.o.cmd hdr
	hdr=$(grep -o '[^ ]*/include/linux/irqbypass\.h' "$cmd" | head -n 1)
	if grep -q 'struct eventfd_ctx \*eventfd' "$hdr"; then
		grep -q -- -DIRQBYPASS_EVENTFD_API "$cmd" || {
			echo "built against $hdr without IRQBYPASS_EVENTFD_API"
			return 1
		}
		echo "built for the API of 6.17 and later, against $hdr"
	elif [ "$hdr" != "$dir/samples/../include/linux/irqbypass.h" ]; then
		echo "the build used $hdr, not include/linux/irqbypass.h"
		return 1
	fi
	! grep -E 'warning:|error:|WARNING:' <<<"$out"
}

# The userspace helper the guest uses, static so that busybox can run it.
build_with_eventfd() {
	WITH_EVENTFD=$CACHE/tools/with-eventfd
	mkdir -p "$CACHE/tools"
	if [ ! -x "$WITH_EVENTFD" ] ||
	   [ "$REPO/samples/with-eventfd.c" -nt "$WITH_EVENTFD" ]; then
		gcc -static -O2 -Wall -Wextra -Werror -o "$WITH_EVENTFD" \
			"$REPO/samples/with-eventfd.c"
	fi
}

if want samples-build-debian-6.1; then
	kdir61=$(debian_headers linux-headers-amd64)
	check samples-build-debian-6.1 build_samples "$kdir61" \
		"$CACHE/build/samples-6.1"
fi

if [ ! -e "$REPO/scripts/distro.sh" ]; then
	log "no scripts/distro.sh: skipping the 6.12 build and the QEMU run"
	exit 0
fi
# shellcheck source=scripts/distro.sh
. "$REPO/scripts/distro.sh"

samples_612() {
	distro_fetch 6.12 >&2
	build_samples "$DISTRO_KDIR" "$CACHE/build/samples-6.12"
}
if want samples-build-debian-6.12; then
	check samples-build-debian-6.12 samples_612
fi

# Linux 6.17's API: trixie-backports' 7.3, with its gcc-14 in a trixie
# root (which has no sparse).
samples_73() {
	local -a mk
	DISTRO_HEADERS_ONLY=1 distro_fetch 7.3 >&2
	mapfile -t mk < <(distro_build_env)
	build_samples "$DISTRO_KDIR" "$CACHE/build/samples-7.3" "${mk[@]}" W=1
}
if want samples-build-debian-7.3; then
	check samples-build-debian-7.3 samples_73
fi

# qemu_samples IRQBYPASS: boot Debian's 6.1 kernel with IRQBYPASS (our
# irqbypass.ko or "stock") and the samples, and run guest.sh.
qemu_samples() {
	local which=$1 dir=$CACHE/build/samples-qemu logf ko npass nfail
	distro_fetch 6.1 >&2
	ko=stock
	if [ "$which" = ours ]; then
		distro_build_module >&2
		ko=$DISTRO_MODULE
	fi
	# Against the very headers of the kernel we boot.
	build_samples "$DISTRO_KDIR" "$dir" >"$CACHE/logs/samples-qemu-build.log" 2>&1 || {
		cat "$CACHE/logs/samples-qemu-build.log"
		return 1
	}
	build_with_eventfd
	DISTRO_EXTRA=(
		"$dir/samples/irqbypass_sample_producer.ko:samples/irqbypass_sample_producer.ko"
		"$dir/samples/irqbypass_sample_consumer.ko:samples/irqbypass_sample_consumer.ko"
		"$REPO/tests/samples/guest.sh:samples/guest.sh"
		"$WITH_EVENTFD:bin/with-eventfd"
	)
	distro_initramfs "$dir/initrd-$which.gz" "$ko" irqbypass
	logf=$CACHE/logs/samples-qemu-$DISTRO_KVER-$which.console
	distro_boot "$dir/initrd-$which.gz" "$logf" ib_scenario=run \
		ib_run=/samples/guest.sh || {
		echo "the guest did not finish; console in $logf"
		tail -n 40 "$logf"
		return 1
	}
	grep -E '^(SAMPLES: |@@ samples)' "$logf"
	npass=$(grep -c '^SAMPLES: PASS' "$logf" || true)
	nfail=$(grep -c '^SAMPLES: FAIL' "$logf" || true)
	echo "$npass assertions passed, $nfail failed; console in $logf"
	grep -q '^SAMPLES: DONE' "$logf" || {
		echo "the scenario did not finish"
		return 1
	}
	if grep -En 'WARNING:|BUG:|Call Trace:|list_(add|del) corruption' \
		"$logf"; then
		echo "the kernel complained"
		return 1
	fi
	[ "$nfail" -eq 0 ] && [ "$npass" -ge 40 ]
}

# ---- samples-qemu-6.12-vfio: what the guest printed, and what it must be ----

# expect, section, fact, field, events, calls...: distro.sh's assertion
# helpers, on $LOG, counting into $failures.

# The sample's four callbacks as the manager's debugfs prints them (%ps).
SAMPLE_FNS="add_producer=sample_add_producer [irqbypass_sample_consumer] \
del_producer=sample_del_producer [irqbypass_sample_consumer] \
stop=sample_stop [irqbypass_sample_consumer] \
start=sample_start [irqbypass_sample_consumer]"

# assert_paired_at STAGE IRQ TOKEN: the manager and the sample both show
# the sample consumer paired with vfio-pci's producer.
assert_paired_at() {
	local st=$1 irq=$2 tok=$3

	expect "$st: debugfs producers: lines, irq, paired, token" \
		"$(section "producers@$st" | lines) $(section "producers@$st" |
		field irq) $(section "producers@$st" | field paired) $(section \
		"producers@$st" | field token)" "1 $irq yes $tok"
	expect "$st: debugfs consumers: lines, irq, paired, token" \
		"$(section "consumers@$st" | lines) $(section "consumers@$st" |
		field irq) $(section "consumers@$st" | field paired) $(section \
		"consumers@$st" | field token)" "1 $irq yes $tok"
	expect "$st: the consumer's callbacks are the sample's" \
		"$(section "consumers@$st" | grep -o 'add_producer=.*')" \
		"$SAMPLE_FNS"
	expect "$st: the sample's state" "$(section "sample@$st")" \
		"registered=yes token=$tok paired=yes irq=$irq stopped=no adds=1 add_failures=0 dels=0 stops=1 starts=1"
}

# qemu_samples_vfio FLAVOUR: boot Debian's 6.12 kernel FLAVOUR (6.12, or
# 6.12-deb13: Debian 13's) with our irqbypass.ko, KVM, vfio-pci and the
# sample consumer, run vfio-guest.sh, and assert.
qemu_samples_vfio() {
	local flavour=$1 dir=$CACHE/build/samples-$1 initrd tr irq tok nmods loaded
	local -a mk=()
	failures=0

	distro_fetch "$flavour" >&2
	distro_build_module >&2
	# Against the very headers of the kernel we boot (as samples_612).
	# Debian 13's want its gcc-14, in a trixie root (with neither sparse
	# nor W=1's kernel-doc: the other builds run them on the same sources).
	[[ $DISTRO_KVER != *+deb13-* ]] || mapfile -t mk < <(distro_build_env)
	build_samples "$DISTRO_KDIR" "$dir" "${mk[@]}" \
		>"$CACHE/logs/samples-qemu-$flavour-build.log" 2>&1 || {
		cat "$CACHE/logs/samples-qemu-$flavour-build.log"
		return 1
	}
	DISTRO_EXTRA=(
		"$dir/samples/irqbypass_sample_consumer.ko:samples/irqbypass_sample_consumer.ko"
		"$REPO/tests/samples/vfio-guest.sh:samples/vfio-guest.sh"
	)
	initrd=$dir/initrd-vfio.$$.gz
	distro_initramfs "$initrd" "$DISTRO_MODULE" kvm_amd vfio_pci \
		vfio_iommu_type1
	nmods=$(zcat "$initrd" | cpio -i --quiet --to-stdout etc/modules | lines)
	LOG=$CACHE/logs/samples-qemu-$DISTRO_KVER-vfio.console
	distro_boot "$initrd" "$LOG" ib_scenario=run \
		ib_run=/samples/vfio-guest.sh ||
		echo "  QEMU failed or timed out (see $LOG)"
	rm -f "$initrd"
	echo "samples-qemu-$flavour-vfio: $DISTRO_KVER; console in $LOG"
	grep -E '^(@@ (sample|pair-exit|run-exit)|pair: )' "$LOG" | sed 's/^/  /'

	# The guest, the modules, the device.
	expect "guest ran to the end" "$(grep -c '^=== DONE$' "$LOG")" 1
	expect "kernel" "$(fact kernel)" "$DISTRO_KVER"
	expect "modules that failed to load" "$(fact insmod-failed)" ""
	expect "irqbypass.ko loaded" "$(fact irqbypass)" ours
	expect "trace events" "$(fact tracing)" on
	expect "function tracer on the sample's callbacks" \
		"$(fact ftrace | grep -o 'sample_[a-z_]* \[irqbypass_sample_consumer\]' |
		sort -u | wc -l)" 4
	expect "insmod irqbypass_sample_consumer" "$(fact sample-insmod)" ok
	expect "edu bound to" "$(fact driver)" vfio-pci
	expect "vfio-kvm-pair exit status" "$(fact pair-exit)" 0
	# From 6.17 on, KVM registers no consumer because it may not post.
	[[ $flavour != 7.* ]] || expect "kvm_amd's enable_device_posted_irqs" \
		"$(fact posted-irqs@kvm_amd)" N

	# first: vfio-pci's producer, alone.
	expect "first: register_producer events, ret" \
		"$(events_at irqbypass_register_producer first) $(section \
		trace@first | grep ': irqbypass_register_producer: ' |
		field ret)" "1 0"
	tr=$(distro_traces "$LOG" | grep ': irqbypass_register_producer: ' |
		head -n 1)
	irq=$(field irq <<<"$tr")
	tok=$(field token <<<"$tr")
	expect "the producer's irq is vfio-kvm-pair's vfio-msi irq" \
		"$(grep '^pair: vfio_msi=on' "$LOG" | field irq)" "${irq:-none}"
	expect "first: producer unpaired, no consumer" \
		"$(section producers@first | field paired) $(section \
		consumers@first | lines)" "no 0"

	# registered: the hook handed the same eventfd to the sample consumer.
	expect "the hook got the eventfd" "$(fact sample-eventfd)" \
		"$(grep '^pair: eventfd=' "$LOG" | field eventfd)"
	expect "sample consumer registered" "$(fact sample-register)" ok
	expect "registered: register_consumer, connect events" \
		"$(events_at irqbypass_register_consumer registered) $(events_at \
		irqbypass_connect registered)" "1 1"
	tr=$(section trace@registered | grep ': irqbypass_connect: ')
	expect "connect: ret, irq, token" "$(field ret <<<"$tr") $(field irq \
		<<<"$tr") $(field token <<<"$tr")" "0 $irq $tok"
	expect "registered: the sample's add_producer, stop, start calls" \
		"$(calls_at sample_add_producer registered) $(calls_at \
		sample_stop registered) $(calls_at sample_start registered)" \
		"1 1 1"
	assert_paired_at registered "$irq" "$tok"

	# paired: KVM's irqfd on the same eventfd registered nothing.
	expect "paired: KVM's irqfd: trace events, consumer registrations" \
		"$(section trace@paired | grep -c ': irqbypass_' || true) $(calls_at \
		irq_bypass_register_consumer paired)" "0 0"
	assert_paired_at paired "$irq" "$tok"
	expect "/proc/interrupts vfio-msi irq while paired" \
		"$(section interrupts@paired | sed -n 's/^ *\([0-9]*\):.*/\1/p')" \
		"$irq"
	expect_module_refs paired
	expect "rmmod irqbypass while paired" "$(fact rmmod-while-paired)" \
		failed
	expect "edu interrupts raised while paired, arrived on irq" \
		"$(grep '^pair: raised=' "$LOG" | field raised) $(grep \
		'^pair: raised=' "$LOG" | field arrived) $(grep \
		'^pair: raised=' "$LOG" | field irq)" "3 3 $irq"

	# half: KVM's irqfd shutdown unregistered its never-registered consumer,
	# same token: a no-op, the pair stays.
	expect "half: KVM called irq_bypass_unregister_consumer" \
		"$(calls_at irq_bypass_unregister_consumer half)" 1
	expect "half: ... and nothing happened: trace events, sample calls" \
		"$(section trace@half | grep -c ': irqbypass_' || true) $(section \
		trace@half | grep -c ': sample_' || true)" "0 0"
	assert_paired_at half "$irq" "$tok"

	# unregistered: the sample consumer went (-1): one disconnect.
	expect "sample consumer unregistered" "$(fact sample-unregister)" ok
	expect "unregistered: disconnect, unregister_consumer events" \
		"$(events_at irqbypass_disconnect unregistered) $(events_at \
		irqbypass_unregister_consumer unregistered)" "1 1"
	tr=$(section trace@unregistered | grep ': irqbypass_disconnect: ')
	expect "disconnect: irq, token" "$(field irq <<<"$tr") $(field token \
		<<<"$tr")" "$irq $tok"
	expect "unregistered: the sample's stop, del_producer, start calls" \
		"$(calls_at sample_stop unregistered) $(calls_at \
		sample_del_producer unregistered) $(calls_at sample_start \
		unregistered)" "1 1 1"
	expect "unregistered: producer unpaired, no consumer, sample state" \
		"$(section producers@unregistered | lines) $(section \
		producers@unregistered | field paired) $(section \
		consumers@unregistered | lines) $(section sample@unregistered)" \
		"1 no 0 registered=no"

	# done: VFIO's MSI is off; nothing is left.
	expect "done: unregister_producer events, disconnects" \
		"$(events_at irqbypass_unregister_producer "done") $(events_at \
		irqbypass_disconnect "done")" "1 0"
	expect "done: debugfs producers, consumers" \
		"$(section producers@done | lines) $(section consumers@done |
		lines)" "0 0"
	expect "in all: connects, disconnects, register/unregister events" \
		"$(events irqbypass_connect) $(events irqbypass_disconnect) \
$(events irqbypass_register_producer) $(events \
		irqbypass_unregister_producer) $(events \
		irqbypass_register_consumer) $(events \
		irqbypass_unregister_consumer)" "1 1 1 1 1 1"
	expect "in all: the sample's add_producer, del_producer, stop, start" \
		"$(calls sample_add_producer) $(calls sample_del_producer) \
$(calls sample_stop) $(calls sample_start)" "1 1 2 2"
	expect "rmmod irqbypass_sample_consumer" "$(fact sample-rmmod)" ok
	expect "stats at the end: producers, consumers, connects, disconnects, failures" \
		"$(stat end producers) $(stat end consumers) $(stat end connects) \
$(stat end disconnects) $(stat end connect_failures)" "0 0 1 1 0"
	# The sample's use of the manager's exports went with its rmmod.
	expect "module references: when done, after rmmod of the sample" \
		"$(fact refcnt@done) $(fact refcnt@end)" \
		"$(fact refcnt@before) $(($(fact refcnt@before) - 1))"
	loaded=$(section modules | grep -c '^ok ' || true)
	expect "modules loaded" "$loaded" "$nmods"
	expect "modules unloaded, failed to unload" \
		"$(section rmmod | grep -c '^ok ' || true) $(section rmmod |
		grep -c '^FAILED' || true)" "$loaded 0"
	expect "warnings, BUGs, lockdep reports, stack dumps on the console" \
		"$(distro_bad_lines "$LOG" | head -n 3)" ""
	echo "$failures assertions failed"
	[ "$failures" -eq 0 ]
}

if want samples-qemu-6.1; then
	check samples-qemu-6.1 qemu_samples ours
fi
if [ "${SAMPLES_STOCK:-0}" = 1 ] && want samples-qemu-6.1-stock; then
	check samples-qemu-6.1-stock qemu_samples stock
fi
if want samples-qemu-6.12-vfio; then
	check samples-qemu-6.12-vfio qemu_samples_vfio 6.12
fi
if want samples-qemu-6.12-deb13-vfio; then
	check samples-qemu-6.12-deb13-vfio qemu_samples_vfio 6.12-deb13
fi
if want samples-qemu-7.3-vfio; then
	check samples-qemu-7.3-vfio qemu_samples_vfio 7.3
fi
