# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Debian's own kernels under QEMU, with our irqbypass.ko in place of theirs.
#
# Source this file (it sources lib.sh).  The functions, in the order one
# uses them:
#
#   distro_resolve FLAVOUR    FLAVOUR is 6.1 (what linux-image-amd64 depends
#                             on), rt (linux-image-rt-amd64) or 6.12 (the
#                             newest linux-image-6.12.*+deb12-amd64 that has
#                             headers).  Through the private archive of
#                             scripts/archive.sh: 5.10 (Debian 11's),
#                             6.12-deb13 and 6.12-deb13-rt (Debian 13's, and
#                             its PREEMPT_RT), 7.2 and 7.3 (the newest of
#                             each in trixie-backports, with the API of 6.17
#                             and later; 7.3 booted), 7.3-rt (its
#                             PREEMPT_RT), and 7.2-deb14 (forky's, Debian
#                             14's).  Sets DISTRO_KVER, DISTRO_IMAGE_PKG,
#                             DISTRO_IMAGE_PKGS (with 7.x's linux-binary-*
#                             and linux-modules-*) and DISTRO_HEADERS_PKGS.
#                             Needs only apt-cache.
#   distro_fetch FLAVOUR      resolve, then download the image and headers
#                             packages and unpack them (not install them)
#                             under $CACHE/distro/KVER/.  Sets DISTRO_ROOT,
#                             DISTRO_VMLINUZ, DISTRO_MODDIR, DISTRO_KDIR.
#   distro_build_module [ARG...]
#                             build our irqbypass.ko against DISTRO_KDIR
#                             (ARG...: more make arguments, W=1 C=2) and
#                             check that its exports' modversions CRCs equal
#                             the distro's, or, for a kernel without
#                             CONFIG_MODVERSIONS, that neither has any.
#                             Sets DISTRO_MODULE.
#   distro_build_tool         build tools/vfio-kvm-pair (static).  Sets
#                             DISTRO_TOOL.
#   distro_initramfs OUT IRQBYPASS_KO MODULE...
#                             a busybox initramfs with tools/init as /init,
#                             vfio-kvm-pair, and MODULE... with everything
#                             they depend on, in load order, decompressed
#                             (7.x's are .ko.xz; busybox's insmod takes
#                             only plain ones).  IRQBYPASS_KO is
#                             the irqbypass.ko to put in, or "stock" for the
#                             distro's own.  Extra files: the array
#                             DISTRO_EXTRA=(SRC:DEST ...).
#   distro_boot INITRD LOG [KERNEL-ARG...]
#                             boot DISTRO_VMLINUZ with INITRD under QEMU TCG
#                             (DISTRO_MACHINE, DISTRO_CPU, intel-iommu, edu,
#                             then DISTRO_QEMU_EXTRA) with a hard timeout of
#                             DISTRO_TIMEOUT seconds; the console goes to LOG
#                             (carriage returns and terminal escapes
#                             removed) and, if DISTRO_CONSOLE is a command,
#                             through it to stdout.  Returns non-zero on
#                             timeout or if QEMU failed.  A guest that did
#                             not print its last line (=== DONE) and whose
#                             kernel reported no bug of its own is booted
#                             once more (DISTRO_RETRY=N: up to N more
#                             times, 0: never); the first console stays
#                             as LOG.first (a later one as LOG.tryN), and
#                             the boot is listed in $RETRIED_BOOTS.  The guest sees
#                             the try as ib_try=N.  DISTRO_RETRY_PREPARE is
#                             run before the second try; with
#                             DISTRO_RETRY_CRASH set, a boot whose kernel
#                             reported a bug is tried again too.
#   distro_kernel_bug LOG     whether the console shows a report of the
#                             kernel's own, not one of TCG's faults.
#   distro_section LOG NAME, distro_fact LOG KEY, distro_traces LOG,
#   distro_bad_lines LOG      read what the guest printed.
#
# The guest (tools/init) takes ib_scenario=pair|run and more from the kernel
# command line; see there.  Nothing here needs KVM on the host: QEMU runs as
# TCG, whose "-cpu max" has SVM, so the guest's own kvm-amd works.  Runs
# that overlap take turns (flock) at fetching and building for one kernel.

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/archive.sh
source "$(dirname "${BASH_SOURCE[0]}")/archive.sh"

