# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# The host half of the nested scenarios, shared by tests/nested/run.sh
# (make check) and scripts/demo.sh (make demo).  Source it after
# scripts/distro.sh.
#
#   nested_guest          build the nested guest (l2entry.S, l2guest.c) as a
#                         32-bit multiboot ELF.  Sets NESTED_GUEST.
#   nested_initramfs OUT KO
#                         distro_initramfs with Debian's qemu-system-x86_64
#                         (the binary, the libraries ldd lists and the
#                         loader, four firmware files), the nested guest
#                         l1.sh and vm.sh; KO as for distro_initramfs.
#   nested_boot INITRD LOG CASES [KERNEL-ARG...]
#                         boot it with a second edu and an e1000e, running
#                         l1.sh's CASES.

NESTED_DIR=$REPO/tests/nested
NESTED_QEMU=/usr/bin/qemu-system-x86_64
NESTED_FIRMWARE=(/usr/share/seabios/bios-256k.bin:/usr/share/qemu/bios-256k.bin
	/usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin
	/usr/share/qemu/multiboot_dma.bin)

nested_guest() {
	local out=$CACHE/nested src
	local -a cflags=(-m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector
		-mgeneral-regs-only -fno-asynchronous-unwind-tables -O2 -Wall
		-Wextra -Werror)
	NESTED_GUEST=$out/l2guest
	mkdir -p "$out"
	for src in l2guest.c l2guest.h l2entry.S l2guest.ld; do
		if [ ! -e "$NESTED_GUEST" ] ||
		   [ "$NESTED_DIR/$src" -nt "$NESTED_GUEST" ]; then
			rm -f "$NESTED_GUEST"
		fi
	done
	[ -e "$NESTED_GUEST" ] && return 0
	log "building the nested guest"
	# gcc -m32 needs no multilib here: no libc, no libgcc, ld links.
	need gcc binutils
	gcc "${cflags[@]}" -c "$NESTED_DIR/l2guest.c" -o "$out/l2guest.o"
	gcc -m32 -c "$NESTED_DIR/l2entry.S" -o "$out/l2entry.o"
	ld -m elf_i386 -nostdlib -z noexecstack --no-warn-rwx-segments \
		-T "$NESTED_DIR/l2guest.ld" -o "$NESTED_GUEST.tmp" \
		"$out/l2entry.o" "$out/l2guest.o"
	mv "$NESTED_GUEST.tmp" "$NESTED_GUEST"
}

nested_initramfs() {
	local f lib
	need qemu-system-x86 seabios
	nested_guest
	DISTRO_EXTRA=("$NESTED_GUEST:/nested/l2guest"
		"$NESTED_DIR/l1.sh:/nested/l1.sh" "$NESTED_DIR/vm.sh:/nested/vm.sh"
		"$NESTED_QEMU:$NESTED_QEMU")
	# The libraries QEMU links (and the loader), at their own paths.
	while read -r lib; do
		DISTRO_EXTRA+=("$lib:$lib")
	done < <(ldd "$NESTED_QEMU" | grep -o '/[^ ]*' | sort -u)
	for f in "${NESTED_FIRMWARE[@]}"; do
		DISTRO_EXTRA+=("${f%%:*}:${f#*:}")
	done
	distro_initramfs "$1" "$2" kvm_amd vfio_pci vfio_iommu_type1
	DISTRO_EXTRA=()
}

nested_boot() {
	local initrd=$1 logf=$2 cases=$3
	shift 3
	# The second edu, for two nested VMs at once, and an e1000e for
	# MSI-X (no ROM, no network); distro_boot reads it.
	# shellcheck disable=SC2034,SC2054
	local -a DISTRO_QEMU_EXTRA=(-device edu -device e1000e,romfile=)
	distro_boot "$initrd" "$logf" ib_scenario=run ib_run=/nested/l1.sh \
		"ib_cases=$cases" "$@"
}
