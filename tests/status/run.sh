#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/status/run.sh: tools/irqbypass-status on made-up hosts.  Each
# host is a directory that stands for / (IRQBYPASS_STATUS_ROOT): the
# /proc/interrupts lines VFIO makes, a VMM's /proc/PID (its command line
# and a descriptor of its VFIO group or cdev), the device's iommu_group
# in sysfs, KVM's and the IOMMU's sysfs, and the manager's debugfs as
# ours writes it.  For each host, under dash, bash and busybox sh:
#
#   status/HOST           the text output and exit status are those of
#                         tests/status/golden/HOST.txt, the same under
#                         every shell
#   status/HOST/json      --json validates against
#                         tools/irqbypass-status.schema.json and is
#                         golden/HOST.json
#   status/HOST/quiet     --quiet prints nothing, with the same status
#
# plus status/usage (a wrong option: status 2).  The real hosts are in
# tests/nested (6.1, a real pair), tests/realclient (6.12 and 7.3) and
# tests/samples (a forced connect failure).
#
# STATUS_BLESS=1 writes the golden files from what the tool prints, for
# a change of the output; read the diff before committing it.

. "$(dirname "$0")/../../scripts/lib.sh"

need dash busybox

TOOL=$REPO/tools/irqbypass-status
SCHEMA=$REPO/tools/irqbypass-status.schema.json
GOLDEN=$REPO/tests/status/golden
WORK=$CACHE/status
SHELLS=(dash bash "busybox sh")
rm -rf "$WORK"
mkdir -p "$WORK" "$GOLDEN"

# ---- pieces of a host, into $H ----

# vector IRQ NAME: a line of /proc/interrupts.
vector() {
	local bdf=${2#*\(}
	bdf=${bdf%\)}
	printf '%4s:          0          0  PCI-MSI-%s   0-edge      %s\n' \
		"$1" "$bdf" "$2" >>"$H/proc/interrupts"
}

# device BDF GROUP [CDEV]: the device's iommu_group, its group's node,
# and its VFIO cdev.
device() {
	mkdir -p "$H/sys/bus/pci/devices/$1" "$H/sys/kernel/iommu_groups/$2" \
		"$H/dev/vfio"
	ln -s "../../../../kernel/iommu_groups/$2" \
		"$H/sys/bus/pci/devices/$1/iommu_group"
	: >"$H/dev/vfio/$2"
	if [ -n "${3:-}" ]; then
		mkdir -p "$H/sys/bus/pci/devices/$1/vfio-dev/$3" \
			"$H/dev/vfio/devices"
		: >"$H/dev/vfio/devices/$3"
	fi
}

# process PID COMM NODE ARG...: a process that holds NODE (a path under
# the host), with that command line.
process() {
	local pid=$1 comm=$2 node=$3
	shift 3
	mkdir -p "$H/proc/$pid/fd"
	echo "$comm" >"$H/proc/$pid/comm"
	printf '%s\0' "$@" >"$H/proc/$pid/cmdline"
	ln -s /dev/null "$H/proc/$pid/fd/0"
	ln -s "$H$node" "$H/proc/$pid/fd/7"
}

# ours: our module, its debugfs with the given producers, consumers and
# failures (one line each, in the format of irqbypass.c).
ours() {
	mkdir -p "$H/sys/module/irqbypass" "$H/sys/kernel/debug/irqbypass"
	echo 1.0 >"$H/sys/module/irqbypass/version"
	: >"$H/sys/kernel/debug/irqbypass/producers"
	: >"$H/sys/kernel/debug/irqbypass/consumers"
	: >"$H/sys/kernel/debug/irqbypass/failures"
}
producer() {
	echo "token=$1 irq=$2 paired=$3 add_consumer=- del_consumer=- stop=- start=-" \
		>>"$H/sys/kernel/debug/irqbypass/producers"
}
consumer() {
	echo "token=$1 irq=$2 paired=$3 add_producer=kvm_arch_irq_bypass_add_producer [kvm] del_producer=kvm_arch_irq_bypass_del_producer [kvm] stop=kvm_arch_irq_bypass_stop [kvm] start=kvm_arch_irq_bypass_start [kvm]" \
		>>"$H/sys/kernel/debug/irqbypass/consumers"
}
failure() {	# failure TOKEN IRQ ERRNAME ERRNO CALLBACK
	echo "token=$1 irq=$2 error=$3 errno=$4 callback=$5 failures=1 age=7s" \
		>>"$H/sys/kernel/debug/irqbypass/failures"
}

