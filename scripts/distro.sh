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
#                             headers).  Sets DISTRO_KVER, DISTRO_IMAGE_PKG,
#                             DISTRO_HEADERS_PKGS.  Needs only apt-cache.
#   distro_fetch FLAVOUR      resolve, then download the image and headers
#                             packages and unpack them (not install them)
#                             under $CACHE/distro/KVER/.  Sets DISTRO_ROOT,
#                             DISTRO_VMLINUZ, DISTRO_MODDIR, DISTRO_KDIR.
#   distro_build_module       build our irqbypass.ko against DISTRO_KDIR and
#                             check that its exports' modversions CRCs equal
#                             the distro's.  Sets DISTRO_MODULE.
#   distro_build_tool         build tools/vfio-kvm-pair (static).  Sets
#                             DISTRO_TOOL.
#   distro_initramfs OUT IRQBYPASS_KO MODULE...
#                             a busybox initramfs with tools/init as /init,
#                             vfio-kvm-pair, and MODULE... with everything
#                             they depend on, in load order.  IRQBYPASS_KO is
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
#                             timeout or if QEMU failed.
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

DISTRO_DIR=$CACHE/distro
DISTRO_TIMEOUT=${DISTRO_TIMEOUT:-240}
DISTRO_CONSOLE=${DISTRO_CONSOLE:-}
DISTRO_EXTRA=()
DISTRO_MACHINE=q35,kernel-irqchip=split
DISTRO_CPU=max
DISTRO_QEMU_EXTRA=()

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
	if ! (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download \
		"${missing[@]}" >/dev/null); then
		log "apt-get download failed; updating the package lists"
		apt-get update -qq >&2
		(cd "$dir" && apt-get -q -o APT::Sandbox::User=root download \
			"${missing[@]}" >/dev/null)
	fi
}

# The headers package and the packages it needs to be a build tree: its
# -common and the linux-kbuild-* it depends on.
distro_headers_closure() {
	echo "$1"
	apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ ]*\)$/\1/p'
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
	*) die "unknown kernel flavour '$1' (6.1, rt or 6.12)" ;;
	esac
}

distro_resolve() {
	local img
	img=$(distro_image_pkg "$1")
	if [ -z "$img" ]; then
		log "updating the package lists to resolve the $1 kernel"
		apt-get update -qq >&2
		img=$(distro_image_pkg "$1")
		[ -n "$img" ] || die "cannot resolve the $1 kernel through apt"
	fi
	DISTRO_IMAGE_PKG=$img
	DISTRO_KVER=${img#linux-image-}
	mapfile -t DISTRO_HEADERS_PKGS < <(distro_headers_closure \
		"linux-headers-$DISTRO_KVER")
	[ ${#DISTRO_HEADERS_PKGS[@]} -ge 2 ] ||
		die "cannot resolve the headers of $DISTRO_KVER"
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
	distro_download "$root/debs" "$DISTRO_IMAGE_PKG" "${DISTRO_HEADERS_PKGS[@]}"

	if [ ! -e "$root/.image-done" ]; then
		log "unpacking $DISTRO_IMAGE_PKG"
		rm -rf "$root/image"
		for deb in "$root/debs/${DISTRO_IMAGE_PKG}"_*.deb; do
			dpkg -x "$deb" "$root/image"
		done
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
		# The arch Makefile includes the -common one by absolute path;
		# the scripts/ links are relative and resolve inside the tree.
		sed -i "s|^include /usr/src/|include $root/headers/usr/src/|" \
			"$root/headers/usr/src/linux-headers-$DISTRO_KVER/Makefile"
		touch "$root/.headers-done"
	fi
	distro_unlock
	DISTRO_VMLINUZ=$root/image/boot/vmlinuz-$DISTRO_KVER
	DISTRO_MODDIR=$root/image/lib/modules/$DISTRO_KVER
	DISTRO_KDIR=$root/headers/usr/src/linux-headers-$DISTRO_KVER
	[ -f "$DISTRO_VMLINUZ" ] || die "no $DISTRO_VMLINUZ"
	[ -f "$DISTRO_MODDIR/modules.dep" ] || die "no modules.dep in $DISTRO_MODDIR"
	[ -f "$DISTRO_KDIR/Module.symvers" ] || die "no headers in $DISTRO_KDIR"
	export DISTRO_ROOT DISTRO_VMLINUZ DISTRO_MODDIR DISTRO_KDIR
}

# The modversions CRCs of the four exports, as "CRC NAME" lines.
distro_crcs() {
	awk '$2 ~ /^irq_bypass_(un)?register_(producer|consumer)$/ {
		print $1, $2 }' "$1" | sort -k2
}

distro_build_module() {
	local build=$DISTRO_ROOT/build ours theirs
	distro_lock
	sync_sources "$build" "${MODULE_SOURCES[@]}"
	log "building irqbypass.ko against $DISTRO_KVER"
	make -s -C "$DISTRO_KDIR" M="$build" modules >&2
	distro_unlock
	DISTRO_MODULE=$build/irqbypass.ko
	[ -f "$DISTRO_MODULE" ] || die "the build made no irqbypass.ko"
	ours=$(distro_crcs "$build/Module.symvers")
	theirs=$(distro_crcs "$DISTRO_KDIR/Module.symvers")
	if [ "$(printf '%s\n' "$ours" | wc -l)" -ne 4 ] || [ "$ours" != "$theirs" ]; then
		printf 'ours:\n%s\n%s:\n%s\n' "$ours" "$DISTRO_KVER" "$theirs" >&2
		die "our exports' CRCs differ from $DISTRO_KVER's"
	fi
	export DISTRO_MODULE
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
# lockdep and sanitizer reports, stack dumps.
DISTRO_BAD_PATTERNS='WARNING:|BUG:|kernel BUG at|Oops|Call Trace|RIP: |general protection|possible recursive locking|circular locking|inconsistent lock state|lock held when returning|UBSAN:|KASAN:|KFENCE:|refcount_t:|list_add corruption|list_del corruption|blocked for more than|Unable to handle|Kernel panic|detected stall'

# distro_bad_lines LOG: the console lines that match DISTRO_BAD_PATTERNS.
distro_bad_lines() {
	grep -E "$DISTRO_BAD_PATTERNS" "$1" || true
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
