// SPDX-License-Identifier: GPL-2.0-only
/*
 * A do-nothing IRQ bypass manager: the floor of the benchmark
 *
 * Only scripts/bench.sh builds it, as an irqbypass.ko that the distro's
 * kvm.ko binds to.  It exports the four functions, keeps nothing and
 * connects nothing, so that what a client's call costs with it is the
 * client's own work: for KVM_IRQFD, KVM's list walk, workqueue and SRCU.
 * With IRQBYPASS_EVENTFD_API (bench/Kbuild defines it when the kernel's
 * header has the API of Linux 6.17 and later) the register functions take
 * the eventfd, and the producer's irq, as arguments; the floor ignores
 * them too.
 */

#include <linux/irqbypass.h>
#include <linux/module.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IRQ bypass manager that does nothing (benchmark floor)");

#ifdef IRQBYPASS_EVENTFD_API
/**
 * irq_bypass_register_producer - accept a producer and forget it
 * @producer: ignored
 * @eventfd: ignored
 * @irq: ignored
 *
 * Return: 0.
 */
int irq_bypass_register_producer(struct irq_bypass_producer *producer,
				 struct eventfd_ctx *eventfd, int irq)
{
	return 0;
}
#else
/**
 * irq_bypass_register_producer - accept a producer and forget it
 * @producer: ignored
 *
 * Return: 0.
 */
int irq_bypass_register_producer(struct irq_bypass_producer *producer)
{
	return 0;
}
#endif
EXPORT_SYMBOL_GPL(irq_bypass_register_producer);

/**
 * irq_bypass_unregister_producer - do nothing
 * @producer: ignored
 */
void irq_bypass_unregister_producer(struct irq_bypass_producer *producer)
{
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_producer);

#ifdef IRQBYPASS_EVENTFD_API
/**
 * irq_bypass_register_consumer - accept a consumer and forget it
 * @consumer: ignored
 * @eventfd: ignored
 *
 * Return: 0.
 */
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer,
				 struct eventfd_ctx *eventfd)
{
	return 0;
}
#else
/**
 * irq_bypass_register_consumer - accept a consumer and forget it
 * @consumer: ignored
 *
 * Return: 0.
 */
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer)
{
	return 0;
}
#endif
EXPORT_SYMBOL_GPL(irq_bypass_register_consumer);

/**
 * irq_bypass_unregister_consumer - do nothing
 * @consumer: ignored
 */
void irq_bypass_unregister_consumer(struct irq_bypass_consumer *consumer)
{
}
EXPORT_SYMBOL_GPL(irq_bypass_unregister_consumer);