# param MODULE NAME VALUE
param() {
	mkdir -p "$H/sys/module/$1/parameters"
	echo "$3" >"$H/sys/module/$1/parameters/$2"
}

# dmar NAME CAP: an Intel IOMMU with that capability register.
dmar() {
	mkdir -p "$H/sys/class/iommu/$1/intel-iommu"
	echo "$2" >"$H/sys/class/iommu/$1/intel-iommu/cap"
}

# A QEMU as libvirt starts it, holding group 5: edu at 00:03.0 with one
# MSI on irq 24.
qemu_vm() {
	device 0000:00:03.0 5
	vector 24 "vfio-msi[0](0000:00:03.0)"
	process 1234 qemu-system-x86 /dev/vfio/5 /usr/bin/qemu-system-x86_64 \
		-name guest=vm1,debug-threads=on -machine q35 \
		-device vfio-pci,host=0000:00:03.0
	mkdir -p "$H/proc/sys/kernel"
	echo "${RELEASE:-6.1.0-57-amd64}" >"$H/proc/sys/kernel/osrelease"
	param kvm halt_poll_ns 200000
	param kvm_amd avic N
	dmar dmar0 d2008c40660462
}

# ---- the hosts ----

host() {
	H=$WORK/$1
	rm -rf "$H"
	mkdir -p "$H/proc" "$H/sys/module" "$H/dev"
	: >"$H/proc/interrupts"
}

make_hosts() {
	# 5.10 and 6.1: KVM's consumer paired with VFIO's producer; QEMU's
	# INTx irqfd is a consumer of its own, unpaired.
	host paired
	qemu_vm
	ours
	producer 0000000011aa 24 yes
	consumer 0000000011aa 24 yes
	consumer 0000000022bb - no

	# The MSI goes through QEMU (x-no-kvm-msi): no irqfd on its eventfd,
	# and none for INTx either; 6.1's KVM would register one for any.
	host emulated
	qemu_vm
	ours
	producer 0000000011aa 24 no

	# 6.12: KVM registers consumers only with APICv or AVIC and an
	# IOMMU that posts.
	host kvm-6.12
	RELEASE=6.12.57+deb13-amd64 qemu_vm
	ours
	producer 0000000011aa 24 no

	# 6.17 and later: KVM's enable_device_posted_irqs.
	host kvm-7.3
	RELEASE=7.3.4+deb13-amd64 qemu_vm
	ours
	param kvm_amd enable_device_posted_irqs N
	producer 0000000011aa 24 no

	# KVM's add_producer failed: VFIO's producer stays, unpaired.
	host failed-consumer
	qemu_vm
	ours
	producer 0000000011aa 24 no
	consumer 0000000022bb - no
	failure 0000000011aa 24 -EBUSY 16 'kvm_arch_irq_bypass_add_producer [kvm]'

	# The consumer came first and VFIO's registration failed: no
	# producer, the failure known by its irq.
	host failed-producer
	qemu_vm
	ours
	consumer 0000000011aa - no
	failure 0000000011aa 24 -EINVAL 22 'kvm_arch_irq_bypass_add_producer [kvm]'

	# Debian's own manager: no debugfs.
	host stock
	qemu_vm
	mkdir -p "$H/sys/module/irqbypass"

	# Ours, debugfs not mounted.
	host unmounted
	qemu_vm
	mkdir -p "$H/sys/module/irqbypass"
	echo 1.0 >"$H/sys/module/irqbypass/version"

	# An e1000e with three MSI-X vectors through its VFIO cdev (iommufd),
	# held by a VMM without -name; a second VM with an edu; a sample
	# producer; a producer whose registration failed.
	host many
	device 0000:00:04.0 6 vfio0
	device 0000:00:05.0 7
	vector 30 "vfio-msix[0](0000:00:04.0)"
	vector 31 "vfio-msix[1](0000:00:04.0)"
	vector 32 "vfio-msix[2](0000:00:04.0)"
	vector 33 "vfio-msi[0](0000:00:05.0)"
	process 2000 cloud-hypervisor /dev/vfio/devices/vfio0 \
		/usr/bin/cloud-hypervisor --device path=/sys/bus/pci/devices/0000:00:04.0
	process 1500 qemu-system-x86 /dev/vfio/7 /usr/bin/qemu-system-x86_64 \
		-name 'web server' -device vfio-pci,host=0000:00:05.0
	param kvm_intel enable_apicv Y
	dmar dmar0 d2008c40660462
	dmar dmar1 8d2078c106f0466
	ours
	producer 00000000a030 30 yes
	producer 00000000a031 31 no
	producer 00000000a032 32 yes
	producer 00000000a033 33 yes
	producer 00000000b040 40 no
	consumer 00000000a030 30 yes
	consumer 00000000a032 32 yes
	consumer 00000000a033 33 yes
	failure 00000000c041 41 -ENOSPC 28 'sample_add_producer [irqbypass_sample_consumer]'

	# Nothing assigned, nothing loaded.
	host empty
}

