# SPDX-License-Identifier: GPL-2.0-only
#
# Included by Kbuild (out of tree) and by Makefile, before anything is
# compiled, with $(irqbypass-api-header) naming the target kernel's own
# <linux/irqbypass.h>, $(irqbypass-api-config) its include/config/auto.conf
# and $(irqbypass-api-kernel) the kernel's directory, for messages.
#
# irqbypass-eventfd-api is y when that header has the API of Linux 6.17 and
# later, where the eventfd is an argument of the register functions and the
# structures carry it and the partner pointers: the module is then built
# with that front end, against the kernel's header.  The header decides,
# never the version number, since a distribution may backport the change.
#
# A kernel whose manager is built in (CONFIG_IRQ_BYPASS_MANAGER=y, as on
# Debian's arm64 kernels) or absent cannot use a module, and is told so in
# one sentence instead of a build that fails or loads nothing.

irqbypass-eventfd-api := $(if $(shell grep -ls 'struct eventfd_ctx \*eventfd' $(irqbypass-api-header) /dev/null),y)

irqbypass-api-manager := $(shell sed -n 's/^CONFIG_IRQ_BYPASS_MANAGER=//p' $(irqbypass-api-config) /dev/null 2>/dev/null)
ifneq ($(wildcard $(irqbypass-api-config)),)
ifeq ($(irqbypass-api-manager),y)
$(error irqbypass: the kernel in $(irqbypass-api-kernel) has the IRQ bypass manager built in (CONFIG_IRQ_BYPASS_MANAGER=y), which no module can replace, so there is nothing to build for it)
endif
ifeq ($(irqbypass-api-manager),)
$(error irqbypass: the kernel in $(irqbypass-api-kernel) was built without the IRQ bypass manager (CONFIG_IRQ_BYPASS_MANAGER is not set), so nothing would use this module)
endif
endif
