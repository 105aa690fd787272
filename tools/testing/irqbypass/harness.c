// SPDX-License-Identifier: GPL-2.0-only
/*
 * Model-based checking of irqbypass.c: every operation of a fuzz input runs
 * against the real registry and against a reference model, a plain list of
 * who is registered, written from the contract in <linux/irqbypass.h>.
 * After each operation the return value, the exact sequence of callbacks,
 * the debugfs counters and listings, the module refcount and the count of
 * registered objects must all agree with the model.
 *
 * Built with IRQBYPASS_EVENTFD_API, it checks the front end of the API of
 * Linux 6.17 and later: the tokens are the register functions' eventfds,
 * and after each operation every object's eventfd, partner pointer and irq
 * and the stripes' tables (their size, their bytes, no more than 3/4 full)
 * must agree too; while callbacks run, the pointers must be as Linux 7.3
 * has them.  Its tokens 0..3 and its fillers share one stripe, so that the
 * stripe grows at once (or fails with -ENOMEM) and in the background, and
 * shrinks, with long probes that deletions shift back.
 */
#include "shim/shim.h"
#include "harness.h"

#define NR_POOL		4	/* producers and consumers the input plays with */
#define NR_FILL		40	/* filler producers, to trigger resizes */
#define NR_PROD		(NR_POOL + NR_FILL)
#define NR_TOKENS	6	/* 0..3 share one bucket at every table size */
#define HARNESS_MAX_BITS	12
#ifdef IRQBYPASS_EVENTFD_API
/* Tokens 0..3 and the fillers share one stripe; 0..3 one home slot too. */
#define HOME_BITS	8
#define SLOT_MIN_BITS	3
#define NR_STRIPES	BIT(IRQBYPASS_LOCK_BITS)
#endif

/* Callback configuration of one object. */
#define CFG_ADD		0x01	/* add_consumer / add_producer */
#define CFG_DEL		0x02	/* del_consumer / del_producer */
#define CFG_STOP	0x04
#define CFG_START	0x08
#define CFG_ALL		0x0f

unsigned long harness_ops;

static void *tokens[NR_TOKENS];
static void *fill_tokens[NR_FILL];

struct object {
	bool registered;	/* in the model */
	unsigned int cfg;
	int result;		/* what the add callback returns */
#ifdef IRQBYPASS_EVENTFD_API
	void *token;		/* the eventfd of its next registration */
	void *efd;		/* what its ->eventfd must be */
	int irq;		/* what a producer's ->irq must be */
	int partner;		/* its partner's index, or -1 */
#endif
};

static struct irq_bypass_producer prods[NR_PROD];
static struct irq_bypass_consumer conss[NR_POOL];
static struct object mprod[NR_PROD], mcons[NR_POOL];

/* What the model expects the debugfs counters to be. */
static struct {
	long producers, consumers, producer_registrations;
	long consumer_registrations, invalid, busy, connects;
	long connect_failures, disconnects;
} mstat;

enum event_kind { P_STOP = 1, P_START, C_STOP, C_START, ADD_CONS, DEL_CONS,
		  ADD_PROD, DEL_PROD };
static const char *const event_names[] = {
	"", "p.stop", "p.start", "c.stop", "c.start", "p.add_consumer",
	"p.del_consumer", "c.add_producer", "c.del_producer",
};

struct event {
	int kind, p, c;
};

#define MAX_EVENTS	64
static struct event actual[MAX_EVENTS], expected[MAX_EVENTS];
static int nr_actual, nr_expected;

static void record(struct event *trace, int *nr, int kind, int p, int c)
{
	if (*nr == MAX_EVENTS)
		harness_fail("more than %d callbacks in one operation",
			     MAX_EVENTS);
	trace[(*nr)++] = (struct event){ kind, p, c };
}

static int pid_of(struct irq_bypass_producer *p)
{
	if (p < prods || p >= prods + NR_PROD)
		harness_fail("callback got a producer that is not ours: %p", p);
	return p - prods;
}

static int cid_of(struct irq_bypass_consumer *c)
{
	if (c < conss || c >= conss + NR_POOL)
		harness_fail("callback got a consumer that is not ours: %p", c);
	return c - conss;
}

#ifdef IRQBYPASS_EVENTFD_API
/*
 * The connect or disconnect the model expects of the operation: while its
 * callbacks run, the pointers must be as Linux 7.3 has them.  A connect
 * sees no partner pointers, the producer's irq already set, and the object
 * being registered without its eventfd; a disconnect sees both partner
 * pointers and both eventfds still set.
 */
static struct {
	int p, c;
	bool connect, registering_producer;
	void *token;
} cb;

