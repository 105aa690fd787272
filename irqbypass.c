// SPDX-License-Identifier: GPL-2.0-only
/*
 * IRQ bypass manager
 *
 * Pairs interrupt producers (VFIO-PCI MSI vectors, vhost-vdpa virtqueue
 * interrupts) with interrupt consumers (KVM irqfds, the arm64 vGIC) that
 * carry the same opaque token, so that a device interrupt can be posted or
 * forwarded straight into a guest.
 *
 * Two front ends, one registry
 *
 * Linux 6.17 changed the API: the token became the eventfd, an argument of
 * the register functions, and the structures lost their list_head and
 * token and gained the eventfd and a pointer to the partner.  Kbuild reads
 * the target kernel's own <linux/irqbypass.h> and builds the front end of
 * its API (IRQBYPASS_EVENTFD_API for the later one); a kernel is never
 * judged by its version number, since a distribution may backport the
 * change.  Both front ends share everything but their index: the stripes
 * and their locks, the connect and disconnect sequences, re-entry refusal,
 * background resizing, counters, tracepoints and debugfs.
 *
 * Registry design (the API of Linux 4.4 to 6.16)
 *
 * The only per-object storage the ABI gives us is the list_head at the start
 * of each structure, so the registry is a hash table of list heads keyed by
 * the token pointer: each bucket has one list of producers and one of
 * consumers.  Nothing is allocated on the register or unregister path, so
 * neither can fail for lack of memory, and the cost of either does not
 * depend on how much else is registered.
 *
 * Locking is striped: 2^IRQBYPASS_LOCK_BITS mutexes, chosen by the top bits
 * of the token's hash.  The bucket index is the top bits of the same hash,
 * and the table never has fewer buckets than there are locks, so every
 * bucket, in every table size, is covered by exactly one lock.  That lock is
 * held across the whole of a registration (duplicate check, partner lookup,
 * connect callbacks, insertion), which makes everything about one token
 * atomic, while unrelated tokens almost never share a lock.
 *
 * The table grows and shrinks in a work item, off the registration path.
 * The resizer takes one stripe lock at a time, moves that stripe's entries
 * to the new table and switches the stripe's table pointer.  Every reader
 * dereferences a stripe's table pointer only under that stripe's lock, so the
 * old table is unreferenced once the last stripe has moved.  If the
 * allocation fails, nothing changes: chains are merely longer.
 *
 * Invariant: for every token at most one producer and one consumer are
 * registered, and if both are, they are connected.
 *
 * Registering an object that is already registered
 *
 * A caller that registers a registered object again, under its own token or
 * under another one (VFIO re-aiming a vector without unregistering it
 * first), would have its list_head linked into a second bucket while it is
 * still in the first: both lists corrupt.  The token's bucket cannot tell,
 * because the object sits in the bucket of its old token, under another
 * lock, and the registry keeps no record of the object beyond that
 * list_head.  So the list_head itself is asked: a node that is on a list
 * has neighbours that point back at it.  irqbypass_linked() reads the
 * node's two neighbours, in O(1), without allocating and without the lock
 * of the list they are on, and every read of a neighbour is
 * get_kernel_nofault(), so that the garbage of a node the caller never
 * initialised cannot fault.  A node that is NULL, poisoned by list_del(),
 * or empty (pointing at itself), as every never-registered or unregistered
 * object of an in-tree caller is, is not read through at all.
 *
 * The neighbours' lists may change while they are read: a neighbour is
 * added or removed under the other lock, or the resizer moves the object.
 * Adding or removing a neighbour keeps at least one of the two back
 * pointers, or changes the node's own pointers, which are read again after
 * the neighbours; and the resizer links the object into its new bucket
 * before it unlinks it from the old one (irqbypass_move_node()).  What is
 * taken for registered and refused is therefore: a node one of whose
 * neighbours points back at it, or whose pointers changed while it was
 * checked.  A caller can only defeat this by writing the node itself.
 *
 * The index of the API of Linux 6.17 and later
 *
 * The objects have no list_head, so the index lives outside them: each
 * stripe has its own open addressing table of object pointers, linearly
 * probed from the eventfd's hash, with backward-shift deletion (no
 * tombstones).  A slot holds a producer, whose consumer, if any, is reached
 * through its partner pointer, or a consumer without a producer (tagged in
 * the pointer's low bit).  The key is read through the object: a
 * registered object's eventfd, which the manager itself publishes before
 * the stripe's lock is released.  So a pair takes one slot of 8 bytes.
 *
 * The background work resizes a stripe's table once its load leaves
 * (1/4, 5/8], to a load in (1/4, 1/2]: a lookup probes one or two slots,
 * and a registered pair costs at most 32 bytes of table, the smallest
 * tables (8 slots a stripe, static, so that loading cannot fail) aside.  It
 * allocates unlocked and moves a stripe under its lock.  A registration
 * allocates only if registrations outrun the resizer and its stripe would
 * be more than 3/4 full: it then grows that stripe at once, under its lock,
 * and fails with -ENOMEM, registering nothing, if it cannot.  Linux's own
 * manager allocates (an xarray node) on every registration and can fail
 * the same way; here, in steady state, nothing is allocated.
 *
 * What the callers see is Linux 7.3's behaviour: the producer's irq is set
 * first, -EINVAL with a warning for an object whose eventfd is already set,
 * -EBUSY for a second object of a kind under one eventfd, the partner
 * pointers set after a successful connect (after both start callbacks) and
 * cleared after a disconnect, the eventfd published last and cleared by
 * unregister, and unregistering an object whose eventfd is NULL a no-op.
 * Two misuses get a defined result where Linux's does not: a NULL eventfd
 * is refused with -EINVAL (Linux files it under index 0, and unregister
 * then leaves it there), and unregistering an object whose eventfd is set
 * but that is not registered under it warns and changes nothing (Linux
 * erases whatever else is registered under that eventfd).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fault-inject.h>
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/irqbypass.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/poison.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "irqbypass_compat.h"
#include "irqbypass_internal.h"

#define CREATE_TRACE_POINTS
#include "irqbypass_trace.h"

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IRQ bypass manager of the irqbypass project (constant-cost registry), not the stock one");
MODULE_VERSION(IRQBYPASS_VERSION);

#define IRQBYPASS_NR_LOCKS	BIT(IRQBYPASS_LOCK_BITS)
#define IRQBYPASS_HASH_BITS	32

/* Count connect failures per errno up to EHWPOISON; the last slot is "other". */
#define IRQBYPASS_NR_ERRNO	(EHWPOISON + 2)

#ifndef IRQBYPASS_EVENTFD_API
struct irqbypass_bucket {
	struct list_head producers;
	struct list_head consumers;
};

struct irqbypass_table {
	unsigned int bits;
	struct irqbypass_bucket *buckets;
};

#endif

/* Counters of one stripe, protected by its lock: no atomics on the hot path. */
struct irqbypass_counters {
	unsigned long producers;	/* registered now */
	unsigned long consumers;	/* registered now */
	unsigned long producer_registrations;
	unsigned long consumer_registrations;
	unsigned long busy;		/* rejected with -EBUSY */
	unsigned long connects;
	unsigned long connect_failures;
	unsigned long disconnects;
};

struct irqbypass_stripe {
	struct mutex lock;		/* covers every bucket of this stripe */
#ifndef IRQBYPASS_EVENTFD_API
	struct irqbypass_table *table;	/* protected by @lock */
#else
	unsigned long *slots;		/* 2^@bits of them, protected by @lock */
	unsigned int bits;		/* protected by @lock */
	unsigned int used;		/* slots taken, protected by @lock */
#endif
	struct irqbypass_counters count;	/* protected by @lock */
	/*
	 * The task running bypass callbacks under @lock, or NULL: set and
	 * cleared under @lock, read locklessly to refuse re-entry.
	 */
	struct task_struct *cb_task;
} ____cacheline_aligned_in_smp;

static struct irqbypass_stripe stripes[IRQBYPASS_NR_LOCKS];

/*
 * The last connect failures, for debugfs irqbypass/failures and the
 * irqbypass-status command.  A connect that fails leaves nothing in the
 * registry (the register call returns the error, and the callers log it
 * at info level at most), so each stripe keeps its last
 * IRQBYPASS_FAILURES, one per token, under its lock: a token's record goes
 * when the token connects, or when the consumer that failed to connect is
 * unregistered; otherwise a newer failure in the stripe replaces the
 * oldest.  Static, so that a failure allocates nothing, and apart from the
 * stripes, whose cache lines the fast path reads.
 */
