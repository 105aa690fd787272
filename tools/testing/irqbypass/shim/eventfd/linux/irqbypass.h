/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * <linux/irqbypass.h> of Linux 6.17 and later, for the userspace build of
 * the second front end (IRQBYPASS_EVENTFD_API): the token is the eventfd,
 * an argument of the register functions, and each object points at its
 * partner.  The layout is Linux 7.3's.
 */
#ifndef IRQBYPASS_H
#define IRQBYPASS_H

struct eventfd_ctx;
struct irq_bypass_consumer;

struct irq_bypass_producer {
	struct eventfd_ctx *eventfd;
	struct irq_bypass_consumer *consumer;
	int irq;
	int (*add_consumer)(struct irq_bypass_producer *prod,
			    struct irq_bypass_consumer *cons);
	void (*del_consumer)(struct irq_bypass_producer *prod,
			     struct irq_bypass_consumer *cons);
	void (*stop)(struct irq_bypass_producer *prod);
	void (*start)(struct irq_bypass_producer *prod);
};

struct irq_bypass_consumer {
	struct eventfd_ctx *eventfd;
	struct irq_bypass_producer *producer;
	int (*add_producer)(struct irq_bypass_consumer *cons,
			    struct irq_bypass_producer *prod);
	void (*del_producer)(struct irq_bypass_consumer *cons,
			     struct irq_bypass_producer *prod);
	void (*stop)(struct irq_bypass_consumer *cons);
	void (*start)(struct irq_bypass_consumer *cons);
};

int irq_bypass_register_producer(struct irq_bypass_producer *producer,
				 struct eventfd_ctx *eventfd, int irq);
void irq_bypass_unregister_producer(struct irq_bypass_producer *producer);
int irq_bypass_register_consumer(struct irq_bypass_consumer *consumer,
				 struct eventfd_ctx *eventfd);
void irq_bypass_unregister_consumer(struct irq_bypass_consumer *consumer);

#endif /* IRQBYPASS_H */