static void check_pointers(void)
{
	struct irq_bypass_producer *p = &prods[cb.p];
	struct irq_bypass_consumer *c = &conss[cb.c];

	if (cb.connect) {
		if (p->consumer || c->producer)
			harness_fail("a partner pointer is set during a connect");
		if (p->irq != mprod[cb.p].irq)
			harness_fail("irq %d during a connect, want %d", p->irq,
				     mprod[cb.p].irq);
		if (p->eventfd != (cb.registering_producer ? NULL : cb.token) ||
		    c->eventfd != (cb.registering_producer ? cb.token : NULL))
			harness_fail("eventfd published before the connect ended");
	} else {
		if (p->consumer != c || c->producer != p)
			harness_fail("a partner pointer is clear during a disconnect");
		if (p->eventfd != cb.token || c->eventfd != cb.token)
			harness_fail("eventfd cleared during a disconnect");
	}
}
#else
static void check_pointers(void)
{
}
#endif

static int cb_add_consumer(struct irq_bypass_producer *p,
			   struct irq_bypass_consumer *c)
{
	check_pointers();
	record(actual, &nr_actual, ADD_CONS, pid_of(p), cid_of(c));
	return mprod[pid_of(p)].result;
}

static void cb_del_consumer(struct irq_bypass_producer *p,
			    struct irq_bypass_consumer *c)
{
	check_pointers();
	record(actual, &nr_actual, DEL_CONS, pid_of(p), cid_of(c));
}

static void cb_p_stop(struct irq_bypass_producer *p)
{
	check_pointers();
	record(actual, &nr_actual, P_STOP, pid_of(p), -1);
}

static void cb_p_start(struct irq_bypass_producer *p)
{
	check_pointers();
	record(actual, &nr_actual, P_START, pid_of(p), -1);
}

static int cb_add_producer(struct irq_bypass_consumer *c,
			   struct irq_bypass_producer *p)
{
	check_pointers();
	record(actual, &nr_actual, ADD_PROD, pid_of(p), cid_of(c));
	return mcons[cid_of(c)].result;
}

static void cb_del_producer(struct irq_bypass_consumer *c,
			    struct irq_bypass_producer *p)
{
	check_pointers();
	record(actual, &nr_actual, DEL_PROD, pid_of(p), cid_of(c));
}

static void cb_c_stop(struct irq_bypass_consumer *c)
{
	check_pointers();
	record(actual, &nr_actual, C_STOP, -1, cid_of(c));
}

static void cb_c_start(struct irq_bypass_consumer *c)
{
	check_pointers();
	record(actual, &nr_actual, C_START, -1, cid_of(c));
}

static void set_producer(int i, void *token, unsigned int cfg)
{
	struct irq_bypass_producer *p = &prods[i];

#ifdef IRQBYPASS_EVENTFD_API
	mprod[i].token = token;
#else
	p->token = token;
	p->irq = 100 + i;
#endif
	p->add_consumer = cfg & CFG_ADD ? cb_add_consumer : NULL;
	p->del_consumer = cfg & CFG_DEL ? cb_del_consumer : NULL;
	p->stop = cfg & CFG_STOP ? cb_p_stop : NULL;
	p->start = cfg & CFG_START ? cb_p_start : NULL;
	mprod[i].cfg = cfg;
}

static void set_consumer(int i, void *token, unsigned int cfg)
{
	struct irq_bypass_consumer *c = &conss[i];

#ifdef IRQBYPASS_EVENTFD_API
	mcons[i].token = token;
#else
	c->token = token;
#endif
	c->add_producer = cfg & CFG_ADD ? cb_add_producer : NULL;
	c->del_producer = cfg & CFG_DEL ? cb_del_producer : NULL;
	c->stop = cfg & CFG_STOP ? cb_c_stop : NULL;
	c->start = cfg & CFG_START ? cb_c_start : NULL;
	mcons[i].cfg = cfg;
}

/* ---- the model ---- */

/* The token under which an object is registered, if it is. */
#ifdef IRQBYPASS_EVENTFD_API
#define PROD_TOKEN(i)	(mprod[i].efd)
#define CONS_TOKEN(i)	(mcons[i].efd)
#else
#define PROD_TOKEN(i)	(prods[i].token)
#define CONS_TOKEN(i)	(conss[i].token)
#endif

static int model_producer_of(void *token)
{
	int i;

	for (i = 0; i < NR_PROD; i++)
		if (mprod[i].registered && PROD_TOKEN(i) == token)
			return i;
	return -1;
}

static int model_consumer_of(void *token)
{
	int i;

	for (i = 0; i < NR_POOL; i++)
		if (mcons[i].registered && CONS_TOKEN(i) == token)
			return i;
	return -1;
}

static void expect(int kind, int p, int c)
{
	record(expected, &nr_expected, kind, p, c);
}

static int expected_warnings;
static long allowed_warnings;	/* over the whole run */

static int model_connect(int p, int c)
{
	unsigned int pc = mprod[p].cfg, cc = mcons[c].cfg;
	int ret = 0;

	if (pc & CFG_STOP)
		expect(P_STOP, p, -1);
	if (cc & CFG_STOP)
		expect(C_STOP, -1, c);
	if (pc & CFG_ADD) {
		expect(ADD_CONS, p, c);
		ret = mprod[p].result;
	}
	if (!ret) {
		expect(ADD_PROD, p, c);
		ret = mcons[c].result;
		if (ret && (pc & CFG_DEL))
			expect(DEL_CONS, p, c);
	}
	if (cc & CFG_START)
		expect(C_START, -1, c);
	if (pc & CFG_START)
		expect(P_START, p, -1);
	if (ret > 0) {
		expected_warnings++;
		ret = -EIO;
	}
	if (ret)
		mstat.connect_failures++;
	else
		mstat.connects++;
	return ret;
}

