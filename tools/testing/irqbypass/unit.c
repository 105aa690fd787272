// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deterministic checks that the fuzzer's model does not cover: the table
 * grows and shrinks with the number of registrations, survives failed
 * allocations and grows once memory is back, a callback that calls back
 * into the manager is refused instead of deadlocking, an object that is
 * registered again, under any token, is refused, and a failed connect is
 * recorded and warned about once.
 */
#include "shim/shim.h"
#include "harness.h"

/* More than four objects per bucket of the smallest table: it must grow. */
#define NR	1200

static struct irq_bypass_producer prods[NR + 64];
static struct irq_bypass_consumer conss[NR];
static long failures;

static void *token(int i)
{
	return (void *)(0x40000000UL + 64UL * i);
}

static void register_producers(int from, int to)
{
	int i;

	for (i = from; i < to; i++) {
		prods[i].token = token(i);
		EXPECT(!irq_bypass_register_producer(&prods[i]));
	}
}

static void unregister_producers(int from, int to)
{
	int i;

	for (i = from; i < to; i++)
		irq_bypass_unregister_producer(&prods[i]);
}

/* The table follows the number of registrations, and nothing is lost. */
static void test_grow_shrink(void)
{
	long resizes = harness_stat("resizes");
	int i;

	register_producers(0, NR);
	shim_run_work();
	EXPECT(irqbypass_kunit_table_bits() > IRQBYPASS_LOCK_BITS);
	EXPECT(harness_stat("resizes") > resizes);
	for (i = 0; i < NR; i++) {
		conss[i].token = token(i);
		conss[i].add_producer = unit_add_producer;
		conss[i].del_producer = unit_del_producer;
		EXPECT(!irq_bypass_register_consumer(&conss[i]));
	}
	EXPECT(unit_connected == NR);
	/* Force a few more sizes with everything paired. */
	EXPECT(!irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS + 3));
	EXPECT(!irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS));
	EXPECT(!irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS + 2));
	for (i = 0; i < NR; i++)
		irq_bypass_unregister_consumer(&conss[i]);
	EXPECT(unit_connected == 0);
	unregister_producers(0, NR);
	shim_run_work();
	EXPECT(irqbypass_kunit_table_bits() == IRQBYPASS_LOCK_BITS);
	EXPECT(irqbypass_kunit_registered() == 0);
}

/*
 * A failed allocation only keeps the table small: every registration
 * succeeds, stats count the failure, and the table grows after the back-off
 * once memory is back.
 */
static void test_alloc_failure(void)
{
	long failed = harness_stat("resize_failures"), bytes;

	WRITE_ONCE(shim_fail_skip, 1);	/* the bucket array, not the header */
	WRITE_ONCE(shim_fail_allocs, 1);
	register_producers(0, NR);
	shim_run_work();
	EXPECT(irqbypass_kunit_table_bits() == IRQBYPASS_LOCK_BITS);
	EXPECT(harness_stat("resize_failures") == failed + 1);
	EXPECT(harness_stat("table_bytes") == 0);	/* the static boot table */
	EXPECT(harness_stat("producers") == NR);
	EXPECT(irqbypass_kunit_registered() == NR);

	/* Within the back-off, no retry. */
	register_producers(NR, NR + 32);
	shim_run_work();
	EXPECT(irqbypass_kunit_table_bits() == IRQBYPASS_LOCK_BITS);

	/* After it, the next batch of registrations grows the table. */
	jiffies += HZ;
	register_producers(NR + 32, NR + 64);
	shim_run_work();
	EXPECT(irqbypass_kunit_table_bits() > IRQBYPASS_LOCK_BITS);
	EXPECT(harness_stat("resize_failures") == failed + 1);
	/* Two list heads a bucket, and the table's header. */
	bytes = (long)(2 * sizeof(struct list_head)) <<
		irqbypass_kunit_table_bits();
	EXPECT(harness_stat("table_bytes") > bytes);
	EXPECT(harness_stat("table_bytes") <= bytes + 64);

	unregister_producers(0, NR + 64);
	shim_run_work();
	EXPECT(irqbypass_kunit_registered() == 0);
	EXPECT(irqbypass_kunit_table_bits() == IRQBYPASS_LOCK_BITS);
	EXPECT(harness_stat("table_bytes") == 0);
}

/* ---- re-entry from a callback ---- */

static struct irq_bypass_producer re_prod, re_other;
static struct irq_bypass_consumer re_cons;
static int re_ret = 1;

/* Register a producer under the same lock from inside add_producer. */
static int reenter_add(struct irq_bypass_consumer *c,
		       struct irq_bypass_producer *p)
{
	re_ret = irq_bypass_register_producer(&re_other);
	/* And unregister ourselves: must be a no-op. */
	irq_bypass_unregister_consumer(c);
	irq_bypass_unregister_producer(p);
	return 0;
}

