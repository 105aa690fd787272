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
#   make fresh-machine [STEPS="demo check ..."]
#                       run make STEPS in a clean clone on a minimal
#                       Debian 12 root (default: demo)

KDIR ?= /lib/modules/$(shell uname -r)/build

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

.PHONY: all modules modules_install clean check demo bench docs fresh-machine
