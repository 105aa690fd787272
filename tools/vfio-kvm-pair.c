// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-kvm-pair - pair a VFIO MSI producer with a KVM irqfd consumer
 *
 * Does for one PCI device what a VMM does when it assigns the device to a
 * guest: it opens the VFIO container, group and device, creates a KVM VM
 * with an in-kernel irqchip, and uses ONE eventfd both as the trigger of the
 * device's MSI vector (VFIO_DEVICE_SET_IRQS) and as a KVM irqfd
 * (KVM_IRQFD).  vfio-pci then registers an IRQ bypass producer and KVM an
 * IRQ bypass consumer with the same token, the eventfd, and the IRQ bypass
 * manager pairs them.
 *
 * While paired it makes QEMU's "edu" device (1234:11e8) raise its interrupt
 * and checks in /proc/interrupts that it arrived on the host's vfio-msi
 * line.  The order in which the two sides are set up and torn down is
 * chosen on the command line, and a hook command can inspect the system at
 * every stage.  With -e the hook inherits the eventfd, and can hand it to
 * another consumer, such as the sample consumer (samples/).
 *
 * Every line meant for scripts starts with "pair: ".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <linux/pci_regs.h>
#include <linux/types.h>
#include <linux/vfio.h>

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64

/* Who registers first, and who goes away first. */
enum side { SIDE_VFIO, SIDE_KVM, SIDE_CLOSE };

struct pair {
	/* options */
	char bdf[NAME_MAX + 1];
	enum side setup_first;
	enum side teardown_first;
	unsigned int raises;
	unsigned int gsi;
	int kvm_vfio_dev;
	int share_efd;
	const char *hook;

	/* state */
	int container, group, device, kvm, vm, kvm_vfio, efd;
	int group_nr;
	int irq;
	int msi_on, irqfd_on;
	__u64 config_off, bar0_off, bar0_size;
};

static void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	fprintf(stderr, "vfio-kvm-pair: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	printf("pair: result=error\n");
	fflush(stdout);
	exit(1);
}

static void report(const char *fmt, ...)
{
	va_list ap;

	printf("pair: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void run_hook(struct pair *p, const char *stage)
{
	char cmd[PATH_MAX + 64];
	int ret;

	report("stage=%s", stage);
	if (!p->hook)
		return;
	snprintf(cmd, sizeof(cmd), "%s %s", p->hook, stage);
	fflush(stdout);
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret) || WEXITSTATUS(ret))
		report("hook-failed=%s", stage);
}

static int read_sysfs(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The first edu device in sysfs, if the user did not name one. */
static void find_edu(struct pair *p)
{
	char path[PATH_MAX], buf[32];
	unsigned long vendor, device;
	struct dirent *de;
	DIR *dir;

	dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		die("cannot list PCI devices");
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		if (read_sysfs(path, buf, sizeof(buf)))
			continue;
		vendor = strtoul(buf, NULL, 16);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		if (read_sysfs(path, buf, sizeof(buf)))
			continue;
		device = strtoul(buf, NULL, 16);
		if (vendor == EDU_VENDOR && device == EDU_DEVICE) {
			snprintf(p->bdf, sizeof(p->bdf), "%s", de->d_name);
			closedir(dir);
			return;
		}
	}
	closedir(dir);
	errno = 0;
	die("no edu device (%04x:%04x) found", EDU_VENDOR, EDU_DEVICE);
}

/*
 * The host interrupt number and the number of interrupts it has taken, from
 * the vfio-msi line of /proc/interrupts for our device; -1 if there is none.
 */
static int vfio_msi_count(struct pair *p, unsigned long *count)
{
	char line[4096], name[NAME_MAX + 32], *s, *end;
	int irq = -1;
	FILE *f;

	snprintf(name, sizeof(name), "vfio-msi[0](%s)", p->bdf);
	f = fopen("/proc/interrupts", "r");
	if (!f)
		die("cannot open /proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, name))
			continue;
		irq = strtol(line, &s, 10);
		if (*s != ':') {
			irq = -1;
			continue;
		}
		s++;
		*count = 0;
		for (;;) {
			unsigned long n = strtoul(s, &end, 10);

			if (end == s)
				break;
			*count += n;
			s = end;
		}
		break;
	}
	fclose(f);
	return irq;
}

