// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel API of shim.h, implemented on libc and pthreads.
 */
#include <stdarg.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

unsigned long jiffies = 100000;
long shim_warnings;
int shim_fail_skip;
int shim_fail_allocs;
long shim_alloc_failures;
long shim_allocs;
struct module shim_module;
struct workqueue_struct *system_unbound_wq;

static __thread struct task_struct shim_task;
static int shim_next_pid = 1;

struct task_struct *shim_current(void)
{
	if (!shim_task.pid) {
		shim_task.pid = __atomic_fetch_add(&shim_next_pid, 1,
						   __ATOMIC_RELAXED);
		snprintf(shim_task.comm, sizeof(shim_task.comm), "thread-%d",
			 shim_task.pid);
	}
	return &shim_task;
}

int shim_cpu(void)
{
	return current->pid % SHIM_NR_CPUS;
}

/*
 * printf() does not know the kernel's %p extensions (%ps, %pS, %pe): print
 * the bare pointer instead.
 */
static void shim_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	char f[256];
	size_t i = 0;

	while (*fmt && i < sizeof(f) - 1) {
		f[i++] = *fmt;
		if (fmt[0] == '%' && fmt[1] == 'p' && fmt[2] &&
		    strchr("sSeK", fmt[2])) {
			f[i++] = 'p';
			fmt += 3;
			continue;
		}
		fmt++;
	}
	f[i] = '\0';
	vsnprintf(buf, size, f, ap);
}

void shim_warn(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	shim_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&shim_warnings, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "WARNING: %s:%d: %s\n", file, line, msg);
}

long shim_logs;
char shim_last_log[512];
static pthread_mutex_t shim_log_lock = PTHREAD_MUTEX_INITIALIZER;

void shim_printk(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&shim_log_lock);
	va_start(ap, fmt);
	shim_vformat(shim_last_log, sizeof(shim_last_log), fmt, ap);
	va_end(ap);
	shim_logs++;
	if (getenv("SHIM_LOG"))
		fputs(shim_last_log, stderr);
	pthread_mutex_unlock(&shim_log_lock);
}

void shim_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "BUG: %s:%d: %s\n", file, line, what);
	abort();
}

int shim_read_nofault(void *dst, const void *src, size_t size)
{
	struct iovec local = { dst, size }, remote = { (void *)src, size };

	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) !=
	    (ssize_t)size)
		return -EFAULT;
	return 0;
}

void mutex_init(struct mutex *lock)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&lock->m, &attr);
	pthread_mutexattr_destroy(&attr);
	lock->owner = NULL;
}

void mutex_destroy(struct mutex *lock)
{
	shim_assert(!READ_ONCE(lock->owner));
	pthread_mutex_destroy(&lock->m);
}

void mutex_lock(struct mutex *lock)
{
	int err = pthread_mutex_lock(&lock->m);

	if (err == EDEADLK)
		shim_bug(__FILE__, __LINE__, "deadlock: mutex already held");
	shim_assert(!err);
	WRITE_ONCE(lock->owner, current);
}

void mutex_unlock(struct mutex *lock)
{
	shim_assert(READ_ONCE(lock->owner) == current);
	WRITE_ONCE(lock->owner, NULL);
	shim_assert(!pthread_mutex_unlock(&lock->m));
}

bool shim_mutex_held(struct mutex *lock)
{
	return READ_ONCE(lock->owner) == current;
}

static bool shim_alloc_fails(void)
{
	if (__atomic_load_n(&shim_fail_allocs, __ATOMIC_RELAXED) <= 0)
		return false;
	if (__atomic_load_n(&shim_fail_skip, __ATOMIC_RELAXED) > 0) {
		__atomic_sub_fetch(&shim_fail_skip, 1, __ATOMIC_RELAXED);
		return false;
	}
	__atomic_sub_fetch(&shim_fail_allocs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shim_alloc_failures, 1, __ATOMIC_RELAXED);
	return true;
}

/* Allocations that succeeded, for the harness to count. */
static void *shim_counted(void *p)
{
	if (p)
		__atomic_add_fetch(&shim_allocs, 1, __ATOMIC_RELAXED);
	return p;
}

void *kmalloc(size_t size, unsigned int flags)
{
	return shim_alloc_fails() ? NULL : shim_counted(malloc(size));
}

void *kvmalloc_array(size_t n, size_t size, unsigned int flags)
{
	return shim_alloc_fails() ? NULL : shim_counted(calloc(n, size));
}

void *kvcalloc(size_t n, size_t size, unsigned int flags)
{
	return kvmalloc_array(n, size, flags);
}

void kfree(const void *p)
{
	free((void *)p);
}

void kvfree(const void *p)
{
	free((void *)p);
}

bool try_module_get(struct module *mod)
{
	if (READ_ONCE(mod->dying))
		return false;
	__atomic_add_fetch(&mod->refcnt, 1, __ATOMIC_RELAXED);
	return true;
}

void module_put(struct module *mod)
{
	shim_assert(__atomic_sub_fetch(&mod->refcnt, 1, __ATOMIC_RELAXED) >= 0);
}

/*
 * The work queue: at most a few work items, run either by shim_run_work()
 * (single-threaded tests, deterministic) or by a worker thread.
 */
#define SHIM_MAX_WORK	4
static struct work_struct *shim_works[SHIM_MAX_WORK];
static pthread_mutex_t shim_wq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t shim_wq_cond = PTHREAD_COND_INITIALIZER;
static pthread_t shim_worker;
static bool shim_worker_on, shim_worker_stop;

