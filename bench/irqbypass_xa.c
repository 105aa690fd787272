// SPDX-License-Identifier: GPL-2.0-only
/*
 * A reference model of upstream's current IRQ bypass manager (6.17 on)
 *
 * Only scripts/bench.sh builds it, as an irqbypass.ko that the distro's
 * kvm.ko binds to, so that the benchmark can set our manager against the
 * design upstream ships today.  It is a benchmark peer, not a product.
 *
 * The design, as described: one xarray per side, indexed by the token;
 * one global mutex, held across the callbacks; xa_insert() with GFP_KERNEL
 * on register, xa_load() to find the partner, xa_erase() on unregister.
 * A producer and a consumer with the same token are connected exactly
 * while both are in their xarrays: a register whose connect fails takes
 * its entry out again.
 */

#include <linux/irqbypass.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IRQ bypass manager, xarray reference model (benchmark only)");

static DEFINE_MUTEX(model_lock);
static DEFINE_XARRAY(model_producers);
static DEFINE_XARRAY(model_consumers);

/* Pair @prod with @cons, both stopped meanwhile; unwinds on failure. */
static int model_connect(struct irq_bypass_producer *prod,
			 struct irq_bypass_consumer *cons)
{
	int ret = 0;

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
	return ret;
}

/* Undo model_connect(), in the mirror order. */
static void model_disconnect(struct irq_bypass_producer *prod,
			     struct irq_bypass_consumer *cons)
{
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
}

/**
 * irq_bypass_register_producer - register an IRQ bypass producer
 * @producer: the producer; its token must be set and not yet registered
 *
 * Stores @producer under its token and connects it to the consumer with
 * the same token, if there is one.
 *
 * Return: 0, -EINVAL without a token, -EBUSY if a producer with the same
 * token is registered, -ENOMEM, or the error of a failed connect.
 */
int irq_bypass_register_producer(struct irq_bypass_producer *producer)
{
	unsigned long index = (unsigned long)producer->token;
	struct irq_bypass_consumer *consumer;
	int ret;

	if (!producer->token)
		return -EINVAL;
	might_sleep();

	mutex_lock(&model_lock);
	ret = xa_insert(&model_producers, index, producer, GFP_KERNEL);
	if (!ret) {
		consumer = xa_load(&model_consumers, index);
		if (consumer)
			ret = model_connect(producer, consumer);
		if (ret)
			xa_erase(&model_producers, index);
	}
	mutex_unlock(&model_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(irq_bypass_register_producer);

/**
 * irq_bypass_unregister_producer - unregister an IRQ bypass producer
 * @producer: the producer, as registered
 *
 * Disconnects @producer from its consumer, if it has one, and forgets it.
 * A producer that is not registered is ignored.
 */
void irq_bypass_unregister_producer(struct irq_bypass_producer *producer)
{
	unsigned long index = (unsigned long)producer->token;
	struct irq_bypass_consumer *consumer;

	if (!producer->token)
		return;
	might_sleep();

	mutex_lock(&model_lock);
	if (xa_load(&model_producers, index) == producer) {
		consumer = xa_load(&model_consumers, index);
		if (consumer)
			model_disconnect(producer, consumer);
		xa_erase(&model_producers, index);
	}
	mutex_unlock(&model_lock);
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_producer);

/**
 * irq_bypass_register_consumer - register an IRQ bypass consumer
 * @consumer: the consumer; its token and its add_producer and
 *	del_producer callbacks must be set
 *
 * Stores @consumer under its token and connects it to the producer with
 * the same token, if there is one.
 *
 * Return: 0, -EINVAL without a token or a callback, -EBUSY if a consumer
 * with the same token is registered, -ENOMEM, or the error of a failed
 * connect.
 */
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer)
{
	unsigned long index = (unsigned long)consumer->token;
	struct irq_bypass_producer *producer;
	int ret;

	if (!consumer->token || !consumer->add_producer ||
	    !consumer->del_producer)
		return -EINVAL;
	might_sleep();

	mutex_lock(&model_lock);
	ret = xa_insert(&model_consumers, index, consumer, GFP_KERNEL);
	if (!ret) {
		producer = xa_load(&model_producers, index);
		if (producer)
			ret = model_connect(producer, consumer);
		if (ret)
			xa_erase(&model_consumers, index);
	}
	mutex_unlock(&model_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(irq_bypass_register_consumer);

/**
 * irq_bypass_unregister_consumer - unregister an IRQ bypass consumer
 * @consumer: the consumer, as registered
 *
 * Disconnects @consumer from its producer, if it has one, and forgets it.
 * A consumer that is not registered is ignored.
 */
void irq_bypass_unregister_consumer(struct irq_bypass_consumer *consumer)
{
	unsigned long index = (unsigned long)consumer->token;
	struct irq_bypass_producer *producer;

	if (!consumer->token)
		return;
	might_sleep();

	mutex_lock(&model_lock);
	if (xa_load(&model_consumers, index) == consumer) {
		producer = xa_load(&model_producers, index);
		if (producer)
			model_disconnect(producer, consumer);
		xa_erase(&model_consumers, index);
	}
	mutex_unlock(&model_lock);
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_consumer);