#define IRQBYPASS_FAILURES	2

struct irqbypass_failure {
	const void *token;	/* NULL: the record is free */
	const void *callback;	/* the callback that failed */
	unsigned long when;	/* jiffies of the last failure */
	int irq;		/* the producer's */
	int error;		/* what the callback returned */
	unsigned int count;	/* failures of @token since it was recorded */
};

static struct irqbypass_failure failures[IRQBYPASS_NR_LOCKS][IRQBYPASS_FAILURES];

/* The resizer's state. */
static DEFINE_MUTEX(resize_lock);
/* After a failed allocation, wait until @resize_retry before trying again. */
static bool resize_backoff;
static unsigned long resize_retry;
static void irqbypass_resize_work(struct work_struct *work);
static DECLARE_WORK(resize_work, irqbypass_resize_work);

/*
 * Fails a resize's table allocation on demand, through the kernel's fault
 * injection framework and debugfs irqbypass/fail_resize (the knobs of
 * Documentation/fault-injection/fault-injection.rst).  Unlike failslab it
 * fails this one allocation, whichever task resizes, and the vmalloc
 * fallback of a large table too.  It fails nothing until armed, and
 * compiles to nothing without CONFIG_FAULT_INJECTION.
 */
static DECLARE_FAULT_ATTR(fail_resize);

#ifndef IRQBYPASS_EVENTFD_API
/* The smallest table lives here, so that loading can never fail. */
static struct irqbypass_bucket boot_buckets[IRQBYPASS_NR_LOCKS];
static struct irqbypass_table boot_table = {
	.bits = IRQBYPASS_LOCK_BITS,
	.buckets = boot_buckets,
};

/* @table_bits is also read locklessly as a hint. */
static struct irqbypass_table *cur_table = &boot_table;
static unsigned int table_bits = IRQBYPASS_LOCK_BITS;

/*
 * Objects registered: @registered plus every CPU's @registered_delta.  A CPU
 * folds its delta into @registered once it reaches IRQBYPASS_ACCOUNT_BATCH,
 * so the resize trigger, which runs on every (un)registration, writes the
 * shared cache line only once every that many, and reads a count that lags
 * the truth by less than that many per CPU.  Inline, and nothing to
 * allocate.
 */
#define IRQBYPASS_ACCOUNT_BATCH	32
static DEFINE_PER_CPU(long, registered_delta);
static atomic_long_t registered;
#endif

/* Rare events, counted globally. */
static struct {
	atomic_long_t invalid;		/* rejected with -EINVAL */
	atomic_long_t connect_errno[IRQBYPASS_NR_ERRNO];
	atomic_long_t resizes;
	atomic_long_t resize_failures;
	atomic_long_t table_bytes;	/* allocated tables, not the boot one */
} stats;

static u32 irqbypass_hash(const void *token)
{
	return hash_ptr(token, IRQBYPASS_HASH_BITS);
}

static struct irqbypass_stripe *irqbypass_stripe(u32 hash)
{
	return &stripes[hash >> (IRQBYPASS_HASH_BITS - IRQBYPASS_LOCK_BITS)];
}

/*
 * Lock the stripe that covers the token whose hash is @hash, and return
 * it.  mutex_lock() is also where a call from atomic context is caught
 * (might_sleep()), so the API functions need no check of their own.
 *
 * Returns NULL, with one warning naming @caller, when the current task is
 * running bypass callbacks under this very lock: a callback called back into
 * the manager, and taking the lock again would deadlock.  This costs one read
 * of the stripe's cache line, which is about to be locked anyway.
 */
static struct irqbypass_stripe *irqbypass_lock_stripe(u32 hash,
						      unsigned long caller)
{
	struct irqbypass_stripe *s = irqbypass_stripe(hash);

	if (unlikely(READ_ONCE(s->cb_task) == current)) {
		WARN_ONCE(1, "irqbypass: called from a bypass callback by %pS (%s/%d): refused, it would deadlock\n",
			  (void *)caller, current->comm, current->pid);
		return NULL;
	}
	mutex_lock(&s->lock);
	return s;
}

/* The record of @token in stripe @s, or a free one for NULL; NULL if none. */
static struct irqbypass_failure *irqbypass_failure(struct irqbypass_stripe *s,
						   const void *token)
{
	struct irqbypass_failure *f = failures[s - stripes];
	unsigned int i;

	for (i = 0; i < IRQBYPASS_FAILURES; i++)
		if (f[i].token == token)
			return &f[i];
	return NULL;
}

static void irqbypass_forget_failure(struct irqbypass_stripe *s,
				     const void *token)
{
	struct irqbypass_failure *f;

	lockdep_assert_held(&s->lock);
	f = irqbypass_failure(s, token);
	if (f)
		f->token = NULL;
}

/*
 * Record that @callback failed with @error while connecting producer @irq
 * of @token.  The first failure of a token warns, rate-limited; the ones
 * that follow while it is recorded only count.
 */
static void irqbypass_note_failure(struct irqbypass_stripe *s,
				   const void *token, const void *callback,
				   int irq, int error)
{
	struct irqbypass_failure *f;
	unsigned int i;

	lockdep_assert_held(&s->lock);
	f = irqbypass_failure(s, token);
	if (!f) {
		f = irqbypass_failure(s, NULL);
		if (!f) {
			struct irqbypass_failure *g = failures[s - stripes];

			/* The oldest goes. */
			f = g;
			for (i = 1; i < IRQBYPASS_FAILURES; i++)
				if (time_before(g[i].when, f->when))
					f = &g[i];
		}
		pr_warn_ratelimited("irq %d: %ps failed with %pe: the interrupt is not bypassed\n",
				    irq, callback, ERR_PTR(error));
		f->token = token;
		f->count = 0;
	}
	f->callback = callback;
	f->when = jiffies;
	f->irq = irq;
	f->error = error;
	f->count++;
}

static void irqbypass_count_connect(struct irqbypass_stripe *s, int ret)
{
	if (!ret) {
		s->count.connects++;
		return;
	}
	s->count.connect_failures++;
	atomic_long_inc(&stats.connect_errno[min(-ret, IRQBYPASS_NR_ERRNO - 1)]);
}

/*
 * Connect @prod and @cons, both of token @token, under the lock of stripe
 * @s: the callbacks, in the order every version of the manager has called
 * them.  The front end records the pair once this succeeded.
 */
static int irqbypass_connect(struct irqbypass_stripe *s, const void *token,
			     struct irq_bypass_producer *prod,
			     struct irq_bypass_consumer *cons)
{
	const void *failed = NULL;
	int ret = 0;

	lockdep_assert_held(&s->lock);
	WRITE_ONCE(s->cb_task, current);

	if (prod->stop)
		prod->stop(prod);
	if (cons->stop)
		cons->stop(cons);

	if (prod->add_consumer) {
		ret = prod->add_consumer(prod, cons);
		failed = prod->add_consumer;
	}

	if (!ret) {
		ret = cons->add_producer(cons, prod);
		failed = cons->add_producer;
		if (ret && prod->del_consumer)
			prod->del_consumer(prod, cons);
	}

	if (cons->start)
		cons->start(cons);
	if (prod->start)
		prod->start(prod);
	WRITE_ONCE(s->cb_task, NULL);

	/* A positive return would be taken for success by our callers. */
	if (WARN_ON_ONCE(ret > 0))
		ret = -EIO;

	irqbypass_count_connect(s, ret);
	if (ret)
		irqbypass_note_failure(s, token, failed, prod->irq, ret);
	else
		irqbypass_forget_failure(s, token);
	trace_irqbypass_connect(token, prod, cons, ret);
	return ret;
}

static void irqbypass_disconnect(struct irqbypass_stripe *s, const void *token,
				 struct irq_bypass_producer *prod,
				 struct irq_bypass_consumer *cons)
{
	lockdep_assert_held(&s->lock);
	WRITE_ONCE(s->cb_task, current);

	if (prod->stop)
		prod->stop(prod);
	if (cons->stop)
		cons->stop(cons);

	cons->del_producer(cons, prod);

	if (prod->del_consumer)
		prod->del_consumer(prod, cons);

	if (cons->start)
		cons->start(cons);
	if (prod->start)
		prod->start(prod);
	WRITE_ONCE(s->cb_task, NULL);

	s->count.disconnects++;
	trace_irqbypass_disconnect(token, prod, cons);
}

