// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite for the IRQ bypass manager's API of Linux 6.17 and later
 *
 * irqbypass_eventfd: the registration and pairing contract of
 * irq_bypass_register_producer(prod, eventfd, irq) and
 * irq_bypass_register_consumer(cons, eventfd), as upstream's manager
 * (virt/lib/irqbypass.c of 6.17 to 7.3) keeps it and its callers (KVM,
 * VFIO-PCI, vhost-vdpa) rely on it.
 *
 * The cases use the public API and the public fields of the two structs
 * only, so that they run unchanged against upstream's manager and against
 * ours: passing against upstream's proves they encode its contract.  The
 * doubles are those of irqbypass_kunit.c (the suites of the old API), and
 * they log every callback the same way.  They are not shared with it: they
 * also record, inside each callback, the partner pointers, the eventfds and
 * the irq the manager shows at that moment, which is what this API adds,
 * and the old suites' fixture counts registrations through our internal
 * hooks, which upstream's manager does not have.
 */

#include <kunit/test.h>
#include <linux/hardirq.h>
#include <linux/irqbypass.h>
#include <linux/string.h>

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

/*
 * What one callback saw of both objects: the partner pointers and the
 * eventfds the manager had published, and the producer's irq.
 */
struct seen {
	bool called;
	struct irq_bypass_consumer *consumer;	/* prod->consumer */
	struct irq_bypass_producer *producer;	/* cons->producer */
	struct eventfd_ctx *prod_eventfd, *cons_eventfd;
	int irq;
};

struct tprod {
	struct irq_bypass_producer p;
	struct cb_log *log;
	int add_ret;			/* what add_consumer returns */
	int adds, dels;
	struct irq_bypass_consumer *peer;
	struct seen at_stop, at_add, at_del, at_start;
};

struct tcons {
	struct irq_bypass_consumer c;
	struct cb_log *log;
	int add_ret;			/* what add_producer returns */
	int adds, dels;
	struct irq_bypass_producer *peer;
	struct seen at_add, at_del, at_start;
};

static void log_event(struct cb_log *log, enum event ev)
{
	/* Callbacks run in process context and may sleep. */
	WARN_ON(in_interrupt() || irqs_disabled());
	if (log && log->n < LOG_MAX)
		log->ev[log->n++] = ev;
}

static void see(struct seen *s, struct irq_bypass_producer *p,
		struct irq_bypass_consumer *c)
{
	memset(s, 0, sizeof(*s));
	s->called = true;
	if (p) {
		s->consumer = p->consumer;
		s->prod_eventfd = p->eventfd;
		s->irq = p->irq;
	}
	if (c) {
		s->producer = c->producer;
		s->cons_eventfd = c->eventfd;
	}
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
	see(&tp->at_add, p, c);
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
	see(&tp->at_del, p, c);
	tp->dels++;
	/* The partner it is given must be the one it was connected to. */
	if (tp->peer == c)
		tp->peer = NULL;
}

static void tprod_stop(struct irq_bypass_producer *p)
{
	log_event(to_tprod(p)->log, P_STOP);
	see(&to_tprod(p)->at_stop, p, NULL);
}

static void tprod_start(struct irq_bypass_producer *p)
{
	log_event(to_tprod(p)->log, P_START);
	see(&to_tprod(p)->at_start, p, NULL);
}

static int tcons_add(struct irq_bypass_consumer *c,
		     struct irq_bypass_producer *p)
{
	struct tcons *tc = to_tcons(c);

	log_event(tc->log, C_ADD);
	see(&tc->at_add, p, c);
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
	see(&tc->at_del, p, c);
	tc->dels++;
	if (tc->peer == p)
		tc->peer = NULL;
}

static void tcons_stop(struct irq_bypass_consumer *c)
{
	log_event(to_tcons(c)->log, C_STOP);
}

static void tcons_start(struct irq_bypass_consumer *c)
{
	log_event(to_tcons(c)->log, C_START);
	see(&to_tcons(c)->at_start, NULL, c);
}

