/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel API that irqbypass.c uses, on top of libc and pthreads, so that
 * the unchanged file builds and runs in userspace.  Every <linux/...> header
 * it includes is a one-line file in shim/linux/ that includes this one.
 *
 * Everything here is as small as the kernel's meaning allows; what the
 * harness needs to observe (allocation failures, pending work, the module
 * refcount, warnings, debugfs files) is exported as shim_* below.
 */
#ifndef IRQBYPASS_SHIM_H
#define IRQBYPASS_SHIM_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t u32;
typedef uint64_t u64;

#define CONFIG_KUNIT		1
#define CONFIG_DEBUG_FS		1
#define IS_ENABLED(CONFIG_OPTION)	CONFIG_OPTION

#define __init
#define __exit
#define ____cacheline_aligned_in_smp
#define BIT(nr)			(1UL << (nr))
#define IS_ALIGNED(x, a)	(((x) & ((typeof(x))(a) - 1)) == 0)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define _RET_IP_		((unsigned long)__builtin_return_address(0))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define min(a, b) ({						\
	typeof(a) __a = (a);						\
	typeof(b) __b = (b);						\
	__a < __b ? __a : __b;						\
})
#define clamp_t(type, val, lo, hi) ({					\
	type __v = (val), __lo = (lo), __hi = (hi);			\
	__v < __lo ? __lo : __v > __hi ? __hi : __v;			\
})

static inline unsigned int fls_long(unsigned long x)
{
	return x ? 64 - __builtin_clzl(x) : 0;
}

/* Marked accesses: relaxed atomics, so that ThreadSanitizer knows them. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#if defined(__SANITIZE_THREAD__)
#define SHIM_TSAN		1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHIM_TSAN		1
#endif
#endif
#ifdef SHIM_TSAN
/* ThreadSanitizer's own annotations, under names of ours. */
void shim_ignore_reads_begin(const char *file, int line)
	__asm__("AnnotateIgnoreReadsBegin");
void shim_ignore_reads_end(const char *file, int line)
	__asm__("AnnotateIgnoreReadsEnd");
#else
static inline void shim_ignore_reads_begin(const char *file, int line)
{
}

static inline void shim_ignore_reads_end(const char *file, int line)
{
}
#endif
/*
 * data_race(): a deliberately racy read, which the kernel tells KCSAN to
 * ignore; here ThreadSanitizer ignores the reads of @expr.
 */
#define data_race(expr) ({						\
	__typeof__(expr) __v;						\
	shim_ignore_reads_begin(__FILE__, __LINE__);			\
	__v = (expr);							\
	shim_ignore_reads_end(__FILE__, __LINE__);			\
	__v;								\
})

/* Barriers: fences at least as strong as the kernel's (read, write). */
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
/* A release fence orders earlier stores before later ones. */
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)

/*
 * get_kernel_nofault(): 0 and the value, or -EFAULT for an address that
 * cannot be read.  The kernel reads through its exception table; here the
 * kernel reads for us (process_vm_readv() of our own memory), so that a
 * wild pointer fails instead of crashing, as there, and the sanitizers do
 * not watch the read, as KASAN and KCSAN do not watch the kernel's.
 */
int shim_read_nofault(void *dst, const void *src, size_t size);
#define get_kernel_nofault(val, ptr) \
	shim_read_nofault(&(val), (ptr), sizeof(val))

struct shim_atomic_long {
	long counter;
};

#define atomic_long_t		struct shim_atomic_long

#define atomic_long_read(v)	__atomic_load_n(&(v)->counter, __ATOMIC_RELAXED)
#define atomic_long_inc(v) \
	__atomic_add_fetch(&(v)->counter, 1, __ATOMIC_RELAXED)
#define atomic_long_add_return(i, v) \
	__atomic_add_fetch(&(v)->counter, (i), __ATOMIC_RELAXED)
#define atomic_long_add(i, v) \
	((void)__atomic_add_fetch(&(v)->counter, (i), __ATOMIC_RELAXED))
