/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IRQ bypass manager: hooks shared with the KUnit suites only
 */
#ifndef IRQBYPASS_INTERNAL_H
#define IRQBYPASS_INTERNAL_H

#include <linux/types.h>

/*
 * The registry has 2^IRQBYPASS_LOCK_BITS locks; the bucket table never has
 * fewer buckets than that, nor more than 2^IRQBYPASS_MAX_BITS.
 */
#define IRQBYPASS_LOCK_BITS	8
#define IRQBYPASS_MAX_BITS	24

#if IS_ENABLED(CONFIG_KUNIT)
struct fault_attr;

#ifndef IRQBYPASS_EVENTFD_API
unsigned int irqbypass_kunit_table_bits(void);
unsigned long irqbypass_kunit_bucket(const void *token, unsigned int bits);
int irqbypass_kunit_resize(unsigned int bits);
#else
unsigned int irqbypass_kunit_slot_bits(const void *eventfd);
#endif
void irqbypass_kunit_flush(void);
long irqbypass_kunit_registered(void);
struct fault_attr *irqbypass_kunit_fail_resize(void);
long irqbypass_kunit_resize_failures(void);
#endif

#endif /* IRQBYPASS_INTERNAL_H */
