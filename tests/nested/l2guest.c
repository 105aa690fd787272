// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nested guest (L2): a freestanding 32-bit multiboot program that Debian's
 * QEMU runs inside the Debian guest (L1), with QEMU's edu device assigned
 * to it through vfio-pci.  It does to the device what a guest driver does,
 * one PCI step at a time, so that L1's QEMU drives VFIO and KVM the way it
 * does for any guest: it finds the device in configuration space, turns on
 * its MSI capability (QEMU then gives VFIO an eventfd as the MSI trigger and
 * KVM the same eventfd as an irqfd: the producer and the consumer that the
 * IRQ bypass manager pairs), makes the device raise interrupts and counts
 * the ones that arrive through its IDT.
 *
 * The scenario comes from the multiboot command line (QEMU's -append):
 *
 *   case=msi        enable MSI, raise, disable
 *   case=hold       enable MSI, raise, then stay paired until killed
 *   case=toggle     enable and disable MSI rounds= times
 *   case=reprogram  enable MSI, raise, change the vector while enabled
 *                   (QEMU re-routes the irqfd), raise again, disable
 *   case=reset      enable MSI, raise, reset the machine through port
 *                   0xCF9; after the reboot (counted in CMOS RAM) enable
 *                   MSI again, raise, disable
 *   case=msix       on an e1000e instead of edu: four MSI-X vectors at
 *                   once, raise each cause, disable
 *   raises=N        interrupts to raise each time (3)
 *   rounds=N        rounds of case=toggle (3)
 *
 * It talks to L1 over the serial port, one line each: "l2: wait STAGE" then
 * waits for a byte on the serial port (L1 dumps the manager's state in
 * between), "l2: raised=N arrived=N vector=V", and last "l2: pass" or
 * "l2: FAIL why".  It exits through QEMU's isa-debug-exit device at port
 * 0xf4: QEMU's exit status is 1 on success, 3 on failure.
 */

#include "l2guest.h"

/* Vectors: the PIC's timer after remapping, and the two MSI vectors. */
#define VEC_TIMER	0x20
#define VEC_MSI		0x40
#define VEC_MSI_NEW	0x41
#define VEC_MSIX	0x50
#define VEC_SPURIOUS	0xff

/* The edu device (QEMU's docs/specs/edu.rst) and its BAR0 registers. */
#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_ID		0x00
#define EDU_IRQ_STATUS	0x24
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64

/*
 * The e1000e (82574) and the registers its MSI-X test needs: interrupt
 * cause set, mask set, auto-clear, and IVAR, which maps each cause to an
 * MSI-X vector.  With MSI-X, the causes RxQ0, RxQ1, TxQ0, TxQ1 are bits
 * 20-23 and IVAR has a 4-bit field for each (the vector, bit 3 valid).
 */
#define E1000E_VENDOR	0x8086
#define E1000E_DEVICE	0x10d3
#define E1000_ICR	0xc0
#define E1000_ICS	0xc8
#define E1000_IMS	0xd0
#define E1000_EIAC	0xdc
#define E1000_IVAR	0xe4
#define E1000_ICR_RXQ0	20
#define MSIX_VECTORS	4

/* PCI configuration space. */
#define PCI_CONF_ADDR	0xcf8
#define PCI_CONF_DATA	0xcfc
#define PCI_COMMAND	0x04
#define PCI_CMD_MEM	0x0002
#define PCI_CMD_MASTER	0x0004
#define PCI_STATUS	0x06
#define PCI_STATUS_CAPS	0x0010
#define PCI_BAR0	0x10
#define PCI_CAP_PTR	0x34
#define PCI_CAP_MSI	0x05
#define MSI_CTRL	0x02
#define MSI_CTRL_EN	0x0001
#define MSI_CTRL_64	0x0080
#define MSI_ADDR_LO	0x04
#define MSI_ADDR_HI	0x08
#define PCI_CAP_MSIX	0x11
#define MSIX_CTRL_EN	0x8000
#define MSIX_CTRL_MASK	0x4000
#define MSIX_TABLE	0x04

/* The local APIC (paging is off: its registers are at their address). */
#define LAPIC_BASE	0xfee00000
#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0
#define LAPIC_LINT0	0x350
/* MSI address: the local APIC's, destination APIC ID 0, physical mode. */
#define MSI_ADDR	0xfee00000

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4
#define RESET_CTRL	0xcf9
#define CMOS_INDEX	0x70
#define CMOS_DATA	0x71
/* A CMOS RAM byte that neither QEMU nor SeaBIOS uses: our boot count. */
#define CMOS_BOOTS	0x48

/* Ticks of the PIT at 100 Hz to wait for one interrupt before failing. */
#define PIT_HZ		100
#define WAIT_TICKS	(10 * PIT_HZ)

/* An interrupt gate: 8 bytes, naturally aligned. */
struct idt_gate {
	u16 off_lo;
	u16 sel;
	u8 zero;
	u8 type;
	u16 off_hi;
};

static struct idt_gate idt[256];
/*
 * Written by the interrupt handler; the loops that read them wait with
 * "hlt" that clobbers memory, so each test reads them anew.
 */
static u32 counts[256];
static u32 ticks;
static const char *cmdline = "";

/* The edu device once found: where, its MSI capability and its BAR0. */
static u32 edu_bdf;
static u32 edu_msi;
static u8 *edu_bar;

static inline void pio_out8(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 pio_in8(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void pio_out32(u16 port, u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u32 pio_in32(u16 port)
{
	u32 v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Device registers: one 32-bit access each, never merged or cached. */
static inline u32 mmio_read(u8 *base, u32 off)
{
	u32 v;

	asm volatile("movl %1, %0" : "=r"(v) : "m"(*(u32 *)(base + off)));
	return v;
}

static inline void mmio_write(u8 *base, u32 off, u32 v)
{
	asm volatile("movl %1, %0" : "=m"(*(u32 *)(base + off)) : "r"(v));
}

/* ---- serial port and messages ---- */

static void con_putc(char c)
{
	while (!(pio_in8(COM1 + 5) & 0x20))
		;
	pio_out8(COM1, c);
}

static void con_puts(const char *s)
{
	while (*s)
		con_putc(*s++);
}

static void con_putn(u32 n, u32 base)
{
	char buf[12];
	int i = 0;

	if (base == 16)
		con_puts("0x");
	do {
		buf[i++] = "0123456789abcdef"[n % base];
		n /= base;
	} while (n);
	while (i)
		con_putc(buf[--i]);
}

/*
 * End the run with a verdict: QEMU exits 1 when we passed, 3 when we
 * failed, and 5 when we took a CPU exception, which this program never
 * causes itself: the emulation did (L1 boots again).
 */
enum verdict { PASS, FAIL, FAULT };

static void finish_with(enum verdict v, const char *why)
{
	con_puts(v == PASS ? "l2: pass\n" : "l2: FAIL ");
	if (v != PASS) {
		con_puts(why);
		con_putc('\n');
	}
	/* Clear the boot count: the next run starts again at one. */
	pio_out8(CMOS_INDEX, CMOS_BOOTS);
	pio_out8(CMOS_DATA, 0);
	/* isa-debug-exit: QEMU exits with status (value << 1) | 1. */
	pio_out32(DEBUG_EXIT, v);
	for (;;)
		asm volatile("cli; hlt" : : : "memory");
}

static void finish(int ok, const char *why)
{
	finish_with(ok ? PASS : FAIL, why);
}

/* Tell L1 where we are and wait until it has looked (a byte on COM1). */
static void wait_host(const char *stage)
{
	con_puts("l2: wait ");
	con_puts(stage);
	con_putc('\n');
	while (!(pio_in8(COM1 + 5) & 0x01))
		asm volatile("pause");
	pio_in8(COM1);
}

/* ---- the command line ---- */

static u32 str_len(const char *s)
{
	u32 n = 0;

	while (s[n])
		n++;
	return n;
}

static int starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* The value of KEY= on the command line, or NULL. */
static const char *arg(const char *key)
{
	const char *s = cmdline;

	while (*s) {
		if ((s == cmdline || s[-1] == ' ') && starts(s, key))
			return s + str_len(key);
		s++;
	}
	return (const char *)0;
}

static int arg_is(const char *key, const char *val)
{
	const char *s = arg(key);
	u32 n = str_len(val);

	return s && starts(s, val) && (s[n] == ' ' || !s[n]);
}

static u32 arg_num(const char *key, u32 def)
{
	const char *s = arg(key);
	u32 n = 0;

	if (!s || *s < '0' || *s > '9')
		return def;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + *s++ - '0';
	return n;
}

/* ---- interrupts: IDT, PIC and PIT, local APIC ---- */

void l2_interrupt(u32 vector)
{
	counts[vector]++;
	if (vector < 32) {
		con_puts("l2: exception ");
		con_putn(vector, 10);
		con_putc('\n');
		finish_with(FAULT, "CPU exception");
	}
	if (vector == VEC_TIMER) {
		ticks++;
		pio_out8(0x20, 0x20);		/* EOI to the master PIC */
	} else if (vector != VEC_SPURIOUS && vector != 0x27) {
		mmio_write((u8 *)LAPIC_BASE, LAPIC_EOI, 0);
	}
}

static void interrupts_init(void)
{
	u8 *lapic = (u8 *)LAPIC_BASE;
	/* The IDTR operand: 16-bit limit, then the 32-bit base. */
	u16 desc[3] = { sizeof(idt) - 1, (u32)idt & 0xffff, (u32)idt >> 16 };
	int i;

	/* Every vector goes to its stub in l2entry.S, as an interrupt gate. */
	for (i = 0; i < 256; i++) {
		idt[i].off_lo = l2_isr_table[i] & 0xffff;
		idt[i].sel = 0x08;
		idt[i].zero = 0;
		idt[i].type = 0x8e;
		idt[i].off_hi = l2_isr_table[i] >> 16;
	}
	asm volatile("lidt %0" : : "m"(desc));

	/* The PICs at vectors 0x20-0x2f, everything masked but the timer. */
	pio_out8(0x20, 0x11);
	pio_out8(0xa0, 0x11);
	pio_out8(0x21, 0x20);
	pio_out8(0xa1, 0x28);
	pio_out8(0x21, 0x04);
	pio_out8(0xa1, 0x02);
	pio_out8(0x21, 0x01);
	pio_out8(0xa1, 0x01);
	pio_out8(0x21, 0xfe);
	pio_out8(0xa1, 0xff);

	/* PIT channel 0 at PIT_HZ: the clock of our timeouts. */
	pio_out8(0x43, 0x34);
	pio_out8(0x40, (1193182 / PIT_HZ) & 0xff);
	pio_out8(0x40, (1193182 / PIT_HZ) >> 8);

	/*
	 * The local APIC on (MSIs arrive through it), and the PIC's output
	 * through its LINT0 as ExtINT.
	 */
	mmio_write(lapic, LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	mmio_write(lapic, LAPIC_LINT0, 0x700);
	asm volatile("sti");
}

/* Wait until COUNTS[VECTOR] reaches WANT, or WAIT_TICKS pass. */
static int wait_count(u32 vector, u32 want)
{
	u32 end = ticks + WAIT_TICKS;

	while (counts[vector] < want && ticks < end)
		asm volatile("hlt" : : : "memory");
	return counts[vector] >= want;
}

/* ---- PCI configuration space through ports 0xCF8/0xCFC ---- */

static u32 pci_addr(u32 bdf, u32 off)
{
	return 0x80000000 | bdf << 8 | (off & 0xfc);
}

static u32 pci_read32(u32 bdf, u32 off)
{
	pio_out32(PCI_CONF_ADDR, pci_addr(bdf, off));
	return pio_in32(PCI_CONF_DATA);
}

static u16 pci_read16(u32 bdf, u32 off)
{
	return pci_read32(bdf, off) >> ((off & 2) * 8);
}

static void pci_write32(u32 bdf, u32 off, u32 v)
{
	pio_out32(PCI_CONF_ADDR, pci_addr(bdf, off));
	pio_out32(PCI_CONF_DATA, v);
}

static void pci_write16(u32 bdf, u32 off, u16 v)
{
	u32 shift = (off & 2) * 8;
	u32 old = pci_read32(bdf, off);

	pci_write32(bdf, off, (old & ~(0xffffu << shift)) | (u32)v << shift);
}

/* The first function on bus 0 with VENDOR:DEVICE, or -1. */
static int pci_find(u16 vendor, u16 device)
{
	u32 dev, id;

	for (dev = 0; dev < 32; dev++) {
		id = pci_read32(dev << 3, 0);
		if ((id & 0xffff) == vendor && id >> 16 == device)
			return dev << 3;
	}
	return -1;
}

/* The capability list: a chain of (ID, next) from offset 0x34. */
static u32 pci_cap(u32 bdf, u32 want)
{
	u32 cap;

	if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAPS))
		return 0;
	for (cap = pci_read32(bdf, PCI_CAP_PTR) & 0xfc; cap;
	     cap = (pci_read32(bdf, cap) >> 8) & 0xfc)
		if ((pci_read32(bdf, cap) & 0xff) == want)
			return cap;
	return 0;
}

/* Memory space and bus mastering on (an MSI is a memory write). */
static void pci_enable(u32 bdf)
{
	pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) |
		    PCI_CMD_MEM | PCI_CMD_MASTER);
}

static u8 *pci_bar(u32 bdf, u32 bar)
{
	return (u8 *)(pci_read32(bdf, PCI_BAR0 + 4 * bar) & ~0xfu);
}

/*
 * Find edu on bus 0, turn on its memory space and bus mastering (an MSI is
 * a memory write by the device), and find its MSI capability.
 */
static void edu_find(void)
{
	int bdf = pci_find(EDU_VENDOR, EDU_DEVICE);

	if (bdf < 0)
		finish(0, "no edu device on bus 0");
	edu_bdf = bdf;
	pci_enable(edu_bdf);
	edu_bar = pci_bar(edu_bdf, 0);
	edu_msi = pci_cap(edu_bdf, PCI_CAP_MSI);
	con_puts("l2: edu in slot ");
	con_putn(edu_bdf >> 3, 10);
	con_puts(" bar0=");
	con_putn((u32)edu_bar, 16);
	con_puts(" id=");
	con_putn(mmio_read(edu_bar, EDU_ID), 16);
	con_puts(" msi_cap=");
	con_putn(edu_msi, 16);
	con_putc('\n');
	if (!edu_msi)
		finish(0, "edu has no MSI capability");
}

/* Write the MSI message: the local APIC's address, VECTOR as the data. */
static void msi_program(u32 vector)
{
	u16 ctrl = pci_read16(edu_bdf, edu_msi + MSI_CTRL);
	u32 data = edu_msi + ((ctrl & MSI_CTRL_64) ? 0x0c : 0x08);

	pci_write32(edu_bdf, edu_msi + MSI_ADDR_LO, MSI_ADDR);
	if (ctrl & MSI_CTRL_64)
		pci_write32(edu_bdf, edu_msi + MSI_ADDR_HI, 0);
	pci_write16(edu_bdf, data, vector);
}

/*
 * The MSI enable bit.  Setting it makes QEMU set up VFIO's MSI trigger and
 * KVM's irqfd; clearing it makes QEMU take both down again.
 */
static void msi_enable(int on)
{
	u16 ctrl = pci_read16(edu_bdf, edu_msi + MSI_CTRL);

	/* One vector (Multiple Message Enable 0). */
	ctrl &= ~0x0070;
	ctrl = on ? ctrl | MSI_CTRL_EN : ctrl & ~MSI_CTRL_EN;
	pci_write16(edu_bdf, edu_msi + MSI_CTRL, ctrl);
}

/*
 * Raise N interrupts, one at a time: each write to edu's raise register
 * sends one MSI; wait for it to arrive on VECTOR, then acknowledge it.
 */
static void edu_raise(u32 n, u32 vector)
{
	u32 before = counts[vector], i;

	for (i = 0; i < n; i++) {
		mmio_write(edu_bar, EDU_IRQ_RAISE, 1);
		if (!wait_count(vector, before + i + 1))
			break;
		mmio_write(edu_bar, EDU_IRQ_ACK,
			   mmio_read(edu_bar, EDU_IRQ_STATUS));
	}
	con_puts("l2: raised=");
	con_putn(n, 10);
	con_puts(" arrived=");
	con_putn(counts[vector] - before, 10);
	con_puts(" vector=");
	con_putn(vector, 16);
	con_putc('\n');
	if (counts[vector] - before != n)
		finish(0, "interrupts lost");
}

/*
 * MSI-X on the e1000e: MSIX_VECTORS entries of its MSI-X table, each to
 * its own IDT vector, and IVAR maps the four queue causes to them.  QEMU
 * gives each unmasked vector its own eventfd, VFIO trigger and KVM irqfd:
 * as many pairs at once, with distinct tokens.  Then each cause is set
 * (ICS) in turn, and its interrupt must arrive on its own vector.
 */
static void msix_test(u32 raises)
{
	int bdf = pci_find(E1000E_VENDOR, E1000E_DEVICE);
	u32 cap, ctrl, tbl, i, j, ivar = 0, causes = 0, bad = 0;
	u8 *regs, *table;

	if (bdf < 0)
		finish(0, "no e1000e on bus 0");
	pci_enable(bdf);
	cap = pci_cap(bdf, PCI_CAP_MSIX);
	if (!cap)
		finish(0, "the e1000e has no MSI-X capability");
	ctrl = pci_read16(bdf, cap + MSI_CTRL);
	tbl = pci_read32(bdf, cap + MSIX_TABLE);
	/* The table: at an offset in the BAR that the low 3 bits name. */
	table = pci_bar(bdf, tbl & 7) + (tbl & ~7u);
	regs = pci_bar(bdf, 0);
	con_puts("l2: e1000e in slot ");
	con_putn(bdf >> 3, 10);
	con_puts(" msix_cap=");
	con_putn(cap, 16);
	con_puts(" table_size=");
	con_putn((ctrl & 0x7ff) + 1, 10);
	con_putc('\n');
	if ((ctrl & 0x7ff) + 1 < MSIX_VECTORS)
		finish(0, "too few MSI-X vectors");

	/* Enabled with every vector masked, as Linux does it. */
	pci_write16(bdf, cap + MSI_CTRL, ctrl | MSIX_CTRL_EN | MSIX_CTRL_MASK);
	for (i = 0; i < MSIX_VECTORS; i++) {
		mmio_write(table, 16 * i + 0, MSI_ADDR);
		mmio_write(table, 16 * i + 4, 0);
		mmio_write(table, 16 * i + 8, VEC_MSIX + i);
		/* Vector control: bit 0 clear, the vector unmasked. */
		mmio_write(table, 16 * i + 12, 0);
		ivar |= (i | 8) << (4 * i);
		causes |= 1u << (E1000_ICR_RXQ0 + i);
	}
	pci_write16(bdf, cap + MSI_CTRL, (ctrl | MSIX_CTRL_EN) & ~MSIX_CTRL_MASK);
	mmio_write(regs, E1000_IVAR, ivar);
	/* Causes cleared once their vector is sent, and unmasked. */
	mmio_write(regs, E1000_EIAC, causes);
	mmio_write(regs, E1000_IMS, causes);

	for (j = 0; j < raises; j++) {
		for (i = 0; i < MSIX_VECTORS; i++) {
			mmio_write(regs, E1000_ICS, 1u << (E1000_ICR_RXQ0 + i));
			if (!wait_count(VEC_MSIX + i, j + 1))
				break;
			/* Sending it cleared the cause and masked it again. */
			mmio_write(regs, E1000_IMS, causes);
		}
	}
	for (i = 0; i < MSIX_VECTORS; i++) {
		con_puts("l2: raised=");
		con_putn(raises, 10);
		con_puts(" arrived=");
		con_putn(counts[VEC_MSIX + i], 10);
		con_puts(" vector=");
		con_putn(VEC_MSIX + i, 16);
		con_putc('\n');
		bad |= counts[VEC_MSIX + i] != raises;
	}
	if (bad)
		finish(0, "MSI-X interrupts lost or extra");
	wait_host("paired");
	pci_write16(bdf, cap + MSI_CTRL, ctrl & ~MSIX_CTRL_EN);
	wait_host("disabled");
}

static u8 cmos_read(u8 index)
{
	pio_out8(CMOS_INDEX, index);
	return pio_in8(CMOS_DATA);
}

static void cmos_write(u8 index, u8 v)
{
	pio_out8(CMOS_INDEX, index);
	pio_out8(CMOS_DATA, v);
}

void l2_main(u32 magic, const u32 *mbi)
{
	u32 raises, rounds, boot, i;

	/* Multiboot information: flag bit 2 says a command line is there. */
	if (magic == 0x2badb002 && (mbi[0] & 4))
		cmdline = (const char *)mbi[4];
	con_puts("l2: up, cmdline \"");
	con_puts(cmdline);
	con_puts("\"\n");
	raises = arg_num("raises=", 3);
	rounds = arg_num("rounds=", 3);

	interrupts_init();
	if (arg_is("case=", "msix")) {
		msix_test(raises);
		finish(1, "");
	}
	edu_find();
	msi_program(VEC_MSI);

	if (arg_is("case=", "msi")) {
		msi_enable(1);
		edu_raise(raises, VEC_MSI);
		wait_host("paired");
		msi_enable(0);
		wait_host("disabled");
	} else if (arg_is("case=", "hold")) {
		msi_enable(1);
		edu_raise(raises, VEC_MSI);
		wait_host("paired");
		/* Paired until L1 kills QEMU. */
		for (;;)
			asm volatile("hlt" : : : "memory");
	} else if (arg_is("case=", "toggle")) {
		for (i = 0; i < rounds; i++) {
			msi_enable(1);
			edu_raise(raises, VEC_MSI);
			wait_host("on");
			msi_enable(0);
			wait_host("off");
		}
	} else if (arg_is("case=", "reprogram")) {
		msi_enable(1);
		edu_raise(raises, VEC_MSI);
		wait_host("paired");
		/* New data while enabled: QEMU updates the irqfd's route. */
		msi_program(VEC_MSI_NEW);
		edu_raise(raises, VEC_MSI_NEW);
		if (counts[VEC_MSI] != raises)
			finish(0, "an interrupt came on the old vector");
		wait_host("reprogrammed");
		msi_enable(0);
		wait_host("disabled");
	} else if (arg_is("case=", "reset")) {
		boot = cmos_read(CMOS_BOOTS) + 1;
		cmos_write(CMOS_BOOTS, boot);
		con_puts("l2: boot ");
		con_putn(boot, 10);
		con_putc('\n');
		msi_enable(1);
		edu_raise(raises, VEC_MSI);
		if (boot == 1) {
			wait_host("paired");
			/* Reset Control Register: bit 1 hard reset, bit 2 go. */
			pio_out8(RESET_CTRL, 0x02);
			pio_out8(RESET_CTRL, 0x06);
			for (;;)
				asm volatile("hlt" : : : "memory");
		}
		wait_host("paired-again");
		msi_enable(0);
		wait_host("disabled");
	} else {
		finish(0, "unknown case=");
	}
	finish(1, "");
}
