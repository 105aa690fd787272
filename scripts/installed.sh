#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# installed.sh: the package on an installed Debian system, the way an
# operator uses it.  mmdebstrap makes a minimal system from Debian's
# archive (the mirrors of scripts/archive.sh; the host's sources are never
# used or touched) with the suite's kernel (linux-image-amd64 and
# linux-headers-amd64, as apt resolves them there; debian-13-7.3 adds
# trixie-backports' with apt -t), dkms, systemd, udev and kmod, cached as a
# tarball under $CACHE/installed/ per suite, package list and hooks.  Each
# run unpacks it, installs the .deb of scripts/deb.sh with "apt-get install
# ./irqbypass-dkms_*.deb" in a chroot (DKMS builds for the image's
# kernels, not the host's), makes an ext4 disk of it and boots it under
# QEMU (TCG, q35, intel-iommu, edu) on its newest kernel (what a boot
# loader boots by default) and that kernel's initramfs, systemd as PID 1.
# A service (tools/installed-check) writes what it sees to the serial
# console and powers off.
#
#   installed/debian-12/install   apt installs the .deb in the image: DKMS
#                                 built and installed irqbypass.ko, version
#                                 VERSION, for the image's 6.1 kernel
#   installed/debian-12/boot      booted: modprobe kvm_amd and vfio-pci use
#                                 updates/dkms/irqbypass.ko, debugfs is
#                                 there, vfio-kvm-pair pairs VFIO's producer
#                                 with KVM's consumer; then apt-get remove
#                                 irqbypass-dkms in the guest
#   installed/debian-12/removed   the next boot: the stock
#                                 kernel/virt/lib/irqbypass.ko, no debugfs
#   installed/debian-13-7.3/install   Debian 13 with its 6.12 and
#                                 trixie-backports' newest 7.3 (apt -t
#                                 trixie-backports), which it boots: DKMS
#                                 built ours for both kernels; then, on a
#                                 copy, apt-get remove irqbypass-dkms in
#                                 the image: the stock module back for both
#   installed/debian-13-7.3/boot  7.3 booted, ours loaded, VFIO's producer
#                                 unpaired in debugfs (7.3's KVM has
#                                 enable_device_posted_irqs=N under QEMU)
#   installed/debian-13-7.3/removed   the copy booted: 7.3's stock module
#
# Debian 13's 6.12 is not booted: its DKMS build is checked above, and the
# real-client tests boot it.  The removal runs in the guest once, on
# Debian 12; under TCG it takes minutes (DKMS runs depmod over every
# compressed module of each kernel), which Debian 13's two kernels would
# double, so that image is removed from outside, as apt does it all the
# same.
#
# Usage: installed.sh [--refresh] [PATTERN...]   the checks whose names
# contain a PATTERN; --refresh makes the images again.  Logs and consoles:
# $CACHE/logs/.  installed.sh --needs installs what it needs and stops;
# installed.sh --images only makes the images (make check does that in the
# background, early).

set -euo pipefail
# shellcheck source=scripts/distro.sh
source "$(dirname "${BASH_SOURCE[0]}")/distro.sh"
# shellcheck source=scripts/deb.sh
source "$(dirname "${BASH_SOURCE[0]}")/deb.sh"

need mmdebstrap debian-archive-keyring e2fsprogs
distro_host_tools

IN_DIR=$CACHE/installed
IN_LOGS=$CACHE/logs/installed
mkdir -p "$IN_DIR" "$IN_LOGS"
DISTRO_TIMEOUT=${INSTALLED_TIMEOUT:-600}

# Before the kernel is installed: an initramfs with only what mounts the
# root disk (MODULES=list, and the list in modules.d/, which is not a
# conffile), so that making it takes seconds instead of minutes, and so
# does unpacking it under TCG.
# shellcheck disable=SC2016 # expanded by mmdebstrap
IMG_HOOK='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"
echo MODULES=list >"$1/etc/initramfs-tools/conf.d/irqbypass-check"
printf "%s\n" virtio_pci virtio_blk ext4 >"$1/usr/share/initramfs-tools/modules.d/irqbypass-check"'

# After the suite's kernel is in: trixie-backports' linux-image-amd64 and
# linux-headers-amd64 (apt resolves the newest 7.x; -t as the backports'
# instructions say), the suite's kernel and headers kept as installed by
# hand, as an operator keeps the kernel to fall back on.
# shellcheck disable=SC2016 # expanded by mmdebstrap
IMG_BACKPORTS='set -e
export DEBIAN_FRONTEND=noninteractive
chroot "$1" apt-mark manual $(chroot "$1" dpkg-query -W -f="\${Package}\n" "linux-image-[0-9]*" "linux-headers-[0-9]*")
chroot "$1" apt-get install -y -t trixie-backports linux-image-amd64 linux-headers-amd64'