#ifdef CONFIG_DEBUG_FS
static void irqbypass_show_fn(struct seq_file *m, const char *name,
			      const void *fn)
{
	if (fn)
		seq_printf(m, " %s=%ps", name, fn);
	else
		seq_printf(m, " %s=-", name);
}

/* One line of debugfs irqbypass/producers: @prod, and @cons if paired. */
static void irqbypass_show_producer(struct seq_file *m,
				    struct irq_bypass_producer *prod,
				    const void *token,
				    struct irq_bypass_consumer *cons)
{
	seq_printf(m, "token=%p irq=%d paired=%s", token, prod->irq,
		   cons ? "yes" : "no");
	irqbypass_show_fn(m, "add_consumer", prod->add_consumer);
	irqbypass_show_fn(m, "del_consumer", prod->del_consumer);
	irqbypass_show_fn(m, "stop", prod->stop);
	irqbypass_show_fn(m, "start", prod->start);
	seq_putc(m, '\n');
}

/* One line of debugfs irqbypass/consumers: @cons, and @prod if paired. */
static void irqbypass_show_consumer(struct seq_file *m,
				    struct irq_bypass_consumer *cons,
				    const void *token,
				    struct irq_bypass_producer *prod)
{
	seq_printf(m, "token=%p", token);
	if (prod)
		seq_printf(m, " irq=%d paired=yes", prod->irq);
	else
		seq_puts(m, " irq=- paired=no");
	irqbypass_show_fn(m, "add_producer", cons->add_producer);
	irqbypass_show_fn(m, "del_producer", cons->del_producer);
	irqbypass_show_fn(m, "stop", cons->stop);
	irqbypass_show_fn(m, "start", cons->start);
	seq_putc(m, '\n');
}
#endif

#ifndef IRQBYPASS_EVENTFD_API
/*
 * The front end of the API of Linux 4.4 to 6.16, and its index: the
 * list_heads in the objects.
 */

static struct irqbypass_bucket *irqbypass_bucket(struct irqbypass_table *t,
						 u32 hash)
{
	return &t->buckets[hash >> (IRQBYPASS_HASH_BITS - t->bits)];
}

/*
 * Lock the stripe that covers @token and return it, with the bucket for
 * @token in *@bucket, or NULL as irqbypass_lock_stripe() does.
 */
static struct irqbypass_stripe *irqbypass_lock(const void *token,
					       struct irqbypass_bucket **bucket,
					       unsigned long caller)
{
	u32 hash = irqbypass_hash(token);
	struct irqbypass_stripe *s = irqbypass_lock_stripe(hash, caller);

	if (s)
		*bucket = irqbypass_bucket(s->table, hash);
	return s;
}

/*
 * Whether @node, the list_head of a producer or consumer the caller passed,
 * is on a list: one of the registry's buckets, since no one else may link
 * it.  Lockless and O(1); see "Registering an object that is already
 * registered" above.  The caller holds a stripe lock, which need not be
 * the one of the list @node may be on.
 */
static bool irqbypass_linked(struct list_head *node)
{
	struct list_head *next, *prev, *back;

	next = READ_ONCE(node->next);
	prev = READ_ONCE(node->prev);
	if (!next || next == node || next == LIST_POISON1 ||
	    prev == LIST_POISON2 ||
	    !IS_ALIGNED((unsigned long)next | (unsigned long)prev,
			sizeof(void *)))
		return false;
	if (!get_kernel_nofault(back, &next->prev) && back == node)
		return true;
	if (!get_kernel_nofault(back, &prev->next) && back == node)
		return true;
	/* Neither points back: unless the node was relinked meanwhile. */
	smp_rmb();
	return READ_ONCE(node->next) != next || READ_ONCE(node->prev) != prev;
}

/*
 * Whether the object whose node is @node is already registered, under any
 * token: a caller bug, which gets one warning naming @caller, the function
 * that called the manager, and which the caller turns into -EBUSY.
 */
static bool irqbypass_registered_twice(struct list_head *node,
				       const char *what, unsigned long caller)
{
	if (!irqbypass_linked(node))
		return false;
	WARN_ONCE(1, "irqbypass: %pS registered a %s that is already registered: refused\n",
		  (void *)caller, what);
	return true;
}

static struct irq_bypass_producer *
irqbypass_find_producer(struct irqbypass_stripe *s, struct irqbypass_bucket *b,
			const void *token)
{
	struct irq_bypass_producer *prod;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(prod, &b->producers, node)
		if (prod->token == token)
			return prod;
	return NULL;
}

static struct irq_bypass_consumer *
irqbypass_find_consumer(struct irqbypass_stripe *s, struct irqbypass_bucket *b,
			const void *token)
{
	struct irq_bypass_consumer *cons;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(cons, &b->consumers, node)
		if (cons->token == token)
			return cons;
	return NULL;
}

/*
 * The table size we aim for with @nr objects registered: more than two and
 * at most four objects per bucket.  A bucket is two list heads, so a pair
 * costs at most 32 bytes of table, and a lookup walks one or two entries.
 */
static unsigned int irqbypass_wanted_bits(long nr)
{
	unsigned int bits = nr > 4 ? fls_long(nr - 1) - 2 : 0;

	if (bits < IRQBYPASS_LOCK_BITS)
		return IRQBYPASS_LOCK_BITS;
	if (bits > IRQBYPASS_MAX_BITS)
		return IRQBYPASS_MAX_BITS;
	return bits;
}

/*
 * Called after every change in the number of registered objects: grow once
 * there are more than four objects per bucket, shrink once there are fewer
 * than one per two buckets.  The work item, unbound because moving a large
 * table takes a while, does the rest.
 */
static void irqbypass_account(long delta)
{
	long d = this_cpu_add_return(registered_delta, delta);
	unsigned int bits;
	long nr;

	if (d > -IRQBYPASS_ACCOUNT_BATCH && d < IRQBYPASS_ACCOUNT_BATCH)
		return;
	/* Had we moved CPU meanwhile, the sum would still be right. */
	this_cpu_sub(registered_delta, d);
	nr = atomic_long_add_return(d, &registered);
	bits = READ_ONCE(table_bits);
	if ((nr > (4L << bits) && bits < IRQBYPASS_MAX_BITS) ||
	    (nr < (1L << bits) / 2 && bits > IRQBYPASS_LOCK_BITS)) {
		if (!READ_ONCE(resize_backoff) ||
		    time_after_eq(jiffies, READ_ONCE(resize_retry)))
			queue_work(system_unbound_wq, &resize_work);
	}
}

static long irqbypass_registered(void)
{
	long nr = atomic_long_read(&registered);
	int cpu;

	for_each_possible_cpu(cpu)
		nr += READ_ONCE(per_cpu(registered_delta, cpu));
	return nr;
}

/*
 * What a table of 2^@bits buckets takes: its header and its bucket array.
 * The array is a power of two of at least a page, which kmalloc() and
 * vmalloc() give exactly, so this is the memory the table holds.
 */
static size_t irqbypass_table_bytes(unsigned int bits)
{
	return sizeof(struct irqbypass_table) +
	       (sizeof(struct irqbypass_bucket) << bits);
}

static struct irqbypass_table *irqbypass_alloc_table(unsigned int bits)
{
	struct irqbypass_table *t;
	unsigned long i;

	/* The caller copes with a failure: no allocation warnings. */
	if (should_fail(&fail_resize, sizeof(*t->buckets) << bits))
		return NULL;
	t = kmalloc(sizeof(*t), GFP_KERNEL | __GFP_NOWARN);
	if (!t)
		return NULL;
	t->bits = bits;
	t->buckets = kvmalloc_array(1UL << bits, sizeof(*t->buckets),
				    GFP_KERNEL | __GFP_NOWARN);
	if (!t->buckets) {
		kfree(t);
		return NULL;
	}
	for (i = 0; i < (1UL << bits); i++) {
		INIT_LIST_HEAD(&t->buckets[i].producers);
		INIT_LIST_HEAD(&t->buckets[i].consumers);
	}
	atomic_long_add(irqbypass_table_bytes(bits), &stats.table_bytes);
	return t;
}

static void irqbypass_free_table(struct irqbypass_table *t)
{
	if (t == &boot_table)
		return;
	atomic_long_sub(irqbypass_table_bytes(t->bits), &stats.table_bytes);
	kvfree(t->buckets);
	kfree(t);
}

/*
 * list_move(@node, @head), from a bucket of the old table to the head of a
 * bucket of the new one, in an order that never lets irqbypass_linked(),
 * reading without this stripe's lock, see @node off both lists: the new
 * successor points back at @node before @node points at it, and @node's
 * own pointers change before its old neighbours stop pointing at it.
 */
