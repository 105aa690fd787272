#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# installed.sh: the package on an installed Debian system, the way an
# operator uses it.  mmdebstrap makes a minimal system from Debian's
# archive (the mirrors of scripts/archive.sh; the host's sources are never
# used or touched) with the suite's kernel (linux-image-amd64 and
# linux-headers-amd64, as apt resolves them there), dkms, systemd, udev and
# kmod, cached as a tarball under $CACHE/installed/ per suite and package
# list.  Each run unpacks it, installs the .deb of scripts/deb.sh with
# "apt-get install ./irqbypass-dkms_*.deb" in a chroot (DKMS builds for the
# image's kernel, not the host's), makes an ext4 disk of it and boots it
# under QEMU (TCG, q35, intel-iommu, edu) on the kernel and initramfs the
# image installed, systemd as PID 1.  A service (tools/installed-check)
# writes what it sees to the serial console and powers off.
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
#   installed/debian-13/...       the same on Debian 13's 6.12, where KVM
#                                 registers no consumer under QEMU: VFIO's
#                                 producer in debugfs, unpaired
#   installed/debian-13-7.x/refused   a Debian 13 system whose only kernel
#                                 is trixie-backports' (7.x, the API of
#                                 6.17 and later): the install succeeds,
#                                 says that BUILD_EXCLUSIVE does not match,
#                                 builds nothing, and the stock module stays
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

# image_spec NAME: the suite, the sources and the packages of image NAME.
image_spec() {
	local m=$ARCHIVE_MIRROR s=$ARCHIVE_SECURITY
	IMG_BASE="linux-image-amd64,linux-headers-amd64,initramfs-tools,dkms,systemd,systemd-sysv,udev,kmod"
	case $1 in
	debian-12)
		IMG_SUITE=bookworm
		IMG_SOURCES=("deb $m bookworm main" "deb $m bookworm-updates main"
			     "deb $s bookworm-security main")
		IMG_INCLUDE=$IMG_BASE
		;;
	debian-13)
		IMG_SUITE=trixie
		IMG_SOURCES=("deb $m trixie main" "deb $m trixie-updates main"
			     "deb $s trixie-security main")
		IMG_INCLUDE=$IMG_BASE
		;;
	debian-13-7.x)
		# Only the backports' kernel: never booted, so no systemd.
		IMG_SUITE=trixie
		IMG_SOURCES=("deb $m trixie main" "deb $m trixie-backports main")
		IMG_INCLUDE=linux-image-amd64/trixie-backports,linux-headers-amd64/trixie-backports,initramfs-tools,dkms,kmod
		;;
	*) die "unknown image $1" ;;
	esac
}

