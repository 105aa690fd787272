// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for the IRQ bypass manager
 *
 * irqbypass:          the registration and pairing contract, misuse included
 * irqbypass_registry: what the hashed, resizable registry could get wrong
 * irqbypass_stress:   many pairs and concurrent churn
 *
 * Producers and consumers here are test doubles that log every callback,
 * so each case asserts on the exact sequence of callbacks it caused.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include <linux/hardirq.h>
#include <linux/irqbypass.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../irqbypass_internal.h"

#define LOG_MAX 32

/* What a callback did, as logged by the doubles below. */
enum event {
	P_STOP = 1,
	C_STOP,
	P_ADD,
	C_ADD,
	P_DEL,
	C_DEL,
	C_START,
	P_START,
};

struct cb_log {
	int n;
	enum event ev[LOG_MAX];
};

struct tprod {
	struct irq_bypass_producer p;
	struct cb_log *log;
	int add_ret;			/* what add_consumer returns */
	int adds, dels;
	struct irq_bypass_consumer *peer;
};

struct tcons {
	struct irq_bypass_consumer c;
	struct cb_log *log;
	int add_ret;			/* what add_producer returns */
	int adds, dels;
	struct irq_bypass_producer *peer;
};

static void log_event(struct cb_log *log, enum event ev)
{
	/* Callbacks run in process context and may sleep. */
	WARN_ON(in_interrupt() || irqs_disabled());
	if (log && log->n < LOG_MAX)
		log->ev[log->n++] = ev;
}

static struct tprod *to_tprod(struct irq_bypass_producer *p)
{
	return container_of(p, struct tprod, p);
}

static struct tcons *to_tcons(struct irq_bypass_consumer *c)
{
	return container_of(c, struct tcons, c);
}

static int tprod_add(struct irq_bypass_producer *p,
		     struct irq_bypass_consumer *c)
{
	struct tprod *tp = to_tprod(p);

	log_event(tp->log, P_ADD);
	if (tp->add_ret)
		return tp->add_ret;
	tp->adds++;
	tp->peer = c;
	return 0;
}

static void tprod_del(struct irq_bypass_producer *p,
		      struct irq_bypass_consumer *c)
{
	struct tprod *tp = to_tprod(p);

	log_event(tp->log, P_DEL);
	tp->dels++;
	tp->peer = NULL;
}

static void tprod_stop(struct irq_bypass_producer *p)
{
	log_event(to_tprod(p)->log, P_STOP);
}

static void tprod_start(struct irq_bypass_producer *p)
{
	log_event(to_tprod(p)->log, P_START);
}

static int tcons_add(struct irq_bypass_consumer *c,
		     struct irq_bypass_producer *p)
{
	struct tcons *tc = to_tcons(c);

	log_event(tc->log, C_ADD);
	if (tc->add_ret)
		return tc->add_ret;
	tc->adds++;
	tc->peer = p;
	return 0;
}

static void tcons_del(struct irq_bypass_consumer *c,
		      struct irq_bypass_producer *p)
{
	struct tcons *tc = to_tcons(c);

	log_event(tc->log, C_DEL);
	tc->dels++;
	tc->peer = NULL;
}

static void tcons_stop(struct irq_bypass_consumer *c)
{
	log_event(to_tcons(c)->log, C_STOP);
}

static void tcons_start(struct irq_bypass_consumer *c)
{
	log_event(to_tcons(c)->log, C_START);
}

static void tprod_init(struct tprod *tp, void *token, int irq,
		       struct cb_log *log)
{
	memset(tp, 0, sizeof(*tp));
	tp->p.token = token;
	tp->p.irq = irq;
	tp->p.add_consumer = tprod_add;
	tp->p.del_consumer = tprod_del;
	tp->p.stop = tprod_stop;
	tp->p.start = tprod_start;
	tp->log = log;
}

static void tcons_init(struct tcons *tc, void *token, struct cb_log *log)
{
	memset(tc, 0, sizeof(*tc));
	tc->c.token = token;
	tc->c.add_producer = tcons_add;
	tc->c.del_producer = tcons_del;
	tc->c.stop = tcons_stop;
	tc->c.start = tcons_start;
	tc->log = log;
}

/* Per-case fixture: two tokens, a log, and one of each double per token. */
struct fixture {
	char tokens[2];
	struct cb_log log;
	struct tprod prod, prod2;
	struct tcons cons, cons2;
	long registered;
};

static int irqbypass_test_init(struct kunit *test)
{
	struct fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	irqbypass_kunit_flush();
	f->registered = irqbypass_kunit_registered();
	tprod_init(&f->prod, &f->tokens[0], 42, &f->log);
	tprod_init(&f->prod2, &f->tokens[0], 43, &f->log);
	tcons_init(&f->cons, &f->tokens[0], &f->log);
	tcons_init(&f->cons2, &f->tokens[0], &f->log);
	test->priv = f;
	return 0;
}

