// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deterministic checks of the front end of the API of Linux 6.17 and later
 * that the fuzzer's model does not cover: the per-stripe tables keep to 32
 * bytes a pair once the background resize has settled, a registration
 * allocates nothing in steady state, a stripe that fills up faster than
 * the resizer grows at once or fails with -ENOMEM leaving nothing
 * registered, long probes survive deletions, a callback that calls back
 * into the manager is refused, and a registered object is refused again.
 */
#include "shim/shim.h"
#include "harness.h"

#define NR		20000	/* pairs, at most */
#define NR_STRIPE	64	/* eventfds of one stripe */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct irq_bypass_producer prods[NR];
static struct irq_bypass_consumer conss[NR];
static long failures;

static struct eventfd_ctx *eventfd(int i)
{
	return (struct eventfd_ctx *)(0x40000000UL + 64UL * i);
}

static u32 hash32(const void *p)
{
	return hash_ptr(p, 32);
}

/* @n eventfds of one stripe, whose hashes agree in the bits of @mask. */
static void same_stripe(struct eventfd_ctx **e, int n, u32 mask)
{
	uintptr_t v = 0x50000000;
	u32 hash = hash32((void *)v);
	int i;

	mask |= ~0U << (32 - IRQBYPASS_LOCK_BITS);
	for (i = 0; i < n; v += 8)
		if (!((hash32((void *)v) ^ hash) & mask))
			e[i++] = (struct eventfd_ctx *)v;
}

static void register_pairs(int from, int to)
{
	int i;

	for (i = from; i < to; i++) {
		conss[i].add_producer = unit_add_producer;
		conss[i].del_producer = unit_del_producer;
		EXPECT(!irq_bypass_register_producer(&prods[i], eventfd(i), i));
		EXPECT(!irq_bypass_register_consumer(&conss[i], eventfd(i)));
	}
}

static void unregister_pairs(int from, int to)
{
	int i;

	for (i = from; i < to; i++) {
		irq_bypass_unregister_consumer(&conss[i]);
		irq_bypass_unregister_producer(&prods[i]);
	}
}

/* At most 32 bytes of table a pair once resized, at every size. */
static void test_memory(void)
{
	static const int sizes[] = { 300, 1000, 5000, NR };
	long bytes, allocs;
	unsigned int i;
	int n = 0;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		register_pairs(n, sizes[i]);
		n = sizes[i];
		shim_run_work();
		bytes = harness_stat("table_bytes");
		EXPECT(unit_connected == n);
		EXPECT(bytes <= 32L * n);
		EXPECT(n < 5000 || bytes > 0);
		printf("unit: %d pairs, %ld table bytes, %.1f a pair\n", n,
		       bytes, (double)bytes / n);

		/* Steady state: a registration allocates nothing. */
		allocs = shim_allocs;
		unregister_pairs(0, n / 10);
		register_pairs(0, n / 10);
		EXPECT(shim_allocs == allocs);
	}
	unregister_pairs(0, n);
	shim_run_work();
	EXPECT(!unit_connected);
	EXPECT(irqbypass_kunit_registered() == 0);
	EXPECT(harness_stat("table_bytes") == 0);
	EXPECT(harness_stat("slots") == 8L << IRQBYPASS_LOCK_BITS);
}

/*
 * A stripe at its largest table (2^(IRQBYPASS_MAX_BITS - IRQBYPASS_LOCK_BITS)
 * slots) and 3/4 full refuses one more with -ENOSPC, registering nothing.
 */
static void test_enospc(void)
{
	long full = (1L << (IRQBYPASS_MAX_BITS - IRQBYPASS_LOCK_BITS)) / 4 * 3;
	long producers = harness_stat("producers"), i;
	struct irq_bypass_producer *p = calloc(full + 1, sizeof(*p));
	struct eventfd_ctx **e = calloc(full + 1, sizeof(*e));

	if (!p || !e) {
		EXPECT(p && e);
		goto out;
	}
	same_stripe(e, full + 1, 0);
	for (i = 0; i < full; i++)
		EXPECT(!irq_bypass_register_producer(&p[i], e[i], 0));
	EXPECT(irq_bypass_register_producer(&p[full], e[full], 0) == -ENOSPC);
	EXPECT(!p[full].eventfd);
	EXPECT(harness_stat("producers") == producers + full);
	for (i = 0; i < full; i++)
		irq_bypass_unregister_producer(&p[i]);
	EXPECT(harness_stat("producers") == producers);
	shim_run_work();
out:
	free(p);
	free(e);
}

/*
 * Registrations that outrun the resizer: the stripe grows at once when
 * more than 3/4 full, or, if it cannot, the registration fails with
 * -ENOMEM and nothing is registered.  The resizer then shrinks it back.
 */