static void model_disconnect(int p, int c)
{
	unsigned int pc = mprod[p].cfg, cc = mcons[c].cfg;

	if (pc & CFG_STOP)
		expect(P_STOP, p, -1);
	if (cc & CFG_STOP)
		expect(C_STOP, -1, c);
	expect(DEL_PROD, p, c);
	if (pc & CFG_DEL)
		expect(DEL_CONS, p, c);
	if (cc & CFG_START)
		expect(C_START, -1, c);
	if (pc & CFG_START)
		expect(P_START, p, -1);
	mstat.disconnects++;
}

#ifdef IRQBYPASS_EVENTFD_API
static unsigned int stripe_of(void *token)
{
	return hash_ptr(token, 32) >> (32 - IRQBYPASS_LOCK_BITS);
}

/* Slots taken in @token's stripe: one per eventfd registered there. */
static unsigned long model_used(void *token)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < NR_PROD; i++)
		if (mprod[i].registered &&
		    stripe_of(mprod[i].efd) == stripe_of(token))
			n++;
	for (i = 0; i < NR_POOL; i++)
		if (mcons[i].registered && mcons[i].partner < 0 &&
		    stripe_of(mcons[i].efd) == stripe_of(token))
			n++;
	return n;
}

/*
 * A new slot in @token's stripe: grown at once if it would be more than
 * 3/4 full, which fails (-ENOMEM) if the shim fails the next allocation.
 */
static int model_take_slot(void *token)
{
	unsigned long size = 1UL << irqbypass_kunit_slot_bits(token);

	if (model_used(token) + 1 <= size / 4 * 3)
		return 0;
	if (READ_ONCE(shim_fail_allocs) > 0 && !READ_ONCE(shim_fail_skip))
		return -ENOMEM;
	return 0;
}

/*
 * What both registrations do last: connect @p and @c, of which one was
 * registered under @token, or take a slot for the one that is registering
 * (@producer says which), the other being -1.
 */
static int model_join(int p, int c, bool producer, void *token)
{
	int ret;

	if (p < 0 || c < 0)
		return model_take_slot(token);
	cb.p = p;
	cb.c = c;
	cb.connect = true;
	cb.registering_producer = producer;
	cb.token = token;
	ret = model_connect(p, c);
	if (ret)
		return ret;
	mprod[p].partner = c;
	mcons[c].partner = p;
	return 0;
}

/* Refused before anything else: registered, or set by its caller. */
static bool model_eventfd_set(struct object *o)
{
	if (!o->efd)
		return false;
	mstat.invalid++;
	expected_warnings++;
	return true;
}

static int model_register_producer(int p, void *token, int irq)
{
	int ret;

	if (model_eventfd_set(&mprod[p]))
		return -EINVAL;
	mprod[p].irq = irq;
	if (!token) {
		mstat.invalid++;
		return -EINVAL;
	}
	if (model_producer_of(token) >= 0) {
		mstat.busy++;
		return -EBUSY;
	}
	ret = model_join(p, model_consumer_of(token), true, token);
	if (ret)
		return ret;
	mprod[p].registered = true;
	mprod[p].efd = token;
	mstat.producers++;
	mstat.producer_registrations++;
	return 0;
}

static int model_register_consumer(int c, void *token)
{
	int ret;

	if (model_eventfd_set(&mcons[c]))
		return -EINVAL;
	if (!token || (mcons[c].cfg & (CFG_ADD | CFG_DEL)) !=
	    (CFG_ADD | CFG_DEL)) {
		mstat.invalid++;
		return -EINVAL;
	}
	if (model_consumer_of(token) >= 0) {
		mstat.busy++;
		return -EBUSY;
	}
	ret = model_join(model_producer_of(token), c, false, token);
	if (ret)
		return ret;
	mcons[c].registered = true;
	mcons[c].efd = token;
	mstat.consumers++;
	mstat.consumer_registrations++;
	return 0;
}

/*
 * Unregister @o, producer @p or consumer @c: nothing if its eventfd is
 * NULL, a warning and nothing else if it is set but @o is not registered
 * under it, else a disconnect from its partner first.  Returns whether it
 * was unregistered.
 */
static bool model_leave(struct object *o, int p, int c)
{
	if (!o->efd)
		return false;
	if (!o->registered) {
		expected_warnings++;
		return false;
	}
	if (o->partner >= 0) {
		cb.p = p;
		cb.c = c;
		cb.connect = false;
		cb.token = o->efd;
		model_disconnect(p, c);
		mcons[c].partner = -1;
		mprod[p].partner = -1;
	}
	o->registered = false;
	o->efd = NULL;
	return true;
}

static void model_unregister_producer(int p)
{
	if (model_leave(&mprod[p], p, mprod[p].partner))
		mstat.producers--;
}