# image_tar NAME: the cached tarball of image NAME, made if missing; prints
# its path.  The key is the suite, sources and packages.
image_tar() {
	local name=$1 key tar
	image_spec "$name"
	key=$(printf '%s\n' "$IMG_SUITE" "$IMG_INCLUDE" "${IMG_SOURCES[@]}" \
		"$IMG_HOOK" |
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
# ROOT, KVER (the image's only kernel) and PKG (the .deb in the root).
unpack() {
	local tar k
	tar=$(image_tar "$1")
	ROOT=$IN_DIR/run-$1
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	tar -C "$ROOT" -xf "$tar"
	k=("$ROOT"/boot/vmlinuz-*)
	if [ ${#k[@]} -ne 1 ] || [ ! -f "${k[0]}" ]; then
		die "the image has not one kernel: ${k[*]##*/}"
	fi
	KVER=${k[0]##*/vmlinuz-}
	echo "image $1: $(sed -n 's/^PRETTY_NAME=//p' "$ROOT/etc/os-release"), kernel $KVER"
	[ -n "${DEB:-}" ] || deb_build >"$IN_LOGS/deb-$1.log" 2>&1
	cp "$DEB" "$ROOT/tmp/"
	PKG=/tmp/${DEB##*/}
}

# The module that modprobe would load in ROOT for KVER.
root_modinfo() {
	in_root "$ROOT" modinfo -k "$KVER" -n irqbypass
}

# install NAME: the .deb installed in image NAME, DKMS checked; then the
# check service, vfio-kvm-pair, the kernel and initramfs, and the disk.
install() {
	local name=$1 out ko boot=$IN_DIR/run-$1.boot
	unpack "$name"
	echo "\$ apt-get install $PKG"
	in_root "$ROOT" apt-get install -y "$PKG"
	out=$(in_root "$ROOT" dkms status)
	echo "\$ dkms status"
	echo "$out"
	grep -q "^irqbypass/$DEB_VERSION, $KVER, x86_64: installed" <<<"$out" ||
		die "DKMS did not install irqbypass/$DEB_VERSION for $KVER"
	ko=$(root_modinfo)
	echo "modinfo -n irqbypass: $ko"
	[ "$(ko_path <<<"$ko")" = "/lib/modules/$KVER/updates/dkms/irqbypass.ko" ] ||
		die "modprobe would not load the module DKMS installed"
	[ "$(in_root "$ROOT" modinfo -k "$KVER" -F version irqbypass)" = \
	  "$DEB_VERSION" ] || die "the installed module is not version $DEB_VERSION"

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
	log "making the $name disk"
	rm -f "$boot/disk.img"
	mkfs.ext4 -q -F -L root -d "$ROOT" "$boot/disk.img" \
		"$(($(du -sm "$ROOT" | cut -f1) * 5 / 4 + 512))M"
	echo "$KVER" >"$boot/kver"
	rm -rf "$ROOT"
	echo "disk: $boot/disk.img"
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

# boot_ours NAME KIND: the first boot, KIND paired or producer-only.
boot_ours() {
	local kind=$2 stock=kernel/virt/lib/irqbypass.ko
	boot "$1" ours
	assert_boot
	expect "package" "$(fact package)" installed
	expect "modinfo -n irqbypass" "$(fact modinfo | ko_path)" \
		"/lib/modules/$DISTRO_KVER/updates/dkms/irqbypass.ko"
	expect "its version" "$(fact version)" "$(tr -d '[:space:]' \
		<"$REPO/VERSION")"
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
	producer-only)
		expect "debugfs producers with the irqfd" "$(section \
			producers@paired | lines) $(section producers@paired |
			field paired)" "1 no"
		expect "debugfs consumers with the irqfd" \
			"$(section consumers@paired | lines)" 0
		;;
	esac
	expect "debugfs after teardown" "$(section producers@done | lines) \
$(section consumers@done | lines)" "0 0"
	expect "apt-get remove irqbypass-dkms" "$(fact remove-exit)" 0
	expect "modinfo -n after the removal" "$(fact modinfo-after-remove |
		ko_path)" "/lib/modules/$DISTRO_KVER/$stock"
	[ "$failures" -eq 0 ]
}

# boot_removed NAME: the boot after the removal.
boot_removed() {
	boot "$1" removed
	assert_boot
	expect "package" "$(fact package)" absent
	expect "modinfo -n irqbypass" "$(fact modinfo | ko_path)" \
		"/lib/modules/$DISTRO_KVER/kernel/virt/lib/irqbypass.ko"
	expect "/sys/kernel/debug/irqbypass" "$(fact debugfs)" no
	[ "$failures" -eq 0 ]
}

# refused NAME: the install on a system with only a 7.x kernel.
refused() {
	local out rc=0 ko
	unpack "$1"
	[[ $KVER == [7-9].* ]] || die "the image's kernel $KVER is not 7.x"
	echo "\$ apt-get install $PKG"
	out=$(in_root "$ROOT" apt-get install -y "$PKG" 2>&1) || rc=$?
	echo "$out"
	expect "apt-get's exit status" "$rc" 0
	# DKMS breaks its message into lines.
	expect "the reason, in apt's output" "$(tr -s '\r\n ' '   ' <<<"$out" |
		grep -o 'BUILD_EXCLUSIVE directive which does not match this kernel' |
		sort -u)" 'BUILD_EXCLUSIVE directive which does not match this kernel'
	expect "modules under updates/" "$(find "$ROOT/lib/modules/$KVER/" \
		-path '*/updates/*' -name 'irqbypass*' | lines)" 0
	out=$(in_root "$ROOT" dkms status)
	echo "\$ dkms status"
	echo "$out"
	expect "dkms status" "$out" "irqbypass/$DEB_VERSION: added"
	ko=$(root_modinfo)
	expect "modinfo -n irqbypass" "$(ko_path <<<"$ko")" \
		"/lib/modules/$KVER/kernel/virt/lib/irqbypass.ko"
	rm -rf "$ROOT"
	[ "$failures" -eq 0 ]
}

main() {
	local -a all=(
		"installed/debian-12/install"
		"installed/debian-12/boot paired"
		"installed/debian-12/removed"
		"installed/debian-13/install"
		"installed/debian-13/boot producer-only"
		"installed/debian-13/removed"
		"installed/debian-13-7.x/refused"
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
		*/install) check "$name" bash "$0" --install "$img" ;;
		*/boot) check "$name" bash "$0" --boot "$img" "$kind" ;;
		*/removed) check "$name" bash "$0" --removed "$img" ;;
		*/refused) check "$name" bash "$0" --refused "$img" ;;
		esac
	done
}

# One command to the end: bash reads no more of this file once it runs,
# so that editing the script does not disturb a long run.
case ${1:-} in
--needs) ;;
--images)
	# Only the images, for make check to make them in the background.
	for img in debian-12 debian-13 debian-13-7.x; do
		image_tar "$img" >/dev/null
	done
	;;
--install) install "$2" ;;
--boot) boot_ours "$2" "$3" ;;
--removed) boot_removed "$2" ;;
--refused) refused "$2" ;;
--refresh)
	shift
	export IN_REFRESH=1
	main "$@"
	;;
*) main "$@" ;;
esac; exit
