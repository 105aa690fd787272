// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqfd_bench: create and destroy many KVM irqfds, the IRQ bypass manager's
 * real client
 *
 * On x86, KVM registers an IRQ bypass consumer for every irqfd, so with
 * enough of them the manager's cost per registration shows.  For each of
 * VMS virtual machines this creates the VM and its in-kernel irqchip, then
 * PER eventfds, and assigns each to the VM as an irqfd.  The run is cut
 * into PARTS parts of VMS / PARTS machines each; for each part it prints
 * the time of the KVM_IRQFD calls alone and of everything (machines,
 * irqchips, eventfds and irqfds), both per irqfd.  Then it destroys the
 * machines in the order they were made, each by closing the VM (which
 * releases its irqfds and unregisters their consumers) and then its
 * eventfds, and prints the time of that per irqfd too.  Before all that,
 * one machine is made and destroyed untimed, so that the first part does
 * not pay for cold caches (and, under QEMU TCG, for translating the code).
 *
 * The eventfds stay open while their irqfds live: closing one would shut
 * its irqfd down.  So it raises RLIMIT_NOFILE to what it needs.
 *
 * Output, one fact a line:
 *   irqfd setup vms=VMS per_vm=PER parts=PARTS
 *   irqfd part=I irqfds=N irqfd_ns=NS irqfd_med_ns=NS wall_ns=NS
 *	 destroy_ns=NS
 *   irqfd total irqfds=N irqfd_ns=NS wall_ns=NS destroy_ns=NS
 *	 sum_irqfd_us=US sum_wall_us=US sum_destroy_us=US
 * where every _ns value is nanoseconds per irqfd: the mean over the part
 * (or the whole run), except irqfd_med_ns, which is that of the part's
 * median machine, and so is robust to a burst of noise on the host.  The
 * sum_ values are the whole run's, in microseconds.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct vm {
	int fd;
	int *efds;
	unsigned long long irqfd_ns;	/* in KVM_IRQFD */
	unsigned long long wall_ns;	/* creating everything of this VM */
	unsigned long long destroy_ns;	/* closing the VM and its eventfds */
};

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	fprintf(stderr, "irqfd_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void print_usage(void)
{
	fprintf(stderr, "usage: irqfd_bench [-v VMS] [-n PER_VM] [-p PARTS]\n");
	exit(2);
}

static void create_vm(int kvm, struct vm *vm, int per)
{
	unsigned long long t0, t1, t2;
	int i;

	t0 = now_ns();
	vm->fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		die("KVM_CREATE_VM");
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	vm->efds = calloc(per, sizeof(*vm->efds));
	if (!vm->efds)
		die("calloc");
	for (i = 0; i < per; i++) {
		vm->efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vm->efds[i] < 0)
			die("eventfd");
	}

	t1 = now_ns();
	for (i = 0; i < per; i++) {
		struct kvm_irqfd irqfd = {
			.fd = vm->efds[i],
			.gsi = i,
		};

		if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0)
			die("KVM_IRQFD");
	}
	t2 = now_ns();
	vm->irqfd_ns = t2 - t1;
	vm->wall_ns = t2 - t0;
}

static void destroy_vm(struct vm *vm, int per)
{
	unsigned long long t0 = now_ns();
	int i;

	if (close(vm->fd) < 0)
		die("close VM");
	for (i = 0; i < per; i++)
		if (close(vm->efds[i]) < 0)
			die("close eventfd");
	vm->destroy_ns = now_ns() - t0;
	free(vm->efds);
}

int main(int argc, char **argv)
{
	int vms = 100, per = 200, parts = 10;
	unsigned long long tot_irqfd = 0, tot_wall = 0, tot_destroy = 0, n;
	unsigned long long *med;
	struct rlimit rl;
	struct vm *vm;
	int kvm, opt, p, i;

	while ((opt = getopt(argc, argv, "v:n:p:")) != -1) {
		switch (opt) {
		case 'v':
			vms = atoi(optarg);
			break;
		case 'n':
			per = atoi(optarg);
			break;
		case 'p':
			parts = atoi(optarg);
			break;
		default:
			print_usage();
		}
	}
	if (vms < 1 || per < 1 || parts < 1 || parts > vms || vms % parts)
		print_usage();

	rl.rlim_cur = (rlim_t)vms * (per + 1) + 64;
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit RLIMIT_NOFILE");

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = calloc(vms, sizeof(*vm));
	if (!vm)
		die("calloc");

	printf("irqfd setup vms=%d per_vm=%d parts=%d\n", vms, per, parts);
	fflush(stdout);
	create_vm(kvm, &vm[0], per);
	destroy_vm(&vm[0], per);
	for (i = 0; i < vms; i++)
		create_vm(kvm, &vm[i], per);
	for (i = 0; i < vms; i++)
		destroy_vm(&vm[i], per);

	med = calloc(vms / parts, sizeof(*med));
	if (!med)
		die("calloc");
	for (p = 0; p < parts; p++) {
		unsigned long long irqfd_ns = 0, wall_ns = 0, destroy_ns = 0;
		int first = p * (vms / parts);

		n = (unsigned long long)(vms / parts) * per;
		for (i = 0; i < vms / parts; i++) {
			irqfd_ns += vm[first + i].irqfd_ns;
			wall_ns += vm[first + i].wall_ns;
			destroy_ns += vm[first + i].destroy_ns;
			med[i] = vm[first + i].irqfd_ns;
		}
		qsort(med, vms / parts, sizeof(*med), cmp_ull);
		printf("irqfd part=%d irqfds=%llu irqfd_ns=%llu irqfd_med_ns=%llu",
		       p + 1, n, irqfd_ns / n, med[vms / parts / 2] / per);
		printf(" wall_ns=%llu destroy_ns=%llu\n", wall_ns / n,
		       destroy_ns / n);
		tot_irqfd += irqfd_ns;
		tot_wall += wall_ns;
		tot_destroy += destroy_ns;
	}
	free(med);
	n = (unsigned long long)vms * per;
	printf("irqfd total irqfds=%llu irqfd_ns=%llu wall_ns=%llu destroy_ns=%llu",
	       n, tot_irqfd / n, tot_wall / n, tot_destroy / n);
	printf(" sum_irqfd_us=%llu sum_wall_us=%llu sum_destroy_us=%llu\n",
	       tot_irqfd / 1000, tot_wall / 1000, tot_destroy / 1000);
	free(vm);
	close(kvm);
	return 0;
}