static void tprod_init(struct tprod *tp, struct cb_log *log)
{
	memset(tp, 0, sizeof(*tp));
	tp->p.add_consumer = tprod_add;
	tp->p.del_consumer = tprod_del;
	tp->p.stop = tprod_stop;
	tp->p.start = tprod_start;
	tp->log = log;
}

static void tcons_init(struct tcons *tc, struct cb_log *log)
{
	memset(tc, 0, sizeof(*tc));
	tc->c.add_producer = tcons_add;
	tc->c.del_producer = tcons_del;
	tc->c.stop = tcons_stop;
	tc->c.start = tcons_start;
	tc->log = log;
}

/*
 * Per-case fixture: two eventfds, a log, and two doubles of each kind.
 * The manager uses an eventfd only as a key and never dereferences it, so
 * the eventfds are the addresses of two bytes of the fixture: unique while
 * the case runs, as a real eventfd_ctx is while its file is open.
 */
struct fixture {
	char eventfd_bytes[2];
	struct eventfd_ctx *efd[2];
	struct cb_log log;
	struct tprod prod, prod2;
	struct tcons cons, cons2;
};

#define IRQ 42
#define IRQ2 43

static int irqbypass_eventfd_test_init(struct kunit *test)
{
	struct fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->efd[0] = (struct eventfd_ctx *)&f->eventfd_bytes[0];
	f->efd[1] = (struct eventfd_ctx *)&f->eventfd_bytes[1];
	tprod_init(&f->prod, &f->log);
	tprod_init(&f->prod2, &f->log);
	tcons_init(&f->cons, &f->log);
	tcons_init(&f->cons2, &f->log);
	test->priv = f;
	return 0;
}

static void irqbypass_eventfd_test_exit(struct kunit *test)
{
	struct fixture *f = test->priv;

	/*
	 * Whatever a case left behind must not outlive its memory; an object
	 * that is not registered has a NULL ->eventfd, and this is a no-op.
	 */
	irq_bypass_unregister_producer(&f->prod.p);
	irq_bypass_unregister_producer(&f->prod2.p);
	irq_bypass_unregister_consumer(&f->cons.c);
	irq_bypass_unregister_consumer(&f->cons2.c);
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

/*
 * tp and tc are connected to each other, as their callbacks were told and
 * as the partner pointers the manager published say, both under eventfd.
 */
static void expect_paired(struct kunit *test, struct tprod *tp,
			  struct tcons *tc, struct eventfd_ctx *eventfd)
{
	KUNIT_EXPECT_PTR_EQ(test, tp->peer, &tc->c);
	KUNIT_EXPECT_PTR_EQ(test, tc->peer, &tp->p);
	KUNIT_EXPECT_PTR_EQ(test, tp->p.consumer, &tc->c);
	KUNIT_EXPECT_PTR_EQ(test, tc->c.producer, &tp->p);
	KUNIT_EXPECT_PTR_EQ(test, tp->p.eventfd, eventfd);
	KUNIT_EXPECT_PTR_EQ(test, tc->c.eventfd, eventfd);
}

/* Nothing of tp is published: not registered, connected to nothing. */
static void expect_prod_unpublished(struct kunit *test, struct tprod *tp)
{
	KUNIT_EXPECT_NULL(test, tp->p.eventfd);
	KUNIT_EXPECT_NULL(test, tp->p.consumer);
}

static void expect_cons_unpublished(struct kunit *test, struct tcons *tc)
{
	KUNIT_EXPECT_NULL(test, tc->c.eventfd);
	KUNIT_EXPECT_NULL(test, tc->c.producer);
}

/* Register a producer and a consumer with one eventfd and check they pair. */
static void pair_up(struct kunit *test, struct tprod *tp, struct tcons *tc,
		    struct eventfd_ctx *eventfd)
{
	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&tp->p, eventfd,
							   IRQ), 0);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&tc->c, eventfd),
			0);
	expect_paired(test, tp, tc, eventfd);
	tp->log->n = 0;
}

/* ---- argument checks ---- */

/*
 * An object whose ->eventfd is set is taken for a registered one: a
 * warning (WARN_ON_ONCE upstream; kunit.sh takes it out of the console
 * and checks there is exactly one, from this case) and -EINVAL, before
 * anything else, the producer's ->irq included.  Nothing is registered:
 * a consumer with either eventfd is alone.
 */
