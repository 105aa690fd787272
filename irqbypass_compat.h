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

/*
 * Older kernels (Debian's 5.10 and 6.1) declare nothing in
 * <linux/fault-inject.h> without CONFIG_FAULT_INJECTION.  Kbuild looks for
 * the stubs that later ones have; these stand in for them, so that the
 * resize's fault attribute compiles to nothing there too.
 */
#include <linux/err.h>
#include <linux/fault-inject.h>
#include <linux/types.h>
#if defined(IRQBYPASS_NO_FAULT_INJECT_STUBS) && !IS_ENABLED(CONFIG_FAULT_INJECTION)
struct fault_attr {
};

#define DECLARE_FAULT_ATTR(name) struct fault_attr name = { }

static inline bool should_fail(struct fault_attr *attr, ssize_t size)
{
	return false;
}

static inline struct dentry *
fault_create_debugfs_attr(const char *name, struct dentry *parent,
			  struct fault_attr *attr)
{
	return ERR_PTR(-ENODEV);
}
#endif

#endif /* IRQBYPASS_COMPAT_H */
