#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# samples.sh: the sample producer and consumer (samples/).
#
#   samples-build-debian-6.1    both build against Debian's 6.1 headers
#                               (linux-headers-amd64) with W=1 and sparse
#                               (C=2), without a single warning
#   samples-build-debian-6.12   the same against Debian's 6.12 headers, as
#                               scripts/distro.sh fetches them
#   samples-qemu-6.1            Debian's 6.1 kernel under QEMU with our
#                               irqbypass.ko: the samples pair with each
#                               other, fail and recover as documented, and
#                               unload (scripts/samples-guest.sh)
#   samples-qemu-6.1-stock      the same with Debian's own irqbypass.ko, when
#                               SAMPLES_STOCK=1
#
# checkpatch, kernel-doc and sparse on the sources are static.sh's: it checks
# every C file in the checkout.  The QEMU checks need scripts/distro.sh.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need sparse gcc libc6-dev make rsync

# build_samples KDIR DIR: build the samples out of tree against KDIR in DIR
# (our include/ and samples/ are copied there), W=1 and C=2, and fail on any
# warning from the compiler, sparse or modpost.
build_samples() {
	local kdir=$1 dir=$2 out
	mkdir -p "$dir"
	rsync -a --delete "$REPO/include/" "$dir/include/"
	rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod*' --exclude=Module.symvers \
		--exclude=modules.order "$REPO/samples/" "$dir/samples/"
	out=$(make -C "$kdir" M="$dir/samples" W=1 C=2 modules 2>&1) || {
		echo "$out"
		return 1
	}
	echo "$out"
	# Our header, not the kernel's, must have been used.
	grep -q "$dir/samples/../include/linux/irqbypass.h" \
		"$dir/samples/.irqbypass_sample_consumer.o.cmd" || {
		echo "the build did not use include/linux/irqbypass.h"
		return 1
	}
	! grep -E 'warning:|error:|WARNING:' <<<"$out"
}

# The userspace helper the guest uses, static so that busybox can run it.
build_with_eventfd() {
	WITH_EVENTFD=$CACHE/tools/with-eventfd
	mkdir -p "$CACHE/tools"
	if [ ! -x "$WITH_EVENTFD" ] ||
	   [ "$REPO/samples/with-eventfd.c" -nt "$WITH_EVENTFD" ]; then
		gcc -static -O2 -Wall -Wextra -Werror -o "$WITH_EVENTFD" \
			"$REPO/samples/with-eventfd.c"
	fi
}

kdir61=$(debian_headers linux-headers-amd64)
check samples-build-debian-6.1 build_samples "$kdir61" \
	"$CACHE/build/samples-6.1"

if [ ! -e "$REPO/scripts/distro.sh" ]; then
	log "no scripts/distro.sh: skipping the 6.12 build and the QEMU run"
	exit 0
fi
# shellcheck source=scripts/distro.sh
. "$REPO/scripts/distro.sh"

samples_612() {
	distro_fetch 6.12 >&2
	build_samples "$DISTRO_KDIR" "$CACHE/build/samples-6.12"
}
check samples-build-debian-6.12 samples_612

# qemu_samples IRQBYPASS: boot Debian's 6.1 kernel with IRQBYPASS (our
# irqbypass.ko or "stock") and the samples, and run samples-guest.sh.
qemu_samples() {
	local which=$1 dir=$CACHE/build/samples-qemu logf ko npass nfail
	distro_fetch 6.1 >&2
	ko=stock
	if [ "$which" = ours ]; then
		distro_build_module >&2
		ko=$DISTRO_MODULE
	fi
	# Against the very headers of the kernel we boot.
	build_samples "$DISTRO_KDIR" "$dir" >"$CACHE/logs/samples-qemu-build.log" 2>&1 || {
		cat "$CACHE/logs/samples-qemu-build.log"
		return 1
	}
	build_with_eventfd
	DISTRO_EXTRA=(
		"$dir/samples/irqbypass_sample_producer.ko:samples/irqbypass_sample_producer.ko"
		"$dir/samples/irqbypass_sample_consumer.ko:samples/irqbypass_sample_consumer.ko"
		"$REPO/scripts/samples-guest.sh:samples/samples-guest.sh"
		"$WITH_EVENTFD:bin/with-eventfd"
	)
	distro_initramfs "$dir/initrd-$which.gz" "$ko" irqbypass
	logf=$CACHE/logs/samples-qemu-$DISTRO_KVER-$which.console
	distro_boot "$dir/initrd-$which.gz" "$logf" ib_scenario=run \
		ib_run=/samples/samples-guest.sh || {
		echo "the guest did not finish; console in $logf"
		tail -n 40 "$logf"
		return 1
	}
	grep -E '^(SAMPLES: |@@ samples)' "$logf"
	npass=$(grep -c '^SAMPLES: PASS' "$logf" || true)
	nfail=$(grep -c '^SAMPLES: FAIL' "$logf" || true)
	echo "$npass assertions passed, $nfail failed; console in $logf"
	grep -q '^SAMPLES: DONE' "$logf" || {
		echo "the scenario did not finish"
		return 1
	}
	if grep -En 'WARNING:|BUG:|Call Trace:|list_(add|del) corruption' \
		"$logf"; then
		echo "the kernel complained"
		return 1
	fi
	[ "$nfail" -eq 0 ] && [ "$npass" -ge 40 ]
}

check samples-qemu-6.1 qemu_samples ours
if [ "${SAMPLES_STOCK:-0}" = 1 ]; then
	check samples-qemu-6.1-stock qemu_samples stock
fi
