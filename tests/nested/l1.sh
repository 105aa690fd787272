#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0-only
#
# The L1 half of the nested scenarios: run by tools/init (ib_scenario=run)
# in Debian's kernel, after it loaded irqbypass.ko, kvm-amd and vfio-pci.
# Binds every edu device to vfio-pci, then runs Debian's qemu-system-x86_64
# with KVM and an edu assigned (-device vfio-pci), the nested guest being
# tests/nested/l2guest.c, once per case in ib_cases (a comma-separated
# list; by default all of them), one after the other:
#
#   msi        enable MSI, raise, disable, exit
#   kill       enable MSI, raise, then QEMU gets SIGKILL while paired
#   toggle     MSI enabled and disabled three times
#   reprogram  a new MSI vector while enabled
#   reset      the guest resets itself (port 0xCF9) while paired, and
#              enables MSI again after the reboot
#   two        two nested VMs at once, each with its own edu
#   msix       an e1000e assigned instead: four MSI-X vectors at once
#   emulated   msi with vfio-pci's x-no-kvm-msi: QEMU relays the MSI
#              itself, no KVM irqfd uses its eventfd
#
# The VMs and their cases are in tests/nested/vm.sh.

QEMU=/usr/bin/qemu-system-x86_64
GUEST=/nested/l2guest
TR=/sys/kernel/tracing

fact() {
	echo "@@ $1=$2"
}

dump() {
	/init hook "$1"
}

# A task stuck for 20 s (a deadlock in a teardown path) dumps its stack
# on the console, where the host finds it.
echo 20 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null

# Device assignment needs locked memory and QEMU wants /dev/shm.
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
ulimit -l unlimited

# Every edu, and the e1000e, to vfio-pci.
echo 1234 11e8 >/sys/bus/pci/drivers/vfio-pci/new_id
echo 8086 10d3 >/sys/bus/pci/drivers/vfio-pci/new_id
edus=
nic=
for d in /sys/bus/pci/devices/*; do
	case $(cat "$d/vendor"):$(cat "$d/device") in
	0x1234:0x11e8) edus="$edus ${d##*/}" ;;
	0x8086:0x10d3) nic=${d##*/} ;;
	esac
done
for b in $edus $nic; do
	i=0
	while [ ! -e /sys/bus/pci/devices/"$b"/driver ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	drv=$(readlink /sys/bus/pci/devices/"$b"/driver)
	fact "driver@$b" "${drv##*/}"
done
# shellcheck disable=SC2086 # one word per device
set -- $edus
edu1=$1
edu2=$2
fact edus "$edus"
fact nic "$nic"

# The function tracer on the manager's exports and KVM's callbacks: the
# only view there is of a stock irqbypass.ko.
if echo 'irq_bypass_*' >$TR/set_ftrace_filter 2>/dev/null; then
	echo 'kvm_arch_irq_bypass_*' >>$TR/set_ftrace_filter 2>/dev/null
	echo function >$TR/current_tracer
	fact ftrace "$(tr '\n' ' ' <$TR/set_ftrace_filter)"
fi
dump nested-before

# Nothing is registered yet, and registrations take no module reference;
# still the manager must not go: kvm and vfio use its exports.
if rmmod irqbypass 2>/dev/null; then
	fact rmmod-in-use succeeded
else
	fact rmmod-in-use refused
fi

unfinished() {
	echo "l1: $1: ending this boot unfinished"
	sync
	poweroff -f
	sleep 10
}

# shellcheck source=tests/nested/vm.sh
. /nested/vm.sh

vm_watch &
watch=$!
for c in $(echo "${ib_cases:-msi,kill,toggle,reprogram,reset,two,msix,emulated}" | tr , " "); do
	fact nested-case "$c"
	fact "nested-start@$c" "$(cut -d ' ' -f 1 /proc/uptime)"
	vm_case "$c"
	case_"$c"
done
kill "$watch"
vm_leftovers
