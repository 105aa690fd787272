#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: our IRQ bypass manager between Debian's own KVM and VFIO.
#
# Fetches Debian's distro kernel (the one linux-image-amd64 depends on) and
# its headers, builds irqbypass.ko against them, and boots that kernel under
# QEMU (TCG: no KVM needed on this machine) with a busybox initramfs that
# loads OUR irqbypass.ko instead of Debian's, then Debian's kvm, kvm-amd,
# vfio, vfio_iommu_type1 and vfio-pci.  QEMU's edu device is bound to
# vfio-pci, and tools/vfio-kvm-pair does what a VMM does for device
# assignment: one eventfd becomes both the device's MSI trigger (vfio-pci
# registers a producer) and a KVM irqfd (KVM registers a consumer).  The
# manager's view, its debugfs tables and its trace events, is shown at each
# step, as is the edu interrupt arriving while the two are paired.
#
# Exits 0 if the producer and the consumer were seen paired and unpaired.
#
# Usage: demo.sh [--kernel 6.1|rt|6.12] [--setup vfio|kvm]
#                [--teardown kvm|vfio|close] [--raw]
#   --raw shows the guest's console as it is.  The console is kept in
#   $CACHE/logs/demo.console either way.

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/distro.sh"

kernel=6.1
setup=vfio
teardown=kvm
raw=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--setup) setup=$2; shift 2 ;;
	--teardown) teardown=$2; shift 2 ;;
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
		printf "   stats: producers %s, consumers %s, registrations %s+%s, " \
			"connects %s, disconnects %s, failures %s, buckets %s\n",
			v["producers"], v["consumers"], v["producer_registrations"],
			v["consumer_registrations"], v["connects"], v["disconnects"],
			v["connect_failures"], v["buckets"] }'
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
	before | end) return ;;
	esac
	case $what in
	trace)
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

show_pair() {	# one "pair: ..." line of vfio-kvm-pair, without the prefix
	local l=$1
	case $l in
	device=*)
		head1 "vfio-kvm-pair: open VFIO container, group and device"
		note "${l//=/ }"
		;;
	edu_id=*) note "edu identification register: ${l#edu_id=}" ;;
	kvm_vm=on*)
		note "KVM_CREATE_VM, KVM_CREATE_IRQCHIP, and a KVM VFIO device holding the group (as QEMU does)"
		;;
	eventfd=*) note "one eventfd (fd ${l#eventfd=}) for both sides: it is the bypass token" ;;
	vfio_msi=on*)
		head1 "VFIO_DEVICE_SET_IRQS: MSI vector 0 signals the eventfd (host irq ${l#*irq=})"
		note "vfio-pci registers an IRQ bypass PRODUCER"
		;;
	kvm_irqfd=on*)
		head1 "KVM_IRQFD: the same eventfd becomes a KVM irqfd (GSI ${l#*gsi=})"
		note "KVM registers an IRQ bypass CONSUMER"
		;;
	kvm_irqfd=off*)
		head1 "KVM_IRQFD with KVM_IRQFD_FLAG_DEASSIGN: KVM unregisters its consumer"
		;;
	vfio_msi=off*)
		head1 "VFIO_DEVICE_SET_IRQS, count 0: MSI off, vfio-pci unregisters its producer"
		;;
	vfio_device=closed*)
		head1 "close() of the VFIO device: vfio-pci disables MSI and unregisters its producer"
		;;
	closed=all) note "then closed the VM, the device, the group and the container" ;;
	raised=*)
		head1 "The edu device raises its interrupt (BAR0 register 0x60) while paired"
		note "$l"
		;;
	stage=*) ;;
	result=*) note "vfio-kvm-pair: ${l#result=}" ;;
	*) note "$l" ;;
	esac
}