# image_spec NAME: the suite, the sources and the packages of image NAME.
image_spec() {
	local m=$ARCHIVE_MIRROR s=$ARCHIVE_SECURITY
	IMG_CUSTOMIZE=
	IMG_BASE="linux-image-amd64,linux-headers-amd64,initramfs-tools,dkms,systemd,systemd-sysv,udev,kmod"
	case $1 in
	debian-12)
		IMG_SUITE=bookworm
		IMG_SOURCES=("deb $m bookworm main" "deb $m bookworm-updates main"
			     "deb $s bookworm-security main")
		IMG_INCLUDE=$IMG_BASE
		;;
	debian-13-7.3)
		# Debian 13's 6.12, then the backports' newest kernel and
		# headers (IMG_CUSTOMIZE): two kernels, 7.x the newest.
		IMG_SUITE=trixie
		IMG_SOURCES=("deb $m trixie main" "deb $m trixie-updates main"
			     "deb $s trixie-security main"
			     "deb $m trixie-backports main")
		IMG_INCLUDE=$IMG_BASE
		IMG_CUSTOMIZE=$IMG_BACKPORTS
		;;
	*) die "unknown image $1" ;;
	esac
}

# image_tar NAME: the cached tarball of image NAME, made if missing; prints
# its path.  The key is the suite, sources, packages and hooks.
image_tar() {
	local name=$1 key tar
	local -a custom=() hooks=()
	image_spec "$name"
	if [ -n "$IMG_CUSTOMIZE" ]; then
		custom=("$IMG_CUSTOMIZE")
		hooks=(--customize-hook="$IMG_CUSTOMIZE")
	fi
	key=$(printf '%s\n' "$IMG_SUITE" "$IMG_INCLUDE" "${IMG_SOURCES[@]}" \
		"$IMG_HOOK" "${custom[@]}" |
		sha1sum | cut -c1-12)
	tar=$IN_DIR/$name-$key.tar
	(
		flock 9
		[ -z "${IN_REFRESH:-}" ] || rm -f "$tar"
		[ -s "$tar" ] && exit 0
		log "making the $name image ($IMG_SUITE: $IMG_INCLUDE)"
		rm -f "$IN_DIR/$name"-*.tar
		mmdebstrap --quiet --variant=minbase --format=tar \
			--aptopt='APT::Install-Recommends "false"' \
			--essential-hook="$IMG_HOOK" \
			"${hooks[@]}" \
			--include="$IMG_INCLUDE" "$IMG_SUITE" "$tar.tmp" \
			"${IMG_SOURCES[@]}" >&2
		mv "$tar.tmp" "$tar"
	) 9>"$IN_DIR/.lock-$name"
	echo "$tar"
}

# in_root ROOT CMD...: CMD in the chroot ROOT, with /proc and /dev.
in_root() {
	local root=$1
	shift
	archive_in_chroot "$root" /usr/bin/env \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		"$@"
}