static void test_sync_grow(void)
{
	static struct eventfd_ctx *e[NR_STRIPE];
	long producers = harness_stat("producers"), allocs;
	int i, ret;

	same_stripe(e, NR_STRIPE, 0);
	for (i = 0; i < 6; i++)
		EXPECT(!irq_bypass_register_producer(&prods[i], e[i], i));
	EXPECT(irqbypass_kunit_slot_bits(e[0]) == 3);

	WRITE_ONCE(shim_fail_allocs, 1);
	prods[6].irq = -1;
	ret = irq_bypass_register_producer(&prods[6], e[6], 6);
	EXPECT(ret == -ENOMEM);
	EXPECT(!prods[6].eventfd && !prods[6].consumer && prods[6].irq == 6);
	EXPECT(harness_stat("producers") == producers + 6);
	conss[6].add_producer = unit_add_producer;
	conss[6].del_producer = unit_del_producer;
	WRITE_ONCE(shim_fail_allocs, 1);
	EXPECT(irq_bypass_register_consumer(&conss[6], e[6]) == -ENOMEM);
	EXPECT(!conss[6].eventfd);
	EXPECT(irqbypass_kunit_slot_bits(e[0]) == 3);

	allocs = shim_allocs;
	for (i = 6; i < NR_STRIPE; i++)
		EXPECT(!irq_bypass_register_producer(&prods[i], e[i], i));
	EXPECT(shim_allocs > allocs);
	EXPECT(irqbypass_kunit_slot_bits(e[0]) >= 7);
	EXPECT(harness_stat("producers") == producers + NR_STRIPE);

	/* Holes in the probes, then every survivor must still be found. */
	for (i = 0; i < NR_STRIPE; i += 3)
		irq_bypass_unregister_producer(&prods[i]);
	shim_run_work();
	for (i = 0; i < NR_STRIPE; i++) {
		irq_bypass_unregister_producer(&prods[i]);
		EXPECT(!prods[i].eventfd);
	}
	EXPECT(harness_stat("producers") == producers);
	shim_run_work();
	EXPECT(irqbypass_kunit_slot_bits(e[0]) == 3);
}

/* One home slot for them all: the longest probes, deleted out of order. */
static void test_backward_shift(void)
{
	static struct eventfd_ctx *e[12];
	int i, j;

	same_stripe(e, 12, 0xff);
	for (i = 0; i < 12; i++)
		EXPECT(!irq_bypass_register_producer(&prods[i], e[i], i));
	for (j = 0; j < 4; j++) {
		for (i = j; i < 12; i += 4) {
			irq_bypass_unregister_producer(&prods[i]);
			EXPECT(!prods[i].eventfd);
		}
		/* Those left are found: each refuses a second producer. */
		for (i = j + 1; i < 12; i++)
			if (i % 4 > j)
				EXPECT(irq_bypass_register_producer(&prods[NR - 1],
								    e[i], 0) ==
				       -EBUSY);
	}
	EXPECT(irqbypass_kunit_registered() == 0);
	EXPECT(!shim_warnings);
}

/* ---- re-entry from a callback ---- */

static struct irq_bypass_producer re_prod, re_other;
static struct irq_bypass_consumer re_cons;
static int re_ret = 1;

static int reenter_add(struct irq_bypass_consumer *c,
		       struct irq_bypass_producer *p)
{
	re_ret = irq_bypass_register_producer(&re_other, eventfd(NR + 1), 1);
	irq_bypass_unregister_producer(&re_prod);
	return 0;
}

static void test_reentry(void)
{
	re_cons.add_producer = reenter_add;
	re_cons.del_producer = unit_del_producer;
	EXPECT(!irq_bypass_register_producer(&re_prod, eventfd(NR + 1), 1));
	EXPECT(!irq_bypass_register_consumer(&re_cons, eventfd(NR + 1)));
	EXPECT(re_ret == -EDEADLK);
	EXPECT(!re_other.eventfd);
	EXPECT(re_prod.consumer == &re_cons && re_cons.producer == &re_prod);
	EXPECT(shim_warnings == 1);
	irq_bypass_unregister_producer(&re_prod);
	irq_bypass_unregister_consumer(&re_cons);
	EXPECT(irqbypass_kunit_registered() == 0);
}

/* Registering a registered object: -EINVAL and one warning, it stays. */
static void test_register_again(void)
{
	EXPECT(!irq_bypass_register_producer(&prods[0], eventfd(1), 5));
	EXPECT(irq_bypass_register_producer(&prods[0], eventfd(2), 9) ==
	       -EINVAL);
	EXPECT(prods[0].eventfd == eventfd(1) && prods[0].irq == 5);
	EXPECT(shim_warnings == 2);
	/* Unregistering one that claims an eventfd it is not under: a warning. */
	prods[1].eventfd = eventfd(1);
	irq_bypass_unregister_producer(&prods[1]);
	EXPECT(prods[0].eventfd == eventfd(1));
	EXPECT(harness_stat("producers") == 1);
	EXPECT(shim_warnings == 3);
	prods[1].eventfd = NULL;
	irq_bypass_unregister_producer(&prods[0]);
	EXPECT(irqbypass_kunit_registered() == 0);
}

int main(void)
{
	harness_init();
	test_memory();
	test_sync_grow();
	test_enospc();
	test_backward_shift();
	test_reentry();
	test_register_again();
	/* The re-entry, registered-again and impostor warnings were expected. */
	return unit_finish(failures, 3);
}