static void irqbypass_test_exit(struct kunit *test)
{
	struct fixture *f = test->priv;

	/* Whatever a case left behind must not outlive its memory. */
	irq_bypass_unregister_producer(&f->prod.p);
	irq_bypass_unregister_producer(&f->prod2.p);
	irq_bypass_unregister_consumer(&f->cons.c);
	irq_bypass_unregister_consumer(&f->cons2.c);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
}

#define EXPECT_LOG(test, log, ...) do {					\
	static const enum event want[] = { __VA_ARGS__ };		\
	expect_log(test, log, want, ARRAY_SIZE(want));			\
} while (0)

static void expect_log(struct kunit *test, struct cb_log *log,
		       const enum event *want, int n)
{
	KUNIT_EXPECT_EQ(test, log->n, n);
	if (log->n == n)
		KUNIT_EXPECT_MEMEQ(test, log->ev, want, n * sizeof(*want));
	log->n = 0;
}

static void expect_no_callbacks(struct kunit *test, struct cb_log *log)
{
	KUNIT_EXPECT_EQ(test, log->n, 0);
	log->n = 0;
}

static void expect_paired(struct kunit *test, struct tprod *tp,
			  struct tcons *tc)
{
	KUNIT_EXPECT_PTR_EQ(test, tp->peer, &tc->c);
	KUNIT_EXPECT_PTR_EQ(test, tc->peer, &tp->p);
}

/* Register a producer and a consumer with one token and check they pair. */
static void pair_up(struct kunit *test, struct tprod *tp, struct tcons *tc)
{
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&tp->p), 0);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&tc->c), 0);
	expect_paired(test, tp, tc);
	tp->log->n = 0;
}

/* ---- irqbypass: argument checks ---- */

static void register_producer_null_token(struct kunit *test)
{
	struct fixture *f = test->priv;

	f->prod.p.token = NULL;
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod.p),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
	expect_no_callbacks(test, &f->log);
}

static void register_consumer_null_token(struct kunit *test)
{
	struct fixture *f = test->priv;

	f->cons.c.token = NULL;
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
	expect_no_callbacks(test, &f->log);
}

static const char * const missing_names[] = { "add_producer", "del_producer",
					       "both" };

static void missing_desc(const char *const *name, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "no %s", *name);
}

KUNIT_ARRAY_PARAM(missing, missing_names, missing_desc);

static void register_consumer_missing_callback(struct kunit *test)
{
	const char *const *which = test->param_value;
	struct fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p), 0);
	if (which != &missing_names[1])
		f->cons.c.add_producer = NULL;
	if (which != &missing_names[0])
		f->cons.c.del_producer = NULL;
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);
	expect_no_callbacks(test, &f->log);
}

static void register_null_object(struct kunit *test)
{
	struct fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(NULL), -EINVAL);
	irq_bypass_unregister_producer(NULL);
	irq_bypass_unregister_consumer(NULL);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
}

/* ---- irqbypass: 1:1 pairing ---- */

static void register_producer_duplicate_token(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 2);
}

static void register_consumer_duplicate_token(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 2);
}

static void register_duplicate_unpaired(struct kunit *test)
{
	struct fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p), 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p),
			-EBUSY);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons.c), 0);
	expect_paired(test, &f->prod, &f->cons);
	KUNIT_EXPECT_PTR_EQ(test, f->prod2.peer, NULL);
}

static void register_producer_twice(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod.p),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, f->prod.adds, 1);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 2);

	/* Still registered once: one unregister disconnects it for good. */
	irq_bypass_unregister_producer(&f->prod.p);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);
}

static void register_consumer_twice(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, f->cons.adds, 1);

	irq_bypass_unregister_consumer(&f->cons.c);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);
}

/*
 * A registered object registered again under another token, as a caller
 * that re-aims it without unregistering it first would: refused with -EBUSY
 * (and one warning, which kunit.sh checks names the caller), no callback,
 * and nothing changes.  Each token still pairs its own partners, and one
 * unregister removes the object for good.  Without the check the object
 * would be linked into a second bucket while still in the first.
 */
static void register_producer_other_token(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	f->cons2.c.token = &f->tokens[1];
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons2.c), 0);
	f->prod.p.token = &f->tokens[1];
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod.p),
			-EBUSY);
	f->prod.p.token = &f->tokens[0];
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);
	KUNIT_EXPECT_PTR_EQ(test, f->cons2.peer, NULL);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 3);

	f->prod2.p.token = &f->tokens[1];
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod2.p), 0);
	expect_paired(test, &f->prod2, &f->cons2);
	expect_paired(test, &f->prod, &f->cons);

	irq_bypass_unregister_producer(&f->prod.p);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.peer, NULL);
	expect_paired(test, &f->prod2, &f->cons2);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 3);
	f->log.n = 0;
	irq_bypass_unregister_producer(&f->prod.p);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
}