static void register_producer_eventfd_set(struct kunit *test)
{
	struct fixture *f = test->priv;

	f->prod.p.eventfd = f->efd[0];
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod.p,
							   f->efd[1], IRQ),
			-EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.p.eventfd, f->efd[0]);
	KUNIT_EXPECT_NULL(test, f->prod.p.consumer);
	expect_no_callbacks(test, &f->log);
	/* Not registered: unregister must not find it. */
	f->prod.p.eventfd = NULL;

	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c,
							   f->efd[0]), 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
							   f->efd[1]), 0);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_NULL(test, f->cons.c.producer);
	KUNIT_EXPECT_NULL(test, f->cons2.c.producer);
}

static void register_consumer_eventfd_set(struct kunit *test)
{
	struct fixture *f = test->priv;

	f->cons.c.eventfd = f->efd[0];
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c,
							   f->efd[1]),
			-EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.c.eventfd, f->efd[0]);
	KUNIT_EXPECT_NULL(test, f->cons.c.producer);
	expect_no_callbacks(test, &f->log);
	f->cons.c.eventfd = NULL;

	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod.p,
							   f->efd[0], IRQ), 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p,
							   f->efd[1], IRQ2), 0);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_NULL(test, f->prod.p.consumer);
	KUNIT_EXPECT_NULL(test, f->prod2.p.consumer);
}

static const char * const missing_names[] = { "add_producer", "del_producer",
					       "both" };

static void missing_desc(const char *const *name, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "no %s", *name);
}

KUNIT_ARRAY_PARAM(missing, missing_names, missing_desc);

/*
 * As irqbypass's register_consumer_missing_callback: -EINVAL, no callback,
 * and (kunit.sh checks the console) no warning.  The producer waiting on
 * the eventfd is still free: a complete consumer pairs with it.
 */
static void register_consumer_missing_callback(struct kunit *test)
{
	const char *const *which = test->param_value;
	struct fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p,
							   f->efd[0], IRQ), 0);
	if (which != &missing_names[1])
		f->cons.c.add_producer = NULL;
	if (which != &missing_names[0])
		f->cons.c.del_producer = NULL;
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons.c,
							   f->efd[0]),
			-EINVAL);
	expect_no_callbacks(test, &f->log);
	expect_cons_unpublished(test, &f->cons);
	KUNIT_EXPECT_NULL(test, f->prod.p.consumer);

	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
							   f->efd[0]), 0);
	expect_paired(test, &f->prod, &f->cons2, f->efd[0]);
}

/* ---- the producer's irq ---- */

static const bool producer_first_values[] = { true, false };

static void order_desc(const bool *producer_first, char *desc)
{
	strscpy(desc, *producer_first ? "producer first" : "consumer first",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(order, producer_first_values, order_desc);

/*
 * Register the pair in the order the parameter asks, the producer with
 * IRQ; return the second registration's result.
 */
static int register_in_order(struct kunit *test, bool producer_first,
			     struct tprod *tp, struct tcons *tc,
			     struct eventfd_ctx *eventfd)
{
	if (producer_first) {
		KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&tp->p,
								   eventfd,
								   IRQ), 0);
		return irq_bypass_register_consumer(&tc->c, eventfd);
	}
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&tc->c, eventfd),
			0);
	return irq_bypass_register_producer(&tp->p, eventfd, IRQ);
}

/*
 * The producer's ->irq is written before any callback: KVM's add_producer
 * reads it to find the host IRQ it is given.
 */
static void register_producer_sets_irq(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;

	f->prod.p.irq = -1;
	KUNIT_EXPECT_EQ(test, register_in_order(test, *producer_first,
						&f->prod, &f->cons, f->efd[0]),
			0);
	KUNIT_EXPECT_TRUE(test, f->prod.at_stop.called);
	KUNIT_EXPECT_EQ(test, f->prod.at_stop.irq, IRQ);
	KUNIT_EXPECT_TRUE(test, f->cons.at_add.called);
	KUNIT_EXPECT_EQ(test, f->cons.at_add.irq, IRQ);
	KUNIT_EXPECT_EQ(test, f->prod.p.irq, IRQ);
}