static void reenter_del(struct irq_bypass_consumer *c,
			struct irq_bypass_producer *p)
{
	re_ret = irq_bypass_register_consumer(c);
}

static void test_reentry(void)
{
	long warnings = shim_warnings;
	uintptr_t v = 0x50000000;
	unsigned long stripe;

	/* Two tokens under one lock. */
	re_prod.token = (void *)v;
	stripe = irqbypass_kunit_bucket(re_prod.token, IRQBYPASS_LOCK_BITS);
	for (v += 8; irqbypass_kunit_bucket((void *)v, IRQBYPASS_LOCK_BITS) !=
	     stripe; v += 8)
		;
	re_other.token = (void *)v;
	re_cons.token = re_prod.token;
	re_cons.add_producer = reenter_add;
	re_cons.del_producer = reenter_del;

	EXPECT(!irq_bypass_register_producer(&re_prod));
	EXPECT(!irq_bypass_register_consumer(&re_cons));
	EXPECT(re_ret == -EDEADLK);
	EXPECT(shim_warnings == warnings + 1);
	EXPECT(irqbypass_kunit_registered() == 2);
	EXPECT(READ_ONCE(shim_module.refcnt) == 0);

	/* Again from del_producer: refused, and no second warning. */
	re_ret = 1;
	irq_bypass_unregister_consumer(&re_cons);
	EXPECT(re_ret == -EDEADLK);
	EXPECT(shim_warnings == warnings + 1);
	EXPECT(irqbypass_kunit_registered() == 1);

	/* Outside a callback, the same calls work. */
	EXPECT(!irq_bypass_register_producer(&re_other));
	irq_bypass_unregister_producer(&re_other);
	irq_bypass_unregister_producer(&re_prod);
	EXPECT(irqbypass_kunit_registered() == 0);
	EXPECT(READ_ONCE(shim_module.refcnt) == 0);
}

/* ---- registering a registered object again ---- */

/*
 * Registered under one token and registered again under another: refused
 * with -EBUSY and one warning, whatever the tokens and the table size, and
 * the registration goes on untouched.  Garbage in a node that was never
 * registered is not taken for a registration.
 */
static void test_register_again(void)
{
	struct irq_bypass_producer *p = &prods[0], *p2 = &prods[1];
	struct irq_bypass_consumer *c = &conss[0], *c2 = &conss[1];
	long warnings = shim_warnings, busy = harness_stat("busy");
	unsigned int bits;

	memset(prods, 0, 2 * sizeof(*prods));
	memset(conss, 0, 2 * sizeof(*conss));
	p->token = token(1);
	c->token = token(1);
	p2->token = token(2);
	c2->token = token(2);
	c->add_producer = unit_add_producer;
	c->del_producer = unit_del_producer;
	c2->add_producer = unit_add_producer;
	c2->del_producer = unit_del_producer;
	EXPECT(!irq_bypass_register_producer(p));
	EXPECT(!irq_bypass_register_consumer(c));
	EXPECT(!irq_bypass_register_consumer(c2));
	EXPECT(unit_connected == 1);

	for (bits = IRQBYPASS_LOCK_BITS; bits < IRQBYPASS_LOCK_BITS + 3; bits++) {
		EXPECT(!irqbypass_kunit_resize(bits));
		p->token = token(2);
		EXPECT(irq_bypass_register_producer(p) == -EBUSY);
		p->token = token(1);
		EXPECT(irq_bypass_register_producer(p) == -EBUSY);
		c->token = token(2);
		EXPECT(irq_bypass_register_consumer(c) == -EBUSY);
		c->token = token(1);
		EXPECT(unit_connected == 1);
		EXPECT(irqbypass_kunit_registered() == 3);
	}
	EXPECT(shim_warnings == warnings + 1);
	EXPECT(harness_stat("busy") == busy + 9);

	/* Both tokens still pair their own partners. */
	EXPECT(!irq_bypass_register_producer(p2));
	EXPECT(unit_connected == 2);
	/* One unregister removes it for good. */
	irq_bypass_unregister_producer(p);
	EXPECT(unit_connected == 1);
	EXPECT(!irq_bypass_register_producer(p));
	EXPECT(unit_connected == 2);
	irq_bypass_unregister_producer(p);
	irq_bypass_unregister_producer(p2);
	irq_bypass_unregister_consumer(c);
	irq_bypass_unregister_consumer(c2);
	EXPECT(unit_connected == 0);

	/*
	 * A node of garbage, wild or pointing at memory that does not point
	 * back, or empty.
	 */
	memset(&p->node, 0x6b, sizeof(p->node));
	EXPECT(!irq_bypass_register_producer(p));
	irq_bypass_unregister_producer(p);
	p->node.next = &p2->node;
	p->node.prev = &c2->node;
	EXPECT(!irq_bypass_register_producer(p));
	irq_bypass_unregister_producer(p);
	INIT_LIST_HEAD(&p->node);
	EXPECT(!irq_bypass_register_producer(p));
	irq_bypass_unregister_producer(p);
	EXPECT(shim_warnings == warnings + 1);
	EXPECT(irqbypass_kunit_registered() == 0);
	shim_run_work();
}