static void register_consumer_other_token(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	f->prod2.p.token = &f->tokens[1];
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod2.p), 0);
	f->cons.c.token = &f->tokens[1];
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c),
			-EBUSY);
	f->cons.c.token = &f->tokens[0];
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);
	KUNIT_EXPECT_PTR_EQ(test, f->prod2.peer, NULL);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 3);

	f->cons2.c.token = &f->tokens[1];
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons2.c), 0);
	expect_paired(test, &f->prod2, &f->cons2);
	expect_paired(test, &f->prod, &f->cons);

	irq_bypass_unregister_consumer(&f->cons.c);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.peer, NULL);
	expect_paired(test, &f->prod2, &f->cons2);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 3);
	f->log.n = 0;
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
}

static void register_different_tokens_no_pair(struct kunit *test)
{
	struct fixture *f = test->priv;

	f->cons.c.token = &f->tokens[1];
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p), 0);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons.c), 0);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.peer, NULL);
	irq_bypass_unregister_producer(&f->prod.p);
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
}

/* ---- irqbypass: connect ---- */

static const bool producer_first_values[] = { true, false };

static void order_desc(const bool *producer_first, char *desc)
{
	strscpy(desc, *producer_first ? "producer first" : "consumer first",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(order, producer_first_values, order_desc);

/* Register the pair in the order the parameter asks; return the second's result. */
static int register_in_order(struct kunit *test, bool producer_first,
			     struct tprod *tp, struct tcons *tc)
{
	if (producer_first) {
		KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&tp->p), 0);
		return irq_bypass_register_consumer(&tc->c);
	}
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&tc->c), 0);
	return irq_bypass_register_producer(&tp->p);
}

static void connect_callback_order(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, register_in_order(test, *producer_first,
						&f->prod, &f->cons), 0);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_ADD, C_START,
		   P_START);
	expect_paired(test, &f->prod, &f->cons);
}

static void connect_optional_callbacks_absent(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;

	f->prod.p.add_consumer = NULL;
	f->prod.p.del_consumer = NULL;
	f->prod.p.stop = NULL;
	f->prod.p.start = NULL;
	f->cons.c.stop = NULL;
	f->cons.c.start = NULL;

	KUNIT_EXPECT_EQ(test, register_in_order(test, *producer_first,
						&f->prod, &f->cons), 0);
	EXPECT_LOG(test, &f->log, C_ADD);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.peer, &f->prod.p);

	irq_bypass_unregister_producer(&f->prod.p);
	EXPECT_LOG(test, &f->log, C_DEL);
}

struct fail_case {
	const char *name;
	bool producer_fails;	/* else the consumer's add fails */
	bool producer_first;
	int err;
};

static const struct fail_case fail_cases[] = {
	{ "add_consumer fails, producer first", true, true, -ENOSPC },
	{ "add_consumer fails, consumer first", true, false, -EIO },
	{ "add_producer fails, producer first", false, true, -EINVAL },
	{ "add_producer fails, consumer first", false, false, -ENOMEM },
};

static void fail_case_desc(const struct fail_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fail, fail_cases, fail_case_desc);

static void connect_failure(struct kunit *test)
{
	const struct fail_case *c = test->param_value;
	struct fixture *f = test->priv;

	if (c->producer_fails)
		f->prod.add_ret = c->err;
	else
		f->cons.add_ret = c->err;

	KUNIT_EXPECT_EQ(test, register_in_order(test, c->producer_first,
						&f->prod, &f->cons), c->err);
	/* Both sides are restarted whatever failed; the failing add is undone. */
	if (c->producer_fails)
		EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_START,
			   P_START);
	else
		EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_ADD, P_DEL,
			   C_START, P_START);
	KUNIT_EXPECT_EQ(test, f->prod.adds, f->prod.dels);
	KUNIT_EXPECT_EQ(test, f->cons.adds, 0);

	/* Only the partner that was there first is registered. */
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);

	/* ... and it pairs with a later, good registration. */
	if (c->producer_first) {
		f->prod.add_ret = 0;
		f->cons2.c.token = f->prod.p.token;
		KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c),
				0);
		expect_paired(test, &f->prod, &f->cons2);
	} else {
		f->cons.add_ret = 0;
		KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p),
				0);
		expect_paired(test, &f->prod2, &f->cons);
	}
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_ADD, C_START,
		   P_START);
}

static void connect_failure_unregister_is_noop(struct kunit *test)
{
	struct fixture *f = test->priv;

	f->cons.add_ret = -EBUSY;
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p), 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c), -EBUSY);
	f->log.n = 0;

	/* The failed consumer is not registered: unregistering it does nothing. */
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);
}

/* ---- irqbypass: disconnect ---- */

static void disconnect_callback_order(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	if (*producer_first)
		irq_bypass_unregister_producer(&f->prod.p);
	else
		irq_bypass_unregister_consumer(&f->cons.c);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, C_DEL, P_DEL, C_START,
		   P_START);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);

	/* The other side is now alone: unregistering it calls nothing. */
	if (*producer_first)
		irq_bypass_unregister_consumer(&f->cons.c);
	else
		irq_bypass_unregister_producer(&f->prod.p);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
}

