#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: Debian's own QEMU assigns a device to a VM, and our IRQ bypass
# manager pairs its interrupt.
#
# Fetches Debian's distro kernel (the one linux-image-amd64 depends on) and
# its headers, builds irqbypass.ko against them, and boots that kernel under
# QEMU (TCG: no KVM needed on this machine) with a busybox initramfs that
# loads OUR irqbypass.ko instead of Debian's, then Debian's kvm, kvm-amd,
# vfio and vfio-pci.  QEMU's edu device is bound to vfio-pci, and Debian's
# own qemu-system-x86_64 (from the initramfs) runs a nested VM with KVM and
# the edu assigned (-device vfio-pci).  The nested guest
# (tests/nested/l2guest.c) enables the device's MSI, which makes QEMU give
# VFIO and KVM one eventfd: vfio-pci registers a producer, KVM a consumer,
# and the manager pairs them.  The guest raises the device's interrupt and
# counts what arrives, disables MSI, and exits.  The manager's view, its
# debugfs tables and its trace events, is shown at each step.
#
# Exits 0 if the pair was seen connected and disconnected, the interrupts
# arrived, and everything unloaded cleanly.
#
# With --kernel 7.3 (trixie-backports' newest 7.3, the API of Linux 6.17
# and later) no pair forms under TCG: KVM registers a consumer only if it
# may post device interrupts (kvm_amd's enable_device_posted_irqs), and no
# IOMMU QEMU emulates posts them.  There the demo shows what 7.3 gives:
# vfio-pci's producer registers with ours when the nested guest enables
# MSI and unregisters when it disables it, no consumer ever registers, and
# the interrupts reach the nested guest through the host (the eventfd and
# KVM's irqfd).  It exits 0 if that is what was seen.
#
# Usage: demo.sh [--kernel 6.1|rt|7.3] [--raw]
#   --raw shows the guest's console as it is.  The console is kept in
#   $CACHE/logs/demo.console either way.

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/distro.sh"
# shellcheck source=tests/nested/nested.sh
source "$REPO/tests/nested/nested.sh"

kernel=6.1
raw=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--raw) raw=1; shift ;;
	-h|--help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

if [ -t 1 ]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'
else
	B='' G='' R='' N=''
fi
head1() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }

# ---- the guest's console, made readable as it streams by ----

show_stats() {
	awk '{ v[$1] = $2 } END {
		# "slots" on the API of 6.17 and later, "buckets" before.
		idx = ("slots" in v) ? "slots" : "buckets"
		printf "   stats: producers %s, consumers %s, registrations %s+%s, " \
			"connects %s, disconnects %s, failures %s, %s %s\n",
			v["producers"], v["consumers"], v["producer_registrations"],
			v["consumer_registrations"], v["connects"], v["disconnects"],
			v["connect_failures"], idx, v[idx] }'
}

show_section() {	# NAME, lines on stdin
	local name=$1 what=${1%@*} stage=${1#*@} body
	body=$(cat)
	case $what in
	modules)
		head1 "Modules loaded in the guest, in dependency order"
		sed 's/ distro$/   (Debian'"'"'s)/; s/ ours$/   <== OURS, built from this tree/; s/^ok /   /; s/^FAILED /   FAILED: /' <<<"$body"
		return
		;;
	rmmod)
		head1 "Unloading every module, last loaded first"
		printf '   %s\n' "$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }' <<<"$body")"
		return
		;;
	dmesg | rmmod-while-paired)
		return
		;;
	esac
	case $stage in
	nested-before) return ;;
	esac
	case $what in
	trace)
		show_stage "$stage"
		printf '   %strace (events irqbypass:*, calls of irq_bypass_* and kvm_arch_irq_bypass_*):%s\n' "$B" "$N"
		if [ -z "$body" ]; then
			note "  (nothing)"
		else
			sed -E 's/^ *//; s/ +\[[0-9]+\] [^ ]+ +/ /; s/^/     /' <<<"$body"
		fi
		;;
	producers | consumers)
		printf '   %s/sys/kernel/debug/irqbypass/%s:%s\n' "$B" "$what" "$N"
		if [ -z "$body" ]; then
			note "  (empty)"
		else
			sed 's/^/     /; s/ \(add_\|stop=\)/\n       \1/g' <<<"$body"
		fi
		;;
	stats)
		show_stats <<<"$body"
		;;
	interrupts)
		if [ -n "$body" ]; then
			printf '   /proc/interrupts: %s\n' "$(tr -s ' ' <<<"$body")"
		fi
		;;
	esac
}