static void irqbypass_move_node(struct list_head *node,
				struct list_head *head)
{
	struct list_head *old_next = node->next, *old_prev = node->prev;
	struct list_head *first = head->next;

	WRITE_ONCE(first->prev, node);
	/* Order: first->prev before node->next; pairs with irqbypass_linked(). */
	smp_wmb();
	WRITE_ONCE(node->next, first);
	WRITE_ONCE(node->prev, head);
	/* And node's own pointers before the old neighbours let go of it. */
	smp_wmb();
	WRITE_ONCE(old_next->prev, old_prev);
	WRITE_ONCE(old_prev->next, old_next);
	WRITE_ONCE(head->next, node);
}

/* Move one stripe's entries from its current table into @to. */
static void irqbypass_move_stripe(struct irqbypass_stripe *s,
				  struct irqbypass_table *to)
{
	struct irqbypass_table *from = s->table;
	unsigned int shift = from->bits - IRQBYPASS_LOCK_BITS;
	unsigned long first = (unsigned long)(s - stripes) << shift;
	unsigned long i;

	lockdep_assert_held(&s->lock);

	for (i = first; i < first + (1UL << shift); i++) {
		struct irqbypass_bucket *b = &from->buckets[i];
		struct irq_bypass_producer *prod, *ptmp;
		struct irq_bypass_consumer *cons, *ctmp;

		list_for_each_entry_safe(prod, ptmp, &b->producers, node) {
			struct irqbypass_bucket *nb;

			nb = irqbypass_bucket(to, irqbypass_hash(prod->token));
			irqbypass_move_node(&prod->node, &nb->producers);
		}
		list_for_each_entry_safe(cons, ctmp, &b->consumers, node) {
			struct irqbypass_bucket *nb;

			nb = irqbypass_bucket(to, irqbypass_hash(cons->token));
			irqbypass_move_node(&cons->node, &nb->consumers);
		}
	}
	s->table = to;
}

/* Resize the table to 2^@bits buckets.  Sleeps; takes every stripe lock in turn. */
static int irqbypass_resize(unsigned int bits)
{
	struct irqbypass_table *t, *old;
	unsigned int i;

	lockdep_assert_held(&resize_lock);

	if (bits == cur_table->bits)
		return 0;

	if (bits == boot_table.bits) {
		t = &boot_table;
	} else {
		t = irqbypass_alloc_table(bits);
		if (!t) {
			/* Longer chains until memory is back; retry later. */
			atomic_long_inc(&stats.resize_failures);
			WRITE_ONCE(resize_retry, jiffies + HZ);
			WRITE_ONCE(resize_backoff, true);
			return -ENOMEM;
		}
	}

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		mutex_lock(&stripes[i].lock);
		irqbypass_move_stripe(&stripes[i], t);
		mutex_unlock(&stripes[i].lock);
		cond_resched();
	}

	old = cur_table;
	cur_table = t;
	WRITE_ONCE(table_bits, bits);
	WRITE_ONCE(resize_backoff, false);
	irqbypass_free_table(old);
	atomic_long_inc(&stats.resizes);
	return 0;
}

static void irqbypass_resize_work(struct work_struct *work)
{
	mutex_lock(&resize_lock);
	irqbypass_resize(irqbypass_wanted_bits(irqbypass_registered()));
	mutex_unlock(&resize_lock);
}

/**
 * irq_bypass_register_producer - register an IRQ bypass producer
 * @producer: the producer to register; its @token must be set
 *
 * Adds @producer to the registry and, if a consumer with the same token is
 * registered, connects the two: both are stopped, the producer's
 * add_consumer and the consumer's add_producer are called, and both are
 * started again.  Never allocates memory.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, the call is
 * refused with -EDEADLK and one warning.
 * Return: 0 on success; -EINVAL if @producer or its token is NULL; -EBUSY if
 * a producer with this token is already registered, or if @producer itself
 * is, under this or any other token (a caller bug, which also warns once);
 * -EDEADLK if called from a callback under the lock for this token; or the
 * error with which a connect callback failed.  On any error nothing is
 * registered, and the consumer, if any, stays registered and unconnected.
 * An object that is already registered keeps its registration and its
 * connection, untouched.
 *
 * No module reference is taken: the caller's use of this symbol already
 * keeps the manager loaded for as long as the caller is.
 */