/* ---- 1:1 pairing ---- */

/*
 * As irqbypass's register_*_duplicate_token and register_duplicate_unpaired:
 * a second object with a registered eventfd gets -EBUSY, no callback is
 * made, nothing of it is published, and the registered pair (or the lone
 * first object) is unchanged.
 */
static void register_producer_same_eventfd(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons, f->efd[0]);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p,
							   f->efd[0], IRQ2),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	expect_prod_unpublished(test, &f->prod2);
	expect_paired(test, &f->prod, &f->cons, f->efd[0]);
}

static void register_consumer_same_eventfd(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons, f->efd[0]);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
							   f->efd[0]),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	expect_cons_unpublished(test, &f->cons2);
	expect_paired(test, &f->prod, &f->cons, f->efd[0]);
}

static void register_same_eventfd_unpaired(struct kunit *test)
{
	struct fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p,
							   f->efd[0], IRQ), 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p,
							   f->efd[0], IRQ2),
			-EBUSY);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons.c,
							   f->efd[1]), 0);
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
							   f->efd[1]),
			-EBUSY);
	expect_no_callbacks(test, &f->log);
	expect_prod_unpublished(test, &f->prod2);
	expect_cons_unpublished(test, &f->cons2);

	/* The first of each still pairs. */
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
							   f->efd[0]), 0);
	expect_paired(test, &f->prod, &f->cons2, f->efd[0]);
}

/* As irqbypass's register_different_tokens_no_pair. */
static void register_different_eventfds_no_pair(struct kunit *test)
{
	struct fixture *f = test->priv;

	KUNIT_ASSERT_EQ(test, irq_bypass_register_producer(&f->prod.p,
							   f->efd[0], IRQ), 0);
	KUNIT_ASSERT_EQ(test, irq_bypass_register_consumer(&f->cons.c,
							   f->efd[1]), 0);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_NULL(test, f->prod.p.consumer);
	KUNIT_EXPECT_NULL(test, f->cons.c.producer);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.p.eventfd, f->efd[0]);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.c.eventfd, f->efd[1]);
	irq_bypass_unregister_producer(&f->prod.p);
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
	expect_prod_unpublished(test, &f->prod);
	expect_cons_unpublished(test, &f->cons);
}

/* ---- connect ---- */

/* As irqbypass's connect_callback_order. */
static void connect_callback_order(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;

	KUNIT_EXPECT_EQ(test, register_in_order(test, *producer_first,
						&f->prod, &f->cons, f->efd[0]),
			0);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_ADD, C_START,
		   P_START);
	expect_paired(test, &f->prod, &f->cons, f->efd[0]);
}

/*
 * What the callbacks of a connect see: no partner pointer in either add_*
 * callback or in the start callbacks after them (they are set only once
 * the connect has succeeded, after both start callbacks), the partner's
 * ->eventfd if it was registered first, and the registering object's own
 * ->eventfd still NULL (it is published last).
 */
static void connect_publishes_last(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;
	struct eventfd_ctx *efd = f->efd[0];

	KUNIT_EXPECT_EQ(test, register_in_order(test, *producer_first,
						&f->prod, &f->cons, efd), 0);
	KUNIT_ASSERT_TRUE(test, f->prod.at_add.called);
	KUNIT_ASSERT_TRUE(test, f->cons.at_add.called);
	KUNIT_EXPECT_NULL(test, f->prod.at_add.consumer);
	KUNIT_EXPECT_NULL(test, f->prod.at_add.producer);
	KUNIT_EXPECT_NULL(test, f->cons.at_add.consumer);
	KUNIT_EXPECT_NULL(test, f->cons.at_add.producer);
	KUNIT_EXPECT_NULL(test, f->cons.at_start.producer);
	KUNIT_EXPECT_NULL(test, f->prod.at_start.consumer);
	if (*producer_first) {
		KUNIT_EXPECT_PTR_EQ(test, f->prod.at_add.prod_eventfd, efd);
		KUNIT_EXPECT_NULL(test, f->prod.at_add.cons_eventfd);
		KUNIT_EXPECT_PTR_EQ(test, f->cons.at_add.prod_eventfd, efd);
		KUNIT_EXPECT_NULL(test, f->cons.at_add.cons_eventfd);
		KUNIT_EXPECT_NULL(test, f->cons.at_start.cons_eventfd);
		KUNIT_EXPECT_PTR_EQ(test, f->prod.at_start.prod_eventfd, efd);
	} else {
		KUNIT_EXPECT_NULL(test, f->prod.at_add.prod_eventfd);
		KUNIT_EXPECT_PTR_EQ(test, f->prod.at_add.cons_eventfd, efd);
		KUNIT_EXPECT_NULL(test, f->cons.at_add.prod_eventfd);
		KUNIT_EXPECT_PTR_EQ(test, f->cons.at_add.cons_eventfd, efd);
		KUNIT_EXPECT_PTR_EQ(test, f->cons.at_start.cons_eventfd, efd);
		KUNIT_EXPECT_NULL(test, f->prod.at_start.prod_eventfd);
	}
	expect_paired(test, &f->prod, &f->cons, efd);
}