# ---- the checks ----

run_tool() {	# run_tool SHELL HOST ARG...: output, then "exit N"
	local sh=$1 h=$2
	shift 2
	set +e
	# shellcheck disable=SC2086 # "busybox sh" is two words
	IRQBYPASS_STATUS_ROOT=$WORK/$h $sh "$TOOL" "$@"
	echo "exit $?"
	set -e
}

check_host() {
	local h=$1 sh out first= json
	for sh in "${SHELLS[@]}"; do
		out=$(run_tool "$sh" "$h")
		if [ -z "$first" ]; then
			first=$out
			if [ -n "${STATUS_BLESS:-}" ]; then
				echo "$out" >"$GOLDEN/$h.txt"
			fi
			echo "--- $h ($sh)"
			echo "$out"
			diff -u "$GOLDEN/$h.txt" - <<<"$out" || return 1
		elif [ "$out" != "$first" ]; then
			echo "--- $h: $sh prints otherwise"
			diff -u - <(echo "$out") <<<"$first"
			return 1
		fi
	done
}

check_json() {
	local h=$1 out
	out=$(run_tool dash "$h" --json)
	[ -z "${STATUS_BLESS:-}" ] || echo "$out" >"$GOLDEN/$h.json"
	echo "$out"
	diff -u "$GOLDEN/$h.json" - <<<"$out" || return 1
	out=$(sed '$d' <<<"$out" | json_check "$SCHEMA")
	echo "$out"
	[ "$out" = valid ]
}

check_quiet() {
	local h=$1 sh out want
	want=$(tail -n 1 "$GOLDEN/$h.txt")
	for sh in "${SHELLS[@]}"; do
		out=$(run_tool "$sh" "$h" --quiet)
		echo "$sh: $out"
		[ "$out" = "$want" ] || return 1
	done
}

make_hosts
for h in paired emulated kvm-6.12 kvm-7.3 failed-consumer failed-producer \
	stock unmounted many empty; do
	check "status/$h" check_host "$h"
	check "status/$h/json" check_json "$h"
	check "status/$h/quiet" check_quiet "$h"
done
check status/usage bash -c "out=\$(IRQBYPASS_STATUS_ROOT=$WORK/empty \
	sh '$TOOL' --bogus 2>&1); [ \$? -eq 2 ] && echo \"\$out\" &&
	grep -q 'unknown option --bogus' <<<\"\$out\""