#define atomic_long_sub(i, v) \
	((void)__atomic_sub_fetch(&(v)->counter, (i), __ATOMIC_RELAXED))

/*
 * Per-CPU data: each thread is given a CPU; the operations are atomic.  All
 * the atomics here are relaxed: irqbypass.c relies on its locks for
 * ordering, and ThreadSanitizer would take a stronger atomic on a shared
 * counter for synchronization that hides a missing lock.
 */
#define SHIM_NR_CPUS		4
int shim_cpu(void);
#define DEFINE_PER_CPU(type, name)	type name[SHIM_NR_CPUS]
#define per_cpu(var, cpu)		((var)[cpu])
#define for_each_possible_cpu(cpu) \
	for (int __i = 0; __i < SHIM_NR_CPUS && ((cpu) = __i, 1); __i++)
#define this_cpu_add_return(var, i) \
	__atomic_add_fetch(&(var)[shim_cpu()], (i), __ATOMIC_RELAXED)
#define this_cpu_sub(var, i) \
	__atomic_sub_fetch(&(var)[shim_cpu()], (i), __ATOMIC_RELAXED)

/* hash_ptr() of <linux/hash.h> for 64-bit pointers. */
#define GOLDEN_RATIO_64		0x61C8864680B583EBull
static inline u32 hash_ptr(const void *ptr, unsigned int bits)
{
	return (u32)(((u64)(uintptr_t)ptr * GOLDEN_RATIO_64) >> (64 - bits));
}

/* Time: the harness moves jiffies. */
#define HZ			100
extern unsigned long jiffies;
#define time_after_eq(a, b)	((long)((a) - (b)) >= 0)
#define time_before(a, b)	((long)((a) - (b)) < 0)
#define jiffies_to_msecs(j)	((unsigned int)((j) * (1000 / HZ)))

/* Tasks: one per thread. */
struct task_struct {
	int pid;
	char comm[16];
};

struct task_struct *shim_current(void);
#define current			shim_current()

/* Warnings are counted, printed, and the harness decides. */
extern long shim_warnings;
void shim_warn(const char *file, int line, const char *fmt, ...);
#define WARN_ONCE(cond, fmt, ...) ({					\
	static bool __warned;						\
	bool __c = !!(cond);						\
	if (__c && !__atomic_exchange_n(&__warned, true,		\
					__ATOMIC_RELAXED))		\
		shim_warn(__FILE__, __LINE__, fmt, ##__VA_ARGS__);	\
	__c;								\
})
#define WARN_ON_ONCE(cond)	WARN_ONCE(cond, "%s", #cond)
#define WARN_ON(cond) ({						\
	bool __c = !!(cond);						\
	if (__c)							\
		shim_warn(__FILE__, __LINE__, "%s", #cond);		\
	__c;								\
})

#define pr_err(fmt, ...)	fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)
/*
 * The kernel log's other levels are counted and the last message kept,
 * for the checks to read; printed only with SHIM_LOG set in the
 * environment, so that the fuzzer's millions of failures stay quiet.
 */
extern long shim_logs;
extern char shim_last_log[512];
void shim_printk(const char *fmt, ...);
#define pr_info(fmt, ...)	shim_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn_ratelimited(fmt, ...) \
	shim_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define might_sleep()		do { } while (0)
#define cond_resched()		do { } while (0)

/* Mutexes: error-checking pthread mutexes, so re-locking aborts. */
struct mutex {
	pthread_mutex_t m;
	struct task_struct *owner;
};

#define DEFINE_MUTEX(name) \
	struct mutex name = { PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP, NULL }
