# SPDX-License-Identifier: GPL-2.0-only
#
# Out-of-tree build of irqbypass.ko (kbuild reads ./Kbuild), and the
# project's commands:
#
#   make [KDIR=...]     build against KDIR (default: the running kernel)
#   make demo           the manager pairing real VFIO and KVM interrupts
#   make check          every test and check
#   make bench          benchmarks against the stock module
#   make docs           render Documentation/ to HTML
#   make deb            irqbypass-dkms_VERSION_all.deb (debian/), lintian-clean
#   make install-tools  irqbypass-status and its manual page, under
#                       $(DESTDIR)$(PREFIX) (/usr)
#   make fresh-machine [STEPS="demo check ..."]
#                       run make STEPS in a clean clone on a minimal
#                       Debian 12 root (default: demo)

KDIR ?= /lib/modules/$(shell uname -r)/build

# Refuse a kernel that cannot use the module before kbuild starts (Kbuild
# does so too, for "make -C KDIR M=..." and DKMS; see api.mk).  Its header
# is in KDIR, in KDIR/source (a build tree made with O=), or in the tree
# that a Debian headers package's Makefile includes.
ifeq ($(filter-out check demo bench docs fresh-machine deb install-tools,$(MAKECMDGOALS)),$(MAKECMDGOALS))
irqbypass-api-kernel := $(KDIR)
irqbypass-api-config := $(KDIR)/include/config/auto.conf
irqbypass-api-header := $(wildcard $(KDIR)/include/linux/irqbypass.h \
	$(KDIR)/source/include/linux/irqbypass.h \
	$(addsuffix /include/linux/irqbypass.h,$(shell sed -n \
	's,^include \(/.*\)/Makefile$$,\1,p' $(KDIR)/Makefile 2>/dev/null)))
include api.mk
endif

all: modules

modules modules_install clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

check:
	@bash scripts/check.sh

demo:
	@bash scripts/demo.sh

bench:
	@bash scripts/bench.sh

docs:
	@bash scripts/docs.sh

fresh-machine:
	@bash scripts/fresh-machine.sh $(STEPS)

deb:
	@bash scripts/deb.sh

PREFIX ?= /usr
install-tools:
	install -D -m 0755 tools/irqbypass-status $(DESTDIR)$(PREFIX)/sbin/irqbypass-status
	install -D -m 0644 tools/irqbypass-status.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/irqbypass-status.8

.PHONY: all modules modules_install clean check demo bench docs fresh-machine deb \
	install-tools