int irq_bypass_register_producer(struct irq_bypass_producer *producer)
{
	struct irq_bypass_consumer *consumer;
	struct irqbypass_stripe *s;
	struct irqbypass_bucket *b;
	int ret;

	if (!producer || !producer->token) {
		atomic_long_inc(&stats.invalid);
		return -EINVAL;
	}

	s = irqbypass_lock(producer->token, &b, _RET_IP_);
	if (!s) {
		ret = -EDEADLK;
		goto out;
	}

	if (irqbypass_registered_twice(&producer->node, "producer", _RET_IP_) ||
	    irqbypass_find_producer(s, b, producer->token)) {
		s->count.busy++;
		ret = -EBUSY;
		goto out_unlock;
	}

	consumer = irqbypass_find_consumer(s, b, producer->token);
	if (consumer) {
		ret = irqbypass_connect(s, producer->token, producer, consumer);
		if (ret)
			goto out_unlock;
	}

	list_add(&producer->node, &b->producers);
	s->count.producers++;
	s->count.producer_registrations++;
	mutex_unlock(&s->lock);

	irqbypass_account(1);
	trace_irqbypass_register_producer(producer->token, producer, 0);
	return 0;

out_unlock:
	mutex_unlock(&s->lock);
out:
	trace_irqbypass_register_producer(producer->token, producer, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(irq_bypass_register_producer);

/**
 * irq_bypass_unregister_producer - unregister an IRQ bypass producer
 * @producer: the producer to unregister
 *
 * Removes @producer from the registry, first disconnecting it from its
 * consumer if it is connected.  @producer is found by identity, not by
 * token: if this very object is not registered (it never was, it already
 * has been unregistered, or it merely carries the token of another
 * registration) nothing happens and no callback runs.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, nothing happens
 * but one warning.
 */
void irq_bypass_unregister_producer(struct irq_bypass_producer *producer)
{
	struct irq_bypass_producer *prod;
	struct irq_bypass_consumer *consumer;
	struct irqbypass_stripe *s;
	struct irqbypass_bucket *b;

	if (!producer || !producer->token)
		return;

	s = irqbypass_lock(producer->token, &b, _RET_IP_);
	if (!s)
		return;

	prod = irqbypass_find_producer(s, b, producer->token);
	if (prod != producer) {
		mutex_unlock(&s->lock);
		return;
	}

	consumer = irqbypass_find_consumer(s, b, producer->token);
	if (consumer)
		irqbypass_disconnect(s, producer->token, producer, consumer);

	list_del(&producer->node);
	s->count.producers--;
	mutex_unlock(&s->lock);

	irqbypass_account(-1);
	trace_irqbypass_unregister_producer(producer->token, producer, 0);
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_producer);

/**
 * irq_bypass_register_consumer - register an IRQ bypass consumer
 * @consumer: the consumer to register; its @token, @add_producer and
 *	@del_producer must be set
 *
 * Adds @consumer to the registry and, if a producer with the same token is
 * registered, connects the two as irq_bypass_register_producer() does.
 * Never allocates memory.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, the call is
 * refused with -EDEADLK and one warning.
 * Return: 0 on success; -EINVAL if @consumer, its token, or one of its
 * required callbacks is NULL; -EBUSY if a consumer with this token is
 * already registered, or if @consumer itself is, under this or any other
 * token (a caller bug, which also warns once); -EDEADLK if called from a
 * callback under the lock for this token; or the error with which a
 * connect callback failed.  On any error nothing is registered, and the
 * producer, if any, stays registered and unconnected.  An object that is
 * already registered keeps its registration and its connection, untouched.
 */
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer)
{
	struct irq_bypass_producer *producer;
	struct irqbypass_stripe *s;
	struct irqbypass_bucket *b;
	int ret;

	if (!consumer || !consumer->token || !consumer->add_producer ||
	    !consumer->del_producer) {
		atomic_long_inc(&stats.invalid);
		return -EINVAL;
	}

	s = irqbypass_lock(consumer->token, &b, _RET_IP_);
	if (!s) {
		ret = -EDEADLK;
		goto out;
	}

	if (irqbypass_registered_twice(&consumer->node, "consumer", _RET_IP_) ||
	    irqbypass_find_consumer(s, b, consumer->token)) {
		s->count.busy++;
		ret = -EBUSY;
		goto out_unlock;
	}

	producer = irqbypass_find_producer(s, b, consumer->token);
	if (producer) {
		ret = irqbypass_connect(s, consumer->token, producer, consumer);
		if (ret)
			goto out_unlock;
	}

	list_add(&consumer->node, &b->consumers);
	s->count.consumers++;
	s->count.consumer_registrations++;
	mutex_unlock(&s->lock);

	irqbypass_account(1);
	trace_irqbypass_register_consumer(consumer->token, consumer, 0);
	return 0;

out_unlock:
	mutex_unlock(&s->lock);
out:
	trace_irqbypass_register_consumer(consumer->token, consumer, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(irq_bypass_register_consumer);

/**
 * irq_bypass_unregister_consumer - unregister an IRQ bypass consumer
 * @consumer: the consumer to unregister
 *
 * Removes @consumer from the registry, first disconnecting it from its
 * producer if it is connected.  Like irq_bypass_unregister_producer(), this
 * finds @consumer by identity and does nothing if it is not registered.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, nothing happens
 * but one warning.
 */
void irq_bypass_unregister_consumer(struct irq_bypass_consumer *consumer)
{
	struct irq_bypass_consumer *cons;
	struct irq_bypass_producer *producer;
	struct irqbypass_stripe *s;
	struct irqbypass_bucket *b;

	if (!consumer || !consumer->token)
		return;

	s = irqbypass_lock(consumer->token, &b, _RET_IP_);
	if (!s)
		return;

	cons = irqbypass_find_consumer(s, b, consumer->token);
	if (cons != consumer) {
		/* A consumer whose connect failed goes, and its record. */
		if (!cons)
			irqbypass_forget_failure(s, consumer->token);
		mutex_unlock(&s->lock);
		return;
	}

	producer = irqbypass_find_producer(s, b, consumer->token);
	if (producer)
		irqbypass_disconnect(s, producer->token, producer, consumer);

	list_del(&consumer->node);
	s->count.consumers--;
	mutex_unlock(&s->lock);

	irqbypass_account(-1);
	trace_irqbypass_unregister_consumer(consumer->token, consumer, 0);
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_consumer);

#if IS_ENABLED(CONFIG_KUNIT)
/* Test hooks: the KUnit suites use these to make buckets collide and to resize. */
VISIBLE_IF_KUNIT unsigned int irqbypass_kunit_table_bits(void)
{
	return READ_ONCE(table_bits);
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_table_bits);

VISIBLE_IF_KUNIT unsigned long irqbypass_kunit_bucket(const void *token,
						      unsigned int bits)
{
	return irqbypass_hash(token) >> (IRQBYPASS_HASH_BITS - bits);
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_bucket);

VISIBLE_IF_KUNIT int irqbypass_kunit_resize(unsigned int bits)
{
	int ret;

	flush_work(&resize_work);
	mutex_lock(&resize_lock);
	ret = irqbypass_resize(clamp_t(unsigned int, bits, IRQBYPASS_LOCK_BITS,
				       IRQBYPASS_MAX_BITS));
	mutex_unlock(&resize_lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_resize);
#endif

#ifdef CONFIG_DEBUG_FS
/* Show every producer or every consumer of stripe @s, whose lock is held. */
static void irqbypass_show_stripe(struct seq_file *m,
				  struct irqbypass_stripe *s, bool producers)
{
	unsigned long n = 1UL << (s->table->bits - IRQBYPASS_LOCK_BITS);
	unsigned long first = (s - stripes) * n, j;

	for (j = first; j < first + n; j++) {
		struct irqbypass_bucket *b = &s->table->buckets[j];
		struct irq_bypass_producer *prod;
		struct irq_bypass_consumer *cons;

		if (producers) {
			list_for_each_entry(prod, &b->producers, node) {
				cons = irqbypass_find_consumer(s, b, prod->token);
				irqbypass_show_producer(m, prod, prod->token, cons);
			}
		} else {
			list_for_each_entry(cons, &b->consumers, node) {
				prod = irqbypass_find_producer(s, b, cons->token);
				irqbypass_show_consumer(m, cons, cons->token, prod);
			}
		}
	}
}
#endif

static void irqbypass_index_init(void)
{
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		stripes[i].table = &boot_table;
		INIT_LIST_HEAD(&boot_buckets[i].producers);
		INIT_LIST_HEAD(&boot_buckets[i].consumers);
	}
}

static void irqbypass_index_exit(void)
{
	irqbypass_free_table(cur_table);
}

/* What debugfs irqbypass/stats calls the index's size, and the API. */
#define IRQBYPASS_INDEX_NAME	"buckets"
#define IRQBYPASS_API_NAME	"4.4 to 6.16"
static unsigned long irqbypass_index_size(void)
{
	return 1UL << READ_ONCE(table_bits);
}

#else /* IRQBYPASS_EVENTFD_API */

/*
 * The comments of this front end's four functions are not kernel-doc: the
 * functions have the names of the other front end's, whose kernel-doc the
 * documentation shows, and Documentation/irqbypass.rst states this API's
 * contract ("The API of Linux 6.17 and later").
 */

/*
 * The index of the API of Linux 6.17 and later: per stripe, an open
 * addressing table of object pointers, linearly probed, keyed by the
 * eventfd that the object in a slot publishes.  A slot holds a producer,
 * with its consumer, if any, reached through the producer's partner
 * pointer, or (tagged with IRQBYPASS_SLOT_CONSUMER) a consumer that has no
 * producer.  A producer-consumer pair takes one slot: 8 bytes.
 */
#define IRQBYPASS_SLOT_CONSUMER	1UL
#define IRQBYPASS_SLOT_MIN_BITS	3
#define IRQBYPASS_SLOT_MAX_BITS	(IRQBYPASS_MAX_BITS - IRQBYPASS_LOCK_BITS)

/* The smallest tables live here, so that loading can never fail. */
static unsigned long boot_slots[IRQBYPASS_NR_LOCKS][1 << IRQBYPASS_SLOT_MIN_BITS];

static unsigned long irqbypass_slot_size(unsigned int bits)
{
	return 1UL << bits;
}

static const void *irqbypass_slot_key(unsigned long slot)
{
	if (slot & IRQBYPASS_SLOT_CONSUMER)
		return ((struct irq_bypass_consumer *)
			(slot - IRQBYPASS_SLOT_CONSUMER))->eventfd;
	return ((struct irq_bypass_producer *)slot)->eventfd;
}

static struct irq_bypass_consumer *irqbypass_slot_consumer(unsigned long slot)
{
	if (!(slot & IRQBYPASS_SLOT_CONSUMER))
		return NULL;
	return (struct irq_bypass_consumer *)(slot - IRQBYPASS_SLOT_CONSUMER);
}

static struct irq_bypass_producer *irqbypass_slot_producer(unsigned long slot)
{
	if (slot & IRQBYPASS_SLOT_CONSUMER)
		return NULL;
	return (struct irq_bypass_producer *)slot;
}

/*
 * The index in @slots (2^@bits of them) of the slot that holds @token, or
 * of the empty slot where its probe ends.  The load never exceeds 3/4, so
 * there always is one.
 */
static unsigned long irqbypass_probe(const unsigned long *slots,
				     unsigned int bits, u32 hash,
				     const void *token)
{
	unsigned long mask = irqbypass_slot_size(bits) - 1, i;

	for (i = hash & mask; slots[i]; i = (i + 1) & mask)
		if (irqbypass_slot_key(slots[i]) == token)
			break;
	return i;
}

/* Remove slot @i, shifting back the entries whose probe passed over it. */
static void irqbypass_slot_delete(struct irqbypass_stripe *s, unsigned long i)
{
	unsigned long mask = irqbypass_slot_size(s->bits) - 1, j = i, home;

	lockdep_assert_held(&s->lock);
	for (;;) {
		j = (j + 1) & mask;
		if (!s->slots[j])
			break;
		home = irqbypass_hash(irqbypass_slot_key(s->slots[j])) & mask;
		/* It stays if its home is cyclically in (i, j]. */
		if (((j - home) & mask) < ((j - i) & mask))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	s->slots[i] = 0;
	s->used--;
}

/*
 * The table size we aim for with @used slots taken: a load of more than
 * 1/4 and at most 1/2.  A pair takes one slot of 8 bytes, so it costs at
 * most 32 bytes of table once the table is past its smallest size.
 */
static unsigned int irqbypass_wanted_slot_bits(unsigned long used)
{
	unsigned int bits = used > 1 ? fls_long(used - 1) + 1 : 0;

	return clamp_t(unsigned int, bits, IRQBYPASS_SLOT_MIN_BITS,
		       IRQBYPASS_SLOT_MAX_BITS);
}

/* Whether stripe @s should be resized: a load above 5/8 or below 1/4. */
static bool irqbypass_slots_unfit(struct irqbypass_stripe *s)
{
	unsigned long size = irqbypass_slot_size(s->bits);

	return (s->used > size / 8 * 5 && s->bits < IRQBYPASS_SLOT_MAX_BITS) ||
	       (s->used < size / 4 && s->bits > IRQBYPASS_SLOT_MIN_BITS);
}

static unsigned long *irqbypass_alloc_slots(unsigned int bits)
{
	unsigned long *slots;

	/* The callers cope with a failure: no allocation warnings. */
	if (should_fail(&fail_resize, sizeof(*slots) << bits))
		return NULL;
	slots = kvcalloc(irqbypass_slot_size(bits), sizeof(*slots),
			 GFP_KERNEL | __GFP_NOWARN);
	if (slots)
		atomic_long_add(sizeof(*slots) << bits, &stats.table_bytes);
	return slots;
}

static void irqbypass_free_slots(struct irqbypass_stripe *s,
				 unsigned long *slots, unsigned int bits)
{
	if (slots == boot_slots[s - stripes])
		return;
	atomic_long_sub(sizeof(*slots) << bits, &stats.table_bytes);
	kvfree(slots);
}

/*
 * Move stripe @s into @slots, 2^@bits of them, and free its old table.
 * The new table must hold every entry at a load of at most 3/4.
 */
static void irqbypass_move_slots(struct irqbypass_stripe *s,
				 unsigned long *slots, unsigned int bits)
{
	unsigned long *old = s->slots, i;
	unsigned int old_bits = s->bits;

	lockdep_assert_held(&s->lock);
	for (i = 0; i < irqbypass_slot_size(old_bits); i++) {
		const void *token;

		if (!old[i])
			continue;
		token = irqbypass_slot_key(old[i]);
		slots[irqbypass_probe(slots, bits, irqbypass_hash(token),
				      token)] = old[i];
	}
	s->slots = slots;
	s->bits = bits;
	irqbypass_free_slots(s, old, old_bits);
}

static void irqbypass_resize_later(struct irqbypass_stripe *s)
{
	if (irqbypass_slots_unfit(s) &&
	    (!READ_ONCE(resize_backoff) ||
	     time_after_eq(jiffies, READ_ONCE(resize_retry))))
		queue_work(system_unbound_wq, &resize_work);
}

/*
 * Make room for one more slot in stripe @s, whose lock is held: at once,
 * if the background resize has not caught up and the load would exceed
 * 3/4.  The only allocation a registration can make, and only when
 * registrations outrun the resizer.
 */
static int irqbypass_make_room(struct irqbypass_stripe *s)
{
	unsigned int bits = s->bits + 1;
	unsigned long *slots;

	lockdep_assert_held(&s->lock);
	if (s->used + 1 <= irqbypass_slot_size(s->bits) / 4 * 3)
		return 0;
	if (bits > IRQBYPASS_SLOT_MAX_BITS)
		return -ENOSPC;
	slots = irqbypass_alloc_slots(bits);
	if (!slots) {
		atomic_long_inc(&stats.resize_failures);
		return -ENOMEM;
	}
	irqbypass_move_slots(s, slots, bits);
	atomic_long_inc(&stats.resizes);
	return 0;
}

/* Resize stripe @s to fit what it holds; the allocation is made unlocked. */
static int irqbypass_resize_stripe(struct irqbypass_stripe *s)
{
	unsigned long *slots;
	unsigned int bits;
	bool same;

	mutex_lock(&s->lock);
	bits = irqbypass_wanted_slot_bits(s->used);
	same = bits == s->bits;
	mutex_unlock(&s->lock);
	if (same)
		return 0;
	/* The smallest table is the stripe's own, and needs no allocation. */
	slots = NULL;
	if (bits != IRQBYPASS_SLOT_MIN_BITS) {
		slots = irqbypass_alloc_slots(bits);
		if (!slots)
			return -ENOMEM;
	}

	mutex_lock(&s->lock);
	if (!slots)
		slots = boot_slots[s - stripes];
	/* Registrations meanwhile may have filled what we allocated. */
	if (s->used > irqbypass_slot_size(bits) / 4 * 3 || bits == s->bits) {
		mutex_unlock(&s->lock);
		irqbypass_free_slots(s, slots, bits);
		return 0;
	}
	if (slots == boot_slots[s - stripes])
		memset(slots, 0, sizeof(boot_slots[0]));
	irqbypass_move_slots(s, slots, bits);
	mutex_unlock(&s->lock);
	atomic_long_inc(&stats.resizes);
	return 0;
}

static void irqbypass_resize_work(struct work_struct *work)
{
	bool failed = false;
	unsigned int i;

	mutex_lock(&resize_lock);
	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		struct irqbypass_stripe *s = &stripes[i];

		/* A lockless hint; irqbypass_resize_stripe() looks again. */
		if (!data_race(irqbypass_slots_unfit(s)))
			continue;
		if (irqbypass_resize_stripe(s)) {
			atomic_long_inc(&stats.resize_failures);
			failed = true;
		}
		cond_resched();
	}
	/* Longer probes until memory is back; retry later. */
	if (failed)
		WRITE_ONCE(resize_retry, jiffies + HZ);
	WRITE_ONCE(resize_backoff, failed);
	mutex_unlock(&resize_lock);
}

static long irqbypass_registered(void)
{
	long nr = 0;
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		mutex_lock(&stripes[i].lock);
		nr += stripes[i].count.producers + stripes[i].count.consumers;
		mutex_unlock(&stripes[i].lock);
	}
	return nr;
}

/*
 * irq_bypass_register_producer() - register an IRQ bypass producer
 * @producer: the producer to register; its @eventfd must be NULL
 * @eventfd: the eventfd the producer shares with its consumer
 * @irq: the Linux interrupt number of the producer, for the consumer's use
 *
 * Sets @producer->irq to @irq, before anything else can fail, and adds
 * @producer to the registry under @eventfd.  If a consumer is registered
 * with the same eventfd, connects the two: both are stopped, the
 * producer's add_consumer and the consumer's add_producer are called, and
 * both are started again; then each gets the other as its partner.
 * @producer->eventfd is set last, on success only.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, the call is
 * refused with -EDEADLK and one warning.
 * Return: 0 on success; -EINVAL, with one warning, if @producer->eventfd
 * is set (already registered: a caller bug); -EINVAL if @producer or
 * @eventfd is NULL; -EBUSY if a producer with this eventfd is registered;
 * -ENOMEM if the index had to grow at once and could not (see "The index
 * of the API of Linux 6.17 and later"); -ENOSPC if the stripe of @eventfd
 * is at its largest table and 3/4 full (49,152 eventfds hash to it, about
 * 12 million registered in all); -EDEADLK if called from a callback
 * under the lock for this eventfd; or the error with which a connect
 * callback failed.  On any error nothing is registered, no pointer is
 * published, and the consumer, if any, stays registered and unconnected.
 */
int irq_bypass_register_producer(struct irq_bypass_producer *producer,
				 struct eventfd_ctx *eventfd, int irq)
{
	struct irq_bypass_consumer *consumer;
	struct irqbypass_stripe *s;
	unsigned long i;
	u32 hash;
	int ret;

	if (!producer || WARN_ON_ONCE(producer->eventfd)) {
		atomic_long_inc(&stats.invalid);
		return -EINVAL;
	}
	producer->irq = irq;
	if (!eventfd) {
		atomic_long_inc(&stats.invalid);
		return -EINVAL;
	}

	hash = irqbypass_hash(eventfd);
	s = irqbypass_lock_stripe(hash, _RET_IP_);
	if (!s) {
		ret = -EDEADLK;
		goto out;
	}

	i = irqbypass_probe(s->slots, s->bits, hash, eventfd);
	if (irqbypass_slot_producer(s->slots[i])) {
		s->count.busy++;
		ret = -EBUSY;
		goto out_unlock;
	}

	consumer = irqbypass_slot_consumer(s->slots[i]);
	if (consumer) {
		ret = irqbypass_connect(s, eventfd, producer, consumer);
		if (ret)
			goto out_unlock;
		producer->consumer = consumer;
		consumer->producer = producer;
	} else {
		ret = irqbypass_make_room(s);
		if (ret)
			goto out_unlock;
		i = irqbypass_probe(s->slots, s->bits, hash, eventfd);
		s->used++;
	}
	/* The producer takes the consumer's slot, or an empty one. */
	s->slots[i] = (unsigned long)producer;
	producer->eventfd = eventfd;
	s->count.producers++;
	s->count.producer_registrations++;
	irqbypass_resize_later(s);
	mutex_unlock(&s->lock);

	trace_irqbypass_register_producer(eventfd, producer, 0);
	return 0;

out_unlock:
	mutex_unlock(&s->lock);
out:
	trace_irqbypass_register_producer(eventfd, producer, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(irq_bypass_register_producer);

/*
 * The slot of registered object @obj in stripe @s, under @eventfd, or -1
 * with one warning naming @caller: @obj claims, by its eventfd, to be
 * registered, and is not.  Its caller changed the eventfd, or set it
 * itself; the manager then changes nothing, where Linux's own would erase
 * whatever else is registered under that eventfd.
 */
static long irqbypass_slot_of(struct irqbypass_stripe *s, u32 hash,
			      struct eventfd_ctx *eventfd, unsigned long obj,
			      const char *what, unsigned long caller)
{
	unsigned long i = irqbypass_probe(s->slots, s->bits, hash, eventfd);
	struct irq_bypass_producer *prod = irqbypass_slot_producer(s->slots[i]);

	if (s->slots[i] == obj ||
	    (prod && (unsigned long)prod->consumer + IRQBYPASS_SLOT_CONSUMER == obj))
		return i;
	WARN_ONCE(1, "irqbypass: %pS unregistered a %s whose eventfd is set but that is not registered under it: ignored\n",
		  (void *)caller, what);
	return -1;
}

/*
 * irq_bypass_unregister_producer() - unregister an IRQ bypass producer
 * @producer: the producer to unregister
 *
 * Removes @producer from the registry, first disconnecting it from its
 * consumer, @producer->consumer, if it is connected, and clears
 * @producer->eventfd.  A producer whose eventfd is NULL (it never was
 * registered, its registration failed, or it already has been
 * unregistered) is left alone: nothing happens and no callback runs.  A
 * producer whose eventfd is set but that is not registered under it gets
 * one warning, and nothing changes.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, nothing happens
 * but one warning.
 */
void irq_bypass_unregister_producer(struct irq_bypass_producer *producer)
{
	struct irq_bypass_consumer *consumer;
	struct eventfd_ctx *eventfd;
	struct irqbypass_stripe *s;
	long i;
	u32 hash;

	if (!producer || !producer->eventfd)
		return;

	eventfd = producer->eventfd;
	hash = irqbypass_hash(eventfd);
	s = irqbypass_lock_stripe(hash, _RET_IP_);
	if (!s)
		return;

	i = irqbypass_slot_of(s, hash, eventfd, (unsigned long)producer,
			      "producer", _RET_IP_);
	if (i < 0) {
		mutex_unlock(&s->lock);
		return;
	}

	consumer = producer->consumer;
	if (consumer) {
		irqbypass_disconnect(s, eventfd, producer, consumer);
		producer->consumer = NULL;
		consumer->producer = NULL;
		/* The consumer keeps the slot. */
		s->slots[i] = (unsigned long)consumer + IRQBYPASS_SLOT_CONSUMER;
	} else {
		irqbypass_slot_delete(s, i);
	}
	producer->eventfd = NULL;
	s->count.producers--;
	irqbypass_resize_later(s);
	mutex_unlock(&s->lock);

	trace_irqbypass_unregister_producer(eventfd, producer, 0);
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_producer);

/*
 * irq_bypass_register_consumer() - register an IRQ bypass consumer
 * @consumer: the consumer to register; its @eventfd must be NULL, and its
 *	@add_producer and @del_producer must be set
 * @eventfd: the eventfd the consumer shares with its producer
 *
 * Adds @consumer to the registry under @eventfd and, if a producer is
 * registered with the same eventfd, connects the two as
 * irq_bypass_register_producer() does.  @consumer->eventfd is set last, on
 * success only.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, the call is
 * refused with -EDEADLK and one warning.
 * Return: 0 on success; -EINVAL, with one warning, if @consumer->eventfd
 * is set (already registered: a caller bug); -EINVAL if @consumer or
 * @eventfd is NULL, or one of the required callbacks is; -EBUSY if a
 * consumer with this eventfd is registered; -ENOMEM if the index had to
 * grow at once and could not; -ENOSPC if the stripe of @eventfd is full,
 * as for irq_bypass_register_producer(); -EDEADLK if called from a
 * callback under the lock for this eventfd; or the error with which a
 * connect callback failed.  On any error nothing is registered, no
 * pointer is published, and the producer, if any, stays registered and
 * unconnected.
 */
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer,
				 struct eventfd_ctx *eventfd)
{
	struct irq_bypass_producer *producer;
	struct irqbypass_stripe *s;
	unsigned long i;
	u32 hash;
	int ret;

	if (!consumer || WARN_ON_ONCE(consumer->eventfd) ||
	    !consumer->add_producer || !consumer->del_producer || !eventfd) {
		atomic_long_inc(&stats.invalid);
		return -EINVAL;
	}

	hash = irqbypass_hash(eventfd);
	s = irqbypass_lock_stripe(hash, _RET_IP_);
	if (!s) {
		ret = -EDEADLK;
		goto out;
	}

	i = irqbypass_probe(s->slots, s->bits, hash, eventfd);
	producer = irqbypass_slot_producer(s->slots[i]);
	if (irqbypass_slot_consumer(s->slots[i]) ||
	    (producer && producer->consumer)) {
		s->count.busy++;
		ret = -EBUSY;
		goto out_unlock;
	}

	if (producer) {
		/* The producer keeps the slot; the pair is found through it. */
		ret = irqbypass_connect(s, eventfd, producer, consumer);
		if (ret)
			goto out_unlock;
		producer->consumer = consumer;
		consumer->producer = producer;
	} else {
		ret = irqbypass_make_room(s);
		if (ret)
			goto out_unlock;
		i = irqbypass_probe(s->slots, s->bits, hash, eventfd);
		s->slots[i] = (unsigned long)consumer + IRQBYPASS_SLOT_CONSUMER;
		s->used++;
	}
	consumer->eventfd = eventfd;
	s->count.consumers++;
	s->count.consumer_registrations++;
	irqbypass_resize_later(s);
	mutex_unlock(&s->lock);

	trace_irqbypass_register_consumer(eventfd, consumer, 0);
	return 0;

out_unlock:
	mutex_unlock(&s->lock);
out:
	trace_irqbypass_register_consumer(eventfd, consumer, ret);
	return ret;
}
EXPORT_SYMBOL_GPL(irq_bypass_register_consumer);

/*
 * irq_bypass_unregister_consumer() - unregister an IRQ bypass consumer
 * @consumer: the consumer to unregister
 *
 * Removes @consumer from the registry, first disconnecting it from its
 * producer, @consumer->producer, if it is connected, and clears
 * @consumer->eventfd.  Like irq_bypass_unregister_producer(), this does
 * nothing if @consumer->eventfd is NULL, and warns once and does nothing if
 * it is set but @consumer is not registered under it.
 *
 * Context: process context; may sleep.  Must not be called from a bypass
 * callback; if a callback does so on the lock it runs under, nothing happens
 * but one warning.
 */
void irq_bypass_unregister_consumer(struct irq_bypass_consumer *consumer)
{
	struct irq_bypass_producer *producer;
	struct eventfd_ctx *eventfd;
	struct irqbypass_stripe *s;
	long i;
	u32 hash;

	if (!consumer || !consumer->eventfd)
		return;

	eventfd = consumer->eventfd;
	hash = irqbypass_hash(eventfd);
	s = irqbypass_lock_stripe(hash, _RET_IP_);
	if (!s)
		return;

	i = irqbypass_slot_of(s, hash, eventfd,
			      (unsigned long)consumer + IRQBYPASS_SLOT_CONSUMER,
			      "consumer", _RET_IP_);
	if (i < 0) {
		mutex_unlock(&s->lock);
		return;
	}

	producer = irqbypass_slot_producer(s->slots[i]);
	if (producer) {
		irqbypass_disconnect(s, eventfd, producer, consumer);
		producer->consumer = NULL;
		consumer->producer = NULL;
	} else {
		irqbypass_slot_delete(s, i);
	}
	consumer->eventfd = NULL;
	s->count.consumers--;
	irqbypass_resize_later(s);
	mutex_unlock(&s->lock);

	trace_irqbypass_unregister_consumer(eventfd, consumer, 0);
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_consumer);

#if IS_ENABLED(CONFIG_KUNIT)
/* Test hooks: the KUnit suites use these to look at and resize the index. */
VISIBLE_IF_KUNIT unsigned int irqbypass_kunit_slot_bits(const void *eventfd)
{
	return READ_ONCE(irqbypass_stripe(irqbypass_hash(eventfd))->bits);
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_slot_bits);
#endif

#ifdef CONFIG_DEBUG_FS
/* Show every producer or every consumer of stripe @s, whose lock is held. */
static void irqbypass_show_stripe(struct seq_file *m,
				  struct irqbypass_stripe *s, bool producers)
{
	unsigned long i;

	for (i = 0; i < irqbypass_slot_size(s->bits); i++) {
		struct irq_bypass_producer *prod;
		struct irq_bypass_consumer *cons;

		if (!s->slots[i])
			continue;
		prod = irqbypass_slot_producer(s->slots[i]);
		cons = prod ? prod->consumer : irqbypass_slot_consumer(s->slots[i]);
		if (producers && prod)
			irqbypass_show_producer(m, prod, prod->eventfd, cons);
		else if (!producers && cons)
			irqbypass_show_consumer(m, cons, cons->eventfd, prod);
	}
}
#endif

/* What debugfs irqbypass/stats calls the index's size, and the API. */
#define IRQBYPASS_INDEX_NAME	"slots"
#define IRQBYPASS_API_NAME	"6.17 and later"
static unsigned long irqbypass_index_size(void)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		/* For stats only: a stripe being resized counts either size. */
		n += irqbypass_slot_size(data_race(stripes[i].bits));
	}
	return n;
}

static void irqbypass_index_init(void)
{
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		stripes[i].slots = boot_slots[i];
		stripes[i].bits = IRQBYPASS_SLOT_MIN_BITS;
	}
}