DISTRO_DIR=$CACHE/distro
DISTRO_TIMEOUT=${DISTRO_TIMEOUT:-240}
DISTRO_RETRY=${DISTRO_RETRY:-1}
# A command run before a boot is tried again, for a guest whose first try
# may have changed what it boots from.
DISTRO_RETRY_PREPARE=:
# Set for a boot whose kernel's own reports are not what it tests (Debian's
# stock module, for comparison): tried again after a crash report too.
DISTRO_RETRY_CRASH=${DISTRO_RETRY_CRASH:-}
DISTRO_CONSOLE=${DISTRO_CONSOLE:-}
DISTRO_EXTRA=()
DISTRO_MACHINE=q35,kernel-irqchip=split
DISTRO_CPU=max
DISTRO_QEMU_EXTRA=()
# Set by distro_resolve for the flavours that come from the private archive.
DISTRO_ARCHIVE=

# distro_apt apt-get|apt-cache ARGS...: on the system's configuration, or on
# the private archive's for the flavours from there.
distro_apt() {
	if [ -n "$DISTRO_ARCHIVE" ]; then
		archive "$@"
	else
		"$@"
	fi
}

# What the host needs to unpack, build and boot.
distro_host_tools() {
	need qemu-system-x86 busybox-static cpio gzip xz-utils zstd kmod \
		make gcc libc6-dev pahole
}

# apt-get download PKG... into DIR, unless a .deb of that name is there.
distro_download() {
	local dir=$1 p missing=()
	shift
	mkdir -p "$dir"
	for p in "$@"; do
		compgen -G "$dir/${p}_*.deb" >/dev/null || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "downloading ${missing[*]}"
	if ! (cd "$dir" && distro_apt apt-get -q -o APT::Sandbox::User=root \
		download "${missing[@]}" >/dev/null); then
		log "apt-get download failed; updating the package lists"
		if [ -n "$DISTRO_ARCHIVE" ]; then
			archive_update force
		else
			apt-get update -qq >&2
		fi
		(cd "$dir" && distro_apt apt-get -q -o APT::Sandbox::User=root \
			download "${missing[@]}" >/dev/null)
	fi
}

# The headers package and the packages it needs to be a build tree: its
# -common and the linux-kbuild-* it depends on.  Debian 13's kbuild tools
# (modpost, objtool) need a newer glibc than Debian 12's: for those, the
# same kernel's kbuild as built for Debian 12 (bookworm-security has every
# 6.12 that trixie has), linked by the name the headers use.
distro_headers_closure() {
	local p
	echo "$1"
	distro_apt apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ ]*\)$/\1/p' |
		while read -r p; do
			if [[ $p == linux-kbuild-*+deb13 ]] && distro_apt apt-cache \
				show "${p%+deb13}+deb12" >/dev/null 2>&1; then
				p=${p%+deb13}+deb12
			fi
			echo "$p"
		done
}

# The newest image of a Debian 13 series ($1: 6.12, 7.2) that has headers,
# or with $2=rt its PREEMPT_RT flavour; $3=deb14 for one of Debian 14's.
# From 7.x on the image package is a meta package (the kernel is in
# linux-binary-KVER, its modules in linux-modules-KVER), but it still names
# the release.
distro_archive_image() {
	local v
	for v in $(archive apt-cache search --names-only \
			"^linux-image-${1//./\\.}\\..*\\+${3:-deb13}-${2:+$2-}amd64\$" |
			awk '{print $1}' | sort -rV); do
		if archive apt-cache show "linux-headers-${v#linux-image-}" \
			>/dev/null 2>&1; then
			echo "$v"
			return 0
		fi
	done
}

# The image package of FLAVOUR, or nothing.
distro_image_pkg() {
	local v
	case $1 in
	6.1) apt_depends_on linux-image-amd64 linux-image- ;;
	rt) apt_depends_on linux-image-rt-amd64 linux-image- ;;
	6.12)
		# The newest 6.12 image whose headers are in the archive too.
		for v in $(apt-cache search --names-only \
				'^linux-image-6\.12\..*\+deb12-amd64$' |
				awk '{print $1}' | sort -rV); do
			if apt-cache show "linux-headers-${v#linux-image-}" \
				>/dev/null 2>&1; then
				echo "$v"
				return 0
			fi
		done
		;;
	5.10)
		archive apt-cache depends linux-image-amd64/bullseye 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' |
			head -n 1
		;;
	6.12-deb13) distro_archive_image 6.12 ;;
	6.12-deb13-rt) distro_archive_image 6.12 rt ;;
	7.2) distro_archive_image 7.2 ;;
	7.3) distro_archive_image 7.3 ;;
	7.3-rt) distro_archive_image 7.3 rt ;;
	7.2-deb14) distro_archive_image 7.2 "" deb14 ;;
	*) die "unknown kernel flavour '$1' (6.1, rt, 6.12, 5.10, 6.12-deb13, 6.12-deb13-rt, 7.2, 7.3, 7.3-rt or 7.2-deb14)" ;;
	esac
}

