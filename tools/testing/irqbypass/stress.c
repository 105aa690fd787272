// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency under ThreadSanitizer: THREADS threads register and
 * unregister producers and consumers over shared and private tokens while a
 * resizer thread grows and shrinks the table, a reader shows the debugfs
 * files and the work queue runs on a thread of its own.  TSan must report
 * nothing, every connect must be matched by one disconnect, no token may
 * ever be connected twice, and the registry must be empty at the end.
 *
 * Built with IRQBYPASS_EVENTFD_API, for the front end of the API of Linux
 * 6.17 and later, the tokens are eventfds of two stripes, whose tables the
 * work queue's thread grows and shrinks (registrations grow them at once
 * when it lags), and the partner pointers must be clear during a connect
 * and set during a disconnect.
 */
#include "shim/shim.h"
#include "harness.h"

#define THREADS		4
#define SHARED		4	/* tokens every thread competes for */
#ifdef IRQBYPASS_EVENTFD_API
#define PRIVATE		48	/* tokens of one thread */
#else
#define PRIVATE		16
#endif
#define NR_TOKENS	(SHARED + THREADS * PRIVATE)
#define OPS		30000	/* per thread */

struct side {
	struct irq_bypass_producer prod;
	struct irq_bypass_consumer cons;
	int n;			/* its token's index */
	bool prod_on, cons_on;
};

static struct side sides[THREADS][SHARED + PRIVATE];
static long pairs_of[NR_TOKENS];	/* connected, per token */
static long connects, disconnects, failures;
static bool stop;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "stress: %s\n", what);
		__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	}
}

static int index_of(int t, int i)
{
	return i < SHARED ? i : SHARED + t * PRIVATE + (i - SHARED);
}

#ifdef IRQBYPASS_EVENTFD_API
static struct eventfd_ctx *eventfds[NR_TOKENS];

static void *token(int n)
{
	return eventfds[n];
}

/* The eventfds: in two stripes, so that their tables grow and shrink. */
static void find_tokens(void)
{
	u32 top = ~0U << (32 - IRQBYPASS_LOCK_BITS), hash0 = 0, hash;
	uintptr_t v = 0x60000000UL;
	int n = 0;

	for (; n < NR_TOKENS; v += 8) {
		hash = hash_ptr((void *)v, 32) & top;
		if (!n)
			hash0 = hash;
		if (hash == hash0 || hash == (hash0 ^ top))
			eventfds[n++] = (struct eventfd_ctx *)v;
	}
}

static void check_connect(struct irq_bypass_consumer *c,
			  struct irq_bypass_producer *p, void *tok)
{
	check(!p->consumer && !c->producer, "partners set during a connect");
	check(c->eventfd == tok || p->eventfd == tok,
	      "connected across tokens");
}

static void check_disconnect(struct irq_bypass_consumer *c,
			     struct irq_bypass_producer *p)
{
	check(p->consumer == c && c->producer == p,
	      "partners clear during a disconnect");
}
#else
static void *token(int n)
{
	return (void *)(0x60000000UL + 8UL * n);
}

static void find_tokens(void)
{
}

static void check_connect(struct irq_bypass_consumer *c,
			  struct irq_bypass_producer *p, void *tok)
{
	check(c->token == p->token, "connected across tokens");
}

static void check_disconnect(struct irq_bypass_consumer *c,
			     struct irq_bypass_producer *p)
{
}
#endif

/* A consumer connects only to producers of its own side's token. */
static long *pairs(struct irq_bypass_consumer *c)
{
	return &pairs_of[container_of(c, struct side, cons)->n];
}

static int add_producer(struct irq_bypass_consumer *c,
			struct irq_bypass_producer *p)
{
	check_connect(c, p, token(container_of(c, struct side, cons)->n));
	check(__atomic_add_fetch(pairs(c), 1, __ATOMIC_RELAXED) == 1,
	      "a token connected twice");
	__atomic_add_fetch(&connects, 1, __ATOMIC_RELAXED);
	return 0;
}

static void del_producer(struct irq_bypass_consumer *c,
			 struct irq_bypass_producer *p)
{
	check_disconnect(c, p);
	check(__atomic_sub_fetch(pairs(c), 1, __ATOMIC_RELAXED) == 0,
	      "a disconnect without a connect");
	__atomic_add_fetch(&disconnects, 1, __ATOMIC_RELAXED);
}

static void *churn(void *arg)
{
	int t = (int)(uintptr_t)arg, n;
	unsigned int seed = 17 + t;

	for (n = 0; n < SHARED + PRIVATE; n++) {
		struct side *s = &sides[t][n];

		s->n = index_of(t, n);
#ifndef IRQBYPASS_EVENTFD_API
		s->prod.token = token(s->n);
		s->cons.token = token(s->n);
#endif
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
#ifdef IRQBYPASS_EVENTFD_API
				ret = irq_bypass_register_producer(&s->prod,
								   token(s->n),
								   s->n);
				check(s->prod.irq == s->n, "irq");
#else
				ret = irq_bypass_register_producer(&s->prod);
#endif
				check(!ret || ret == -EBUSY, "register_producer");
				s->prod_on = !ret;
			}
		} else {
			if (s->cons_on) {
				irq_bypass_unregister_consumer(&s->cons);
				s->cons_on = false;
			} else {
#ifdef IRQBYPASS_EVENTFD_API
				ret = irq_bypass_register_consumer(&s->cons,
								   token(s->n));
#else
				ret = irq_bypass_register_consumer(&s->cons);
#endif
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

/* The work queue's thread resizes the later API's stripes. */
static void *resizer(void *arg)
{
#ifndef IRQBYPASS_EVENTFD_API
	unsigned int i;

	for (i = 0; !READ_ONCE(stop); i++)
		check(!irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS + i % 4),
		      "resize");
#endif
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
	find_tokens();
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
	check(resizes > 0, "no resize");
	shim_module_exit();
	check(!shim_warnings, "warnings");
	printf("stress: %d threads x %d operations, %ld connects, %ld disconnects, ",
	       THREADS, OPS, connects, disconnects);
	printf("%ld resizes, %s\n", resizes, failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