bool queue_work(struct workqueue_struct *wq, struct work_struct *work)
{
	bool queued = false;
	int i;

	pthread_mutex_lock(&shim_wq_lock);
	if (!work->pending) {
		for (i = 0; i < SHIM_MAX_WORK && shim_works[i] != work; i++)
			if (!shim_works[i]) {
				shim_works[i] = work;
				break;
			}
		shim_assert(i < SHIM_MAX_WORK);
		work->pending = true;
		queued = true;
		pthread_cond_broadcast(&shim_wq_cond);
	}
	pthread_mutex_unlock(&shim_wq_lock);
	return queued;
}

/* Run one pending item, if any; called and returns with shim_wq_lock held. */
static bool shim_run_one(struct work_struct *only)
{
	struct work_struct *w;
	int i;

	for (i = 0; i < SHIM_MAX_WORK; i++) {
		w = shim_works[i];
		if (!w || !w->pending || w->running || (only && w != only))
			continue;
		w->pending = false;
		w->running = true;
		pthread_mutex_unlock(&shim_wq_lock);
		w->func(w);
		pthread_mutex_lock(&shim_wq_lock);
		w->running = false;
		pthread_cond_broadcast(&shim_wq_cond);
		return true;
	}
	return false;
}

void shim_run_work(void)
{
	pthread_mutex_lock(&shim_wq_lock);
	while (shim_run_one(NULL))
		;
	pthread_mutex_unlock(&shim_wq_lock);
}

bool flush_work(struct work_struct *work)
{
	bool busy;

	pthread_mutex_lock(&shim_wq_lock);
	busy = work->pending || work->running;
	if (shim_worker_on) {
		while (work->pending || work->running)
			pthread_cond_wait(&shim_wq_cond, &shim_wq_lock);
	} else {
		shim_run_one(work);
	}
	pthread_mutex_unlock(&shim_wq_lock);
	return busy;
}

bool cancel_work_sync(struct work_struct *work)
{
	bool pending;

	pthread_mutex_lock(&shim_wq_lock);
	pending = work->pending;
	work->pending = false;
	while (work->running)
		pthread_cond_wait(&shim_wq_cond, &shim_wq_lock);
	pthread_mutex_unlock(&shim_wq_lock);
	return pending;
}

static void *shim_worker_fn(void *arg)
{
	pthread_mutex_lock(&shim_wq_lock);
	while (!shim_worker_stop) {
		if (!shim_run_one(NULL))
			pthread_cond_wait(&shim_wq_cond, &shim_wq_lock);
	}
	pthread_mutex_unlock(&shim_wq_lock);
	return NULL;
}

void shim_start_worker(void)
{
	pthread_mutex_lock(&shim_wq_lock);
	shim_worker_on = true;
	shim_worker_stop = false;
	pthread_mutex_unlock(&shim_wq_lock);
	shim_assert(!pthread_create(&shim_worker, NULL, shim_worker_fn, NULL));
}

void shim_stop_worker(void)
{
	pthread_mutex_lock(&shim_wq_lock);
	shim_worker_stop = true;
	pthread_cond_broadcast(&shim_wq_cond);
	pthread_mutex_unlock(&shim_wq_lock);
	pthread_join(shim_worker, NULL);
	pthread_mutex_lock(&shim_wq_lock);
	shim_worker_on = false;
	pthread_mutex_unlock(&shim_wq_lock);
}

static void seq_vprintf(struct seq_file *m, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	shim_vformat(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (m->len + n + 1 > m->size) {
		m->size = 2 * (m->len + n + 1);
		m->buf = realloc(m->buf, m->size);
		shim_assert(m->buf);
	}
	memcpy(m->buf + m->len, line, n + 1);
	m->len += n;
}

void seq_printf(struct seq_file *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	seq_vprintf(m, fmt, ap);
	va_end(ap);
}

void seq_puts(struct seq_file *m, const char *s)
{
	seq_printf(m, "%s", s);
}

void seq_putc(struct seq_file *m, char c)
{
	seq_printf(m, "%c", c);
}

#define SHIM_MAX_FILES	8
static struct {
	const char *name;
	const struct file_operations *fops;
} shim_files[SHIM_MAX_FILES];

struct dentry *debugfs_create_dir(const char *name, struct dentry *parent)
{
	return (struct dentry *)shim_files;
}

struct dentry *debugfs_create_file(const char *name, umode_t mode,
				   struct dentry *parent, void *data,
				   const struct file_operations *fops)
{
	int i;

	for (i = 0; i < SHIM_MAX_FILES; i++)
		if (!shim_files[i].name) {
			shim_files[i].name = name;
			shim_files[i].fops = fops;
			return (struct dentry *)&shim_files[i];
		}
	shim_bug(__FILE__, __LINE__, "too many debugfs files");
	return NULL;
}

void debugfs_remove_recursive(struct dentry *dentry)
{
	memset(shim_files, 0, sizeof(shim_files));
}

char *shim_debugfs_read(const char *name)
{
	struct seq_file m = { };
	int i;

	for (i = 0; i < SHIM_MAX_FILES; i++)
		if (shim_files[i].name && !strcmp(shim_files[i].name, name)) {
			seq_puts(&m, "");
			shim_assert(!shim_files[i].fops->show(&m, NULL));
			return m.buf;
		}
	return NULL;
}