static void model_unregister_consumer(int c)
{
	if (model_leave(&mcons[c], mcons[c].partner, c))
		mstat.consumers--;
}
#else
static int model_register_producer(int p)
{
	int c, ret;

	if (!prods[p].token) {
		mstat.invalid++;
		return -EINVAL;
	}
	/* This very object, under any token: a caller bug, refused. */
	if (mprod[p].registered) {
		mstat.busy++;
		expected_warnings++;
		return -EBUSY;
	}
	if (model_producer_of(prods[p].token) >= 0) {
		mstat.busy++;
		return -EBUSY;
	}
	c = model_consumer_of(prods[p].token);
	if (c >= 0) {
		ret = model_connect(p, c);
		if (ret)
			return ret;
	}
	mprod[p].registered = true;
	mstat.producers++;
	mstat.producer_registrations++;
	return 0;
}

static int model_register_consumer(int c)
{
	int p, ret;

	if (!conss[c].token || (mcons[c].cfg & (CFG_ADD | CFG_DEL)) !=
	    (CFG_ADD | CFG_DEL)) {
		mstat.invalid++;
		return -EINVAL;
	}
	if (mcons[c].registered) {
		mstat.busy++;
		expected_warnings++;
		return -EBUSY;
	}
	if (model_consumer_of(conss[c].token) >= 0) {
		mstat.busy++;
		return -EBUSY;
	}
	p = model_producer_of(conss[c].token);
	if (p >= 0) {
		ret = model_connect(p, c);
		if (ret)
			return ret;
	}
	mcons[c].registered = true;
	mstat.consumers++;
	mstat.consumer_registrations++;
	return 0;
}

static void model_unregister_producer(int p)
{
	int c;

	if (!mprod[p].registered)
		return;
	c = model_consumer_of(prods[p].token);
	if (c >= 0)
		model_disconnect(p, c);
	mprod[p].registered = false;
	mstat.producers--;
}

static void model_unregister_consumer(int c)
{
	int p;

	if (!mcons[c].registered)
		return;
	p = model_producer_of(conss[c].token);
	if (p >= 0)
		model_disconnect(p, c);
	mcons[c].registered = false;
	mstat.consumers--;
}
#endif

/* ---- comparing the two ---- */

static const char *op_name;

static void print_trace(const char *what, struct event *t, int n)
{
	int i;

	fprintf(stderr, "  %s:", what);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s(p%d,c%d)", event_names[t[i].kind],
			t[i].p, t[i].c);
	fprintf(stderr, "\n");
}

static void compare_ret(int got, int want)
{
	if (got != want)
		harness_fail("%s returned %d, the model says %d", op_name, got,
			     want);
}

/* The value of counter @name in @text, a copy of the stats file; -1 if none. */
static long stat_in(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *line;

	for (line = text; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, name, len) && line[len] == ' ')
			return strtol(line + len, NULL, 10);
	}
	return -1;
}

long harness_stat(const char *name)
{
	char *text = shim_debugfs_read("stats");
	long val;

	shim_assert(text);
	val = stat_in(text, name);
	free(text);
	return val;
}

long harness_lines(const char *name, const char *what, long *matching)
{
	char *text = shim_debugfs_read(name), *line, *end;
	long n = 0;

	shim_assert(text);
	*matching = 0;
	for (line = text; *line; line = end + 1) {
		end = strchr(line, '\n');
		shim_assert(end);
		*end = '\0';
		n++;
		if (strstr(line, what))
			(*matching)++;
	}
	free(text);
	return n;
}

static long model_pairs(void)
{
	long n = 0;
	int c;

	for (c = 0; c < NR_POOL; c++)
#ifdef IRQBYPASS_EVENTFD_API
		if (mcons[c].registered && mcons[c].partner >= 0)
#else
		if (mcons[c].registered &&
		    model_producer_of(conss[c].token) >= 0)
#endif
			n++;
	return n;
}

static void compare_stat(const char *stats, const char *name, long want)
{
	long got = stat_in(stats, name);

	if (got != want)
		harness_fail("after %s: stats %s is %ld, the model says %ld",
			     op_name, name, got, want);
}

static long warnings_before;

/* The trace of the operation, the warnings, and the counts of the module. */
static void compare_quick(void)
{
	long registered = mstat.producers + mstat.consumers;
	long warned = shim_warnings - warnings_before;

	if (nr_actual != nr_expected ||
	    memcmp(actual, expected, nr_actual * sizeof(actual[0]))) {
		fprintf(stderr, "callbacks of %s differ\n", op_name);
		print_trace("actual  ", actual, nr_actual);
		print_trace("expected", expected, nr_expected);
		harness_fail("callback trace of %s", op_name);
	}
	if (warned > expected_warnings)
		harness_fail("%s warned %ld times, the model expects at most %d",
			     op_name, warned, expected_warnings);
	allowed_warnings += expected_warnings;
	expected_warnings = 0;
	if (irqbypass_kunit_registered() != registered)
		harness_fail("after %s: %ld registered, the model says %ld",
			     op_name, irqbypass_kunit_registered(), registered);
	/* Registrations take no reference on the manager's module. */
	if (READ_ONCE(shim_module.refcnt))
		harness_fail("after %s: module refcount %ld, want 0",
			     op_name, READ_ONCE(shim_module.refcnt));
}