static void disconnect_then_repair(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	irq_bypass_unregister_consumer(&f->cons.c);
	f->log.n = 0;
	/* The producer stays registered and pairs with the next consumer. */
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c), 0);
	expect_paired(test, &f->prod, &f->cons2);
	KUNIT_EXPECT_EQ(test, f->prod.adds, 2);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
}

/* ---- irqbypass: unregister by identity ---- */

static void unregister_never_registered(struct kunit *test)
{
	struct fixture *f = test->priv;

	irq_bypass_unregister_producer(&f->prod.p);
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
}

static void unregister_twice(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	irq_bypass_unregister_producer(&f->prod.p);
	f->log.n = 0;
	irq_bypass_unregister_producer(&f->prod.p);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
	irq_bypass_unregister_consumer(&f->cons.c);
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
}

static void unregister_zeroed(struct kunit *test)
{
	struct irq_bypass_producer zp = { };
	struct irq_bypass_consumer zc = { };
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	irq_bypass_unregister_producer(&zp);
	irq_bypass_unregister_consumer(&zc);
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 2);
}

static void unregister_impostor_producer(struct kunit *test)
{
	struct fixture *f = test->priv;

	/* prod2 carries the live pair's token but was never registered. */
	pair_up(test, &f->prod, &f->cons);
	memset(&f->prod2.p.node, 0x6b, sizeof(f->prod2.p.node));
	irq_bypass_unregister_producer(&f->prod2.p);
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);

	/* The real one still disconnects, exactly once. */
	irq_bypass_unregister_producer(&f->prod.p);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, C_DEL, P_DEL, C_START,
		   P_START);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);
}

static void unregister_impostor_consumer(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons);
	memset(&f->cons2.c.node, 0x6b, sizeof(f->cons2.c.node));
	irq_bypass_unregister_consumer(&f->cons2.c);
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons);

	irq_bypass_unregister_consumer(&f->cons.c);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, C_DEL, P_DEL, C_START,
		   P_START);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered + 1);
}

/* ---- irqbypass: lifetime ---- */

static void reregister_after_unregister(struct kunit *test)
{
	struct fixture *f = test->priv;
	int i;

	for (i = 0; i < 3; i++) {
		pair_up(test, &f->prod, &f->cons);
		irq_bypass_unregister_consumer(&f->cons.c);
		irq_bypass_unregister_producer(&f->prod.p);
	}
	KUNIT_EXPECT_EQ(test, f->prod.adds, 3);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 3);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), f->registered);
}

static void token_reuse_after_free(struct kunit *test)
{
	struct fixture *f = test->priv;
	void *token = kmalloc(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, token);
	f->prod.p.token = token;
	f->cons.c.token = token;
	pair_up(test, &f->prod, &f->cons);
	irq_bypass_unregister_producer(&f->prod.p);
	irq_bypass_unregister_consumer(&f->cons.c);
	kfree(token);

	/* Other objects may now carry the same pointer as their token. */
	f->prod2.p.token = token;
	f->cons2.c.token = token;
	pair_up(test, &f->prod2, &f->cons2);
	KUNIT_EXPECT_EQ(test, f->prod.adds, 1);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
	irq_bypass_unregister_producer(&f->prod2.p);
	irq_bypass_unregister_consumer(&f->cons2.c);
}

struct sleepy {
	struct tcons tc;
	bool slept;
};

static void sleepy_stop(struct irq_bypass_consumer *c)
{
	struct sleepy *s = container_of(c, struct sleepy, tc.c);

	might_sleep();
	usleep_range(100, 200);
	s->slept = !in_interrupt() && !irqs_disabled();
}

static void callbacks_may_sleep(struct kunit *test)
{
	struct fixture *f = test->priv;
	struct sleepy *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, s);
	tcons_init(&s->tc, f->prod.p.token, NULL);
	s->tc.c.stop = sleepy_stop;
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p), 0);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&s->tc.c), 0);
	KUNIT_EXPECT_TRUE(test, s->slept);
	s->slept = false;
	irq_bypass_unregister_consumer(&s->tc.c);
	KUNIT_EXPECT_TRUE(test, s->slept);
}

