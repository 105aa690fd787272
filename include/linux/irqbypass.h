/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IRQ bypass manager: pairs interrupt producers with interrupt consumers
 *
 * The layout of both structures and the four prototypes below are ABI:
 * modules built against the stock header (kvm.ko, vfio-pci.ko,
 * vhost_vdpa.ko) must load against this implementation unchanged, so their
 * modversions CRCs must not move.  Change comments freely; change nothing
 * else.
 */
#ifndef IRQBYPASS_H
#define IRQBYPASS_H

#include <linux/list.h>

struct irq_bypass_consumer;

/**
 * DOC: Theory of operation
 *
 * A *producer* is an interrupt source that could be delivered to a guest
 * without a trip through the host, for example a VFIO MSI vector or a
 * vhost-vdpa virtqueue interrupt.  A *consumer* is the hypervisor side that
 * can accept such an interrupt directly, for example a KVM irqfd backed by
 * posted interrupts or a GICv4 forwarded interrupt.  The two sides register
 * independently, each carrying an opaque, non-NULL *token*; in practice the
 * &struct eventfd_ctx both of them already share.
 *
 * When a producer and a consumer with the same token are both registered,
 * the manager connects them: it stops both, calls
 * &irq_bypass_producer.add_consumer and &irq_bypass_consumer.add_producer,
 * and starts both again.  Unregistering either side disconnects the pair the
 * same way through the del callbacks.  Pairing is strictly 1:1: at most one
 * producer and one consumer may be registered per token at any time.
 *
 * Callbacks run in process context, may sleep, and run with the manager's
 * lock for that token held.  A callback must therefore never call back into
 * the manager (register or unregister anything).  A call from a callback
 * that needs the lock the callback runs under, which would deadlock, is
 * refused with one warning: registration returns -EDEADLK and
 * unregistration does nothing.
 */

/**
 * struct irq_bypass_producer - an interrupt source that can be bypassed
 * @node: private to the manager.  The caller need not initialise it, but
 *	must not write it while the producer is registered, and must not link
 *	it into a list of its own: the manager reads it to refuse registering
 *	a producer that is already registered.
 * @token: opaque, non-NULL cookie shared with the matching consumer.  It must
 *	not change while the producer is registered.
 * @irq: Linux interrupt number of the source, for the consumer's use
 * @add_consumer: optional; connect this producer to @cons.  Returns 0 or a
 *	negative errno, in which case the consumer is not connected either.
 * @del_consumer: optional; undo @add_consumer.  Called exactly once for
 *	each successful @add_consumer, also when the consumer's add fails.
 * @stop: optional; quiesce the producer before an add or del
 * @start: optional; resume the producer after an add or del.  Called after
 *	every @stop, also when the connection failed.
 *
 * Embed this in the driver's per-interrupt state, fill in @token, @irq and
 * the callbacks, and pass it to irq_bypass_register_producer().
 *
 * Context: every callback is called in process context with the manager's
 * lock for @token held, and may sleep.  No callback may register or
 * unregister a producer or consumer.
 */
struct irq_bypass_producer {
	struct list_head node;
	void *token;
	int irq;
	int (*add_consumer)(struct irq_bypass_producer *prod,
			    struct irq_bypass_consumer *cons);
	void (*del_consumer)(struct irq_bypass_producer *prod,
			     struct irq_bypass_consumer *cons);
	void (*stop)(struct irq_bypass_producer *prod);
	void (*start)(struct irq_bypass_producer *prod);
};

/**
 * struct irq_bypass_consumer - an interrupt sink that can take a bypassed IRQ
 * @node: private to the manager, as &irq_bypass_producer.node is
 * @token: opaque, non-NULL cookie shared with the matching producer.  It must
 *	not change while the consumer is registered.
 * @add_producer: required; connect this consumer to @prod, typically by
 *	reprogramming the interrupt remapping entry for @prod->irq.  Returns 0
 *	or a negative errno, in which case the pair is not connected.
 * @del_producer: required; undo a successful @add_producer.  Called exactly
 *	once for each successful @add_producer.
 * @stop: optional; quiesce the consumer before an add or del (arm64 halts
 *	the guest here)
 * @start: optional; resume the consumer after an add or del.  Called after
 *	every @stop, also when the connection failed.
 *
 * Embed this in the hypervisor's per-interrupt state, fill in @token and
 * the callbacks, and pass it to irq_bypass_register_consumer().
 *
 * Context: every callback is called in process context with the manager's
 * lock for @token held, and may sleep.  No callback may register or
 * unregister a producer or consumer.
 */
struct irq_bypass_consumer {
	struct list_head node;
	void *token;
	int (*add_producer)(struct irq_bypass_consumer *cons,
			    struct irq_bypass_producer *prod);
	void (*del_producer)(struct irq_bypass_consumer *cons,
			     struct irq_bypass_producer *prod);
	void (*stop)(struct irq_bypass_consumer *cons);
	void (*start)(struct irq_bypass_consumer *cons);
};

int irq_bypass_register_producer(struct irq_bypass_producer *producer);
void irq_bypass_unregister_producer(struct irq_bypass_producer *producer);
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer);
void irq_bypass_unregister_consumer(struct irq_bypass_consumer *consumer);

#endif /* IRQBYPASS_H */
