// SPDX-License-Identifier: GPL-2.0-only
/*
 * IRQ bypass manager
 *
 * Pairs interrupt producers (VFIO-PCI MSI vectors, vhost-vdpa virtqueue
 * interrupts) with interrupt consumers (KVM irqfds, the arm64 vGIC) that
 * carry the same opaque token, so that a device interrupt can be posted or
 * forwarded straight into a guest.
 *
 * Registry design
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

struct irqbypass_bucket {
	struct list_head producers;
	struct list_head consumers;
};

struct irqbypass_table {
	unsigned int bits;
	struct irqbypass_bucket *buckets;
};

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
	struct irqbypass_table *table;	/* protected by @lock */
	struct irqbypass_counters count;	/* protected by @lock */
	/*
	 * The task running bypass callbacks under @lock, or NULL: set and
	 * cleared under @lock, read locklessly to refuse re-entry.
	 */
	struct task_struct *cb_task;
} ____cacheline_aligned_in_smp;

static struct irqbypass_stripe stripes[IRQBYPASS_NR_LOCKS];

/* The smallest table lives here, so that loading can never fail. */
static struct irqbypass_bucket boot_buckets[IRQBYPASS_NR_LOCKS];
static struct irqbypass_table boot_table = {
	.bits = IRQBYPASS_LOCK_BITS,
	.buckets = boot_buckets,
};

/* The resizer's state; @table_bits is also read locklessly as a hint. */
static DEFINE_MUTEX(resize_lock);
static struct irqbypass_table *cur_table = &boot_table;
static unsigned int table_bits = IRQBYPASS_LOCK_BITS;
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

static struct irqbypass_bucket *irqbypass_bucket(struct irqbypass_table *t,
						 u32 hash)
{
	return &t->buckets[hash >> (IRQBYPASS_HASH_BITS - t->bits)];
}

/*
 * Lock the stripe that covers @token and return it, with the bucket for
 * @token in *@bucket.  mutex_lock() is also where a call from atomic context
 * is caught (might_sleep()), so the API functions need no check of their own.
 *
 * Returns NULL, with one warning naming @caller, when the current task is
 * running bypass callbacks under this very lock: a callback called back into
 * the manager, and taking the lock again would deadlock.  This costs one read
 * of the stripe's cache line, which is about to be locked anyway.
 */
static struct irqbypass_stripe *irqbypass_lock(const void *token,
					       struct irqbypass_bucket **bucket,
					       unsigned long caller)
{
	u32 hash = irqbypass_hash(token);
	struct irqbypass_stripe *s = irqbypass_stripe(hash);

	if (unlikely(READ_ONCE(s->cb_task) == current)) {
		WARN_ONCE(1, "irqbypass: called from a bypass callback by %pS (%s/%d): refused, it would deadlock\n",
			  (void *)caller, current->comm, current->pid);
		return NULL;
	}
	mutex_lock(&s->lock);
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

static void irqbypass_count_connect(struct irqbypass_stripe *s, int ret)
{
	if (!ret) {
		s->count.connects++;
		return;
	}
	s->count.connect_failures++;
	atomic_long_inc(&stats.connect_errno[min(-ret, IRQBYPASS_NR_ERRNO - 1)]);
}

static int irqbypass_connect(struct irqbypass_stripe *s,
			     struct irq_bypass_producer *prod,
			     struct irq_bypass_consumer *cons)
{
	int ret = 0;

	lockdep_assert_held(&s->lock);
	WRITE_ONCE(s->cb_task, current);

	if (prod->stop)
		prod->stop(prod);
	if (cons->stop)
		cons->stop(cons);

	if (prod->add_consumer)
		ret = prod->add_consumer(prod, cons);

	if (!ret) {
		ret = cons->add_producer(cons, prod);
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
	trace_irqbypass_connect(prod, cons, ret);
	return ret;
}

static void irqbypass_disconnect(struct irqbypass_stripe *s,
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
	trace_irqbypass_disconnect(prod, cons);
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
		ret = irqbypass_connect(s, producer, consumer);
		if (ret)
			goto out_unlock;
	}

	list_add(&producer->node, &b->producers);
	s->count.producers++;
	s->count.producer_registrations++;
	mutex_unlock(&s->lock);

	irqbypass_account(1);
	trace_irqbypass_register_producer(producer, 0);
	return 0;

out_unlock:
	mutex_unlock(&s->lock);
out:
	trace_irqbypass_register_producer(producer, ret);
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
		irqbypass_disconnect(s, producer, consumer);

	list_del(&producer->node);
	s->count.producers--;
	mutex_unlock(&s->lock);

	irqbypass_account(-1);
	trace_irqbypass_unregister_producer(producer, 0);
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
		ret = irqbypass_connect(s, producer, consumer);
		if (ret)
			goto out_unlock;
	}

	list_add(&consumer->node, &b->consumers);
	s->count.consumers++;
	s->count.consumer_registrations++;
	mutex_unlock(&s->lock);

	irqbypass_account(1);
	trace_irqbypass_register_consumer(consumer, 0);
	return 0;

out_unlock:
	mutex_unlock(&s->lock);
out:
	trace_irqbypass_register_consumer(consumer, ret);
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
		mutex_unlock(&s->lock);
		return;
	}

	producer = irqbypass_find_producer(s, b, consumer->token);
	if (producer)
		irqbypass_disconnect(s, producer, consumer);

	list_del(&consumer->node);
	s->count.consumers--;
	mutex_unlock(&s->lock);

	irqbypass_account(-1);
	trace_irqbypass_unregister_consumer(consumer, 0);
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