static struct kunit_case irqbypass_cases[] = {
	KUNIT_CASE(register_producer_null_token),
	KUNIT_CASE(register_consumer_null_token),
	KUNIT_CASE_PARAM(register_consumer_missing_callback, missing_gen_params),
	KUNIT_CASE(register_null_object),
	KUNIT_CASE(register_producer_duplicate_token),
	KUNIT_CASE(register_consumer_duplicate_token),
	KUNIT_CASE(register_duplicate_unpaired),
	KUNIT_CASE(register_producer_twice),
	KUNIT_CASE(register_consumer_twice),
	KUNIT_CASE(register_producer_other_token),
	KUNIT_CASE(register_consumer_other_token),
	KUNIT_CASE(register_different_tokens_no_pair),
	KUNIT_CASE_PARAM(connect_callback_order, order_gen_params),
	KUNIT_CASE_PARAM(connect_optional_callbacks_absent, order_gen_params),
	KUNIT_CASE_PARAM(connect_failure, fail_gen_params),
	KUNIT_CASE(connect_failure_unregister_is_noop),
	KUNIT_CASE_PARAM(disconnect_callback_order, order_gen_params),
	KUNIT_CASE(disconnect_then_repair),
	KUNIT_CASE(unregister_never_registered),
	KUNIT_CASE(unregister_twice),
	KUNIT_CASE(unregister_zeroed),
	KUNIT_CASE(unregister_impostor_producer),
	KUNIT_CASE(unregister_impostor_consumer),
	KUNIT_CASE(reregister_after_unregister),
	KUNIT_CASE(token_reuse_after_free),
	KUNIT_CASE(callbacks_may_sleep),
	{}
};

static struct kunit_suite irqbypass_suite = {
	.name = "irqbypass",
	.init = irqbypass_test_init,
	.exit = irqbypass_test_exit,
	.test_cases = irqbypass_cases,
};

/* ---- helpers for the registry and stress suites ---- */

/* n producer/consumer pairs, pair i sharing token i; no logging. */
struct pairs {
	int n;
	struct tprod *prod;
	struct tcons *cons;
	void **token;
};

static struct pairs *pairs_alloc(struct kunit *test, int n)
{
	struct pairs *ps = kunit_kzalloc(test, sizeof(*ps), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, ps);
	ps->n = n;
	ps->prod = kunit_kcalloc(test, n, sizeof(*ps->prod), GFP_KERNEL);
	ps->cons = kunit_kcalloc(test, n, sizeof(*ps->cons), GFP_KERNEL);
	ps->token = kunit_kcalloc(test, n, sizeof(*ps->token), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ps->prod);
	KUNIT_ASSERT_NOT_NULL(test, ps->cons);
	KUNIT_ASSERT_NOT_NULL(test, ps->token);
	for (i = 0; i < n; i++)
		ps->token[i] = &ps->token[i];
	return ps;
}

static void pairs_init(struct pairs *ps)
{
	int i;

	for (i = 0; i < ps->n; i++) {
		tprod_init(&ps->prod[i], ps->token[i], i, NULL);
		tcons_init(&ps->cons[i], ps->token[i], NULL);
	}
}

static void pairs_register(struct kunit *test, struct pairs *ps)
{
	int i;

	/* Producers first for even pairs, consumers first for odd ones. */
	for (i = 0; i < ps->n; i++) {
		int ret = i & 1 ? irq_bypass_register_consumer(&ps->cons[i].c) :
				  irq_bypass_register_producer(&ps->prod[i].p);

		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	for (i = 0; i < ps->n; i++) {
		int ret = i & 1 ? irq_bypass_register_producer(&ps->prod[i].p) :
				  irq_bypass_register_consumer(&ps->cons[i].c);

		KUNIT_ASSERT_EQ(test, ret, 0);
	}
}

static void pairs_unregister(struct pairs *ps)
{
	int i;

	for (i = 0; i < ps->n; i++) {
		if (i & 1)
			irq_bypass_unregister_consumer(&ps->cons[i].c);
		else
			irq_bypass_unregister_producer(&ps->prod[i].p);
	}
	for (i = 0; i < ps->n; i++) {
		irq_bypass_unregister_producer(&ps->prod[i].p);
		irq_bypass_unregister_consumer(&ps->cons[i].c);
	}
}

/* Count the pairs that are not connected to exactly their own partner. */
static int pairs_mismatched(struct pairs *ps, int adds, int dels)
{
	int i, bad = 0;

	for (i = 0; i < ps->n; i++) {
		struct tprod *tp = &ps->prod[i];
		struct tcons *tc = &ps->cons[i];
		bool paired = adds > dels;

		if (tp->adds != adds || tc->adds != adds ||
		    tp->dels != dels || tc->dels != dels ||
		    tp->peer != (paired ? &tc->c : NULL) ||
		    tc->peer != (paired ? &tp->p : NULL))
			bad++;
	}
	return bad;
}

#ifdef CONFIG_FAULT_INJECTION
/* Fail every resize's table allocation (-1), the next @times, or none (0). */
static void fail_resize_times(int times)
{
	atomic_set(&irqbypass_kunit_fail_resize()->times, times);
}

/*
 * Set up the resize's fault attribute.  Its plain fields are read by every
 * resize, so they are set only once none is queued; @times alone is atomic.
 */
static void fail_resize_set(unsigned long probability, int times)
{
	struct fault_attr *attr = irqbypass_kunit_fail_resize();

	irqbypass_kunit_flush();
	attr->probability = probability;
	attr->interval = 1;
	attr->verbose = 1;		/* one line, no stack: not a splat */
	fail_resize_times(times);
}
#else
static void fail_resize_times(int times) { }
static void fail_resize_set(unsigned long probability, int times) { }
#endif

static void registry_test_exit(struct kunit *test)
{
	/* Nothing queued, and resizes no longer fail, even after an assert. */
	irqbypass_kunit_flush();
	fail_resize_set(0, 1);
}

/* ---- irqbypass_registry ---- */

static void bucket_collisions(struct kunit *test)
{
	const int n = 16;
	unsigned long bucket, cand;
	struct pairs *ps = pairs_alloc(test, n);
	char *base = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	int found = 0;

	KUNIT_ASSERT_NOT_NULL(test, base);
	KUNIT_ASSERT_EQ(test, irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS), 0);

	/* Tokens are never dereferenced: pick pointers that share a bucket. */
	bucket = irqbypass_kunit_bucket(base, IRQBYPASS_LOCK_BITS);
	for (cand = 0; found < n && cand < (1UL << 24); cand++) {
		void *t = base + cand * 8;

		if (irqbypass_kunit_bucket(t, IRQBYPASS_LOCK_BITS) == bucket)
			ps->token[found++] = t;
	}
	KUNIT_ASSERT_EQ(test, found, n);
	KUNIT_ASSERT_EQ(test, irqbypass_kunit_table_bits(), IRQBYPASS_LOCK_BITS);

	pairs_init(ps);
	pairs_register(test, ps);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 0), 0);

	/* Unregister from the middle of the chain, by identity only. */
	irq_bypass_unregister_producer(&ps->prod[7].p);
	irq_bypass_unregister_consumer(&ps->cons[8].c);
	KUNIT_EXPECT_EQ(test, ps->cons[7].dels, 1);
	KUNIT_EXPECT_EQ(test, ps->prod[8].dels, 1);
	KUNIT_EXPECT_EQ(test, ps->cons[6].dels + ps->cons[9].dels, 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&ps->prod[6].p),
			-EBUSY);

	pairs_unregister(ps);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 1), 0);
}

