// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqbypass_sample_consumer - a minimal IRQ bypass consumer
 *
 * The consumer side of the IRQ bypass manager, reduced to what every
 * consumer does; KVM's irqfd (virt/kvm/eventfd.c) is the in-tree example.
 * Userspace hands in an eventfd, the eventfd's context becomes the token,
 * and the manager connects this consumer to whichever producer (a VFIO MSI
 * vector, a vhost-vdpa virtqueue, the sample producer) registers the same
 * eventfd.  Nothing is delivered anywhere: the callbacks log and record what
 * a real consumer would do.
 *
 * Its files, in /sys/kernel/debug/irqbypass_sample_consumer/:
 *
 *   eventfd   write the number of an eventfd that the writing process has
 *             open to register a consumer with that token; write -1 to
 *             unregister it.  One consumer at a time.
 *   state     registered=yes|no, the token (printed as the manager's
 *             debugfs files print it), paired=yes|no, the producer's irq
 *             and how often each callback ran.
 *   fail_add  an errno; while it is not 0, add_producer fails with it, to
 *             show the error path.  For demonstration only.
 *
 * The fd number must be valid in the process that writes it, so the writer
 * must hold the eventfd open; samples/with-eventfd.c does that for a shell:
 *
 *   with-eventfd sh -c 'echo $EVENTFD > .../irqbypass_sample_consumer/eventfd'
 *
 * Locking: sample_lock serializes registration and unregistration and is
 * held across irq_bypass_register_consumer() and
 * irq_bypass_unregister_consumer().  The callbacks run inside those calls
 * (and inside the producer's), with the manager's lock for the token held,
 * so they must not take sample_lock: they take the consumer's own lock,
 * which nobody holds across a call into the manager.  The order is
 * therefore sample_lock, then the manager's lock, then sample_consumer.lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "irqbypass_sample.h"

/**
 * struct sample_consumer - one consumer, as a hypervisor's per-interrupt state
 * @consumer: what the manager sees; embedded, so that the callbacks find
 *	their state with container_of()
 * @eventfd: the token.  A reference is held for as long as @consumer is
 *	registered, so that no other eventfd can get the same address (and
 *	thereby our token) in the meantime.
 * @lock: protects the fields below; taken by the callbacks
 * @producer: the connected producer, or NULL.  Valid until del_producer,
 *	which the manager calls before that producer's unregistration returns.
 * @stopped: between stop and start
 * @adds: successful add_producer calls
 * @add_failures: failed add_producer calls
 * @dels: del_producer calls
 * @stops: stop calls
 * @starts: start calls
 */
struct sample_consumer {
	struct irq_bypass_consumer consumer;
	struct eventfd_ctx *eventfd;
	struct mutex lock;		/* protects the fields below */
	struct irq_bypass_producer *producer;
	bool stopped;
	unsigned long adds;
	unsigned long add_failures;
	unsigned long dels;
	unsigned long stops;
	unsigned long starts;
};

static DEFINE_MUTEX(sample_lock);	/* (un)registration; protects sample */
static struct sample_consumer *sample;	/* registered consumer, or NULL */
static u32 fail_add;			/* errno for add_producer to fail with */
static struct dentry *sample_dir;

static struct sample_consumer *to_sample(struct irq_bypass_consumer *cons)
{
	return container_of(cons, struct sample_consumer, consumer);
}

/*
 * Connect to @prod.  Called between stop and start, after the producer's
 * add_consumer succeeded.  Whatever this does, del_producer undoes, and if
 * it fails it must undo its own partial work before returning: the manager
 * calls del_producer only after a successful add_producer.  On failure the
 * producer's del_consumer runs, the registration that tried to connect
 * fails, and the side that was registered already stays so, unpaired.
 */
static int sample_add_producer(struct irq_bypass_consumer *cons,
			       struct irq_bypass_producer *prod)
{
	struct sample_consumer *sc = to_sample(cons);
	u32 err = READ_ONCE(fail_add);
	int ret = 0;

	mutex_lock(&sc->lock);

	/* Step 1, which del_producer undoes: remember the producer. */
	sc->producer = prod;

	/*
	 * Step 2, which may fail: here KVM on x86 switches the interrupt
	 * remapping entry of prod->irq to posted mode, KVM on arm64 forwards
	 * it to the guest as a GICv4 VLPI.  This sample only fails on request.
	 */
	if (err && err <= MAX_ERRNO)
		ret = -(int)err;

	if (ret) {
		/* Undo step 1: no del_producer will follow a failed add. */
		sc->producer = NULL;
		sc->add_failures++;
	} else {
		sc->adds++;
	}

	mutex_unlock(&sc->lock);

	if (ret)
		pr_info("token %p: add_producer irq %d failed: %d\n",
			sc->eventfd, prod->irq, ret);
	else
		pr_info("token %p: add_producer irq %d\n", sc->eventfd,
			prod->irq);
	return ret;
}

/*
 * Disconnect from @prod, between stop and start.  Called exactly once for
 * every successful add_producer, before either side's unregistration
 * returns.  It cannot fail: whatever it has to undo, it must undo.
 */
static void sample_del_producer(struct irq_bypass_consumer *cons,
				struct irq_bypass_producer *prod)
{
	struct sample_consumer *sc = to_sample(cons);

	mutex_lock(&sc->lock);
	/* Here KVM restores remapped (host-handled) delivery of prod->irq. */
	WARN_ON_ONCE(sc->producer != prod);
	sc->producer = NULL;
	sc->dels++;
	mutex_unlock(&sc->lock);

	pr_info("token %p: del_producer irq %d\n", sc->eventfd, prod->irq);
}

/*
 * Quiesce before the connection changes.  KVM on arm64 halts every vCPU of
 * the VM here so that none runs while the forwarding is rewritten; KVM on
 * x86 and powerpc has nothing to do.  Optional, like start.
 */
static void sample_stop(struct irq_bypass_consumer *cons)
{
	struct sample_consumer *sc = to_sample(cons);

	mutex_lock(&sc->lock);
	sc->stopped = true;
	sc->stops++;
	mutex_unlock(&sc->lock);
}

/*
 * Resume after the connection changed, or failed to: start follows every
 * stop, whatever add_producer returned.
 */
static void sample_start(struct irq_bypass_consumer *cons)
{
	struct sample_consumer *sc = to_sample(cons);

	mutex_lock(&sc->lock);
	sc->stopped = false;
	sc->starts++;
	mutex_unlock(&sc->lock);
}

/* Register a consumer whose token is the eventfd @fd of the caller. */
static int sample_register(int fd)
{
	struct eventfd_ctx *eventfd;
	struct sample_consumer *sc;
	int ret;

	/* Takes a reference: the token stays ours while registered. */
	eventfd = eventfd_ctx_fdget(fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	sc = kzalloc(sizeof(*sc), GFP_KERNEL);
	if (!sc) {
		ret = -ENOMEM;
		goto out_put;
	}
	mutex_init(&sc->lock);
	sc->eventfd = eventfd;
	sc->consumer.add_producer = sample_add_producer;	/* required */
	sc->consumer.del_producer = sample_del_producer;	/* required */
	sc->consumer.stop = sample_stop;			/* optional */
	sc->consumer.start = sample_start;			/* optional */

	mutex_lock(&sample_lock);
	if (sample) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/*
	 * If a producer with this token is registered, the callbacks run
	 * before this returns.  On error nothing is registered: the object
	 * may be freed at once, and the producer stays registered, unpaired.
	 * KVM's irqfd only logs such an error and carries on without bypass.
	 */
	ret = sample_register_consumer(&sc->consumer, eventfd);
	if (ret)
		goto out_unlock;
	sample = sc;
	mutex_unlock(&sample_lock);
	return 0;

out_unlock:
	mutex_unlock(&sample_lock);
	mutex_destroy(&sc->lock);
	kfree(sc);
out_put:
	eventfd_ctx_put(eventfd);
	return ret;
}

/* Unregister the consumer, if any.  Called with sample_lock held. */
static int sample_unregister(void)
{
	struct sample_consumer *sc = sample;

	lockdep_assert_held(&sample_lock);
	if (!sc)
		return -ENOENT;

	/*
	 * Disconnects first if paired: stop, del_producer and start run
	 * before this returns.  Afterwards no callback can run for @sc, and
	 * only then may the object go and the token's reference be dropped.
	 */
	irq_bypass_unregister_consumer(&sc->consumer);
	sample = NULL;
	eventfd_ctx_put(sc->eventfd);
	mutex_destroy(&sc->lock);
	kfree(sc);
	return 0;
}

static ssize_t sample_eventfd_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	int fd, ret;

	ret = kstrtoint_from_user(buf, count, 0, &fd);
	if (ret)
		return ret;

	if (fd >= 0) {
		ret = sample_register(fd);
	} else {
		mutex_lock(&sample_lock);
		ret = sample_unregister();
		mutex_unlock(&sample_lock);
	}
	return ret ? ret : count;
}

static const struct file_operations sample_eventfd_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = sample_eventfd_write,
	.llseek = noop_llseek,
};