/*
 * As irqbypass's connect_optional_callbacks_absent: a producer needs no
 * callback at all, a consumer only add_producer and del_producer.
 */
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
						&f->prod, &f->cons, f->efd[0]),
			0);
	EXPECT_LOG(test, &f->log, C_ADD);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.peer, &f->prod.p);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.p.consumer, &f->cons.c);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.c.producer, &f->prod.p);

	irq_bypass_unregister_producer(&f->prod.p);
	EXPECT_LOG(test, &f->log, C_DEL);
	KUNIT_EXPECT_NULL(test, f->cons.c.producer);
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

/*
 * As irqbypass's connect_failure, plus what this API publishes: the
 * second registration returns the callback's error; both sides are
 * restarted whatever failed, and a failed add_producer is undone with
 * del_consumer.  Nothing of the failed object stays registered or
 * published: its ->eventfd and both partner pointers are NULL, another
 * object of its kind registers with the same eventfd (no -EBUSY) and pairs
 * with the partner that was there first, and unregistering the failed one
 * calls nothing.
 */
static void connect_failure(struct kunit *test)
{
	const struct fail_case *c = test->param_value;
	struct fixture *f = test->priv;
	struct eventfd_ctx *efd = f->efd[0];

	if (c->producer_fails)
		f->prod.add_ret = c->err;
	else
		f->cons.add_ret = c->err;

	KUNIT_EXPECT_EQ(test, register_in_order(test, c->producer_first,
						&f->prod, &f->cons, efd),
			c->err);
	if (c->producer_fails)
		EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_START,
			   P_START);
	else
		EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_ADD, P_DEL,
			   C_START, P_START);
	KUNIT_EXPECT_EQ(test, f->prod.adds, f->prod.dels);
	KUNIT_EXPECT_EQ(test, f->cons.adds, 0);
	KUNIT_EXPECT_NULL(test, f->prod.p.consumer);
	KUNIT_EXPECT_NULL(test, f->cons.c.producer);

	if (c->producer_first) {
		/* The producer was there first and stays registered. */
		KUNIT_EXPECT_PTR_EQ(test, f->prod.p.eventfd, efd);
		KUNIT_EXPECT_NULL(test, f->cons.c.eventfd);
		irq_bypass_unregister_consumer(&f->cons.c);
		expect_no_callbacks(test, &f->log);

		f->prod.add_ret = 0;
		KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
								   efd), 0);
		expect_paired(test, &f->prod, &f->cons2, efd);
	} else {
		KUNIT_EXPECT_PTR_EQ(test, f->cons.c.eventfd, efd);
		KUNIT_EXPECT_NULL(test, f->prod.p.eventfd);
		irq_bypass_unregister_producer(&f->prod.p);
		expect_no_callbacks(test, &f->log);

		f->cons.add_ret = 0;
		KUNIT_EXPECT_EQ(test, irq_bypass_register_producer(&f->prod2.p,
								   efd, IRQ2),
				0);
		expect_paired(test, &f->prod2, &f->cons, efd);
	}
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, P_ADD, C_ADD, C_START,
		   P_START);
}