#ifdef IRQBYPASS_EVENTFD_API
static void *stripe_tokens[NR_STRIPES];	/* one eventfd of each stripe */

/* Every object's pointers and irq, as the model has them. */
static void compare_fields(void)
{
	int i, o;

	for (i = 0; i < NR_PROD; i++) {
		o = mprod[i].partner;
		if (prods[i].eventfd != mprod[i].efd ||
		    prods[i].consumer != (o < 0 ? NULL : &conss[o]) ||
		    (i < NR_POOL && prods[i].irq != mprod[i].irq))
			harness_fail("after %s: producer %d: %p %p irq %d, model %p c%d %d",
				     op_name, i, prods[i].eventfd,
				     prods[i].consumer, prods[i].irq,
				     mprod[i].efd, o, mprod[i].irq);
	}
	for (i = 0; i < NR_POOL; i++) {
		o = mcons[i].partner;
		if (conss[i].eventfd != mcons[i].efd ||
		    conss[i].producer != (o < 0 ? NULL : &prods[o]))
			harness_fail("after %s: consumer %d: eventfd %p producer %p, model %p p%d",
				     op_name, i, conss[i].eventfd,
				     conss[i].producer, mcons[i].efd, o);
	}
}

/*
 * The stripes' tables: what stats says they take, and no stripe of ours
 * more than 3/4 full.
 */
static void compare_tables(const char *stats)
{
	long bytes = 0, slots = 0;
	unsigned int bits;
	int i;

	for (i = 0; i < NR_STRIPES; i++) {
		bits = irqbypass_kunit_slot_bits(stripe_tokens[i]);
		slots += 1L << bits;
		if (bits > SLOT_MIN_BITS)
			bytes += sizeof(long) << bits;
	}
	compare_stat(stats, "table_bytes", bytes);
	compare_stat(stats, "slots", slots);
	for (i = 0; i < NR_TOKENS; i++)
		if (model_used(tokens[i]) >
		    (3UL << irqbypass_kunit_slot_bits(tokens[i])) / 4)
			harness_fail("after %s: %lu slots taken of %lu",
				     op_name, model_used(tokens[i]),
				     1UL << irqbypass_kunit_slot_bits(tokens[i]));
}
#endif

/* That, and everything debugfs shows. */
static void compare_all(void)
{
	long pairs = model_pairs(), paired, n;
	char *stats;
	int i;

	compare_quick();
	stats = shim_debugfs_read("stats");
	compare_stat(stats, "producers", mstat.producers);
	compare_stat(stats, "consumers", mstat.consumers);
	compare_stat(stats, "producer_registrations", mstat.producer_registrations);
	compare_stat(stats, "consumer_registrations", mstat.consumer_registrations);
	compare_stat(stats, "invalid", mstat.invalid);
	compare_stat(stats, "busy", mstat.busy);
	compare_stat(stats, "connects", mstat.connects);
	compare_stat(stats, "connect_failures", mstat.connect_failures);
	compare_stat(stats, "disconnects", mstat.disconnects);
	compare_stat(stats, "pairs", pairs);
#ifdef IRQBYPASS_EVENTFD_API
	compare_tables(stats);
	compare_fields();
#endif
	free(stats);

	n = harness_lines("producers", "paired=yes", &paired);
	if (n != mstat.producers || paired != pairs)
		harness_fail("after %s: %ld producers, %ld paired in debugfs; model: %ld, %ld",
			     op_name, n, paired, mstat.producers, pairs);
	n = harness_lines("consumers", "paired=yes", &paired);
	if (n != mstat.consumers || paired != pairs)
		harness_fail("after %s: %ld consumers, %ld paired in debugfs; model: %ld, %ld",
			     op_name, n, paired, mstat.consumers, pairs);
	for (i = 0; i < NR_POOL; i++)
		if (mcons[i].registered && mcons[i].cfg != CFG_ALL &&
		    (mcons[i].cfg & (CFG_ADD | CFG_DEL)) != (CFG_ADD | CFG_DEL))
			harness_fail("a consumer without add/del is registered");
}

static void begin(const char *name)
{
	op_name = name;
	nr_actual = 0;
	nr_expected = 0;
	expected_warnings = 0;
	warnings_before = shim_warnings;
	harness_ops++;
}

/* ---- operations ---- */

#ifdef IRQBYPASS_EVENTFD_API
static void op_register_producer(int p, int irq)
{
	int want;

	begin("register_producer");
	want = model_register_producer(p, mprod[p].token, irq);
	compare_ret(irq_bypass_register_producer(&prods[p], mprod[p].token,
						 irq), want);
	compare_all();
}

static void op_register_consumer(int c)
{
	int want;

	begin("register_consumer");
	want = model_register_consumer(c, mcons[c].token);
	compare_ret(irq_bypass_register_consumer(&conss[c], mcons[c].token),
		    want);
	compare_all();
}