void mutex_init(struct mutex *lock);
void mutex_destroy(struct mutex *lock);
void mutex_lock(struct mutex *lock);
void mutex_unlock(struct mutex *lock);
bool shim_mutex_held(struct mutex *lock);
void shim_bug(const char *file, int line, const char *what);
/* Abort, naming @cond, unless it holds. */
#define shim_assert(cond) \
	do { if (!(cond)) shim_bug(__FILE__, __LINE__, #cond); } while (0)
#define lockdep_assert_held(l)	shim_assert(shim_mutex_held(l))

/* Memory, with injected failures. */
#define GFP_KERNEL		0u
#define __GFP_NOWARN		1u
extern int shim_fail_skip;	/* let this many allocations succeed, */
extern int shim_fail_allocs;	/* then fail this many */
extern long shim_alloc_failures;
extern long shim_allocs;		/* allocations that succeeded */
void *kmalloc(size_t size, unsigned int flags);
void *kvmalloc_array(size_t n, size_t size, unsigned int flags);
void *kvcalloc(size_t n, size_t size, unsigned int flags);
void kfree(const void *p);
void kvfree(const void *p);

/* Errors. */
static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

/* Module references. */
struct module {
	long refcnt;
	bool dying;
};

extern struct module shim_module;
#define THIS_MODULE		(&shim_module)
#define MODULE_LICENSE(...)
#define MODULE_DESCRIPTION(...)
#define MODULE_VERSION(...)
/* No symbol table to export to. */
#define EXPORT_SYMBOL_GPL(...)
bool try_module_get(struct module *mod);
void module_put(struct module *mod);

extern int (*shim_module_init)(void);
extern void (*shim_module_exit)(void);
#define subsys_initcall(fn)	int (*shim_module_init)(void) = fn
#define module_exit(fn)		void (*shim_module_exit)(void) = fn

/* KUnit's visibility helpers: the hooks are always visible. */
#define VISIBLE_IF_KUNIT
/* Nor here. */
#define EXPORT_SYMBOL_IF_KUNIT(...)

/* Workqueues: run by shim_run_work(), or by a worker thread. */
struct work_struct {
	void (*func)(struct work_struct *work);
	bool pending;
	bool running;
};

struct workqueue_struct;
extern struct workqueue_struct *system_unbound_wq;
#define DECLARE_WORK(name, fn)	struct work_struct name = { .func = fn }
bool queue_work(struct workqueue_struct *wq, struct work_struct *work);
bool flush_work(struct work_struct *work);
bool cancel_work_sync(struct work_struct *work);
void shim_run_work(void);		/* run every pending work item */
void shim_start_worker(void);		/* from now on, a thread runs them */
void shim_stop_worker(void);

/* seq_file and debugfs: show functions write into a buffer. */
struct seq_file {
	char *buf;
	size_t size;
	size_t len;
};

void seq_printf(struct seq_file *m, const char *fmt, ...);
void seq_puts(struct seq_file *m, const char *s);
void seq_putc(struct seq_file *m, char c);

struct file_operations {
	int (*show)(struct seq_file *m, void *v);
};

#define DEFINE_SHOW_ATTRIBUTE(name)					\
	static const struct file_operations name##_fops = {		\
		.show = name##_show,					\
	}

struct dentry;
#define umode_t			unsigned short
struct dentry *debugfs_create_dir(const char *name, struct dentry *parent);
struct dentry *debugfs_create_file(const char *name, umode_t mode,
				   struct dentry *parent, void *data,
				   const struct file_operations *fops);
void debugfs_remove_recursive(struct dentry *dentry);
/* Show debugfs file @name into a malloc()ed string; NULL if none. */
char *shim_debugfs_read(const char *name);

/*
 * Fault injection as without CONFIG_FAULT_INJECTION: never fails; the
 * shim's own allocation failures (shim_fail_allocs) stand in for it.
 */
struct fault_attr {
};

#define DECLARE_FAULT_ATTR(name)	struct fault_attr name = { }

static inline bool should_fail(struct fault_attr *attr, long size)
{
	return false;
}

static inline struct dentry *fault_create_debugfs_attr(const char *name,
						       struct dentry *parent,
						       struct fault_attr *attr)
{
	return NULL;
}

#include "shim_list.h"
#include "shim_trace.h"

#endif /* IRQBYPASS_SHIM_H */