/* ---- disconnect ---- */

/*
 * As irqbypass's disconnect_callback_order, plus what this API publishes:
 * the del_* callbacks are given the connected partner, and still see both
 * partner pointers and both eventfds; after the disconnect the partner
 * pointers are NULL, and so is the unregistered object's ->eventfd, while
 * the other side stays registered (its ->eventfd set) and alone.
 */
static void disconnect_callback_order(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;
	struct eventfd_ctx *efd = f->efd[0];

	pair_up(test, &f->prod, &f->cons, efd);
	if (*producer_first)
		irq_bypass_unregister_producer(&f->prod.p);
	else
		irq_bypass_unregister_consumer(&f->cons.c);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, C_DEL, P_DEL, C_START,
		   P_START);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
	KUNIT_EXPECT_NULL(test, f->prod.peer);
	KUNIT_EXPECT_NULL(test, f->cons.peer);

	KUNIT_EXPECT_PTR_EQ(test, f->prod.at_del.consumer, &f->cons.c);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.at_del.producer, &f->prod.p);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.at_del.consumer, &f->cons.c);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.at_del.producer, &f->prod.p);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.at_del.prod_eventfd, efd);
	KUNIT_EXPECT_PTR_EQ(test, f->prod.at_del.cons_eventfd, efd);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.at_del.prod_eventfd, efd);
	KUNIT_EXPECT_PTR_EQ(test, f->cons.at_del.cons_eventfd, efd);

	KUNIT_EXPECT_NULL(test, f->prod.p.consumer);
	KUNIT_EXPECT_NULL(test, f->cons.c.producer);
	if (*producer_first) {
		KUNIT_EXPECT_NULL(test, f->prod.p.eventfd);
		KUNIT_EXPECT_PTR_EQ(test, f->cons.c.eventfd, efd);
	} else {
		KUNIT_EXPECT_NULL(test, f->cons.c.eventfd);
		KUNIT_EXPECT_PTR_EQ(test, f->prod.p.eventfd, efd);
	}

	/* The other side is now alone: unregistering it calls nothing. */
	if (*producer_first)
		irq_bypass_unregister_consumer(&f->cons.c);
	else
		irq_bypass_unregister_producer(&f->prod.p);
	expect_no_callbacks(test, &f->log);
	expect_prod_unpublished(test, &f->prod);
	expect_cons_unpublished(test, &f->cons);
}

/* As irqbypass's disconnect_then_repair. */
static void disconnect_then_repair(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons, f->efd[0]);
	irq_bypass_unregister_consumer(&f->cons.c);
	f->log.n = 0;
	/* The producer stays registered and pairs with the next consumer. */
	KUNIT_EXPECT_EQ(test, irq_bypass_register_consumer(&f->cons2.c,
							   f->efd[0]), 0);
	expect_paired(test, &f->prod, &f->cons2, f->efd[0]);
	KUNIT_EXPECT_EQ(test, f->prod.adds, 2);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
}

/* ---- unregister ---- */

/*
 * As irqbypass's unregister_never_registered and unregister_zeroed: an
 * object whose ->eventfd is NULL is not registered, and unregistering it
 * is a no-op (no callback; kunit.sh checks: no warning), even while a
 * pair lives on the eventfd it was never registered with.  KVM's
 * irqfd_shutdown and vhost-vdpa call it unconditionally.
 */
static void unregister_not_registered(struct kunit *test)
{
	struct irq_bypass_producer zp = { };
	struct irq_bypass_consumer zc = { };
	struct fixture *f = test->priv;

	irq_bypass_unregister_producer(&f->prod2.p);
	irq_bypass_unregister_consumer(&f->cons2.c);
	expect_no_callbacks(test, &f->log);

	pair_up(test, &f->prod, &f->cons, f->efd[0]);
	irq_bypass_unregister_producer(&f->prod2.p);
	irq_bypass_unregister_consumer(&f->cons2.c);
	irq_bypass_unregister_producer(&zp);
	irq_bypass_unregister_consumer(&zc);
	expect_no_callbacks(test, &f->log);
	expect_paired(test, &f->prod, &f->cons, f->efd[0]);
}