pretty() {
	local line sec='' buf='' started=''
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
		"@@ ftrace="*) note "function tracer on: ${line#@@ ftrace=}" ;;
		"@@ edu="*)
			head1 "QEMU's edu device (1234:11e8) at ${line#@@ edu=}"
			;;
		"@@ iommu_group="*) note "IOMMU group ${line##*/} (intel-iommu)" ;;
		"@@ driver="*) note "bound to ${line#@@ driver=} through /sys/bus/pci/drivers/vfio-pci/new_id" ;;
		"@@ refcnt@before="* | "@@ refcnt@end="*) ;;
		"@@ refcnt@"*)
			note "irqbypass module refcount: ${line#*=}"
			;;
		"@@ rmmod-while-paired="*)
			note "rmmod irqbypass while paired: ${line#*=}$([ "${line#*=}" = failed ] && echo " (refused: in use)")"
			;;
		"@@ pair-exit="*) ;;
		"@@ taint="* | "@@ cmdline="* | "@@ loaded-after-rmmod="*) ;;
		"@@ "*) note "${line#@@ }" ;;
		"pair: "*) show_pair "${line#pair: }" ;;
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
note "modversions CRCs of our exports equal Debian's:"
distro_crcs "$DISTRO_ROOT/build/Module.symvers" | sed 's/^/     /'

head1 "Building the initramfs: busybox, tools/init, tools/vfio-kvm-pair, modules"
INITRD=$DISTRO_ROOT/initrd-demo.cpio.gz
distro_initramfs "$INITRD" "$DISTRO_MODULE" kvm_amd vfio_pci vfio_iommu_type1
note "${INITRD#"$REPO"/}"

head1 "Booting under QEMU TCG (q35, intel-iommu, edu; timeout ${DISTRO_TIMEOUT}s)"
start=$SECONDS
if [ -n "$raw" ]; then
	DISTRO_CONSOLE='cat'
else
	DISTRO_CONSOLE=pretty
fi
boot_ok=1
distro_boot "$INITRD" "$LOG" "ib_setup=$setup" "ib_teardown=$teardown" \
	ib_raises=3 || boot_ok=
note "guest ran $((SECONDS - start))s; console kept in ${LOG#"$REPO"/}"

# ---- did the manager pair them? ----

connect=$(distro_traces "$LOG" | grep -c ': irqbypass_connect: .* ret=0$' || true)
disconnect=$(distro_traces "$LOG" | grep -c ': irqbypass_disconnect: ' || true)
prod=$(distro_section "$LOG" producers@paired | grep -c 'paired=yes' || true)
cons=$(distro_section "$LOG" consumers@paired | grep -c 'paired=yes' || true)
irq=$(distro_section "$LOG" producers@paired | sed -n 's/.* irq=\([0-9]*\) .*/\1/p' | head -n 1)
bad=$(distro_bad_lines "$LOG")
arrived=$(sed -n 's/^pair: raised=\([0-9]*\) arrived=\([0-9]*\).*/\2 of \1/p' "$LOG")

head1 "Summary"
ok=1
if [ "$connect" -eq 1 ] && [ "$prod" -eq 1 ] && [ "$cons" -eq 1 ]; then
	note "${G}paired${N}: the VFIO producer (irq $irq) and KVM's consumer, one connect"
else
	note "${R}pairing NOT seen${N} (connect events $connect, paired producers $prod, consumers $cons)"
	case $DISTRO_KVER in
	6.1.*) ;;
	*) note "(from 6.12 on, KVM registers a consumer only if the IOMMU can post interrupts, and QEMU's cannot)" ;;
	esac
	ok=
fi
if [ "$disconnect" -eq 1 ] &&
   [ -z "$(distro_section "$LOG" producers@done)" ] &&
   [ -z "$(distro_section "$LOG" consumers@done)" ]; then
	note "${G}unpaired${N} on teardown: one disconnect, debugfs empty afterwards"
else
	note "${R}unpairing NOT seen${N} (disconnect events $disconnect)"
	ok=
fi
note "edu interrupts that arrived on the vfio-msi line while paired: ${arrived:-none}"
if [ -n "$bad" ]; then
	note "${R}the kernel complained:${N}"
	printf '%s\n' "$bad" | head -n 10 | sed 's/^/     /'
	ok=
else
	note "kernel log: no warning, BUG or stack dump"
fi
[ -n "$boot_ok" ] || { note "${R}QEMU failed or timed out${N}"; ok=; }
[ -n "$ok" ]
