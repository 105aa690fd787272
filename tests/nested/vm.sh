# shellcheck shell=dash disable=SC2154 # the names the sourcing script sets
# SPDX-License-Identifier: GPL-2.0-only
#
# The nested VMs of tests/nested/l1.sh and their cases, sourced by it in
# L1 and by tests/nested/vm-test.sh on the host (with a fake QEMU).  The
# sourcing script provides:
#
#   QEMU, GUEST      the QEMU binary and the nested guest (-kernel)
#   edu1 edu2 nic    the devices the cases assign (BDFs)
#   fact KEY VALUE   print "@@ KEY=VALUE"
#   dump STAGE       the manager's state, as stage STAGE
#   unfinished WHY   end this boot without its last line
#   VM_DIR           where the serial ports' fifos go (default /tmp)
#
# Whenever the nested guest says "l2: wait STAGE", the manager's state is
# dumped as stage CASE-STAGEn (n counts that stage in the case), then the
# guest is let go on.  Each case ends with a dump as stage CASE-end and
# "@@ nested-exit@CASE=QEMU's exit status" (1 is the guest's success).
# The guest's lines are echoed as "l2[CASE]: ...".

# A QEMU that died leaves its input pipe without a reader: writing the
# guest's go-ahead must fail there, not kill this shell (SIGPIPE) with
# the other VM of case two still running.
trap '' PIPE

VM_DIR=${VM_DIR:-/tmp}

# vm_start NAME BDF IN OUT APPEND [QEMU-ARG...]: start QEMU with the device
# BDF, its serial port on file descriptors IN (to it) and OUT (from it).
# QEMU keeps none of the other VM's descriptors.
vm_start() {
	name=$1 bdf=$2 in=$3 out=$4 append=$5
	shift 5
	rm -f "$VM_DIR/$name".in "$VM_DIR/$name".out
	mkfifo "$VM_DIR/$name".in "$VM_DIR/$name".out
	$QEMU -accel kvm -M pc -cpu host -m 64 -display none -nodefaults \
		-name "$name" -serial stdio -kernel "$GUEST" -append "$append" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-device vfio-pci,host="$bdf" "$@" \
		<"$VM_DIR/$name".in >"$VM_DIR/$name".out 2>&1 3>&- 4<&- 5>&- 6<&- &
	eval "pid_$name=$!"
	fact "nested-pid@$name" $!
	vms="${vms:-} $name"
	eval "killed_$name="
	eval "exec $in>\"\$VM_DIR/\$name.in\""
	eval "exec $out<\"\$VM_DIR/\$name.out\""
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
	dump "$1-$stage$n"
}

# vm_go NAME IN: let the guest go on.  Its QEMU may be gone: vm_end then
# finds out how it ended.
vm_go() {
	{ echo >&"$2"; } 2>/dev/null ||
		echo "l1: $1's QEMU has gone: its input has no reader"
}

# vm_kill NAME: SIGKILL its QEMU.
vm_kill() {
	eval "kill -9 \$pid_$1"
	eval "killed_$1=yes"
}

# vm_end NAME IN OUT: drain QEMU's output, reap it, dump the state.
vm_end() {
	while vm_until "$1" "$3"; do
		vm_go "$1" "$2"
	done
	eval "wait \$pid_$1"
	status=$?
	eval "pid_$1="
	fact "nested-exit@$1" $status
	eval "exec $2>&- $3<&-"
	dump "$1-end"
	# QEMU exits 1 or 3 when its guest says it passed or failed
	# (isa-debug-exit), 137 when vm_kill killed it.  Anything else, 0
	# above all, the nested guest did not choose: with -no-reboot, 0 is
	# a triple fault, and 5 is a CPU exception, which l2guest never
	# causes (once an #UD in twoa while twob started, in case two).
	# Nested KVM runs on TCG's emulated SVM here, and an L2 whose
	# interrupts had all arrived once stalled for two minutes, then died
	# so; another died while waiting at "paired" in case two.  End this
	# boot without its last line: distro_boot boots it again, and lists
	# it.
	case $status:$(eval "echo \$killed_$1") in
	1:* | 3:* | 137:yes) ;;
	*)
		unfinished "the nested guest of $1 ended by itself (QEMU exit $status)"
		;;
	esac
}

# vm_run NAME BDF APPEND [QEMU-ARG...]: one VM, a dump at every stage.
vm_run() {
	name=$1 bdf=$2 append=$3
	shift 3
	vm_start "$name" "$bdf" 3 4 "$append" -no-reboot "$@"
	set -- "$name"
	while vm_until "$1" 4; do
		vm_dump "$1"
		vm_go "$1" 3
	done
	vm_end "$1" 3 4
}

case_msi() {
	vm_run msi "$edu1" "case=msi raises=3"
}

# The MSI through QEMU instead of a KVM irqfd (vfio-pci's x-no-kvm-msi):
# VFIO's producer has no consumer on its eventfd.
case_emulated() {
	vm_run emulated "$edu1" "case=msi raises=3" \
		-global vfio-pci.x-no-kvm-msi=on
}

case_kill() {
	vm_start kill "$edu1" 3 4 "case=hold raises=3" -no-reboot
	if vm_until kill 4 paired; then
		vm_dump kill
		vm_kill kill
		# shellcheck disable=SC2154 # set by vm_start through eval
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
		vm_go reset 3
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
	vm_go twoa 3
	vm_go twob 5
	vm_end twoa 3 4
	vm_end twob 5 6
	dump two-end
}

# The device's option ROM is not needed: SeaBIOS would only copy it.
case_msix() {
	if [ -z "$nic" ]; then
		fact error "an e1000e is needed for case msix"
		return
	fi
	vm_run msix "$nic,rombar=0" "case=msix raises=3"
}

# vm_leftovers: SIGKILL every QEMU not reaped (a case that stopped
# early), so that kvm and vfio-pci can be unloaded after us.
vm_leftovers() {
	for v in ${vms:-}; do
		p=$(eval "echo \$pid_$v")
		[ -n "$p" ] || continue
		fact nested-leftover "$v"
		kill -9 "$p" 2>/dev/null
		wait "$p"
	done
}

# vm_watch: in the background, every $VM_WATCH s (30) a line that says L1
# still runs; once a case has gone on for $VM_STALL s (60) (they take 2 to
# 5), the state, wait channel and kernel stack of every thread of every
# process named $VM_COMM (QEMU's).  A console that stops without these
# lines is a guest that froze whole (TCG); one that shows them names
# where a nested VM is stuck.  vm_case NAME says which case runs.
vm_watch() {
	while sleep "${VM_WATCH:-30}"; do
		read -r up _ </proc/uptime
		echo "l1: alive at ${up%.*} s"
		[ -r "$VM_DIR/case" ] || continue
		read -r c since <"$VM_DIR/case"
		[ $((${up%.*} - since)) -ge "${VM_STALL:-60}" ] || continue
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = "${VM_COMM:-qemu-system-x86}" ] ||
				continue
			for t in "$p"/task/*; do
				echo "l1: case $c for $((${up%.*} - since)) s: ${p#/proc/}/${t##*/}" \
					"\"$(cat "$t/comm")\" $(grep '^State:' "$t/status")" \
					"wchan $(cat "$t/wchan")"
				sed 's/^/l1:     /' "$t/stack" 2>/dev/null
			done
		done
	done
}

vm_case() {
	read -r up _ </proc/uptime
	echo "$1 ${up%.*}" >"$VM_DIR/case"
}
