/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * irqbypass_sample.h - the samples' one difference between the two APIs
 *
 * Up to Linux 6.16 the caller puts the token (the eventfd's context) and
 * the producer's irq in the structure, and the register functions take the
 * structure alone.  From 6.17 on they are arguments, and the manager
 * stores the eventfd in the structure itself, but only once registered:
 * inside the callbacks of the registration that connects, the registering
 * side's ->eventfd is still NULL.  So the samples keep their own pointer to
 * the eventfd and print that, and call the manager only through these two.
 *
 * samples/Kbuild defines IRQBYPASS_EVENTFD_API when the kernel's own
 * <linux/irqbypass.h> has the later API (the probe of api.mk).
 */
#ifndef IRQBYPASS_SAMPLE_H
#define IRQBYPASS_SAMPLE_H

#include <linux/eventfd.h>
#include <linux/irqbypass.h>

static inline int sample_register_producer(struct irq_bypass_producer *prod,
					   struct eventfd_ctx *eventfd,
					   int irq)
{
#ifdef IRQBYPASS_EVENTFD_API
	return irq_bypass_register_producer(prod, eventfd, irq);
#else
	prod->token = eventfd;
	prod->irq = irq;
	return irq_bypass_register_producer(prod);
#endif
}

static inline int sample_register_consumer(struct irq_bypass_consumer *cons,
					   struct eventfd_ctx *eventfd)
{
#ifdef IRQBYPASS_EVENTFD_API
	return irq_bypass_register_consumer(cons, eventfd);
#else
	cons->token = eventfd;
	return irq_bypass_register_consumer(cons);
#endif
}

#endif /* IRQBYPASS_SAMPLE_H */