static void irqbypass_index_exit(void)
{
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++)
		irqbypass_free_slots(&stripes[i], stripes[i].slots,
				     stripes[i].bits);
}
#endif /* IRQBYPASS_EVENTFD_API */

#if IS_ENABLED(CONFIG_KUNIT)
/* Test hooks of both front ends. */
VISIBLE_IF_KUNIT void irqbypass_kunit_flush(void)
{
	flush_work(&resize_work);
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_flush);

VISIBLE_IF_KUNIT long irqbypass_kunit_registered(void)
{
	return irqbypass_registered();
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_registered);

VISIBLE_IF_KUNIT struct fault_attr *irqbypass_kunit_fail_resize(void)
{
	return &fail_resize;
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_fail_resize);

VISIBLE_IF_KUNIT long irqbypass_kunit_resize_failures(void)
{
	return atomic_long_read(&stats.resize_failures);
}
EXPORT_SYMBOL_IF_KUNIT(irqbypass_kunit_resize_failures);
#endif

#ifdef CONFIG_DEBUG_FS
static struct dentry *irqbypass_debugfs;

/*
 * Show every producer or every consumer, one stripe at a time under its
 * lock, so that concurrent (un)registration is safe and never waits long.
 */
static void irqbypass_show_all(struct seq_file *m, bool producers)
{
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		struct irqbypass_stripe *s = &stripes[i];

		mutex_lock(&s->lock);
		irqbypass_show_stripe(m, s, producers);
		mutex_unlock(&s->lock);
		cond_resched();
	}
}