static void resize_keeps_pairs(struct kunit *test)
{
	static const unsigned int sizes[] = { 16, IRQBYPASS_LOCK_BITS, 12,
					      IRQBYPASS_LOCK_BITS + 1 };
	struct pairs *ps = pairs_alloc(test, 1000);
	struct tprod extra;
	unsigned int i;
	int j;

	pairs_init(ps);
	pairs_register(test, ps);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		KUNIT_ASSERT_EQ(test, irqbypass_kunit_resize(sizes[i]), 0);
		KUNIT_EXPECT_EQ(test, irqbypass_kunit_table_bits(), sizes[i]);

		/* Every token is still taken, and still paired as before. */
		for (j = 0; j < ps->n; j += 97) {
			tprod_init(&extra, ps->token[j], 0, NULL);
			KUNIT_EXPECT_EQ(test,
					irq_bypass_register_producer(&extra.p),
					-EBUSY);
		}
		KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 0), 0);
	}
	pairs_unregister(ps);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 1), 0);
}

static void table_grows_and_shrinks(struct kunit *test)
{
	struct pairs *ps = pairs_alloc(test, 10000);

	KUNIT_ASSERT_EQ(test, irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS), 0);
	pairs_init(ps);
	pairs_register(test, ps);
	irqbypass_kunit_flush();
	/* 20,000 objects at most four per bucket: 2^13 buckets. */
	KUNIT_EXPECT_GE(test, irqbypass_kunit_table_bits(), 13U);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 0), 0);

	pairs_unregister(ps);
	irqbypass_kunit_flush();
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_table_bits(), IRQBYPASS_LOCK_BITS);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 1), 0);
}

/* Shared by the kthreads of the concurrent cases. */
struct churn {
	struct pairs *ps;
	unsigned long deadline;
	atomic_t running;
	struct completion done;
	atomic_t errors;		/* impossible outcomes seen */
	atomic_long_t connects, disconnects;
};

struct churn_cons {
	struct tcons tc;
	struct churn *ch;
	atomic_t connected;
};

static struct churn_cons *to_churn_cons(struct irq_bypass_consumer *c)
{
	return container_of(c, struct churn_cons, tc.c);
}

static int churn_add(struct irq_bypass_consumer *c,
		     struct irq_bypass_producer *p)
{
	struct churn_cons *cc = to_churn_cons(c);

	if (p->token != c->token || atomic_inc_return(&cc->connected) != 1)
		atomic_inc(&cc->ch->errors);
	atomic_long_inc(&cc->ch->connects);
	return 0;
}

static void churn_del(struct irq_bypass_consumer *c,
		      struct irq_bypass_producer *p)
{
	struct churn_cons *cc = to_churn_cons(c);

	if (p->token != c->token || atomic_dec_return(&cc->connected) != 0)
		atomic_inc(&cc->ch->errors);
	atomic_long_inc(&cc->ch->disconnects);
}