static void irqbypass_show_fn(struct seq_file *m, const char *name,
			      const void *fn)
{
	if (fn)
		seq_printf(m, " %s=%ps", name, fn);
	else
		seq_printf(m, " %s=-", name);
}

static void irqbypass_show_producers(struct seq_file *m,
				     struct irqbypass_stripe *s,
				     struct irqbypass_bucket *b)
{
	struct irq_bypass_producer *prod;

	list_for_each_entry(prod, &b->producers, node) {
		seq_printf(m, "token=%p irq=%d paired=%s", prod->token,
			   prod->irq, irqbypass_find_consumer(s, b, prod->token) ?
			   "yes" : "no");
		irqbypass_show_fn(m, "add_consumer", prod->add_consumer);
		irqbypass_show_fn(m, "del_consumer", prod->del_consumer);
		irqbypass_show_fn(m, "stop", prod->stop);
		irqbypass_show_fn(m, "start", prod->start);
		seq_putc(m, '\n');
	}
}

static void irqbypass_show_consumers(struct seq_file *m,
				     struct irqbypass_stripe *s,
				     struct irqbypass_bucket *b)
{
	struct irq_bypass_producer *prod;
	struct irq_bypass_consumer *cons;

	list_for_each_entry(cons, &b->consumers, node) {
		prod = irqbypass_find_producer(s, b, cons->token);
		seq_printf(m, "token=%p", cons->token);
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
}

/*
 * Show every producer or every consumer, one stripe at a time under its
 * lock, so that concurrent (un)registration is safe and never waits long.
 */
static void irqbypass_show_all(struct seq_file *m, bool producers)
{
	unsigned int i;

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		struct irqbypass_stripe *s = &stripes[i];
		unsigned long first, j, n;

		mutex_lock(&s->lock);
		n = 1UL << (s->table->bits - IRQBYPASS_LOCK_BITS);
		first = i * n;
		for (j = first; j < first + n; j++) {
			if (producers)
				irqbypass_show_producers(m, s,
							 &s->table->buckets[j]);
			else
				irqbypass_show_consumers(m, s,
							 &s->table->buckets[j]);
		}
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
	SHOW("buckets", 1UL << READ_ONCE(table_bits));
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

static void irqbypass_debugfs_init(void)
{
	irqbypass_debugfs = debugfs_create_dir("irqbypass", NULL);
	debugfs_create_file("producers", 0400, irqbypass_debugfs, NULL,
			    &producers_fops);
	debugfs_create_file("consumers", 0400, irqbypass_debugfs, NULL,
			    &consumers_fops);
	debugfs_create_file("stats", 0400, irqbypass_debugfs, NULL,
			    &stats_fops);
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

	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++) {
		mutex_init(&stripes[i].lock);
		stripes[i].table = &boot_table;
		INIT_LIST_HEAD(&boot_buckets[i].producers);
		INIT_LIST_HEAD(&boot_buckets[i].consumers);
	}
	irqbypass_debugfs_init();
	return 0;
}
subsys_initcall(irqbypass_init);

static void __exit irqbypass_exit(void)
{
	unsigned int i;

	irqbypass_debugfs_exit();
	cancel_work_sync(&resize_work);
	WARN_ON_ONCE(irqbypass_registered());
	irqbypass_free_table(cur_table);
	for (i = 0; i < IRQBYPASS_NR_LOCKS; i++)
		mutex_destroy(&stripes[i].lock);
}
module_exit(irqbypass_exit);
