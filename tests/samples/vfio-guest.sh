#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/samples/vfio-guest.sh: the sample consumer paired with a real producer,
# vfio-pci, inside Debian's 6.12 kernel under QEMU, where KVM registers no
# consumer of its own (the emulated IOMMU cannot post interrupts).
# tests/samples/run.sh puts this script and irqbypass_sample_consumer.ko into
# /samples of the initramfs that scripts/distro.sh builds (with kvm-amd,
# vfio-pci and our irqbypass.ko), and tools/init runs it with
# ib_scenario=run ib_run=/samples/vfio-guest.sh.
#
# It binds edu to vfio-pci and runs tools/vfio-kvm-pair, which enables the
# device's MSI through VFIO with an eventfd as trigger (vfio-pci registers a
# producer) and adds that eventfd as a KVM irqfd (KVM registers nothing),
# with this script as its hook (-x) and the eventfd inherited (-e):
#
#   first    the producer is registered: the hook writes $EVENTFD to the
#            sample consumer's debugfs "eventfd", and the two connect
#   paired   the KVM irqfd exists; then edu raises its interrupt
#   half     KVM's irqfd is gone, and its shutdown unregistered a consumer
#            it never registered, with the same token: the pair stays.  The
#            hook unregisters the sample consumer (-1): one disconnect.
#   done     VFIO's MSI is off: the producer is gone too
#
# and unloads the sample consumer.  Every stage is dumped with "/init hook
# STAGE" (trace events, the manager's debugfs, /proc/interrupts) plus the
# sample's state as "sample@STAGE"; tests/samples/run.sh asserts on it all.
# Busybox ash, no bashisms.

C=/sys/kernel/debug/irqbypass_sample_consumer
T=/sys/kernel/tracing
SELF=/samples/vfio-guest.sh
ERR=/tmp/samples-vfio.err

fact() {
	echo "@@ $1=$2"
}

sample_state() {
	echo "=== BEGIN sample@$1"
	cat $C/state 2>&1
	echo "=== END sample@$1"
}

# put FACT VALUE: write VALUE to the sample consumer's "eventfd", in this
# process (which must hold the eventfd open), and say how that went.
put() {
	if echo "$2" >$C/eventfd 2>$ERR; then
		fact "$1" ok
	else
		fact "$1" "failed: $(cat $ERR)"
	fi
}

# --- as vfio-kvm-pair's hook: "vfio-guest.sh hook STAGE" ---

if [ "${1:-}" = hook ]; then
	stage=$2
	/init hook "$stage"
	sample_state "$stage"
	case $stage in
	first)
		fact sample-eventfd "${EVENTFD:-none}"
		put sample-register "${EVENTFD:--2}"
		/init hook registered
		sample_state registered
		;;
	half)
		put sample-unregister -1
		/init hook unregistered
		sample_state unregistered
		;;
	esac
	exit 0
fi

# --- the scenario, run by /init ---

if insmod /samples/irqbypass_sample_consumer.ko 2>$ERR; then
	fact sample-insmod ok
else
	fact sample-insmod "failed: $(cat $ERR)"
	exit 1
fi

bdf=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] &&
	   [ "$(cat "$d/device")" = 0x11e8 ]; then
		bdf=${d##*/}
	fi
done
if [ -z "$bdf" ]; then
	fact error "no edu device"
	rmmod irqbypass_sample_consumer
	exit 1
fi
fact edu "$bdf"
echo 1234 11e8 >/sys/bus/pci/drivers/vfio-pci/new_id
i=0
while [ ! -e /sys/bus/pci/devices/"$bdf"/driver ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
drv=$(readlink /sys/bus/pci/devices/"$bdf"/driver)
fact driver "${drv##*/}"

# The function tracer on the manager's exports, KVM's callbacks and the
# sample's: it shows calls that have no trace event, such as KVM's
# unregistration of a consumer it never registered.
if echo 'irq_bypass_*' >$T/set_ftrace_filter 2>/dev/null; then
	echo 'kvm_arch_irq_bypass_*' >>$T/set_ftrace_filter
	for f in sample_add_producer sample_del_producer sample_stop \
		 sample_start; do
		echo "$f:mod:irqbypass_sample_consumer" >>$T/set_ftrace_filter
	done
	echo function >$T/current_tracer
	fact ftrace "$(tr '\n' ' ' <$T/set_ftrace_filter)"
else
	fact ftrace off
fi
echo >$T/trace

/init hook before
sample_state before
vfio-kvm-pair -d "$bdf" -s vfio -t kvm -r 3 -e -x "sh $SELF hook"
fact pair-exit $?

if rmmod irqbypass_sample_consumer 2>$ERR; then
	fact sample-rmmod ok
else
	fact sample-rmmod "failed: $(cat $ERR)"
fi
/init hook end
