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
#
# Whenever the nested guest says "l2: wait STAGE", the manager's state is
# dumped as stage CASE-STAGEn (n counts that stage in the case) through
# "/init hook", then the guest is let go on.  Each case ends with a dump as
# stage CASE-end and "@@ nested-exit@CASE=QEMU's exit status" (1 is the
# guest's success).  The guest's lines are echoed as "l2[CASE]: ...".

QEMU=/usr/bin/qemu-system-x86_64
GUEST=/nested/l2guest
TR=/sys/kernel/tracing

fact() {
	echo "@@ $1=$2"
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
/init hook nested-before

# Nothing is registered yet, and registrations take no module reference;
# still the manager must not go: kvm and vfio use its exports.
if rmmod irqbypass 2>/dev/null; then
	fact rmmod-in-use succeeded
else
	fact rmmod-in-use refused
fi

# vm_start NAME BDF IN OUT APPEND [QEMU-ARG...]: start QEMU with the device
# BDF, its serial port on file descriptors IN (to it) and OUT (from it).
vm_start() {
	name=$1 bdf=$2 in=$3 out=$4 append=$5
	shift 5
	rm -f /tmp/"$name".in /tmp/"$name".out
	mkfifo /tmp/"$name".in /tmp/"$name".out
	$QEMU -accel kvm -M pc -cpu host -m 64 -display none -nodefaults \
		-serial stdio -kernel $GUEST -append "$append" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-device vfio-pci,host="$bdf" "$@" \
		</tmp/"$name".in >/tmp/"$name".out 2>&1 &
	eval "pid_$name=$!"
	eval "exec $in>/tmp/$name.in"
	eval "exec $out</tmp/$name.out"
	eval "seen_$name="
}

# vm_until NAME OUT [STAGE]: echo the guest's lines until it waits at
# STAGE (returns 0) or at any stage if none is given (sets $stage), or
# until QEMU's output ends (returns 1).
vm_until() {
	while read -r line <&"$2"; do
		case $line in
		"l2: "*) echo "l2[$1]: ${line#l2: }" ;;
		*) echo "qemu[$1]: $line" ;;
		esac
		case $line in
		"l2: wait "*)
			stage=${line#l2: wait }
			[ -z "$3" ] || [ "$stage" = "$3" ] || continue
			return 0
			;;
		esac
	done
	return 1
}

# vm_dump NAME: the manager's state at $stage, as NAME-STAGEn.
vm_dump() {
	eval "seen_$1=\"\$seen_$1 $stage\""
	n=$(eval "echo \$seen_$1" | tr ' ' '\n' | grep -cx "$stage")
	/init hook "$1-$stage$n"
}

# vm_go IN: let the guest go on.
vm_go() {
	echo >&"$1"
}

# vm_end NAME IN OUT: drain QEMU's output, reap it, dump the state.
vm_end() {
	while vm_until "$1" "$3"; do
		vm_go "$2"
	done
	eval "wait \$pid_$1"
	status=$?
	fact "nested-exit@$1" $status
	eval "exec $2>&- $3<&-"
	/init hook "$1-end"
	# QEMU exits 0 only when its guest shut down by itself, which
	# l2guest never does: with -no-reboot, that is a triple fault.
	# Nested KVM runs on TCG's emulated SVM here, and an L2 whose
	# interrupts had all arrived once stalled for two minutes, then died
	# so.  End this boot without its last line: distro_boot boots it
	# again, and lists it.
	if [ "$status" -eq 0 ]; then
		echo "l1: the nested guest of $1 shut down by itself (QEMU exit 0, a triple fault): ending this boot unfinished"
		sync
		poweroff -f
		sleep 10
	fi
}

# vm_run NAME BDF APPEND [QEMU-ARG...]: one VM, a dump at every stage.
vm_run() {
	vm_start "$1" "$2" 3 4 "$3" -no-reboot
	while vm_until "$1" 4; do
		vm_dump "$1"
		vm_go 3
	done
	vm_end "$1" 3 4
}

case_msi() {
	vm_run msi "$edu1" "case=msi raises=3"
}

case_kill() {
	vm_start kill "$edu1" 3 4 "case=hold raises=3" -no-reboot
	if vm_until kill 4 paired; then
		vm_dump kill
		# shellcheck disable=SC2154 # set by vm_start through eval
		kill -9 "$pid_kill"
		fact nested-killed "$pid_kill"
	fi
	vm_end kill 3 4
}

case_toggle() {
	vm_run toggle "$edu1" "case=toggle raises=2 rounds=3"
}

case_reprogram() {
	vm_run reprogram "$edu1" "case=reprogram raises=3"
}

# No -no-reboot: the guest's reset restarts it.
case_reset() {
	vm_start reset "$edu1" 3 4 "case=reset raises=3"
	while vm_until reset 4; do
		vm_dump reset
		vm_go 3
	done
	vm_end reset 3 4
}

# Both paired at once, then both let go.
case_two() {
	if [ -z "$edu2" ]; then
		fact error "a second edu is needed for case two"
		return
	fi
	vm_start twoa "$edu1" 3 4 "case=msi raises=3" -no-reboot
	vm_until twoa 4 paired
	vm_start twob "$edu2" 5 6 "case=msi raises=3" -no-reboot
	vm_until twob 6 paired
	stage=paired
	vm_dump two
	vm_go 3
	vm_go 5
	vm_end twoa 3 4
	vm_end twob 5 6
	/init hook two-end
}

# The device's option ROM is not needed: SeaBIOS would only copy it.
case_msix() {
	if [ -z "$nic" ]; then
		fact error "an e1000e is needed for case msix"
		return
	fi
	vm_run msix "$nic,rombar=0" "case=msix raises=3"
}

for c in $(echo "${ib_cases:-msi,kill,toggle,reprogram,reset,two,msix}" | tr , " "); do
	fact nested-case "$c"
	fact "nested-start@$c" "$(cut -d ' ' -f 1 /proc/uptime)"
	case_"$c"
done