/* Register a registered object again, under @token: refused, it stays. */
static void op_register_again(bool producer, int i, void *token)
{
	int want, ret;

	begin(producer ? "register_producer again" : "register_consumer again");
	want = producer ? model_register_producer(i, token, 7) :
			  model_register_consumer(i, token);
	ret = producer ? irq_bypass_register_producer(&prods[i], token, 7) :
			 irq_bypass_register_consumer(&conss[i], token);
	compare_ret(ret, want);
	compare_all();
}

/*
 * An unregistered object whose caller set its eventfd: unregistering it
 * warns and changes nothing, registering it is refused.
 */
static void op_impostor(bool producer, int i, void *token)
{
	if (producer && !mprod[i].registered) {
		prods[i].eventfd = token;
		mprod[i].efd = token;
	} else if (!producer && !mcons[i].registered) {
		conss[i].eventfd = token;
		mcons[i].efd = token;
	}
}
#else
static void op_register_producer(int p)
{
	int want;

	begin("register_producer");
	want = model_register_producer(p);
	compare_ret(irq_bypass_register_producer(&prods[p]), want);
	compare_all();
}

static void op_register_consumer(int c)
{
	int want;

	begin("register_consumer");
	want = model_register_consumer(c);
	compare_ret(irq_bypass_register_consumer(&conss[c]), want);
	compare_all();
}

/*
 * Register a registered object again under @token, any token or none, as a
 * caller that forgot to unregister it would.  It gets its own token back
 * before anything is compared: its registration goes on as it was.
 */
static void op_register_again(bool producer, int i, void *token)
{
	void **slot = producer ? &prods[i].token : &conss[i].token;
	void *own = *slot;
	int want, ret;

	begin(producer ? "register_producer again" : "register_consumer again");
	*slot = token;
	want = producer ? model_register_producer(i) :
			  model_register_consumer(i);
	ret = producer ? irq_bypass_register_producer(&prods[i]) :
			 irq_bypass_register_consumer(&conss[i]);
	*slot = own;
	compare_ret(ret, want);
	compare_all();
}
#endif

static void op_unregister_producer(int p, bool quick)
{
	begin("unregister_producer");
	model_unregister_producer(p);
	irq_bypass_unregister_producer(&prods[p]);
	if (quick)
		compare_quick();
	else
		compare_all();
}

static void op_unregister_consumer(int c, bool quick)
{
	begin("unregister_consumer");
	model_unregister_consumer(c);
	irq_bypass_unregister_consumer(&conss[c]);
	if (quick)
		compare_quick();
	else
		compare_all();
}

static void op_null(int which)
{
	begin("NULL argument");
	switch (which % 4) {
#ifdef IRQBYPASS_EVENTFD_API
	case 0:
		mstat.invalid++;
		compare_ret(irq_bypass_register_producer(NULL, tokens[0], 1),
			    -EINVAL);
		break;
	case 1:
		mstat.invalid++;
		compare_ret(irq_bypass_register_consumer(NULL, tokens[0]),
			    -EINVAL);
		break;
#else
	case 0:
		mstat.invalid++;
		compare_ret(irq_bypass_register_producer(NULL), -EINVAL);
		break;
	case 1:
		mstat.invalid++;
		compare_ret(irq_bypass_register_consumer(NULL), -EINVAL);
		break;
#endif
	case 2:
		irq_bypass_unregister_producer(NULL);
		break;
	default:
		irq_bypass_unregister_consumer(NULL);
		break;
	}
	compare_all();
}

static int result_of(unsigned int r)
{
	static const int results[] = { 0, 0, -ENOSPC, -EINVAL, -EBUSY,
				       -EHWPOISON, -512, 1 };

	return results[r % 8];
}

#ifndef IRQBYPASS_EVENTFD_API
static void op_resize(unsigned int bits)
{
	unsigned int cur;
	bool fails;
	int ret, want;

	begin("resize");
	bits = IRQBYPASS_LOCK_BITS + bits % (HARNESS_MAX_BITS -
					     IRQBYPASS_LOCK_BITS + 1);
	irqbypass_kunit_flush();
	cur = irqbypass_kunit_table_bits();
	fails = READ_ONCE(shim_fail_allocs) > 0;
	want = bits != cur && bits != IRQBYPASS_LOCK_BITS && fails ?
		-ENOMEM : 0;
	ret = irqbypass_kunit_resize(bits);
	compare_ret(ret, want);
	if (irqbypass_kunit_table_bits() != (ret ? cur : bits))
		harness_fail("resize to %u bits from %u returned %d, table has %u",
			     bits, cur, ret, irqbypass_kunit_table_bits());
	compare_all();
}
#endif

static void op_fill(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n % (NR_FILL + 1); i++)
		if (!mprod[NR_POOL + i].registered)
#ifdef IRQBYPASS_EVENTFD_API
			op_register_producer(NR_POOL + i, 0);
#else
			op_register_producer(NR_POOL + i);
#endif
}