# unpack NAME: a fresh root of image NAME, with the .deb in /tmp; sets
# ROOT, KVERS (the image's kernels, oldest first), KVER (the newest, the one
# it boots, as a boot loader would by default) and PKG (the .deb in the
# root).
unpack() {
	local tar k
	tar=$(image_tar "$1")
	ROOT=$IN_DIR/run-$1
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	tar -C "$ROOT" -xf "$tar"
	KVERS=()
	for k in "$ROOT"/boot/vmlinuz-*; do
		[ -f "$k" ] && KVERS+=("${k##*/vmlinuz-}")
	done
	[ ${#KVERS[@]} -ge 1 ] || die "the image has no kernel"
	mapfile -t KVERS < <(printf '%s\n' "${KVERS[@]}" | sort -V)
	KVER=${KVERS[-1]}
	echo "image $1: $(sed -n 's/^PRETTY_NAME=//p' "$ROOT/etc/os-release"), kernels ${KVERS[*]}, boots $KVER"
	[ -n "${DEB:-}" ] || deb_build >"$IN_LOGS/deb-$1.log" 2>&1
	cp "$DEB" "$ROOT/tmp/"
	PKG=/tmp/${DEB##*/}
}

# The module that modprobe would load in ROOT for kernel $1.
root_modinfo() {
	in_root "$ROOT" modinfo -k "$1" -n irqbypass
}

# make_disk FILE: an ext4 disk of $ROOT.
make_disk() {
	rm -f "$1"
	mkfs.ext4 -q -F -L root -d "$ROOT" "$1" \
		"$(($(du -sm "$ROOT" | cut -f1) * 5 / 4 + 512))M"
	echo "disk: $1"
}

# install NAME [SERIES]: the .deb installed in image NAME, DKMS checked for
# each of its kernels; with SERIES (7.3), the image must have two kernels
# and boot one of SERIES.  Then the check service, vfio-kvm-pair, the
# booted kernel and its initramfs, and the disk.  With SERIES, the package
# is then removed in the image, the stock module checked for each kernel,
# and the result is a second disk, for the removed boot.
install() {
	local name=$1 series=${2:-} out ko k boot=$IN_DIR/run-$1.boot
	unpack "$name"
	if [ -n "$series" ]; then
		[ ${#KVERS[@]} -eq 2 ] ||
			die "the image has not two kernels: ${KVERS[*]}"
		[[ $KVER == "$series".* ]] ||
			die "the image's newest kernel $KVER is not $series"
	fi
	# What a boot loader boots by default: the kernel /vmlinuz names.
	if [ -L "$ROOT/vmlinuz" ]; then
		echo "/vmlinuz -> $(readlink "$ROOT/vmlinuz")"
		[ "$(readlink "$ROOT/vmlinuz")" = "boot/vmlinuz-$KVER" ] ||
			die "/vmlinuz is not the newest kernel, $KVER"
	fi
	echo "\$ apt-get install $PKG"
	in_root "$ROOT" apt-get install -y "$PKG"
	out=$(in_root "$ROOT" dkms status)
	echo "\$ dkms status"
	echo "$out"
	for k in "${KVERS[@]}"; do
		grep -q "^irqbypass/$DEB_VERSION, $k, x86_64: installed" <<<"$out" ||
			die "DKMS did not install irqbypass/$DEB_VERSION for $k"
		echo "$k: $(cd "$ROOT" && ls -d lib/modules/"$k"/updates/dkms/irqbypass.ko*)"
		ko=$(root_modinfo "$k")
		echo "modinfo -k $k -n irqbypass: $ko"
		[ "$(ko_path <<<"$ko")" = "/lib/modules/$k/updates/dkms/irqbypass.ko" ] ||
			die "modprobe would not load the module DKMS installed for $k"
		[ "$(in_root "$ROOT" modinfo -k "$k" -F version irqbypass)" = \
		  "$DEB_VERSION" ] ||
			die "the module installed for $k is not version $DEB_VERSION"
	done

	# The guest's side: the check, run once at every boot.
	distro_build_tool
	cp "$DISTRO_TOOL" "$ROOT/usr/local/bin/vfio-kvm-pair"
	cp "$REPO/tools/installed-check" "$ROOT/usr/local/sbin/installed-check"
	cat >"$ROOT/etc/systemd/system/irqbypass-check.service" <<-EOF
	[Unit]
	Description=irqbypass: what an operator looks at (scripts/installed.sh)
	SuccessAction=poweroff
	FailureAction=poweroff

	[Service]
	Type=oneshot
	ExecStart=/usr/local/sbin/installed-check

	[Install]
	WantedBy=multi-user.target
	EOF
	ln -sf /etc/systemd/system/irqbypass-check.service \
		"$ROOT/etc/systemd/system/multi-user.target.wants/"
	# The console is the check's alone.
	ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"
	echo irqbypass-check >"$ROOT/etc/hostname"

	rm -rf "$boot"
	mkdir -p "$boot"
	cp "$ROOT/boot/vmlinuz-$KVER" "$ROOT/boot/initrd.img-$KVER" "$boot/"
	(cd "$ROOT" && rmdir -p "${CACHE#/}" 2>/dev/null) || true
	rm -f "$ROOT$PKG"
	if [ -n "$series" ]; then
		# The guest leaves the removal to remove_outside.
		touch "$ROOT/etc/irqbypass-check-no-remove"
	fi
	log "making the $name disk"
	make_disk "$boot/disk.img"
	echo "$KVER" >"$boot/kver"
	echo "${#KVERS[@]}" >"$boot/kernels"
	rm -f "$boot/disk-removed.img"
	[ -z "$series" ] || remove_outside "$boot/disk-removed.img"
	rm -rf "$ROOT"
}

# remove_outside DISK: apt-get remove irqbypass-dkms in $ROOT, the stock
# module checked for each kernel, and DISK made of the result.
remove_outside() {
	local k ko
	rm -f "$ROOT/etc/irqbypass-check-no-remove"
	echo "\$ apt-get remove irqbypass-dkms"
	in_root "$ROOT" apt-get remove -y irqbypass-dkms
	for k in "${KVERS[@]}"; do
		ko=$(root_modinfo "$k")
		echo "after the removal, modinfo -k $k -n irqbypass: $ko"
		[ "$(ko_path <<<"$ko")" = "/lib/modules/$k/kernel/virt/lib/irqbypass.ko" ] ||
			die "the removal did not bring back $k's stock module"
	done
	[ -z "$(find "$ROOT/lib/modules" -path '*/updates/dkms/irqbypass.ko*')" ] ||
		die "the removal left DKMS's module"
	log "making the disk after the removal"
	make_disk "$1"
}

# distro_boot's DISTRO_RETRY_PREPARE for boot: the disk as it was.
restore_disk() {
	cp --sparse=always "$DISK.before" "$DISK"
}

# boot NAME PHASE: boot image NAME's disk on its kernel and initramfs;
# the console in $LOG.
boot() {
	local boot=$IN_DIR/run-$1.boot
	[ -f "$boot/disk.img" ] || die "no disk: the install check failed"
	DISTRO_KVER=$(cat "$boot/kver")
	DISTRO_VMLINUZ=$boot/vmlinuz-$DISTRO_KVER
	DISK=$boot/disk.img
	# The removal made outside (remove_outside) has a disk of its own.
	[ "$2" != removed ] || [ ! -f "$boot/disk-removed.img" ] ||
		DISK=$boot/disk-removed.img
	DISTRO_QEMU_EXTRA=(-drive "file=$DISK,format=raw,if=virtio")
	LOG=$IN_LOGS/$1-$2.console
	# A boot that froze is tried again on the disk as it was before it,
	# not on one that its first try half changed (apt-get remove).
	cp --sparse=always "$DISK" "$DISK.before"
	DISTRO_RETRY_PREPARE=restore_disk
	distro_boot "$boot/initrd.img-$DISTRO_KVER" "$LOG" root=/dev/vda rw \
		fsck.mode=skip || echo "  QEMU failed or timed out (see $LOG)"
	rm -f "$DISK.before"
	echo "$1, $2: $DISTRO_KVER, console: $LOG"
	local up rm off
	up=$(fact uptime)
	rm=$(fact remove-seconds)
	off=$(sed -n 's/^\[ *\([0-9.]*\)\] reboot: Power down$/\1/p' "$LOG")
	echo "guest: the check began at ${up:-?} s of uptime${rm:+, apt-get remove took $rm s}${off:+, powered off at $off s}"
}

failures=0

# A module's path as modinfo -n prints it, without the compression suffix
# and with merged-/usr's /usr/lib as /lib.
ko_path() { sed 's|^/usr/lib/|/lib/|; s/\.ko.*/.ko/'; }

# What every boot must show.
assert_boot() {
	expect "guest ran to the end" "$(grep -c '^=== DONE$' "$LOG")" 1
	expect "PID 1" "$(fact pid1)" systemd
	expect "kernel" "$(fact kernel)" "$DISTRO_KVER"
	expect "modprobe kvm_amd" "$(fact modprobe-kvm_amd)" ok
	expect "modprobe vfio-pci" "$(fact modprobe-vfio-pci)" ok
	expect "kvm and vfio_pci_core use irqbypass" "$(fact holders |
		tr ' ' '\n' | grep -xE 'kvm|vfio_pci_core' | sort | tr '\n' ' ')" \
		"kvm vfio_pci_core "
	expect "warnings, BUGs, stack dumps on the console" \
		"$(distro_bad_lines "$LOG" | head -n 3)" ""
}

# Ours, as modinfo describes it (MODULE_DESCRIPTION), and the stock one.
OURS_DESCRIPTION='IRQ bypass manager of the irqbypass project'

# boot_ours NAME KIND: the first boot, KIND paired, or 7.3: VFIO's
# producer alone on a 7.3 kernel whose KVM may not post device
# interrupts (enable_device_posted_irqs=N), which is why it registers no
# consumer; so that a change there is noticed.
boot_ours() {
	local kind=$2 stock=kernel/virt/lib/irqbypass.ko
	boot "$1" ours
	assert_boot
	expect "package" "$(fact package)" installed
	expect "modinfo -n irqbypass" "$(fact modinfo | ko_path)" \
		"/lib/modules/$DISTRO_KVER/updates/dkms/irqbypass.ko"
	expect "its description names the project" "$(fact description |
		grep -o "$OURS_DESCRIPTION")" "$OURS_DESCRIPTION"
	expect "its version" "$(fact version)" "$(tr -d '[:space:]' \
		<"$REPO/VERSION")"
	expect "DKMS's modules, one for each kernel" "$(fact dkms-modules)" \
		"$(cat "$IN_DIR/run-$1.boot/kernels")"
	expect "/sys/kernel/debug/irqbypass" "$(fact debugfs)" yes
	expect "edu bound to" "$(fact driver)" vfio-pci
	expect "vfio-kvm-pair exit status" "$(fact pair-exit)" 0
	case $kind in
	paired)
		expect "debugfs producers while paired" "$(section \
			producers@paired | lines) $(section producers@paired |
			field paired)" "1 yes"
		expect "debugfs consumers while paired" "$(section \
			consumers@paired | lines) $(section consumers@paired |
			field paired)" "1 yes"
		;;
	7.3)
		expect "debugfs producers with the irqfd" "$(section \
			producers@paired | lines) $(section producers@paired |
			field paired)" "1 no"
		expect "debugfs consumers with the irqfd" \
			"$(section consumers@paired | lines)" 0
		;;
	esac
	if [ "$kind" = 7.3 ]; then
		expect "the kernel booted by default is 7.3" \
			"$(fact kernel | cut -d. -f1,2)" 7.3
		expect "KVM's enable_device_posted_irqs" "$(fact posted-irqs)" \
			"kvm_amd:N "
	fi
	expect "debugfs after teardown" "$(section producers@done | lines) \
$(section consumers@done | lines)" "0 0"
	if [ -f "$IN_DIR/run-$1.boot/disk-removed.img" ]; then
		expect "the guest removed nothing" "$(fact remove-exit)" ""
	else
		expect "apt-get remove irqbypass-dkms" "$(fact remove-exit)" 0
		expect "modinfo -n after the removal" \
			"$(fact modinfo-after-remove | ko_path)" \
			"/lib/modules/$DISTRO_KVER/$stock"
	fi
	[ "$failures" -eq 0 ]
}