/* As irqbypass's unregister_twice. */
static void unregister_twice(struct kunit *test)
{
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons, f->efd[0]);
	irq_bypass_unregister_producer(&f->prod.p);
	f->log.n = 0;
	irq_bypass_unregister_producer(&f->prod.p);
	expect_no_callbacks(test, &f->log);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
	irq_bypass_unregister_consumer(&f->cons.c);
	irq_bypass_unregister_consumer(&f->cons.c);
	expect_no_callbacks(test, &f->log);
	expect_prod_unpublished(test, &f->prod);
	expect_cons_unpublished(test, &f->cons);
}

/*
 * Unregister disconnects the partner its object is connected to: the
 * partner ->consumer / ->producer points to, whose own del callback is
 * given this object, and no other: another pair stays as it was.
 */
static void unregister_disconnects_partner(struct kunit *test)
{
	const bool *producer_first = test->param_value;
	struct fixture *f = test->priv;

	pair_up(test, &f->prod, &f->cons, f->efd[0]);
	pair_up(test, &f->prod2, &f->cons2, f->efd[1]);
	if (*producer_first)
		irq_bypass_unregister_producer(&f->prod.p);
	else
		irq_bypass_unregister_consumer(&f->cons.c);
	EXPECT_LOG(test, &f->log, P_STOP, C_STOP, C_DEL, P_DEL, C_START,
		   P_START);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 1);
	KUNIT_EXPECT_EQ(test, f->prod.dels, 1);
	KUNIT_EXPECT_FALSE(test, f->cons2.at_del.called);
	KUNIT_EXPECT_FALSE(test, f->prod2.at_del.called);
	expect_paired(test, &f->prod2, &f->cons2, f->efd[1]);
}

/* As irqbypass's reregister_after_unregister. */
static void reregister_after_unregister(struct kunit *test)
{
	struct fixture *f = test->priv;
	int i;

	for (i = 0; i < 3; i++) {
		pair_up(test, &f->prod, &f->cons, f->efd[i & 1]);
		irq_bypass_unregister_consumer(&f->cons.c);
		irq_bypass_unregister_producer(&f->prod.p);
		expect_prod_unpublished(test, &f->prod);
		expect_cons_unpublished(test, &f->cons);
	}
	KUNIT_EXPECT_EQ(test, f->prod.adds, 3);
	KUNIT_EXPECT_EQ(test, f->cons.dels, 3);
}

static struct kunit_case irqbypass_eventfd_cases[] = {
	KUNIT_CASE(register_producer_eventfd_set),
	KUNIT_CASE(register_consumer_eventfd_set),
	KUNIT_CASE_PARAM(register_consumer_missing_callback, missing_gen_params),
	KUNIT_CASE_PARAM(register_producer_sets_irq, order_gen_params),
	KUNIT_CASE(register_producer_same_eventfd),
	KUNIT_CASE(register_consumer_same_eventfd),
	KUNIT_CASE(register_same_eventfd_unpaired),
	KUNIT_CASE(register_different_eventfds_no_pair),
	KUNIT_CASE_PARAM(connect_callback_order, order_gen_params),
	KUNIT_CASE_PARAM(connect_publishes_last, order_gen_params),
	KUNIT_CASE_PARAM(connect_optional_callbacks_absent, order_gen_params),
	KUNIT_CASE_PARAM(connect_failure, fail_gen_params),
	KUNIT_CASE_PARAM(disconnect_callback_order, order_gen_params),
	KUNIT_CASE(disconnect_then_repair),
	KUNIT_CASE(unregister_not_registered),
	KUNIT_CASE(unregister_twice),
	KUNIT_CASE_PARAM(unregister_disconnects_partner, order_gen_params),
	KUNIT_CASE(reregister_after_unregister),
	{}
};

static struct kunit_suite irqbypass_eventfd_suite = {
	.name = "irqbypass_eventfd",
	.init = irqbypass_eventfd_test_init,
	.exit = irqbypass_eventfd_test_exit,
	.test_cases = irqbypass_eventfd_cases,
};

kunit_test_suite(irqbypass_eventfd_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suite for the IRQ bypass manager's eventfd API");