# A heading for each step of the nested guest, where its dump begins.
show_stage() {
	if [ "$kernel" = 7.3 ]; then
		show_stage73 "$1"
		return
	fi
	case $1 in
	msi-paired1)
		head1 "The nested guest enabled MSI: QEMU gave VFIO and KVM one eventfd"
		note "VFIO_DEVICE_SET_IRQS: vfio-pci registers a PRODUCER (the host irq)"
		note "KVM_IRQFD: KVM registers a CONSUMER; the manager pairs them by the eventfd"
		note "(the consumers before it are QEMU's INTx irqfd, set up and taken down as the guest boots)"
		;;
	msi-disabled1)
		head1 "The nested guest disabled MSI: QEMU takes the MSI eventfd away from both"
		note "the pair is disconnected; QEMU's INTx irqfd is back: a consumer with no producer"
		;;
	msi-end)
		head1 "QEMU exited: the last consumer went with it"
		;;
	esac
}
show_stage73() {
	case $1 in
	msi-paired1)
		head1 "The nested guest enabled MSI: QEMU gave VFIO an eventfd for it"
		note "VFIO_DEVICE_SET_IRQS: vfio-pci registers a PRODUCER (the host irq) with ours"
		note "KVM_IRQFD: on 7.3 KVM registers NO consumer: it may not post device"
		note "interrupts under TCG (enable_device_posted_irqs=N), so there is nothing to pair;"
		note "the interrupts reach the nested guest through the host: the eventfd, KVM's irqfd"
		note "(irq_bypass_unregister_consumer <-irqfd_shutdown: KVM tears down each irqfd with"
		note "an unregister of the consumer it never registered, a no-op for the manager)"
		;;
	msi-disabled1)
		head1 "The nested guest disabled MSI: vfio-pci unregisters its producer"
		;;
	msi-end)
		head1 "QEMU exited: nothing registered"
		;;
	esac
}
pretty() {
	local line sec='' buf='' started='' bound='' refs=''
	while IFS= read -r line; do
		if [ -z "$started" ]; then
			[[ $line == "@@ kernel="* ]] || continue
			started=1
		fi
		if [ -n "$sec" ]; then
			if [ "$line" = "=== END $sec" ]; then
				show_section "$sec" <<<"$buf"
				sec=
				buf=
			elif [ -z "$buf" ]; then
				buf=$line
			else
				buf+=$'\n'$line
			fi
			continue
		fi
		case $line in
		"=== BEGIN "*) sec=${line#=== BEGIN } ;;
		"=== DONE") ;;
		"@@ kernel="*) head1 "Guest up: Linux ${line#@@ kernel=} (Debian's, unmodified)" ;;
		"@@ irqbypass=ours") note "/sys/kernel/debug/irqbypass exists: the IRQ bypass manager is ours" ;;
		"@@ irqbypass=stock") note "${R}the IRQ bypass manager is NOT ours${N}" ;;
		"@@ tracing=on") note "tracing irqbypass:* events" ;;
		"@@ posted-irqs@"*)
			p=${line#@@ posted-irqs@}
			note "/sys/module/${p%%=*}/parameters/enable_device_posted_irqs: ${p#*=}$([ "${p#*=}" = N ] &&
				echo " (KVM may not post device interrupts: it will register no consumer)")"
			;;
		"@@ ftrace="*) note "function tracer on: ${line#@@ ftrace=}" ;;
		"@@ driver@"*)
			if [ -z "$bound" ]; then
				head1 "QEMU's edu devices (1234:11e8) and an e1000e, bound through /sys/bus/pci/drivers/vfio-pci/new_id"
				bound=1
			fi
			bdf=${line#@@ driver@}
			note "${bdf%%=*}: ${line##*=}"
			;;
		"@@ nic="*) ;;
		"@@ nested-case="*)
			head1 "Debian's QEMU, in the guest: a nested VM with KVM and the edu assigned"
			note "qemu-system-x86_64 -accel kvm -M pc -cpu host -m 64 \\"
			note "    -kernel /nested/l2guest -append case=${line#*=} \\"
			note "    -device vfio-pci,host=$bdf0"
			;;
		"@@ edus="*) bdf0=${line#@@ edus= }; bdf0=${bdf0%% *} ;;
		"@@ nested-exit@"*)
			note "QEMU's exit status: ${line#*=}$([ "${line#*=}" = 1 ] && echo " (the nested guest passed, through isa-debug-exit)")"
			;;
		"@@ refcnt@nested-before="*) refs=${line#*=} ;;
		"@@ holders@"*) ;;
		"@@ rmmod-in-use="*)
			head1 "Before QEMU starts: kvm and vfio-pci hold the manager through its exports"
			note "irqbypass module refcount: $refs, one for each module that uses it; registrations take none"
			note "rmmod irqbypass: ${line#*=}"
			;;
		"@@ refcnt@"*)
			note "irqbypass module refcount: ${line#*=}$([ "${line#*=}" = "$refs" ] &&
				echo " (unchanged)")"
			;;
		"@@ run-exit="* | "@@ taint="* | "@@ cmdline="* | "@@ nested-start@"*) ;;
		"@@ "*) note "${line#@@ }" ;;
		"l2["*"]: wait "*) ;;
		"l2["*) note "nested guest: ${line#*]: }" ;;
		"qemu["*) note "QEMU: ${line#*]: }" ;;
		"" | *"reboot: Power down") ;;
		*) note "console: $line" ;;
		esac
	done
}