static void open_vfio(struct pair *p)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	char path[PATH_MAX], link[PATH_MAX], *nr;
	ssize_t n;

	p->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (p->container < 0)
		die("open /dev/vfio/vfio");
	if (ioctl(p->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		die("unexpected VFIO API version");
	if (ioctl(p->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		die("VFIO type1v2 IOMMU not supported");

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 p->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("%s (is the IOMMU on?)", path);
	link[n] = '\0';
	nr = strrchr(link, '/');
	p->group_nr = atoi(nr ? nr + 1 : link);
	snprintf(path, sizeof(path), "/dev/vfio/%d", p->group_nr);
	p->group = open(path, O_RDWR | O_CLOEXEC);
	if (p->group < 0)
		die("open %s (is %s bound to vfio-pci?)", path, p->bdf);
	if (ioctl(p->group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = 0;
		die("group %d is not viable", p->group_nr);
	}
	if (ioctl(p->group, VFIO_GROUP_SET_CONTAINER, &p->container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(p->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	p->device = ioctl(p->group, VFIO_GROUP_GET_DEVICE_FD, p->bdf);
	if (p->device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD %s", p->bdf);

	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(p->device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		die("VFIO_DEVICE_GET_REGION_INFO config");
	p->config_off = reg.offset;
	reg.argsz = sizeof(reg);
	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(p->device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		die("VFIO_DEVICE_GET_REGION_INFO BAR0");
	p->bar0_off = reg.offset;
	p->bar0_size = reg.size;

	irq.index = VFIO_PCI_MSI_IRQ_INDEX;
	if (ioctl(p->device, VFIO_DEVICE_GET_IRQ_INFO, &irq))
		die("VFIO_DEVICE_GET_IRQ_INFO MSI");
	if (!(irq.flags & VFIO_IRQ_INFO_EVENTFD) || irq.count < 1) {
		errno = 0;
		die("device has no MSI vector that can signal an eventfd");
	}
	report("device=%s group=%d bar0_size=%llu msi_vectors=%u", p->bdf,
	       p->group_nr, (unsigned long long)p->bar0_size, irq.count);
}

static __u32 bar0_read(struct pair *p, unsigned int reg)
{
	__u32 val;

	if (pread(p->device, &val, sizeof(val), p->bar0_off + reg) !=
	    sizeof(val))
		die("read BAR0+0x%x", reg);
	return val;
}

static void bar0_write(struct pair *p, unsigned int reg, __u32 val)
{
	if (pwrite(p->device, &val, sizeof(val), p->bar0_off + reg) !=
	    sizeof(val))
		die("write BAR0+0x%x", reg);
}

/* An MSI is a DMA write: without bus mastering the device cannot send it. */
static void enable_bus_master(struct pair *p)
{
	__u16 cmd;

	if (pread(p->device, &cmd, sizeof(cmd), p->config_off + PCI_COMMAND) !=
	    sizeof(cmd))
		die("read PCI_COMMAND");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(p->device, &cmd, sizeof(cmd), p->config_off + PCI_COMMAND) !=
	    sizeof(cmd))
		die("write PCI_COMMAND");
}

static void check_edu(struct pair *p)
{
	__u32 id = bar0_read(p, EDU_REG_ID);

	bar0_write(p, EDU_REG_LIVENESS, 0x12345678);
	if ((id & 0xffff) != 0xed || bar0_read(p, EDU_REG_LIVENESS) != ~0x12345678U) {
		errno = 0;
		die("BAR0 of %s does not behave like edu (id 0x%08x)", p->bdf, id);
	}
	report("edu_id=0x%08x", id);
}

static void vfio_msi_set(struct pair *p, int on)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(__s32)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	__s32 fd = p->efd;
	unsigned long count = 0;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->start = 0;
	if (on) {
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
		set->count = 1;
		memcpy(set->data, &fd, sizeof(fd));
	} else {
		set->argsz = sizeof(*set);
		set->flags = VFIO_IRQ_SET_DATA_NONE |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
		set->count = 0;
	}
	if (ioctl(p->device, VFIO_DEVICE_SET_IRQS, set))
		die("VFIO_DEVICE_SET_IRQS MSI %s", on ? "enable" : "disable");
	p->msi_on = on;
	if (on) {
		p->irq = vfio_msi_count(p, &count);
		if (p->irq < 0) {
			errno = 0;
			die("no vfio-msi line for %s in /proc/interrupts",
			    p->bdf);
		}
		report("vfio_msi=on irq=%d", p->irq);
	} else {
		report("vfio_msi=off");
	}
}

static void open_kvm(struct pair *p)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_VFIO };
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_GROUP,
		.attr = KVM_DEV_VFIO_GROUP_ADD,
	};
	__s32 group = p->group;

	p->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm < 0)
		die("open /dev/kvm");
	if (ioctl(p->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = 0;
		die("unexpected KVM API version");
	}
	p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
	if (p->vm < 0)
		die("KVM_CREATE_VM");
	if (ioctl(p->vm, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP");
	p->kvm_vfio = -1;
	if (p->kvm_vfio_dev) {
		/* Tell KVM that the VM has an assigned device, as QEMU does. */
		if (ioctl(p->vm, KVM_CREATE_DEVICE, &dev))
			die("KVM_CREATE_DEVICE vfio");
		p->kvm_vfio = dev.fd;
		attr.addr = (__u64)(unsigned long)&group;
		if (ioctl(p->kvm_vfio, KVM_SET_DEVICE_ATTR, &attr))
			die("KVM_DEV_VFIO_GROUP_ADD");
	}
	report("kvm_vm=on kvm_vfio_device=%s", p->kvm_vfio_dev ? "yes" : "no");
}

static void kvm_irqfd_set(struct pair *p, int on)
{
	struct kvm_irqfd irqfd = {
		.fd = p->efd,
		.gsi = p->gsi,
		.flags = on ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(p->vm, KVM_IRQFD, &irqfd))
		die("KVM_IRQFD %s", on ? "assign" : "deassign");
	p->irqfd_on = on;
	report("kvm_irqfd=%s gsi=%u", on ? "on" : "off", p->gsi);
}

static unsigned long wait_count(struct pair *p, unsigned long before)
{
	unsigned long count = before;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	/* TCG is slow: give each interrupt up to two seconds. */
	for (i = 0; i < 200; i++) {
		if (vfio_msi_count(p, &count) < 0)
			die("vfio-msi line vanished");
		if (count > before)
			break;
		nanosleep(&ts, NULL);
	}
	return count;
}

static int raise_irqs(struct pair *p)
{
	unsigned long first = 0, before, after;
	unsigned int i, arrived = 0;

	if (vfio_msi_count(p, &first) < 0)
		die("no vfio-msi line");
	before = first;
	for (i = 0; i < p->raises; i++) {
		bar0_write(p, EDU_REG_IRQ_RAISE, 1);
		after = wait_count(p, before);
		if (after > before)
			arrived++;
		bar0_write(p, EDU_REG_IRQ_ACK, bar0_read(p, EDU_REG_IRQ_STATUS));
		before = after;
	}
	report("raised=%u arrived=%u irq=%d count_before=%lu count_after=%lu",
	       p->raises, arrived, p->irq, first, before);
	return arrived == p->raises ? 0 : -1;
}

static void setup_side(struct pair *p, enum side side)
{
	if (side == SIDE_VFIO)
		vfio_msi_set(p, 1);
	else
		kvm_irqfd_set(p, 1);
}

static void teardown_side(struct pair *p, enum side side)
{
	switch (side) {
	case SIDE_VFIO:
		vfio_msi_set(p, 0);
		break;
	case SIDE_CLOSE:
		/* Releasing the device disables MSI in the kernel. */
		close(p->device);
		p->device = -1;
		p->msi_on = 0;
		report("vfio_device=closed");
		break;
	case SIDE_KVM:
		kvm_irqfd_set(p, 0);
		break;
	}
}

static void close_all(struct pair *p)
{
	if (p->irqfd_on)
		kvm_irqfd_set(p, 0);
	if (p->msi_on)
		vfio_msi_set(p, 0);
	if (p->kvm_vfio >= 0)
		close(p->kvm_vfio);
	close(p->vm);
	close(p->kvm);
	if (p->device >= 0)
		close(p->device);
	close(p->group);
	close(p->container);
	close(p->efd);
	report("closed=all");
}

static enum side parse_side(const char *arg, int allow_close)
{
	if (!strcmp(arg, "vfio"))
		return SIDE_VFIO;
	if (!strcmp(arg, "kvm"))
		return SIDE_KVM;
	if (allow_close && !strcmp(arg, "close"))
		return SIDE_CLOSE;
	errno = 0;
	die("unknown side '%s'", arg);
	return SIDE_VFIO;
}

static void print_help(void)
{
	puts("usage: vfio-kvm-pair [options]\n"
	     "  -d BDF    the device, bound to vfio-pci (default: the first edu)\n"
	     "  -s SIDE   which side registers first: vfio (default) or kvm\n"
	     "  -t SIDE   which side goes first at teardown: kvm (default, KVM\n"
	     "            irqfd deassign), vfio (MSI disabled through\n"
	     "            VFIO_DEVICE_SET_IRQS) or close (VFIO device closed)\n"
	     "  -r N      raise the edu interrupt N times while paired (3)\n"
	     "  -g GSI    the irqfd's GSI (10)\n"
	     "  -n        do not add the group to a KVM VFIO device\n"
	     "  -x CMD    run \"CMD STAGE\" at each stage: first, paired, half,\n"
	     "            done\n"
	     "  -e        let CMD inherit the eventfd; its number is in $EVENTFD");
}

int main(int argc, char **argv)
{
	struct pair p = {
		.setup_first = SIDE_VFIO,
		.teardown_first = SIDE_KVM,
		.raises = 3,
		.gsi = 10,
		.kvm_vfio_dev = 1,
		.device = -1,
		.kvm_vfio = -1,
	};
	enum side second;
	int opt, ret;

	while ((opt = getopt(argc, argv, "d:s:t:r:g:nx:eh")) != -1) {
		switch (opt) {
		case 'd':
			snprintf(p.bdf, sizeof(p.bdf), "%s", optarg);
			break;
		case 's':
			p.setup_first = parse_side(optarg, 0);
			break;
		case 't':
			p.teardown_first = parse_side(optarg, 1);
			break;
		case 'r':
			p.raises = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			p.gsi = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			p.kvm_vfio_dev = 0;
			break;
		case 'x':
			p.hook = optarg;
			break;
		case 'e':
			p.share_efd = 1;
			break;
		case 'h':
			print_help();
			return 0;
		default:
			print_help();
			return 2;
		}
	}

	if (!p.bdf[0])
		find_edu(&p);
	open_vfio(&p);
	enable_bus_master(&p);
	check_edu(&p);
	open_kvm(&p);
	/* Without EFD_CLOEXEC with -e: the hook, run by system(), inherits it. */
	p.efd = eventfd(0, p.share_efd ? 0 : EFD_CLOEXEC);
	if (p.efd < 0)
		die("eventfd");
	if (p.share_efd) {
		char num[16];

		snprintf(num, sizeof(num), "%d", p.efd);
		if (setenv("EVENTFD", num, 1))
			die("setenv EVENTFD");
	}
	report("eventfd=%d", p.efd);

	setup_side(&p, p.setup_first);
	run_hook(&p, "first");
	setup_side(&p, p.setup_first == SIDE_VFIO ? SIDE_KVM : SIDE_VFIO);
	run_hook(&p, "paired");

	ret = raise_irqs(&p);

	teardown_side(&p, p.teardown_first);
	run_hook(&p, "half");
	second = p.teardown_first == SIDE_KVM ? SIDE_VFIO : SIDE_KVM;
	teardown_side(&p, second);
	close_all(&p);
	run_hook(&p, "done");

	report("result=%s", ret ? "no-interrupt" : "ok");
	return ret ? 1 : 0;
}
