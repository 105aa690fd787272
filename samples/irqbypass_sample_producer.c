// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqbypass_sample_producer - a minimal IRQ bypass producer
 *
 * The producer side of the IRQ bypass manager, reduced to what every
 * producer does; vfio-pci's MSI vectors (drivers/vfio/pci/vfio_pci_intrs.c)
 * and vhost-vdpa's virtqueue interrupts (drivers/vhost/vdpa.c) are the
 * in-tree examples.  A real producer owns a Linux interrupt whose handler
 * signals an eventfd; it registers a struct irq_bypass_producer whose token
 * is that eventfd's context and whose irq is that interrupt, and the manager
 * connects it to the consumer (a KVM irqfd) that registers the same eventfd.
 *
 * This one has no hardware: userspace hands in an eventfd and an interrupt
 * number that does not exist, so that it pairs with the sample consumer (or
 * with KVM) on any machine.  The callbacks log and record what a real
 * producer would do.
 *
 * Its files, in /sys/kernel/debug/irqbypass_sample_producer/:
 *
 *   eventfd   write "FD IRQ", FD the number of an eventfd that the writing
 *             process has open and IRQ a made-up interrupt number, to
 *             register a producer with that token and irq; write -1 to
 *             unregister it.  One producer at a time.
 *   state     registered=yes|no, the token (printed as the manager's
 *             debugfs files print it), the irq, paired=yes|no and how often
 *             each callback ran.
 *   fail_add  an errno; while it is not 0, add_consumer fails with it, to
 *             show the error path.  For demonstration only.
 *
 * With samples/with-eventfd.c, which holds an eventfd open for a shell:
 *
 *   with-eventfd sh -c 'D=/sys/kernel/debug
 *       echo "$EVENTFD 4242" > $D/irqbypass_sample_producer/eventfd
 *       echo "$EVENTFD" > $D/irqbypass_sample_consumer/eventfd'
 *
 * The interrupt number must not belong to an existing interrupt: paired
 * with KVM on a host with posted interrupts, KVM would retarget it.  The
 * sample refuses numbers that exist.
 *
 * Locking is as in the sample consumer: sample_lock is held across the
 * calls into the manager, so the callbacks take only the producer's lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/irq.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "irqbypass_sample.h"

/**
 * struct sample_producer - one producer, as a driver's per-interrupt state
 * @producer: what the manager sees; embedded, so that the callbacks find
 *	their state with container_of()
 * @eventfd: the token.  A reference is held for as long as @producer is
 *	registered, so that no other eventfd can get the same address (and
 *	thereby our token) in the meantime.
 * @lock: protects the fields below; taken by the callbacks
 * @consumer: the connected consumer, or NULL.  Valid until del_consumer,
 *	which the manager calls before that consumer's unregistration returns.
 * @stopped: between stop and start
 * @adds: successful add_consumer calls
 * @add_failures: failed add_consumer calls
 * @dels: del_consumer calls
 * @stops: stop calls
 * @starts: start calls
 */
struct sample_producer {
	struct irq_bypass_producer producer;
	struct eventfd_ctx *eventfd;
	struct mutex lock;		/* protects the fields below */
	struct irq_bypass_consumer *consumer;
	bool stopped;
	unsigned long adds;
	unsigned long add_failures;
	unsigned long dels;
	unsigned long stops;
	unsigned long starts;
};

static DEFINE_MUTEX(sample_lock);	/* (un)registration; protects sample */
static struct sample_producer *sample;	/* registered producer, or NULL */
static u32 fail_add;			/* errno for add_consumer to fail with */
static struct dentry *sample_dir;

static struct sample_producer *to_sample(struct irq_bypass_producer *prod)
{
	return container_of(prod, struct sample_producer, producer);
}

/*
 * Connect to @cons.  Optional; called between stop and start, before the
 * consumer's add_producer.  If this fails, add_producer is not called and
 * neither is del_consumer, so undo any partial work before returning.  If
 * it succeeds and add_producer then fails, del_consumer is called.
 */
static int sample_add_consumer(struct irq_bypass_producer *prod,
			       struct irq_bypass_consumer *cons)
{
	struct sample_producer *sp = to_sample(prod);
	u32 err = READ_ONCE(fail_add);
	int ret = 0;

	mutex_lock(&sp->lock);

	/* Step 1, which del_consumer undoes: remember the consumer. */
	sp->consumer = cons;

	/*
	 * Step 2, which may fail: whatever the device needs for its
	 * interrupt to be delivered directly.  vfio-pci and vhost-vdpa need
	 * nothing and leave all four callbacks NULL.  This sample only fails
	 * on request.
	 */
	if (err && err <= MAX_ERRNO)
		ret = -(int)err;

	if (ret) {
		/* Undo step 1: no del_consumer will follow a failed add. */
		sp->consumer = NULL;
		sp->add_failures++;
	} else {
		sp->adds++;
	}

	mutex_unlock(&sp->lock);

	pr_info("token %p irq %d: add_consumer: %d\n", sp->eventfd, prod->irq,
		ret);
	return ret;
}

/*
 * Disconnect from @cons.  Optional; called exactly once for every
 * successful add_consumer: when either side unregisters, and also when the
 * consumer's add_producer failed right after our add_consumer succeeded.
 */
