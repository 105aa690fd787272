/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IRQ bypass manager: what older kernels lack, in one place
 *
 * The manager is written against the current kernel API.  What a kernel it
 * supports predates is dealt with here, from what Kbuild found in that
 * kernel's headers, so that irqbypass.c stays free of version checks.
 */
#ifndef IRQBYPASS_COMPAT_H
#define IRQBYPASS_COMPAT_H

/*
 * <kunit/visibility.h> came with Linux 6.2 (and Debian's 6.1).  Only the
 * KUnit hooks use it, and they are built only with CONFIG_KUNIT, which no
 * distribution kernel that lacks the header enables.
 */
#ifndef IRQBYPASS_NO_KUNIT_VISIBILITY
#include <kunit/visibility.h>
#elif IS_ENABLED(CONFIG_KUNIT)
#error "the KUnit suites need <kunit/visibility.h> (Linux 6.2 or later)"
#endif

#endif /* IRQBYPASS_COMPAT_H */