# ---- host side ----

mkdir -p "$CACHE/logs"
LOG=$CACHE/logs/demo.console

head1 "Resolving and fetching Debian's kernel ($kernel) through apt"
distro_fetch "$kernel"
note "image:   $DISTRO_IMAGE_PKG"
note "headers: ${DISTRO_HEADERS_PKGS[*]}"
note "unpacked (not installed) under ${DISTRO_ROOT#"$REPO"/}"

head1 "Building our irqbypass.ko against those headers"
distro_build_module
note "${DISTRO_MODULE#"$REPO"/}"
if [ "$kernel" = 7.3 ]; then
	note "Debian builds 7.x without modversions: no CRCs to match; its modules load against ours by name"
else
	note "modversions CRCs of our exports equal Debian's:"
	distro_crcs "$DISTRO_ROOT/build/Module.symvers" | sed 's/^/     /'
fi

head1 "Building the initramfs: busybox, modules, Debian's QEMU, the nested guest"
INITRD=$DISTRO_ROOT/initrd-demo.cpio.gz
nested_initramfs "$INITRD" "$DISTRO_MODULE"
note "nested guest: ${NESTED_GUEST#"$REPO"/} (32-bit multiboot, from tests/nested/l2guest.c)"
note "QEMU: $NESTED_QEMU $(dpkg-query -W -f='${Version}' qemu-system-x86), its libraries and firmware"
note "${INITRD#"$REPO"/}: $(($(wc -c <"$INITRD") / 1048576)) MiB"

head1 "Booting under QEMU TCG (q35, intel-iommu, edu; timeout ${DISTRO_TIMEOUT}s)"
start=$SECONDS
if [ -n "$raw" ]; then
	DISTRO_CONSOLE='cat'
else
	DISTRO_CONSOLE=pretty
fi
boot_ok=1
nested_boot "$INITRD" "$LOG" msi || boot_ok=
note "guest ran $((SECONDS - start))s; console kept in ${LOG#"$REPO"/}"

# ---- did the manager pair them? ----