/* Per thread: its own producer and consumer for every shared token. */
struct churn_thread {
	struct churn *ch;
	struct tprod *prod;
	struct churn_cons *cons;
	bool *prod_on, *cons_on;
	int only;			/* 0: both sides, 1: producers, 2: consumers */
};

static void churn_step(struct churn_thread *t, int i, bool producer)
{
	bool *on = producer ? &t->prod_on[i] : &t->cons_on[i];
	int ret;

	if (*on) {
		if (producer)
			irq_bypass_unregister_producer(&t->prod[i].p);
		else
			irq_bypass_unregister_consumer(&t->cons[i].tc.c);
		*on = false;
		return;
	}
	ret = producer ? irq_bypass_register_producer(&t->prod[i].p) :
			 irq_bypass_register_consumer(&t->cons[i].tc.c);
	if (!ret)
		*on = true;
	else if (ret != -EBUSY)
		atomic_inc(&t->ch->errors);
}

static int churn_fn(void *data)
{
	struct churn_thread *t = data;
	struct churn *ch = t->ch;
	int n = ch->ps->n, i;

	while (time_before(jiffies, ch->deadline)) {
		i = get_random_u32_below(n);
		if (t->only)
			churn_step(t, i, t->only == 1);
		else
			churn_step(t, i, get_random_u32_below(2));
		cond_resched();
	}
	for (i = 0; i < n; i++) {
		if (t->prod_on[i])
			churn_step(t, i, true);
		if (t->cons_on[i])
			churn_step(t, i, false);
	}
	if (atomic_dec_and_test(&ch->running))
		complete(&ch->done);
	return 0;
}

static struct churn_thread *churn_thread_alloc(struct kunit *test,
					       struct churn *ch, int only)
{
	struct churn_thread *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	int n = ch->ps->n, i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->ch = ch;
	t->only = only;
	t->prod = kunit_kcalloc(test, n, sizeof(*t->prod), GFP_KERNEL);
	t->cons = kunit_kcalloc(test, n, sizeof(*t->cons), GFP_KERNEL);
	t->prod_on = kunit_kcalloc(test, n, sizeof(bool), GFP_KERNEL);
	t->cons_on = kunit_kcalloc(test, n, sizeof(bool), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->prod);
	KUNIT_ASSERT_NOT_NULL(test, t->cons);
	KUNIT_ASSERT_NOT_NULL(test, t->prod_on);
	KUNIT_ASSERT_NOT_NULL(test, t->cons_on);
	for (i = 0; i < n; i++) {
		tprod_init(&t->prod[i], ch->ps->token[i], i, NULL);
		tcons_init(&t->cons[i].tc, ch->ps->token[i], NULL);
		t->cons[i].tc.c.add_producer = churn_add;
		t->cons[i].tc.c.del_producer = churn_del;
		t->cons[i].ch = ch;
	}
	return t;
}

/*
 * Run @nthreads churn threads over @ntokens shared tokens for @ms, thread i
 * doing only[i]; meanwhile call @meanwhile until they finish.
 */
static void churn_run(struct kunit *test, int ntokens, int nthreads,
		      const int *only, unsigned int ms,
		      void (*meanwhile)(struct kunit *test, int round))
{
	struct churn *ch = kunit_kzalloc(test, sizeof(*ch), GFP_KERNEL);
	struct churn_thread **t;
	long registered = irqbypass_kunit_registered();
	int i, round = 0;

	KUNIT_ASSERT_NOT_NULL(test, ch);
	t = kunit_kcalloc(test, nthreads, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	ch->ps = pairs_alloc(test, ntokens);
	init_completion(&ch->done);
	for (i = 0; i < nthreads; i++)
		t[i] = churn_thread_alloc(test, ch, only ? only[i] : 0);

	ch->deadline = jiffies + msecs_to_jiffies(ms);
	atomic_set(&ch->running, nthreads);
	for (i = 0; i < nthreads; i++) {
		struct task_struct *task = kthread_run(churn_fn, t[i],
						       "irqbypass-churn/%d", i);

		if (IS_ERR(task)) {
			/* Nothing can wait for this one: account for it here. */
			churn_fn(t[i]);
			continue;
		}
	}
	while (!wait_for_completion_timeout(&ch->done, HZ / 10))
		if (meanwhile)
			meanwhile(test, round++);

	KUNIT_EXPECT_EQ(test, atomic_read(&ch->errors), 0);
	KUNIT_EXPECT_GT(test, atomic_long_read(&ch->connects), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ch->connects),
			atomic_long_read(&ch->disconnects));
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), registered);
	kunit_info(test, "%d threads, %d tokens: %ld connects, %ld disconnects\n",
		   nthreads, ntokens, atomic_long_read(&ch->connects),
		   atomic_long_read(&ch->disconnects));
}

