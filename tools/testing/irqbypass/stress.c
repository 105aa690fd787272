// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency under ThreadSanitizer: THREADS threads register and
 * unregister producers and consumers over shared and private tokens while a
 * resizer thread grows and shrinks the table, a reader shows the debugfs
 * files and the work queue runs on a thread of its own.  TSan must report
 * nothing, every connect must be matched by one disconnect, no token may
 * ever be connected twice, and the registry must be empty at the end.
 */
#include "shim/shim.h"
#include "harness.h"

#define THREADS		4
#define SHARED		4	/* tokens every thread competes for */
#define PRIVATE		16	/* tokens of one thread */
#define OPS		30000	/* per thread */

struct side {
	struct irq_bypass_producer prod;
	struct irq_bypass_consumer cons;
	bool prod_on, cons_on;
};

static struct side sides[THREADS][SHARED + PRIVATE];
static long pairs_of[SHARED + THREADS * PRIVATE];	/* connected, per token */
static long connects, disconnects, failures;
static bool stop;

static void *token(int t, int i)
{
	int n = i < SHARED ? i : SHARED + t * PRIVATE + (i - SHARED);

	return (void *)(0x60000000UL + 8UL * n);
}

static long *pairs(struct irq_bypass_producer *p)
{
	return &pairs_of[((uintptr_t)p->token - 0x60000000UL) / 8];
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "stress: %s\n", what);
		__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	}
}

static int add_producer(struct irq_bypass_consumer *c,
			struct irq_bypass_producer *p)
{
	check(c->token == p->token, "connected across tokens");
	check(__atomic_add_fetch(pairs(p), 1, __ATOMIC_RELAXED) == 1,
	      "a token connected twice");
	__atomic_add_fetch(&connects, 1, __ATOMIC_RELAXED);
	return 0;
}

static void del_producer(struct irq_bypass_consumer *c,
			 struct irq_bypass_producer *p)
{
	check(__atomic_sub_fetch(pairs(p), 1, __ATOMIC_RELAXED) == 0,
	      "a disconnect without a connect");
	__atomic_add_fetch(&disconnects, 1, __ATOMIC_RELAXED);
}

static void *churn(void *arg)
{
	int t = (int)(uintptr_t)arg, n;
	unsigned int seed = 17 + t;

	for (n = 0; n < SHARED + PRIVATE; n++) {
		struct side *s = &sides[t][n];

		s->prod.token = token(t, n);
		s->cons.token = token(t, n);
		s->cons.add_producer = add_producer;
		s->cons.del_producer = del_producer;
	}
	for (n = 0; n < OPS; n++) {
		struct side *s = &sides[t][rand_r(&seed) % (SHARED + PRIVATE)];
		int ret;

		if (rand_r(&seed) % 2) {
			if (s->prod_on) {
				irq_bypass_unregister_producer(&s->prod);
				s->prod_on = false;
			} else {
				ret = irq_bypass_register_producer(&s->prod);
				check(!ret || ret == -EBUSY, "register_producer");
				s->prod_on = !ret;
			}
		} else {
			if (s->cons_on) {
				irq_bypass_unregister_consumer(&s->cons);
				s->cons_on = false;
			} else {
				ret = irq_bypass_register_consumer(&s->cons);
				check(!ret || ret == -EBUSY, "register_consumer");
				s->cons_on = !ret;
			}
		}
	}
	for (n = 0; n < SHARED + PRIVATE; n++) {
		irq_bypass_unregister_producer(&sides[t][n].prod);
		irq_bypass_unregister_consumer(&sides[t][n].cons);
	}
	return NULL;
}

static void *resizer(void *arg)
{
	unsigned int i;

	for (i = 0; !READ_ONCE(stop); i++)
		check(!irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS + i % 4),
		      "resize");
	return NULL;
}

static void *reader(void *arg)
{
	static const char *const files[] = { "producers", "consumers", "stats" };
	unsigned int i;

	for (i = 0; !READ_ONCE(stop); i++)
		free(shim_debugfs_read(files[i % 3]));
	return NULL;
}

int main(void)
{
	pthread_t churners[THREADS], resize_thread, read_thread;
	long paired, n, resizes;
	int t;

	harness_init();
	shim_start_worker();
	pthread_create(&resize_thread, NULL, resizer, NULL);
	pthread_create(&read_thread, NULL, reader, NULL);
	for (t = 0; t < THREADS; t++)
		pthread_create(&churners[t], NULL, churn, (void *)(uintptr_t)t);
	for (t = 0; t < THREADS; t++)
		pthread_join(churners[t], NULL);
	WRITE_ONCE(stop, true);
	pthread_join(resize_thread, NULL);
	pthread_join(read_thread, NULL);
	shim_stop_worker();

	check(connects == disconnects, "connects and disconnects differ");
	check(connects > 0, "nothing ever connected");
	check(harness_stat("connects") == connects, "stats connects");
	check(harness_stat("disconnects") == disconnects, "stats disconnects");
	check(harness_stat("producers") == 0, "producers left");
	check(harness_stat("consumers") == 0, "consumers left");
	check(irqbypass_kunit_registered() == 0, "objects left");
	check(shim_module.refcnt == 0, "module references left");
	n = harness_lines("producers", "", &paired);
	check(n == 0, "debugfs lists producers");
	n = harness_lines("consumers", "", &paired);
	check(n == 0, "debugfs lists consumers");
	resizes = harness_stat("resizes");
	shim_module_exit();
	check(!shim_warnings, "warnings");
	printf("stress: %d threads x %d operations, %ld connects, %ld disconnects, ",
	       THREADS, OPS, connects, disconnects);
	printf("%ld resizes, %s\n", resizes, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