# What 7.3 gives under TCG: a producer, registered and unregistered, and
# no consumer.
# summary_end HOW: what both kernels' summaries end with: the nested
# guest's interrupts (arrived HOW), the modules unloaded, a quiet kernel.
summary_end() {
	if [ "${arrived:-}" = "3 of 3" ] && [ "$(distro_fact "$LOG" nested-exit@msi)" = 1 ]; then
		note "${G}interrupts arrived${N} in the nested guest${1:+ $1}: $arrived"
	else
		note "${R}interrupts NOT all arrived${N}: ${arrived:-none}"
		ok=
	fi
	if [ "$loaded" -gt 0 ] && [ "$loaded" -eq "$unloaded" ]; then
		note "all $loaded modules unloaded"
	else
		note "${R}modules loaded $loaded, unloaded $unloaded${N}"
		ok=
	fi
	if [ -n "$bad" ]; then
		note "${R}the kernel complained:${N}"
		printf '%s\n' "$bad" | head -n 10 | sed 's/^/     /'
		ok=
	else
		note "kernel log: no warning, BUG or stack dump"
	fi
}

summary73() {
	local reg unreg prod cons posted
	reg=$(sect trace@msi-paired1 | grep -c ': irqbypass_register_producer: .* ret=0$' || true)
	unreg=$(sect trace@msi-disabled1 | grep -c ': irqbypass_unregister_producer: .* ret=0$' || true)
	prod=$(sect producers@msi-paired1 | grep -c 'paired=no' || true)
	cons=$(distro_traces "$LOG" | grep -c 'irq_bypass_register_consumer' || true)
	posted=$(distro_fact "$LOG" posted-irqs@kvm_amd)
	if [ "$reg" -eq 1 ] && [ "$prod" -eq 1 ] && [ "$unreg" -eq 1 ] &&
	   [ -z "$(sect producers@msi-end)" ]; then
		note "${G}vfio-pci's producer${N} (irq $irq) registered with ours when MSI went on, unregistered when it went off"
	else
		note "${R}producer NOT seen as expected${N} (registered $reg, in debugfs $prod, unregistered $unreg)"
		ok=
	fi
	if [ "$posted" = N ] && [ "$cons" -eq 0 ] && [ -z "$(sect consumers@msi-paired1)" ]; then
		note "${G}no consumer${N}: KVM may not post device interrupts under TCG (enable_device_posted_irqs=N), so no pair forms"
	else
		note "${R}unexpected on 7.3 under TCG${N}: enable_device_posted_irqs=${posted:-?}, consumer registrations $cons"
		ok=
	fi
	summary_end "through the host"
}

sect() { distro_section "$LOG" "$1"; }
connect=$(sect trace@msi-paired1 | grep -c ': irqbypass_connect: .* ret=0$' || true)
disconnect=$(sect trace@msi-disabled1 | grep -c ': irqbypass_disconnect: ' || true)
prod=$(sect producers@msi-paired1 | grep -c 'paired=yes' || true)
cons=$(sect consumers@msi-paired1 | grep -c 'paired=yes' || true)
irq=$(sect producers@msi-paired1 | sed -n 's/.* irq=\([0-9]*\) .*/\1/p' | head -n 1)
arrived=$(sed -n 's/^l2\[msi\]: raised=\([0-9]*\) arrived=\([0-9]*\).*/\2 of \1/p' "$LOG")
loaded=$(sect modules | grep -c '^ok ' || true)
unloaded=$(sect rmmod | grep -c '^ok ' || true)
bad=$(distro_bad_lines "$LOG")

head1 "Summary"
ok=1
if [ "$kernel" = 7.3 ]; then
	summary73
	[ -n "$boot_ok" ] || { note "${R}QEMU failed or timed out${N}"; ok=; }
	[ -n "$ok" ]
	exit
fi
if [ "$connect" -eq 1 ] && [ "$prod" -eq 1 ] && [ "$cons" -eq 1 ]; then
	note "${G}paired${N}: vfio-pci's producer (irq $irq) and KVM's consumer, one connect"
else
	note "${R}pairing NOT seen${N} (connect events $connect, paired producers $prod, consumers $cons)"
	ok=
fi
if [ "$disconnect" -eq 1 ] && [ -z "$(sect producers@msi-end)" ] &&
   [ -z "$(sect consumers@msi-end)" ]; then
	note "${G}unpaired${N} when the guest disabled MSI; debugfs empty once QEMU exited"
else
	note "${R}unpairing NOT seen${N} (disconnect events $disconnect)"
	ok=
fi
summary_end ""
[ -n "$boot_ok" ] || { note "${R}QEMU failed or timed out${N}"; ok=; }
[ -n "$ok" ]