/* ---- connect failures, as debugfs irqbypass/failures shows them ---- */

static int fail_ret;

static int fail_add_producer(struct irq_bypass_consumer *c,
			     struct irq_bypass_producer *p)
{
	return fail_ret ? fail_ret : unit_add_producer(c, p);
}

/* The lines of debugfs irqbypass/failures that contain @what. */
static int failure_lines(const char *what)
{
	char *text = shim_debugfs_read("failures"), *line;
	int n = 0;

	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		n += !!strstr(line, what);
	free(text);
	return n;
}

/*
 * A failed connect is recorded once per token, with the producer's irq,
 * the error and a count, and warns once; the record goes when the token
 * connects or the consumer that failed is unregistered, and the oldest of
 * a stripe makes room for a newer one.
 */
static void test_failures(void)
{
	struct irq_bypass_producer *p = &prods[0];
	struct irq_bypass_consumer *c = &conss[0];
	long logs = shim_logs;
	uintptr_t v = 0x60000000;
	unsigned long stripe;
	char want[64];
	int i;

	memset(prods, 0, 3 * sizeof(*prods));
	memset(conss, 0, 3 * sizeof(*conss));
	p->token = (void *)v;
	p->irq = 33;
	c->token = p->token;
	c->add_producer = fail_add_producer;
	c->del_producer = unit_del_producer;
	fail_ret = -EINVAL;
	EXPECT(!irq_bypass_register_producer(p));
	EXPECT(irq_bypass_register_consumer(c) == -EINVAL);
	EXPECT(failure_lines("irq=33 ") == 1);
	EXPECT(failure_lines("errno=22 ") == 1);
	EXPECT(failure_lines("failures=1 ") == 1);
	EXPECT(shim_logs == logs + 1);
	EXPECT(strstr(shim_last_log, "irq 33:"));

	/* Again: counted, not logged. */
	EXPECT(irq_bypass_register_consumer(c) == -EINVAL);
	EXPECT(failure_lines("failures=2 ") == 1);
	EXPECT(shim_logs == logs + 1);

	/* KVM unregisters the consumer it could not connect: forgotten. */
	irq_bypass_unregister_consumer(c);
	EXPECT(failure_lines("irq=") == 0);
	EXPECT(irq_bypass_register_consumer(c) == -EINVAL);
	EXPECT(shim_logs == logs + 2);

	/* Connected: forgotten, and one pair. */
	fail_ret = 0;
	EXPECT(!irq_bypass_register_consumer(c));
	EXPECT(failure_lines("irq=") == 0);
	EXPECT(harness_stat("pairs") == 1);
	irq_bypass_unregister_consumer(c);
	irq_bypass_unregister_producer(p);
	EXPECT(harness_stat("pairs") == 0);

	/* Three tokens of one stripe: the first, the oldest, goes. */
	fail_ret = -ENODEV;
	stripe = irqbypass_kunit_bucket((void *)v, IRQBYPASS_LOCK_BITS);
	for (i = 0; i < 3; i++, v += 8) {
		while (irqbypass_kunit_bucket((void *)v, IRQBYPASS_LOCK_BITS) !=
		       stripe)
			v += 8;
		prods[i].token = (void *)v;
		prods[i].irq = 40 + i;
		conss[i].token = (void *)v;
		conss[i].add_producer = fail_add_producer;
		conss[i].del_producer = unit_del_producer;
		EXPECT(!irq_bypass_register_producer(&prods[i]));
		EXPECT(irq_bypass_register_consumer(&conss[i]) == -ENODEV);
		jiffies += HZ;
	}
	EXPECT(failure_lines("irq=40 ") == 0);
	for (i = 1; i < 3; i++) {
		snprintf(want, sizeof(want), "irq=%d error=", 40 + i);
		EXPECT(failure_lines(want) == 1);
	}
	EXPECT(failure_lines("age=1s") == 1);
	EXPECT(failure_lines("age=2s") == 1);
	for (i = 0; i < 3; i++) {
		irq_bypass_unregister_consumer(&conss[i]);
		irq_bypass_unregister_producer(&prods[i]);
	}
	EXPECT(failure_lines("irq=") == 0);
	EXPECT(irqbypass_kunit_registered() == 0);
	fail_ret = 0;
}

int main(void)
{
	harness_init();
	test_grow_shrink();
	test_alloc_failure();
	test_reentry();
	test_register_again();
	test_failures();
	/* The re-entry and the registered-again warnings were expected. */
	return unit_finish(failures, 2);
}