/* Unregister the fillers, every @stride-th first: holes in long probes. */
static void op_unfill(unsigned int stride)
{
	unsigned int i, j;

	for (j = 0; j < stride; j++)
		for (i = j; i < NR_FILL; i += stride)
			op_unregister_producer(NR_POOL + i, true);
	begin("unfill");
	compare_all();
}

/* Every object unregistered, and the knobs of the shim back to normal. */
static void drain(void)
{
	int i;

	for (i = 0; i < NR_PROD; i++)
		op_unregister_producer(i, true);
	for (i = 0; i < NR_POOL; i++)
		op_unregister_consumer(i, true);
#ifdef IRQBYPASS_EVENTFD_API
	/* The impostors' eventfds, which their callers set, go too. */
	for (i = 0; i < NR_PROD; i++) {
		prods[i].eventfd = NULL;
		mprod[i].efd = NULL;
	}
	for (i = 0; i < NR_POOL; i++) {
		conss[i].eventfd = NULL;
		mcons[i].efd = NULL;
	}
#endif
	WRITE_ONCE(shim_fail_allocs, 0);
	shim_run_work();
	begin("drain");
	compare_all();
}

#ifdef IRQBYPASS_EVENTFD_API
/* The next token from *@v whose hash matches @hash in the bits of @mask. */
static void *find_token(uintptr_t *v, u32 hash, u32 mask)
{
	for (; *v < 0x40000000; *v += 8)
		if (!((hash_ptr((void *)*v, 32) ^ hash) & mask)) {
			*v += 8;
			return (void *)(*v - 8);
		}
	shim_bug(__FILE__, __LINE__, "no token found");
	return NULL;
}

void harness_init(void)
{
	u32 stripe = ~0U << (32 - IRQBYPASS_LOCK_BITS), hash;
	static bool done;
	uintptr_t v = 0x10000;
	int i, found = 0;

	if (done)
		return;
	done = true;
	shim_assert(!shim_module_init());
	/*
	 * Tokens 0..3 share one stripe and one home slot in any table of up
	 * to 2^HOME_BITS slots: the longest probes.  4 and 5 are elsewhere.
	 */
	hash = hash_ptr((void *)v, 32);
	for (i = 0; i < NR_TOKENS; i++)
		tokens[i] = find_token(&v, i < 4 ? hash : ~hash,
				       i < 4 ? stripe | (BIT(HOME_BITS) - 1) :
				       stripe);
	/* The fillers share that stripe, the even ones that home slot too. */
	for (i = 0; i < NR_FILL; i++) {
		v = 0x20000000UL + 0x100000UL * i;
		fill_tokens[i] = find_token(&v, hash, i % 2 ? stripe :
					    stripe | (BIT(SLOT_MIN_BITS) - 1));
		set_producer(NR_POOL + i, fill_tokens[i], 0);
		mprod[NR_POOL + i].partner = -1;
	}
	for (v = 0x30000000; found < NR_STRIPES; v += 8) {
		i = hash_ptr((void *)v, 32) >> (32 - IRQBYPASS_LOCK_BITS);
		if (!stripe_tokens[i]) {
			stripe_tokens[i] = (void *)v;
			found++;
		}
	}
}
#else
static bool find_token(uintptr_t *v, unsigned long bucket, bool same)
{
	for (; *v < 0x10000000; *v += 8)
		if ((irqbypass_kunit_bucket((void *)*v, HARNESS_MAX_BITS) ==
		     bucket) == same)
			return true;
	return false;
}

void harness_init(void)
{
	static bool done;
	unsigned long bucket;
	uintptr_t v = 0x10000;
	int i;

	if (done)
		return;
	done = true;
	shim_assert(!shim_module_init());
	/* Tokens 0..3 share one bucket at every table size we use. */
	bucket = irqbypass_kunit_bucket((void *)v, HARNESS_MAX_BITS);
	for (i = 0; i < NR_TOKENS; i++, v += 8) {
		shim_assert(find_token(&v, bucket, i < 4));
		tokens[i] = (void *)v;
	}
	for (i = 0; i < NR_FILL; i++)
		fill_tokens[i] = (void *)(0x20000000UL + 4096UL * i);
	for (i = 0; i < NR_FILL; i++)
		set_producer(NR_POOL + i, fill_tokens[i], 0);
}
#endif

void harness_exit(void)
{
	drain();
	shim_module_exit();
	if (shim_warnings > allowed_warnings)
		harness_fail("%ld warnings, %ld expected", shim_warnings,
			     allowed_warnings);
}

/* The operations both front ends share; false if @op is none of them. */
static bool op_shared(unsigned int op, int i, unsigned int b,
		      unsigned int c, void *token)
{
	switch (op) {
	case 1:
		op_register_consumer(i);
		break;
	case 2:
		op_unregister_producer(i, false);
		break;
	case 3:
		op_unregister_consumer(i, false);
		break;
	case 4:		/* re-aim an unregistered object, maybe an impostor */
		if (!mprod[i].registered)
			set_producer(i, token, c & CFG_ALL);
		else	/* or register a registered one again */
			op_register_again(true, i, token);
		break;
	case 5:
		if (!mcons[i].registered)
			set_consumer(i, token, c & CFG_ALL);
		else
			op_register_again(false, i, token);
		break;
	case 8:		/* how the next add callbacks end */
		mprod[i].result = result_of(b);
		break;
	case 9:
		mcons[i].result = result_of(b);
		break;
	case 12:
		begin("resize work");
		shim_run_work();
		compare_all();
		break;
	case 13:
		jiffies += HZ;
		break;
	case 14:
		op_fill(b);
		break;
	default:
		return false;
	}
	return true;
}

