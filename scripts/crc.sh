#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# crc.sh: build irqbypass.ko out of tree against Debian's 6.1 headers and
# compare the modversions CRCs of the four exports with the ones in
# Debian's own Module.symvers, which the distro's kvm.ko, vfio-pci.ko and
# vhost_vdpa.ko were linked against.

. "$(dirname "$0")/lib.sh"

crc() {
	local kdir dir=$CACHE/build/crc-6.1 sym want got bad=0
	kdir=$(debian_headers linux-headers-amd64)
	sync_sources "$dir"
	make -C "$kdir" M="$dir" modules
	for sym in irq_bypass_register_producer irq_bypass_unregister_producer \
		   irq_bypass_register_consumer irq_bypass_unregister_consumer; do
		want=$(awk -v s="$sym" '$2 == s { print $1 }' "$kdir/Module.symvers")
		got=$(awk -v s="$sym" '$2 == s { print $1 }' "$dir/Module.symvers")
		printf '%-32s debian %-10s ours %s\n' "$sym" "$want" "$got"
		[ -n "$want" ] && [ "$want" = "$got" ] || bad=1
	done
	return $bad
}

check crc-debian-6.1 crc