distro_resolve() {
	local img
	case $1 in
	5.10 | 6.12-deb13* | 7.*) DISTRO_ARCHIVE=1 ;;
	*) DISTRO_ARCHIVE= ;;
	esac
	img=$(distro_image_pkg "$1")
	if [ -z "$img" ]; then
		log "updating the package lists to resolve the $1 kernel"
		if [ -n "$DISTRO_ARCHIVE" ]; then
			archive_update force
		else
			apt-get update -qq >&2
		fi
		img=$(distro_image_pkg "$1")
		[ -n "$img" ] || die "cannot resolve the $1 kernel through apt"
	fi
	DISTRO_IMAGE_PKG=$img
	DISTRO_KVER=${img#linux-image-}
	mapfile -t DISTRO_HEADERS_PKGS < <(distro_headers_closure \
		"linux-headers-$DISTRO_KVER")
	[ ${#DISTRO_HEADERS_PKGS[@]} -ge 2 ] ||
		die "cannot resolve the headers of $DISTRO_KVER"
	# From 7.x on the image package is a meta package: the kernel is in
	# linux-binary-KVER, the modules in linux-modules-KVER.
	mapfile -t DISTRO_IMAGE_PKGS < <(echo "$img"
		distro_apt apt-cache depends "$img" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-\(binary\|modules\)-[^ ]*\)$/\1/p')
	export DISTRO_KVER DISTRO_IMAGE_PKG
}

# Runs that overlap (make demo during make check) take turns at fetching,
# unpacking and building for one kernel.
distro_lock() {
	exec {DISTRO_LOCK_FD}>"$DISTRO_ROOT/.lock"
	flock "$DISTRO_LOCK_FD"
}

distro_unlock() {
	exec {DISTRO_LOCK_FD}>&-
}

distro_fetch() {
	local root deb p
	distro_host_tools
	distro_resolve "$1"
	root=$DISTRO_DIR/$DISTRO_KVER
	DISTRO_ROOT=$root
	mkdir -p "$root"
	distro_lock
	# trixie-backports' 7.2 is only built against: its headers alone; so
	# with DISTRO_HEADERS_ONLY=1 for any kernel, for a build without a boot.
	local headers_only=${DISTRO_HEADERS_ONLY:-}
	[ "$1" != 7.2 ] || headers_only=1
	local -a pkgs=("${DISTRO_HEADERS_PKGS[@]}")
	[ -n "$headers_only" ] || pkgs+=("${DISTRO_IMAGE_PKGS[@]}")
	distro_download "$root/debs" "${pkgs[@]}"

	if [ -z "$headers_only" ] && [ ! -e "$root/.image-done" ]; then
		log "unpacking ${DISTRO_IMAGE_PKGS[*]}"
		rm -rf "$root/image"
		for p in "${DISTRO_IMAGE_PKGS[@]}"; do
			for deb in "$root/debs/${p}"_*.deb; do
				dpkg -x "$deb" "$root/image"
			done
		done
		# Debian 13's packages are merged-/usr: modules in usr/lib/.
		if [ -d "$root/image/usr/lib/modules" ] &&
		   [ ! -e "$root/image/lib" ]; then
			ln -s usr/lib "$root/image/lib"
		fi
		# The package has no modules.dep: depmod makes it at install.
		depmod -b "$root/image" "$DISTRO_KVER"
		touch "$root/.image-done"
	fi
	if [ ! -e "$root/.headers-done" ]; then
		log "unpacking ${DISTRO_HEADERS_PKGS[*]}"
		rm -rf "$root/headers"
		for p in "${DISTRO_HEADERS_PKGS[@]}"; do
			for deb in "$root/debs/${p}"_*.deb; do
				dpkg -x "$deb" "$root/headers"
			done
		done
		# The arch Makefile includes the -common one (and, from 7.x on,
		# names itself as KBUILD_OUTPUT) by absolute path;
		# the scripts/ links are relative and resolve inside the tree.
		sed -i -e "s|^include /usr/src/|include $root/headers/usr/src/|" \
			-e "s|^KBUILD_OUTPUT=/usr/src/|KBUILD_OUTPUT=$root/headers/usr/src/|" \
			"$root/headers/usr/src/linux-headers-$DISTRO_KVER/Makefile"
		# A Debian 12 kbuild in place of Debian 13's (see above).
		for p in "$root"/headers/usr/lib/linux-kbuild-*+deb12; do
			[ -d "$p" ] && [ ! -e "${p%+deb12}+deb13" ] &&
				ln -s "${p##*/}" "${p%+deb12}+deb13"
		done
		touch "$root/.headers-done"
	fi
	distro_checker_valid "$root/headers/usr/src/linux-headers-$DISTRO_KVER"
	distro_unlock
	DISTRO_VMLINUZ=$root/image/boot/vmlinuz-$DISTRO_KVER
	DISTRO_MODDIR=$root/image/lib/modules/$DISTRO_KVER
	# 7.x's linux-binary-* has it beside the modules.
	[ -f "$DISTRO_VMLINUZ" ] || DISTRO_VMLINUZ=$DISTRO_MODDIR/vmlinuz
	DISTRO_KDIR=$root/headers/usr/src/linux-headers-$DISTRO_KVER
	if [ -z "$headers_only" ]; then
		[ -f "$DISTRO_VMLINUZ" ] || die "no $DISTRO_VMLINUZ"
		[ -f "$DISTRO_MODDIR/modules.dep" ] ||
			die "no modules.dep in $DISTRO_MODDIR"
	fi
	[ -f "$DISTRO_KDIR/Module.symvers" ] || die "no headers in $DISTRO_KDIR"
	export DISTRO_ROOT DISTRO_VMLINUZ DISTRO_MODDIR DISTRO_KDIR
}

# distro_checker_valid KDIR: from 6.16 on the Makefile asks
# scripts/checker-valid.sh whether sparse can check the kernel (C=1, C=2),
# and turns C= off when it says no or is missing, which it is in Debian's
# headers packages.  Where it is missing, one that asks what the kernel's
# own asks: whether the checker parses __typeof_unqual__.
distro_checker_valid() {
	local f common
	common=$(sed -n "s|^include \(.*\)/Makefile\$|\1|p" "$1/Makefile" | head -n 1)
	[ -n "$common" ] && grep -qs checker-valid.sh "$common/Makefile" || return 0
	f=$common/scripts/checker-valid.sh
	[ -e "$f" ] && return 0
	cat >"$f.tmp" <<'EOF'
#!/bin/sh
# Put here by irqbypass's scripts/distro.sh: Debian's headers leave the
# kernel's own out.  Prints 1 if the checker, "$@", parses what the
# kernel's headers use (__typeof_unqual__) without an error, 0 if not.
command -v "$1" >/dev/null 2>&1 || exit 1
t=$(mktemp --suffix=.c) || exit 1
trap 'rm -f "$t"' EXIT
printf 'static inline int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' >"$t"
if "$@" "$t" 2>&1 | grep -q error; then echo 0; else echo 1; fi
EOF
	chmod 755 "$f.tmp"
	mv "$f.tmp" "$f"
}

# The modversions CRCs of the four exports, as "CRC NAME" lines.
distro_crcs() {
	awk '$2 ~ /^irq_bypass_(un)?register_(producer|consumer)$/ {
		print $1, $2 }' "$1" | sort -k2
}

# The compiler Debian built the kernel with: gcc-10 for 5.10, gcc-14 for
# Debian 13's, gcc-16 for Debian 14's.
distro_kernel_cc() {
	sed -n 's/^CC = .*)\(gcc-[0-9]*\)$/\1/p' \
		"$DISTRO_KDIR/.kernelvariables" 2>/dev/null
}

# How to build for the kernel, as a command prefix, one word a line: with
# the host's own compiler when it has the kernel's; Debian 13's kernels in
# a Debian 13 root with their gcc-14 (their flags are gcc-14's), Debian
# 14's in a forky root with gcc-16, each root with sparse (for C=2); older
# ones with the host's gcc (5.10's gcc-10 takes the same flags).  The CRC
# comparison in distro_build_module says whether the module fits.
distro_build_env() {
	local cc
	cc=$(distro_kernel_cc)
	if [ -z "$cc" ] || command -v "x86_64-linux-gnu-$cc" >/dev/null; then
		echo make
	elif [[ $DISTRO_KVER == *+deb13-* ]]; then
		printf '%s\n' archive_in_chroot \
			"$(archive_chroot trixie "$cc" sparse)" make
	elif [[ $DISTRO_KVER == *+deb14-* ]]; then
		printf '%s\n' archive_in_chroot \
			"$(archive_chroot forky "$cc" sparse)" make
	else
		printf '%s\n' make CC=gcc
	fi
}

# shellcheck disable=SC2120 # ARG... are optional
distro_build_module() {
	local build=$DISTRO_ROOT/build ours theirs out
	local -a env
	# A build with other arguments (W=1 C=2) in a directory of its own, so
	# that it compiles everything and leaves the plain one as it was.
	[ $# -eq 0 ] || build+="-$(printf '%s' "$*" | tr -c 'A-Za-z0-9=\n' _)"
	mapfile -t env < <(distro_build_env)
	distro_lock
	sync_sources "$build" "${MODULE_SOURCES[@]}"
	[ $# -eq 0 ] || rm -f "$build"/*.o "$build"/tests/*.o
	log "building irqbypass.ko against $DISTRO_KVER: ${env[*]} $*"
	out=$("${env[@]}" -s -C "$DISTRO_KDIR" M="$build" "$@" modules 2>&1) || {
		distro_unlock
		printf '%s\n' "$out" >&2
		die "irqbypass.ko does not build against $DISTRO_KVER"
	}
	distro_unlock
	# kbuild's notes (no vmlinux for BTF) are fine; warnings are not, nor
	# a checker that C= asked for and kbuild found unfit.
	if grep -qiE 'warning|error|is not available or not up to date' <<<"$out"; then
		printf '%s\n' "$out" >&2
		die "building irqbypass.ko against $DISTRO_KVER printed warnings"
	fi
	DISTRO_MODULE=$build/irqbypass.ko
	[ -f "$DISTRO_MODULE" ] || die "the build made no irqbypass.ko"
	ours=$(distro_crcs "$build/Module.symvers")
	theirs=$(distro_crcs "$DISTRO_KDIR/Module.symvers")
	if [ "$(printf '%s\n' "$ours" | wc -l)" -ne 4 ] || [ "$ours" != "$theirs" ]; then
		printf 'ours:\n%s\n%s:\n%s\n' "$ours" "$DISTRO_KVER" "$theirs" >&2
		die "our exports' CRCs differ from $DISTRO_KVER's"
	fi
	# Without CONFIG_MODVERSIONS (Debian's 7.x kernels) every CRC is 0 and
	# the names alone must agree (above); a CRC in either file would mean
	# that the kernel or our build disagrees with its configuration.
	if ! distro_modversions; then
		if grep -qv '^0x00000000[[:space:]]' "$build/Module.symvers" \
			"$DISTRO_KDIR/Module.symvers"; then
			die "$DISTRO_KVER has no CONFIG_MODVERSIONS, yet a Module.symvers has CRCs"
		fi
	fi
	export DISTRO_MODULE
}

# Whether the kernel of DISTRO_KDIR was built with CONFIG_MODVERSIONS.
distro_modversions() {
	grep -qx 'CONFIG_MODVERSIONS=y' "$DISTRO_KDIR/include/config/auto.conf"
}

distro_build_tool() {
	local src=$REPO/tools/vfio-kvm-pair.c
	DISTRO_TOOL=$CACHE/tools/vfio-kvm-pair
	mkdir -p "$CACHE/tools"
	if [ ! -x "$DISTRO_TOOL" ] || [ "$src" -nt "$DISTRO_TOOL" ]; then
		log "building vfio-kvm-pair"
		gcc -static -O2 -Wall -o "$DISTRO_TOOL" "$src"
	fi
	export DISTRO_TOOL
}

# distro_modules MODULE...: the .ko paths (relative to DISTRO_MODDIR) of
# MODULE... and of everything they need, each after what it needs.
distro_modules() {
	local -A deps=() path=() seen=()
	local -a order=()
	local m rest n d
	while IFS=: read -r m rest; do
		n=${m##*/}
		n=${n%%.ko*}
		n=${n//-/_}
		path[$n]=$m
		deps[$n]=$rest
	done <"$DISTRO_MODDIR/modules.dep"
	_distro_visit() {
		local n=$1 d dn
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		[ -n "${path[$n]:-}" ] || die "no module $n in $DISTRO_KVER"
		for d in ${deps[$n]}; do
			dn=${d##*/}
			dn=${dn%%.ko*}
			_distro_visit "${dn//-/_}"
		done
		order+=("${path[$n]}")
	}
	for n in "$@"; do
		_distro_visit "${n//-/_}"
	done
	unset -f _distro_visit
	printf '%s\n' "${order[@]}"
}

distro_initramfs() {
	local out=$1 ours=$2 stage rel ko name busybox x
	shift 2
	distro_build_tool
	stage=$(mktemp -d "$CACHE/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,etc,lib/modules,proc,sys,tmp}
	busybox=$(command -v busybox) || die "no busybox"
	cp "$busybox" "$stage/bin/busybox"
	cp "$REPO/tools/init" "$stage/init"
	chmod 755 "$stage/init"
	cp "$DISTRO_TOOL" "$stage/bin/vfio-kvm-pair"
	mkdir -p "$stage/usr/sbin"
	cp "$REPO/tools/irqbypass-status" "$stage/usr/sbin/irqbypass-status"
	mknod "$stage/dev/console" c 5 1
	mknod "$stage/dev/null" c 1 3
	: >"$stage/etc/modules"
	while read -r rel; do
		ko=${rel##*/}
		ko=${ko%%.ko*}.ko
		name=${ko%.ko}
		if [ "${name//-/_}" = irqbypass ] && [ "$ours" != stock ]; then
			cp "$ours" "$stage/lib/modules/$ko"
			echo "$ko ours" >>"$stage/etc/modules"
			continue
		fi
		case $rel in
		*.ko.xz) xz -dc "$DISTRO_MODDIR/$rel" >"$stage/lib/modules/$ko" ;;
		*.ko.zst) zstd -qdc "$DISTRO_MODDIR/$rel" >"$stage/lib/modules/$ko" ;;
		*.ko.gz) gzip -dc "$DISTRO_MODDIR/$rel" >"$stage/lib/modules/$ko" ;;
		*) cp "$DISTRO_MODDIR/$rel" "$stage/lib/modules/$ko" ;;
		esac
		echo "$ko distro" >>"$stage/etc/modules"
	done < <(distro_modules "$@")
	echo "$DISTRO_KVER" >"$stage/etc/kernel"
	for x in "${DISTRO_EXTRA[@]}"; do
		mkdir -p "$stage/$(dirname "${x#*:}")"
		cp "${x%%:*}" "$stage/${x#*:}"
	done
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
		gzip -1 >"$out.$$.tmp"
	mv "$out.$$.tmp" "$out"
	rm -rf "$stage"
}

# How the console is cleaned: no carriage returns, no terminal escapes.
DISTRO_CLEAN='s/\r//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1b[a-zA-Z]//g'

distro_boot() {
	local initrd=$1 logf=$2 try=1 rc why kept
	shift 2
	while :; do
		rc=0
		distro_boot_once "$initrd" "$logf" "ib_try=$try" "$@" || rc=$?
		grep -q '^=== DONE$' "$logf" 2>/dev/null && break
		[ "$try" -le "$DISTRO_RETRY" ] || break
		# Under TCG a whole guest sometimes freezes (no RCU stall, no
		# hung task, nothing on the console), or runs a stale
		# translation; hardware does neither.  A deadlock of ours
		# freezes the second boot too.
		why="froze, no bug of its kernel's"
		if distro_kernel_bug "$logf"; then
			if [ -z "$DISTRO_RETRY_CRASH" ]; then
				log "the guest did not finish and its kernel reported a bug: not booted again"
				break
			fi
			why="crashed, and DISTRO_RETRY_CRASH is set"
		fi
		kept=$logf.first
		[ "$try" -eq 1 ] || kept=$logf.try$try
		retried "$logf" "$kept" "try $try did not finish (QEMU status $rc; $why)"
		$DISTRO_RETRY_PREPARE
		try=$((try + 1))
	done
	return "$rc"
}

# distro_boot_once INITRD LOG [KERNEL-ARG...]: one boot, as distro_boot.
distro_boot_once() {
	local initrd=$1 logf=$2 rc=0
	shift 2
	# no_timer_check: under TCG on a loaded host the IO-APIC timer check
	# can miss its window, and the kernel panics before it has booted.
	local append="console=ttyS0 intel_iommu=on panic=-1 quiet no_timer_check $*"
	local machine=$DISTRO_MACHINE cpu=$DISTRO_CPU
	local -a extra=("${DISTRO_QEMU_EXTRA[@]}")
	case $DISTRO_KVER in
	*-rt-*)
		# PREEMPT_RT's KVM refuses to load without a constant TSC, which
		# no TCG CPU model has; Linux assumes one under VMware, which it
		# recognises (with no hypervisor CPUID bit) by a DMI serial number
		# starting "VMware" and an answer on VMware's backdoor port, which
		# QEMU's vmport provides.
		machine+=,vmport=on
		cpu+=,-hypervisor
		extra+=(-smbios 'type=1,serial=VMware-irqbypass')
		;;
	esac
	local -a qemu=(
		qemu-system-x86_64 -M "$machine" -accel tcg -cpu "$cpu"
		-smp 2 -m 1G -device 'intel-iommu,intremap=on' -device edu
		-nographic -no-reboot -net none
		-kernel "$DISTRO_VMLINUZ" -initrd "$initrd" -append "$append"
		"${extra[@]}"
	)
	log "booting $DISTRO_KVER: $*"
	set +e
	if [ -n "$DISTRO_CONSOLE" ]; then
		timeout -k 5 "$DISTRO_TIMEOUT" "${qemu[@]}" </dev/null 2>&1 |
			sed -u "$DISTRO_CLEAN" | tee "$logf" | $DISTRO_CONSOLE
	else
		timeout -k 5 "$DISTRO_TIMEOUT" "${qemu[@]}" </dev/null 2>&1 |
			sed "$DISTRO_CLEAN" >"$logf"
	fi
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		log "QEMU timed out after ${DISTRO_TIMEOUT}s"
		return 1
	fi
	return "$rc"
}

# distro_section LOG NAME: the lines the guest printed between
# "=== BEGIN NAME" and "=== END NAME".
distro_section() {
	awk -v n="$2" '$0 == "=== END " n { p = 0 } p { print } $0 == "=== BEGIN " n { p = 1 }' "$1"
}

# distro_fact LOG KEY: the value of the guest's last "@@ KEY=VALUE" line.
distro_fact() {
	sed -n "s/^@@ $2=//p" "$1" | tail -n 1
}

# distro_traces LOG: every trace line the guest dumped, in order.
distro_traces() {
	awk '/^=== END trace@/ { p = 0 } p { print } /^=== BEGIN trace@/ { p = 1 }' "$1"
}

# What a kernel prints when something went wrong: warnings, BUGs, oopses,
# lockdep and sanitizer reports, stack dumps.  First its reports of a bug,
# which no boot is tried again for; then also a task or RCU stalled, which
# a frozen TCG guest can show too.
DISTRO_CRASH_PATTERNS='WARNING:|BUG:|kernel BUG at|Oops|Call Trace|RIP: |general protection|possible recursive locking|circular locking|inconsistent lock state|lock held when returning|UBSAN:|KASAN:|KFENCE:|refcount_t:|list_add corruption|list_del corruption|Unable to handle|Kernel panic'
DISTRO_BAD_PATTERNS="$DISTRO_CRASH_PATTERNS|blocked for more than|detected stall"

# distro_bad_lines LOG: the console lines that match DISTRO_BAD_PATTERNS.
distro_bad_lines() {
	grep -E "$DISTRO_BAD_PATTERNS" "$1" || true
}

# distro_kernel_bug LOG: true if the console shows a report of the kernel's
# own (DISTRO_CRASH_PATTERNS).  One exception, a fault of TCG's: an
# "Oops: int3" whose Code: line has no int3 (<cc>) at the trapping byte.
# text_poke_bp() puts an int3 there while it patches a jump label or a
# static call; a CPU that traps on a byte that is no int3 ran a stale
# translation, which hardware never does.  From such a report on, the
# console is TCG's; before it, every report counts.
distro_kernel_bug() {
	awk -v bad="$DISTRO_CRASH_PATTERNS" '
		!int3 && /Oops: int3/ { int3 = 1; next }
		int3 && /Code: / { tcg = $0 !~ /<cc>/; exit }
		int3 { next }
		$0 ~ bad { found = 1; exit }
		END { exit !(found || (int3 && !tcg)) }' "$1"
}

# ---- assertions on a scenario's console, shared by the check scripts ----
# They read the console in $LOG and count mismatches in $failures.

# section NAME: a dump; fact KEY: a fact.
section() { distro_section "$LOG" "$1"; }
fact() { distro_fact "$LOG" "$1"; }
lines() { grep -c . || true; }

# field KEY: the value of KEY= in the first line on stdin (a debugfs or
# trace line).
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" | head -n 1; }

# Trace events (EVENT) and function calls (FUNC <-, with or without the
# function tracer's "[module]"): in all stages, or in the dump of one.
events() { distro_traces "$LOG" | grep -c ": $1: " || true; }
events_at() { section "trace@$2" | grep -c ": $1: " || true; }
calls() { distro_traces "$LOG" | grep -Ec ": $1( \[[a-z_]+\])? <-" || true; }
# ---- what tools/irqbypass-status says, as tools/init dumps it ----

# status_expect STAGE VM PID BDF IRQ WANT EXIT [GOLDEN]: at STAGE,
# irqbypass-status exits EXIT and lists the VM named VM with pid PID (VM
# "" for any), and device BDF's MSI on IRQ in state WANT ("paired", or
# "not paired: REASON"...); VM "-": no vector at all.  Its --json says
# the same and validates against the schema, and its text, with pids,
# irqs and device addresses masked, is tests/status/golden/GOLDEN.txt
# (STATUS_BLESS=1 writes it).
status_expect() {
	local s=$1 vm=$2 pid=$3 bdf=$4 irq=$5 want=$6 status=$7 golden=${8:-}
	local want_json="$6 -"
	[[ $want != *": "* ]] || want_json="${want%%: *} ${want#*: }"
	expect "$s: irqbypass-status's exit status" \
		"$(fact "status-exit@$s")" "$status"
	if [ "$vm" = - ]; then
		expect "$s: irqbypass-status lists no vector" "$(section \
			"status@$s" | grep -c '^no device vector is assigned to a VM$' ||
			true)" 1
	else
		if [ -n "$vm" ]; then
			expect "$s: irqbypass-status names the VM" \
				"$(section "status@$s" | grep -c \
				"^VM $vm, pid $pid\$" || true)" 1
		fi
		expect "$s: irqbypass-status's line of the MSI" \
			"$(section "status@$s" | grep -cF \
			"  $bdf msi[0] irq $irq: $want" || true)" 1
		expect "$s: irqbypass-status --json: its vector" \
			"$(section "status-json@$s" | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["vectors"]
print(len(v), v[0]["device"], v[0]["irq"], v[0]["state"],
      v[0].get("reason", "-"))')" "1 $bdf $irq $want_json"
		if [ -n "$vm" ]; then
			expect "$s: irqbypass-status --json: its VM" \
				"$(section "status-json@$s" | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["vectors"][0]["vm"]
print(v["name"], v["pid"])')" "$vm $pid"
		fi
	fi
	expect "$s: irqbypass-status --json validates" "$(section \
		"status-json@$s" | json_check "$REPO/tools/irqbypass-status.schema.json")" valid
	[ -n "$golden" ] || return 0
	golden=$REPO/tests/status/golden/$golden.txt
	[ -z "${STATUS_BLESS:-}" ] ||
		section "status@$s" | status_mask >"$golden"
	expect "$s: irqbypass-status, masked, is $(basename "$golden")" \
		"$(section "status@$s" | status_mask | diff "$golden" - 2>&1 |
		head -n 4)" ""
}

# The fields of irqbypass-status's text that vary from run to run, masked.
status_mask() {
	sed -E 's/pid [0-9]+/pid PID/; s/irq [0-9]+/irq IRQ/;
		s/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/BDF/g'
}

calls_at() { section "trace@$2" | grep -Ec ": $1( \[[a-z_]+\])? <-" || true; }
stat() { section "stats@$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# expect WHAT ACTUAL WANTED
expect() {
	if [ "$2" = "$3" ]; then
		printf '  ok      %s: %s\n' "$1" "$2"
	else
		printf '  FAILED  %s: got "%s", want "%s"\n' "$1" "$2" "$3"
		failures=$((failures + 1))
	fi
}

# expect_module_refs STAGE: registrations take no reference on the
# manager's module; its references at STAGE are those of the modules that
# use its exports (its holders), the same as before anything registered.
expect_module_refs() {
	expect "module references at $1: as before, one per module using it" \
		"$(fact "refcnt@$1") $(fact "holders@$1")" \
		"$(fact refcnt@before) $(fact "refcnt@$1")"
}
