/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The userspace harness of irqbypass.c: what the fuzzer, the unit checks and
 * the concurrency test share.
 */
#ifndef IRQBYPASS_HARNESS_H
#define IRQBYPASS_HARNESS_H

#include <linux/irqbypass.h>
#include "irqbypass_internal.h"

/* Load the module once (its initcall) and fail loudly on any error. */
void harness_init(void);
/* Unload it: everything must have been unregistered. */
void harness_exit(void);

/* One counter of the debugfs stats file, -1 if absent. */
long harness_stat(const char *name);
/* Lines of debugfs file @name, and how many of them contain @what. */
long harness_lines(const char *name, const char *what, long *matching);

/* Run one fuzz input: a sequence of operations checked against the model. */
void harness_run(const unsigned char *data, unsigned long size);
/* Operations run so far, over every input. */
extern unsigned long harness_ops;

/* A unit check: on failure, say which and count it in the caller's @failures. */
#define EXPECT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "unit: %s:%d: %s: expected %s\n",	\
			__FILE__, __LINE__, __func__, #cond);		\
		failures++;						\
	}								\
} while (0)

#define harness_fail(fmt, ...) do {					\
	fprintf(stderr, "DIVERGENCE: " fmt "\n", ##__VA_ARGS__);	\
	abort();							\
} while (0)

/*
 * A consumer's callbacks for the unit checks, which count the pairs
 * connected in @unit_connected.
 */
extern long unit_connected;
int unit_add_producer(struct irq_bypass_consumer *c,
		      struct irq_bypass_producer *p);
void unit_del_producer(struct irq_bypass_consumer *c,
		       struct irq_bypass_producer *p);

/*
 * The end of a unit check program: unload the module, expect no warning
 * but the @expected ones, and report @failures.  Returns main()'s status.
 */
int unit_finish(long failures, long expected);

#endif /* IRQBYPASS_HARNESS_H */