static int producers_show(struct seq_file *m, void *v)
{
	irqbypass_show_all(m, true);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(producers);

static int consumers_show(struct seq_file *m, void *v)
{
	irqbypass_show_all(m, false);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(consumers);

static int stats_show(struct seq_file *m, void *v)
{
	struct irqbypass_counters sum = { };
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		struct irqbypass_stripe *s = &stripes[i];

		mutex_lock(&s->lock);
		sum.producers += s->count.producers;
		sum.consumers += s->count.consumers;
		sum.producer_registrations += s->count.producer_registrations;
		sum.consumer_registrations += s->count.consumer_registrations;
		sum.busy += s->count.busy;
		sum.connects += s->count.connects;
		sum.connect_failures += s->count.connect_failures;
		sum.disconnects += s->count.disconnects;
		mutex_unlock(&s->lock);
	}

#define SHOW(name, val) seq_printf(m, "%-24s %lu\n", name, val)
	SHOW("producers", sum.producers);
	SHOW("consumers", sum.consumers);
	SHOW("pairs", sum.connects - sum.disconnects);
	SHOW("producer_registrations", sum.producer_registrations);
	SHOW("consumer_registrations", sum.consumer_registrations);
	SHOW("invalid", (unsigned long)atomic_long_read(&stats.invalid));
	SHOW("busy", sum.busy);
	SHOW("connects", sum.connects);
	SHOW("connect_failures", sum.connect_failures);
	SHOW("disconnects", sum.disconnects);
	SHOW("resizes", (unsigned long)atomic_long_read(&stats.resizes));
	SHOW("resize_failures",
	     (unsigned long)atomic_long_read(&stats.resize_failures));
	SHOW(IRQBYPASS_INDEX_NAME, irqbypass_index_size());
	SHOW("table_bytes",
	     (unsigned long)atomic_long_read(&stats.table_bytes));
	SHOW("locks", IRQBYPASS_NR_LOCKS);
#undef SHOW
	for (i = 1; i < IRQBYPASS_NR_ERRNO; i++) {
		long n = atomic_long_read(&stats.connect_errno[i]);

		if (!n)
			continue;
		if (i == IRQBYPASS_NR_ERRNO - 1)
			seq_printf(m, "connect_failures[other]  %ld\n", n);
		else
			seq_printf(m, "connect_failures[%pe] %ld\n",
				   ERR_PTR(-(int)i), n);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

/*
 * debugfs irqbypass/failures: the recorded connect failures, one line
 * each, the oldest of a stripe first.
 */
static int failures_show(struct seq_file *m, void *unused)
{
	unsigned int i, j;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		struct irqbypass_failure f[IRQBYPASS_FAILURES];

		mutex_lock(&stripes[i].lock);
		memcpy(f, failures[i], sizeof(f));
		mutex_unlock(&stripes[i].lock);
		for (j = 0; j < IRQBYPASS_FAILURES; j++) {
			if (!f[j].token)
				continue;
			seq_printf(m, "token=%p irq=%d error=%pe errno=%d callback=%ps failures=%u age=%us\n",
				   f[j].token, f[j].irq, ERR_PTR(f[j].error),
				   -f[j].error, f[j].callback, f[j].count,
				   jiffies_to_msecs(jiffies - f[j].when) / 1000);
		}
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(failures);

static void irqbypass_debugfs_init(void)
{
	irqbypass_debugfs = debugfs_create_dir("irqbypass", NULL);
	debugfs_create_file("producers", 0400, irqbypass_debugfs, NULL,
			    &producers_fops);
	debugfs_create_file("consumers", 0400, irqbypass_debugfs, NULL,
			    &consumers_fops);
	debugfs_create_file("stats", 0400, irqbypass_debugfs, NULL,
			    &stats_fops);
	debugfs_create_file("failures", 0400, irqbypass_debugfs, NULL,
			    &failures_fops);
	fault_create_debugfs_attr("fail_resize", irqbypass_debugfs,
				  &fail_resize);
}

static void irqbypass_debugfs_exit(void)
{
	debugfs_remove_recursive(irqbypass_debugfs);
}
#else
static void irqbypass_debugfs_init(void) { }
static void irqbypass_debugfs_exit(void) { }
#endif

static int __init irqbypass_init(void)
{
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++)
		mutex_init(&stripes[i].lock);
	irqbypass_index_init();
	irqbypass_debugfs_init();
	pr_info("IRQ bypass manager of the irqbypass project, version %s, for the API of Linux %s\n",
		IRQBYPASS_VERSION, IRQBYPASS_API_NAME);
	return 0;
}
subsys_initcall(irqbypass_init);

static void __exit irqbypass_exit(void)
{
	unsigned int i;

	irqbypass_debugfs_exit();
	cancel_work_sync(&resize_work);
	WARN_ON_ONCE(irqbypass_registered());
	irqbypass_index_exit();
	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++)
		mutex_destroy(&stripes[i].lock);
}
module_exit(irqbypass_exit);