static void sample_del_consumer(struct irq_bypass_producer *prod,
				struct irq_bypass_consumer *cons)
{
	struct sample_producer *sp = to_sample(prod);

	mutex_lock(&sp->lock);
	WARN_ON_ONCE(sp->consumer != cons);
	sp->consumer = NULL;
	sp->dels++;
	mutex_unlock(&sp->lock);

	pr_info("token %p irq %d: del_consumer\n", sp->eventfd, prod->irq);
}

/*
 * Quiesce the interrupt source before the connection changes.  A producer
 * whose interrupt must not arrive while the consumer rewires it masks it
 * here, e.g. with disable_irq(prod->irq), and unmasks it in start.  The
 * interrupt of this sample does not exist, so it only records the state.
 */
static void sample_stop(struct irq_bypass_producer *prod)
{
	struct sample_producer *sp = to_sample(prod);

	mutex_lock(&sp->lock);
	sp->stopped = true;
	sp->stops++;
	mutex_unlock(&sp->lock);
}

/* Resume the source; follows every stop, whatever the adds returned. */
static void sample_start(struct irq_bypass_producer *prod)
{
	struct sample_producer *sp = to_sample(prod);

	mutex_lock(&sp->lock);
	sp->stopped = false;
	sp->starts++;
	mutex_unlock(&sp->lock);
}

/* Register a producer for interrupt @irq whose token is the eventfd @fd. */
static int sample_register(int fd, int irq)
{
	struct eventfd_ctx *eventfd;
	struct sample_producer *sp;
	int ret;

	/* A made-up interrupt only: see the top of this file. */
	if (irq < 0)
		return -EINVAL;
	if (irq_get_irq_data(irq))
		return -EEXIST;

	/* Takes a reference: the token stays ours while registered. */
	eventfd = eventfd_ctx_fdget(fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	sp = kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp) {
		ret = -ENOMEM;
		goto out_put;
	}
	mutex_init(&sp->lock);
	sp->eventfd = eventfd;
	sp->producer.add_consumer = sample_add_consumer;	/* optional */
	sp->producer.del_consumer = sample_del_consumer;	/* optional */
	sp->producer.stop = sample_stop;			/* optional */
	sp->producer.start = sample_start;			/* optional */

	mutex_lock(&sample_lock);
	if (sample) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/*
	 * If a consumer with this token is registered, the callbacks run
	 * before this returns.  On error nothing is registered: the object
	 * may be freed at once, and the consumer stays registered, unpaired.
	 * vfio-pci and vhost-vdpa only log such an error: the interrupt still
	 * reaches the guest through the eventfd, just not directly.
	 */
	ret = sample_register_producer(&sp->producer, eventfd, irq);
	if (ret)
		goto out_unlock;
	sample = sp;
	mutex_unlock(&sample_lock);
	return 0;

out_unlock:
	mutex_unlock(&sample_lock);
	mutex_destroy(&sp->lock);
	kfree(sp);
out_put:
	eventfd_ctx_put(eventfd);
	return ret;
}

/* Unregister the producer, if any.  Called with sample_lock held. */
static int sample_unregister(void)
{
	struct sample_producer *sp = sample;

	lockdep_assert_held(&sample_lock);
	if (!sp)
		return -ENOENT;

	/*
	 * Disconnects first if paired: stop, del_producer, del_consumer and
	 * start run before this returns.  Afterwards no callback can run for
	 * @sp, and only then may the object go and the token's reference be
	 * dropped.  A real producer unregisters before free_irq().
	 */
	irq_bypass_unregister_producer(&sp->producer);
	sample = NULL;
	eventfd_ctx_put(sp->eventfd);
	mutex_destroy(&sp->lock);
	kfree(sp);
	return 0;
}

static ssize_t sample_eventfd_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	int fd, irq, n, ret;
	char *kbuf;

	if (count > 64)
		return -EINVAL;
	kbuf = memdup_user_nul(buf, count);
	if (IS_ERR(kbuf))
		return PTR_ERR(kbuf);
	n = sscanf(kbuf, "%d %d", &fd, &irq);
	kfree(kbuf);

	if (n == 1 && fd < 0) {
		mutex_lock(&sample_lock);
		ret = sample_unregister();
		mutex_unlock(&sample_lock);
	} else if (n == 2 && fd >= 0) {
		ret = sample_register(fd, irq);
	} else {
		ret = -EINVAL;
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
	struct sample_producer *sp;

	mutex_lock(&sample_lock);
	sp = sample;
	if (!sp) {
		seq_puts(m, "registered=no\n");
		goto out;
	}
	mutex_lock(&sp->lock);
	seq_printf(m, "registered=yes token=%p irq=%d paired=%s",
		   sp->eventfd, sp->producer.irq,
		   sp->consumer ? "yes" : "no");
	seq_printf(m, " stopped=%s adds=%lu add_failures=%lu dels=%lu stops=%lu starts=%lu\n",
		   sp->stopped ? "yes" : "no", sp->adds, sp->add_failures,
		   sp->dels, sp->stops, sp->starts);
	mutex_unlock(&sp->lock);
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
MODULE_DESCRIPTION("Sample IRQ bypass producer with a made-up interrupt");