static int sample_state_show(struct seq_file *m, void *v)
{
	struct sample_consumer *sc;

	mutex_lock(&sample_lock);
	sc = sample;
	if (!sc) {
		seq_puts(m, "registered=no\n");
		goto out;
	}
	mutex_lock(&sc->lock);
	seq_printf(m, "registered=yes token=%p", sc->eventfd);
	if (sc->producer)
		seq_printf(m, " paired=yes irq=%d", sc->producer->irq);
	else
		seq_puts(m, " paired=no irq=-");
	seq_printf(m, " stopped=%s adds=%lu add_failures=%lu dels=%lu stops=%lu starts=%lu\n",
		   sc->stopped ? "yes" : "no", sc->adds, sc->add_failures,
		   sc->dels, sc->stops, sc->starts);
	mutex_unlock(&sc->lock);
out:
	mutex_unlock(&sample_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sample_state);

static int __init sample_init(void)
{
	sample_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("eventfd", 0200, sample_dir, NULL,
			    &sample_eventfd_fops);
	debugfs_create_file("state", 0400, sample_dir, NULL,
			    &sample_state_fops);
	debugfs_create_u32("fail_add", 0600, sample_dir, &fail_add);
	return 0;
}
module_init(sample_init);

static void __exit sample_exit(void)
{
	/* Waits for running file operations; no new ones can start. */
	debugfs_remove_recursive(sample_dir);

	mutex_lock(&sample_lock);
	sample_unregister();
	mutex_unlock(&sample_lock);
}
module_exit(sample_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample IRQ bypass consumer taking its token from an eventfd");