# boot_removed NAME: the boot after the removal.
boot_removed() {
	boot "$1" removed
	assert_boot
	expect "package" "$(fact package)" absent
	expect "modinfo -n irqbypass" "$(fact modinfo | ko_path)" \
		"/lib/modules/$DISTRO_KVER/kernel/virt/lib/irqbypass.ko"
	expect "its description is not ours" "$(fact description |
		grep -c "$OURS_DESCRIPTION")" 0
	expect "DKMS's modules left, for any kernel" "$(fact dkms-modules)" 0
	expect "/sys/kernel/debug/irqbypass" "$(fact debugfs)" no
	[ "$failures" -eq 0 ]
}

main() {
	local -a all=(
		"installed/debian-12/install"
		"installed/debian-12/boot paired"
		"installed/debian-12/removed"
		"installed/debian-13-7.3/install 7.3"
		"installed/debian-13-7.3/boot 7.3"
		"installed/debian-13-7.3/removed"
	)
	local s name kind p want img lock

	# The package, once for all the checks that install it, kept apart
	# from deb.sh's directory, which every build starts by removing.
	exec {lock}>"$IN_DIR/.lock-deb"
	flock "$lock"
	if ! deb_build >"$IN_LOGS/deb.log" 2>&1; then
		tail -n 20 "$IN_LOGS/deb.log" >&2
		die "cannot build the package (see $IN_LOGS/deb.log)"
	fi
	cp "$DEB" "$IN_DIR/"
	exec {lock}>&-
	DEB=$IN_DIR/${DEB##*/}
	export DEB DEB_VERSION
	for s in "${all[@]}"; do
		read -r name kind <<<"$s"
		want=$#
		for p in "$@"; do
			[[ $name == *"$p"* ]] && want=0
		done
		[ "$want" -eq 0 ] || continue
		img=${name#installed/}
		img=${img%/*}
		case $name in
		*/install) check "$name" bash "$0" --install "$img" "$kind" ;;
		*/boot) check "$name" bash "$0" --boot "$img" "$kind" ;;
		*/removed) check "$name" bash "$0" --removed "$img" ;;
		esac
	done
}

# One command to the end: bash reads no more of this file once it runs,
# so that editing the script does not disturb a long run.
case ${1:-} in
--needs) ;;
--images)
	# Only the images, for make check to make them in the background.
	for img in debian-12 debian-13-7.3; do
		image_tar "$img" >/dev/null
	done
	;;
--install) install "$2" "${3:-}" ;;
--boot) boot_ours "$2" "$3" ;;
--removed) boot_removed "$2" ;;
--refresh)
	shift
	export IN_REFRESH=1
	main "$@"
	;;
*) main "$@" ;;
esac; exit