#ifdef IRQBYPASS_EVENTFD_API
/* Every input starts from the same objects, unregistered. */
static void reset_objects(void)
{
	int i;

	for (i = 0; i < NR_POOL; i++) {
		memset(&prods[i], 0, sizeof(prods[i]));
		memset(&conss[i], 0, sizeof(conss[i]));
		mprod[i] = (struct object){ .partner = -1 };
		mcons[i] = (struct object){ .partner = -1 };
		set_producer(i, tokens[i % 2 ? i : 0], CFG_ALL);
		set_consumer(i, tokens[i % 2 ? i : 0], CFG_ALL);
	}
}

/* The operations of the front end of the API of Linux 6.17 and later. */
static void op_own(unsigned int op, int i, unsigned int a, unsigned int b,
		   unsigned int c, void *token)
{
	switch (op) {
	case 0:
		op_register_producer(i, (int)(b << 8 | c));
		break;
	case 6:		/* its caller set an unregistered one's eventfd */
		op_impostor(!(c & 1), i, token);
		break;
	case 7:		/* or zeroed it again */
		if (!mprod[i].registered && (c & 1)) {
			memset(&prods[i], 0, sizeof(prods[i]));
			mprod[i].cfg = 0;
			mprod[i].efd = NULL;
			mprod[i].irq = 0;
		} else if (!mcons[i].registered && !(c & 1)) {
			memset(&conss[i], 0, sizeof(conss[i]));
			mcons[i].cfg = 0;
			mcons[i].efd = NULL;
		}
		break;
	case 10:	/* unregister fillers, leaving holes in probes */
		op_unfill(1 + b % 5);
		break;
	case 11:	/* the next (or the one after) allocation fails */
		WRITE_ONCE(shim_fail_skip, b & 1);
		WRITE_ONCE(shim_fail_allocs, 1 + (c & 1));
		break;
	case 15:
		if (a & 1)
			op_unfill(1);
		else
			op_null(b);
		break;
	}
}
#else
static void reset_objects(void)
{
	int i;

	for (i = 0; i < NR_POOL; i++) {
		set_producer(i, tokens[i % 2 ? i : 0], CFG_ALL);
		mprod[i].result = 0;
		set_consumer(i, tokens[i % 2 ? i : 0], CFG_ALL);
		mcons[i].result = 0;
	}
}

/* The operations of the front end of the API of Linux 4.4 to 6.16. */
static void op_own(unsigned int op, int i, unsigned int a, unsigned int b,
		   unsigned int c, void *token)
{
	switch (op) {
	case 0:
		op_register_producer(i);
		break;
	case 6:		/* a zeroed object */
		if (!mprod[i].registered) {
			memset(&prods[i], 0, sizeof(prods[i]));
			mprod[i].cfg = 0;
		}
		break;
	case 7:
		if (!mcons[i].registered) {
			memset(&conss[i], 0, sizeof(conss[i]));
			mcons[i].cfg = 0;
		}
		break;
	case 10:
		op_resize(b);
		break;
	case 11:	/* the next (or the one after) allocation fails */
		WRITE_ONCE(shim_fail_skip, b & 1);
		WRITE_ONCE(shim_fail_allocs, 1);
		break;
	case 15:
		if (a & 1)
			op_unfill(1);
		else
			op_null(b);
		break;
	}
}
#endif

void harness_run(const unsigned char *data, unsigned long size)
{
	unsigned long pos;

	harness_init();
	reset_objects();
	for (pos = 0; pos + 4 <= size; pos += 4) {
		unsigned int op = data[pos], a = data[pos + 1];
		unsigned int b = data[pos + 2], c = data[pos + 3];
		int i = a % NR_POOL;
		void *token = (b % (NR_TOKENS + 1)) < NR_TOKENS ?
			tokens[b % (NR_TOKENS + 1)] : NULL;

		if (!op_shared(op % 16, i, b, c, token))
			op_own(op % 16, i, a, b, c, token);
	}
	drain();
}

long unit_connected;

int unit_add_producer(struct irq_bypass_consumer *c,
		      struct irq_bypass_producer *p)
{
	unit_connected++;
	return 0;
}

void unit_del_producer(struct irq_bypass_consumer *c,
		       struct irq_bypass_producer *p)
{
	unit_connected--;
}

int unit_finish(long failures, long expected)
{
	shim_warnings -= expected;
	shim_module_exit();
	EXPECT(!shim_warnings);
	if (failures) {
		fprintf(stderr, "unit: %ld failures\n", failures);
		return 1;
	}
	printf("unit: all checks passed\n");
	return 0;
}
