# SPDX-License-Identifier: GPL-2.0-only
#
# Included by Kbuild and Makefile: stop, before anything is compiled, when
# the target kernel's <linux/irqbypass.h> (the file named by
# $(irqbypass-api-header)) has the API of Linux 6.17 and later, where the
# eventfd became an argument of the register functions (and where
# registration is cheap in the kernel's own manager).

ifneq ($(shell grep -ls 'struct eventfd_ctx \*eventfd' $(irqbypass-api-header) /dev/null),)
$(error irqbypass: the kernel in $(irqbypass-api-kernel) has the IRQ bypass API of Linux 6.17 and later, which this module does not implement (it supports 4.4 to 6.16), so keep the kernel's own irqbypass.ko, which already registers in constant time)
endif