static void same_token_both_sides_race(struct kunit *test)
{
	static const int only[] = { 1, 2, 1, 2 };

	/* One token; producers and consumers registered from different threads. */
	churn_run(test, 1, ARRAY_SIZE(only), only, 500, NULL);
}

static void resize_round(struct kunit *test, int round)
{
	static const unsigned int sizes[] = { 12, IRQBYPASS_LOCK_BITS, 16,
					      IRQBYPASS_LOCK_BITS + 2 };

	KUNIT_EXPECT_EQ(test, irqbypass_kunit_resize(sizes[round % 4]), 0);
}

static void resize_while_registering(struct kunit *test)
{
	int threads = clamp_t(int, num_online_cpus(), 2, 8);

	churn_run(test, 256, threads, NULL, 1000, resize_round);
}

static void resize_fails_round(struct kunit *test, int round)
{
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_resize(12 + round % 4), -ENOMEM);
}

/*
 * Every table allocation fails while registrations run: nothing is lost or
 * refused, the failures are counted, and the table grows once allocations
 * succeed again.
 */
static void resize_allocation_fails(struct kunit *test)
{
	struct pairs *ps = pairs_alloc(test, 2000);
	struct pairs *more = pairs_alloc(test, 64);
	struct tprod extra;
	long failures;
	int i;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");

	KUNIT_ASSERT_EQ(test, irqbypass_kunit_resize(IRQBYPASS_LOCK_BITS), 0);
	failures = irqbypass_kunit_resize_failures();
	fail_resize_set(100, -1);

	/* 4,000 objects want a bigger table: the resize work fails meanwhile. */
	pairs_init(ps);
	pairs_register(test, ps);
	/* Threads churn while forced resizes fail. */
	churn_run(test, 64, 4, NULL, 500, resize_fails_round);
	irqbypass_kunit_flush();
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_table_bits(), IRQBYPASS_LOCK_BITS);
	KUNIT_EXPECT_GT(test, irqbypass_kunit_resize_failures(), failures + 1);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 0), 0);
	for (i = 0; i < ps->n; i += 97) {
		tprod_init(&extra, ps->token[i], 0, NULL);
		KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&extra.p),
				-EBUSY);
	}

	/* Memory is back: past the back-off, registrations grow the table. */
	fail_resize_times(0);
	pairs_init(more);
	for (i = 0; i < 50; i++) {
		if (irqbypass_kunit_table_bits() > IRQBYPASS_LOCK_BITS)
			break;
		msleep(100);
		pairs_register(test, more);
		pairs_unregister(more);
		irqbypass_kunit_flush();
	}
	/* 4,000 objects at most four per bucket: 2^10 buckets. */
	KUNIT_EXPECT_GE(test, irqbypass_kunit_table_bits(), 10U);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 0), 0);

	pairs_unregister(ps);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 1), 0);
}

static struct kunit_case registry_cases[] = {
	KUNIT_CASE(bucket_collisions),
	KUNIT_CASE(resize_keeps_pairs),
	KUNIT_CASE_SLOW(table_grows_and_shrinks),
	KUNIT_CASE_SLOW(same_token_both_sides_race),
	KUNIT_CASE_SLOW(resize_while_registering),
	KUNIT_CASE_SLOW(resize_allocation_fails),
	{}
};

static struct kunit_suite registry_suite = {
	.name = "irqbypass_registry",
	.exit = registry_test_exit,
	.test_cases = registry_cases,
};

/* ---- irqbypass_stress ---- */

static void many_pairs_each_own_partner(struct kunit *test)
{
	struct pairs *ps = pairs_alloc(test, 10000);
	long registered = irqbypass_kunit_registered();

	pairs_init(ps);
	pairs_register(test, ps);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), registered + 20000);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 0), 0);
	pairs_unregister(ps);
	KUNIT_EXPECT_EQ(test, pairs_mismatched(ps, 1, 1), 0);
	KUNIT_EXPECT_EQ(test, irqbypass_kunit_registered(), registered);
}

static void concurrent_churn(struct kunit *test)
{
	int threads = clamp_t(int, num_online_cpus(), 2, 8);

	churn_run(test, 64, threads, NULL, 1000, NULL);
}

/*
 * Four threads on four tokens, so always on the same stripes, while the
 * table is resized: under KCSAN, an access that escapes its lock races here.
 */
static void shared_stripes_while_resizing(struct kunit *test)
{
	churn_run(test, 4, 4, NULL, 1000, resize_round);
}

static struct kunit_case stress_cases[] = {
	KUNIT_CASE_SLOW(many_pairs_each_own_partner),
	KUNIT_CASE_SLOW(concurrent_churn),
	KUNIT_CASE_SLOW(shared_stripes_while_resizing),
	{}
};

static struct kunit_suite stress_suite = {
	.name = "irqbypass_stress",
	.exit = registry_test_exit,
	.test_cases = stress_cases,
};

kunit_test_suites(&irqbypass_suite, &registry_suite, &stress_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for the IRQ bypass manager");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
