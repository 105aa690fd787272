// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark of the IRQ bypass manager, for any implementation of it
 *
 * The module only calls the four exported functions, so the very same
 * binary measures the stock irqbypass.ko and ours.  It is driven through
 * debugfs: write one command to irqbypass_bench/ctl, then read its result,
 * one line, from irqbypass_bench/result.  The commands:
 *
 *   fill N        register pairs (a consumer, then a producer with the same
 *                 token) until N pairs are registered; never shrinks
 *   measure       time cycles on spare pairs at the current population, and
 *                 the floor: the same number of bare mutex and list
 *                 operations
 *   contend T MS [US]
 *                 T kthreads cycle pairs of their own for MS milliseconds
 *                 with connect and disconnect callbacks that sleep US
 *                 microseconds (sleep_us by default), as real ones do
 *   hol MS        head-of-line blocking: for MS milliseconds, a kthread
 *                 cycles one pair whose connect callback sleeps 10 ms,
 *                 while this thread cycles unrelated pairs with empty
 *                 callbacks, one cycle every 100 us or so, and times
 *                 each call: their median, 99th percentile and slowest
 *   clear         unregister every pair that fill registered
 *
 * A cycle is four operations, each one call into the manager: register a
 * consumer, register the producer with its token (which connects the two),
 * unregister the producer (which disconnects them) and unregister the
 * consumer.  The floor does, for each of those, one mutex_lock(), one
 * list_add() or list_del() and one mutex_unlock().  Each measurement runs
 * batches of cycles, sized to last at least batch_ms, alternating with
 * batches of the floor, and reports the median of the batches in
 * nanoseconds per operation, and the median over the pairs of neighbouring
 * batches of the manager's time over the floor's (per_floor).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/irqbypass.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Benchmark of the IRQ bypass manager");

#define BENCH_MAX_BATCHES	31
#define BENCH_MAX_THREADS	64
#define BENCH_OPS_PER_CYCLE	4
#define BENCH_HOL_SLEEP_MS	10
#define BENCH_HOL_SAMPLES	262144

static unsigned long max_pairs = 100000;
module_param(max_pairs, ulong, 0444);
MODULE_PARM_DESC(max_pairs, "Largest population fill can reach, in pairs");

static unsigned int nr_spare = 1024;
module_param(nr_spare, uint, 0444);
MODULE_PARM_DESC(nr_spare, "Spare pairs that measure and contend cycle through");

static unsigned int batches = 7;
module_param(batches, uint, 0644);
MODULE_PARM_DESC(batches, "Timed batches per measurement (the median is reported)");

static unsigned int batch_ms = 20;
module_param(batch_ms, uint, 0644);
MODULE_PARM_DESC(batch_ms, "Smallest duration of a batch, in milliseconds");

static unsigned int max_cycles = 1 << 20;
module_param(max_cycles, uint, 0644);
MODULE_PARM_DESC(max_cycles, "Largest number of cycles in a batch");

static unsigned int sleep_us = 50;
module_param(sleep_us, uint, 0644);
MODULE_PARM_DESC(sleep_us, "How long contend's connect and disconnect callbacks sleep");

static bool pairing = true;
module_param(pairing, bool, 0444);
MODULE_PARM_DESC(pairing, "Whether the manager connects pairs (N for the do-nothing floor)");

/**
 * struct bench_pair - a producer and a consumer that share a token
 * @prod: the producer; its token is the address of the pair
 * @cons: the consumer, with the same token
 * @floor_prod: the floor's list node for @prod (the later API's objects
 *	have none of their own)
 * @floor_cons: the floor's list node for @cons
 */
struct bench_pair {
	struct irq_bypass_producer prod;
	struct irq_bypass_consumer cons;
	struct list_head floor_prod;
	struct list_head floor_cons;
};

/*
 * The manager's two APIs: from Linux 6.17 on (bench/Kbuild reads the
 * kernel's header) the token is passed as the eventfd, which no manager
 * dereferences.  The token is the address of the pair either way.
 */
#ifdef IRQBYPASS_EVENTFD_API
static int bench_register_producer(struct bench_pair *p)
{
	return irq_bypass_register_producer(&p->prod, (struct eventfd_ctx *)p,
					    p->prod.irq);
}

static int bench_register_consumer(struct bench_pair *p)
{
	return irq_bypass_register_consumer(&p->cons, (struct eventfd_ctx *)p);
}

static void bench_set_token(struct bench_pair *p)
{
}
#else
static int bench_register_producer(struct bench_pair *p)
{
	return irq_bypass_register_producer(&p->prod);
}

static int bench_register_consumer(struct bench_pair *p)
{
	return irq_bypass_register_consumer(&p->cons);
}

static void bench_set_token(struct bench_pair *p)
{
	p->prod.token = p;
	p->cons.token = p;
}
#endif

/* Serialises the commands; everything below is protected by it. */
static DEFINE_MUTEX(bench_lock);
static struct bench_pair *pairs;	/* max_pairs of them */
static unsigned long nr_filled;		/* pairs[0..nr_filled) are registered */
static struct bench_pair *spares;	/* nr_spare of them */
static unsigned int next_spare;
static char result[256];

/* How long contend's callbacks sleep, in microseconds. */
static unsigned int contend_sleep_us;

/* The callbacks of measure count; measure runs in one thread only. */
static unsigned long nr_connects, nr_disconnects;
static atomic_long_t nr_sleepy_connects, nr_sleepy_disconnects;

/* The floor's registry: one mutex, one list per side. */
static DEFINE_MUTEX(floor_lock);
static LIST_HEAD(floor_producers);
static LIST_HEAD(floor_consumers);

static struct dentry *bench_dir;

static int bench_add_producer(struct irq_bypass_consumer *cons,
			      struct irq_bypass_producer *prod)
{
	nr_connects++;
	return 0;
}

static void bench_del_producer(struct irq_bypass_consumer *cons,
			       struct irq_bypass_producer *prod)
{
	nr_disconnects++;
}

static int bench_add_producer_sleepy(struct irq_bypass_consumer *cons,
				     struct irq_bypass_producer *prod)
{
	usleep_range(contend_sleep_us, contend_sleep_us + contend_sleep_us / 5);
	atomic_long_inc(&nr_sleepy_connects);
	return 0;
}

static void bench_del_producer_sleepy(struct irq_bypass_consumer *cons,
				      struct irq_bypass_producer *prod)
{
	usleep_range(contend_sleep_us, contend_sleep_us + contend_sleep_us / 5);
	atomic_long_inc(&nr_sleepy_disconnects);
}

/* The slow pair of hol: a connect as slow as a slow IRTE update. */
static int bench_add_producer_slow(struct irq_bypass_consumer *cons,
				   struct irq_bypass_producer *prod)
{
	msleep(BENCH_HOL_SLEEP_MS);
	atomic_long_inc(&nr_sleepy_connects);
	return 0;
}

static void bench_del_producer_slow(struct irq_bypass_consumer *cons,
				    struct irq_bypass_producer *prod)
{
	atomic_long_inc(&nr_sleepy_disconnects);
}

/*
 * Like VFIO's producers, ours have no callbacks; like KVM's consumers, ours
 * have add_producer and del_producer.
 */
static void bench_init_pair(struct bench_pair *p, int irq, bool sleepy)
{
	memset(p, 0, sizeof(*p));
	bench_set_token(p);
	p->prod.irq = irq;
	if (sleepy) {
		p->cons.add_producer = bench_add_producer_sleepy;
		p->cons.del_producer = bench_del_producer_sleepy;
	} else {
		p->cons.add_producer = bench_add_producer;
		p->cons.del_producer = bench_del_producer;
	}
}

/* One cycle: four calls into the manager.  Returns the number that failed. */
static unsigned int bench_cycle(struct bench_pair *p)
{
	unsigned int failed = 0;

	if (bench_register_consumer(p))
		return 1;
	if (bench_register_producer(p))
		failed++;
	else
		irq_bypass_unregister_producer(&p->prod);
	irq_bypass_unregister_consumer(&p->cons);
	return failed;
}

/* The floor of one cycle: as many lock, list and unlock operations. */
static void bench_floor_cycle(struct bench_pair *p)
{
	mutex_lock(&floor_lock);
	list_add(&p->floor_cons, &floor_consumers);
	mutex_unlock(&floor_lock);
	mutex_lock(&floor_lock);
	list_add(&p->floor_prod, &floor_producers);
	mutex_unlock(&floor_lock);
	mutex_lock(&floor_lock);
	list_del(&p->floor_prod);
	mutex_unlock(&floor_lock);
	mutex_lock(&floor_lock);
	list_del(&p->floor_cons);
	mutex_unlock(&floor_lock);
}

/* Run @cycles cycles (or floor cycles) on the spares; returns nanoseconds. */
static u64 bench_batch(bool floor, unsigned long cycles, unsigned int *failed)
{
	unsigned long i;
	u64 t0, t1;

	t0 = ktime_get_ns();
	if (floor) {
		for (i = 0; i < cycles; i++) {
			bench_floor_cycle(&spares[next_spare]);
			if (++next_spare == nr_spare)
				next_spare = 0;
		}
	} else {
		for (i = 0; i < cycles; i++) {
			*failed += bench_cycle(&spares[next_spare]);
			if (++next_spare == nr_spare)
				next_spare = 0;
		}
	}
	t1 = ktime_get_ns();
	cond_resched();
	return t1 - t0;
}

/* The number of cycles that makes a batch last at least batch_ms. */
static unsigned long bench_calibrate(bool floor, unsigned int *failed)
{
	u64 target = (u64)batch_ms * NSEC_PER_MSEC;
	unsigned long cycles = 1, next;
	u64 t;

	for (;;) {
		t = bench_batch(floor, cycles, failed);
		if (t >= target || cycles >= max_cycles)
			return cycles;
		if (!t)
			next = cycles * 16;
		else
			next = div64_u64((u64)cycles * target, t) + 1;
		/* Grow at least twofold, and at most sixteenfold. */
		cycles = clamp(next, cycles * 2, cycles * 16);
		cycles = min_t(unsigned long, cycles, max_cycles);
	}
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/**
 * struct bench_stat - the outcome of one series of batches
 * @cycles: cycles in each batch
 * @per_op: each batch's time per operation, in hundredths of a nanosecond
 * @median: the median of @per_op
 * @min: the fastest batch
 * @max: the slowest batch
 */
struct bench_stat {
	unsigned long cycles;
	u64 per_op[BENCH_MAX_BATCHES];
	u64 median;
	u64 min;
	u64 max;
};

static void bench_batch_into(bool floor, struct bench_stat *st, unsigned int i,
			     unsigned int *failed)
{
	u64 t = bench_batch(floor, st->cycles, failed);

	st->per_op[i] = div64_u64(t * 100,
				  (u64)st->cycles * BENCH_OPS_PER_CYCLE);
}

static void bench_summarise(struct bench_stat *st, unsigned int n)
{
	sort(st->per_op, n, sizeof(st->per_op[0]), bench_cmp_u64, NULL);
	st->median = st->per_op[n / 2];
	st->min = st->per_op[0];
	st->max = st->per_op[n - 1];
}

/*
 * The batches of the manager and of the floor alternate, so that both see
 * the same noise from the host (under QEMU, other guests and builds).
 */
static int bench_measure(void)
{
	unsigned int n = clamp(batches, 1U, (unsigned int)BENCH_MAX_BATCHES);
	u64 ratio[BENCH_MAX_BATCHES];
	struct bench_stat *ops, *floor;
	unsigned int failed = 0;
	unsigned int i;
	int ret = 0;

	ops = kzalloc(sizeof(*ops), GFP_KERNEL);
	floor = kzalloc(sizeof(*floor), GFP_KERNEL);
	if (!ops || !floor) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr_spare; i++)
		bench_init_pair(&spares[i], i, false);
	nr_connects = 0;
	nr_disconnects = 0;

	ops->cycles = bench_calibrate(false, &failed);
	floor->cycles = bench_calibrate(true, &failed);
	for (i = 0; i < n; i++) {
		bench_batch_into(false, ops, i, &failed);
		bench_batch_into(true, floor, i, &failed);
		/* Two neighbouring batches saw about the same host. */
		ratio[i] = div64_u64(ops->per_op[i] * 100,
				     max_t(u64, floor->per_op[i], 1));
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out;
		}
	}
	if (failed || nr_connects != nr_disconnects || !nr_connects != !pairing) {
		scnprintf(result, sizeof(result),
			  "error measure failed=%u connects=%lu disconnects=%lu",
			  failed, nr_connects, nr_disconnects);
		ret = -EIO;
		goto out;
	}
	bench_summarise(ops, n);
	bench_summarise(floor, n);
	sort(ratio, n, sizeof(ratio[0]), bench_cmp_u64, NULL);

	scnprintf(result, sizeof(result),
		  "measure pairs=%lu cycles=%lu batches=%u ns_op=%llu.%02llu min=%llu.%02llu max=%llu.%02llu floor_cycles=%lu floor_ns_op=%llu.%02llu floor_min=%llu.%02llu per_floor=%llu.%02llu connects=%lu",
		  nr_filled, ops->cycles, n,
		  ops->median / 100, ops->median % 100,
		  ops->min / 100, ops->min % 100, ops->max / 100, ops->max % 100,
		  floor->cycles, floor->median / 100, floor->median % 100,
		  floor->min / 100, floor->min % 100,
		  ratio[n / 2] / 100, ratio[n / 2] % 100, nr_connects);
out:
	kfree(floor);
	kfree(ops);
	return ret;
}

static int bench_fill(unsigned long n)
{
	u64 t0 = ktime_get_ns();
	unsigned long from = nr_filled;
	int ret;

	if (n > max_pairs)
		return -ERANGE;
	while (nr_filled < n) {
		struct bench_pair *p = &pairs[nr_filled];

		bench_init_pair(p, nr_filled, false);
		ret = bench_register_consumer(p);
		if (ret)
			return ret;
		ret = bench_register_producer(p);
		if (ret) {
			irq_bypass_unregister_consumer(&p->cons);
			return ret;
		}
		nr_filled++;
		if (!(nr_filled % 256)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	scnprintf(result, sizeof(result), "fill pairs=%lu added=%lu ns=%llu",
		  nr_filled, nr_filled - from, ktime_get_ns() - t0);
	return 0;
}

static void bench_clear(void)
{
	u64 t0 = ktime_get_ns();
	unsigned long from = nr_filled;

	/* Newest first: the order in which the stock lists find them fastest. */
	while (nr_filled) {
		struct bench_pair *p = &pairs[--nr_filled];

		irq_bypass_unregister_producer(&p->prod);
		irq_bypass_unregister_consumer(&p->cons);
		if (!(nr_filled % 256))
			cond_resched();
	}
	scnprintf(result, sizeof(result), "clear removed=%lu ns=%llu", from,
		  ktime_get_ns() - t0);
}

/**
 * struct bench_worker - one kthread of the contention benchmark
 * @task: the kthread
 * @pool: the pairs this thread cycles through, nobody else
 * @nr: how many pairs are in @pool
 * @deadline: ktime_get_ns() after which no cycle is started
 * @end: ktime_get_ns() when the last cycle ended, or 0
 * @cycles: cycles completed
 * @err: the first error from the manager, or 0
 */
struct bench_worker {
	struct task_struct *task;
	struct bench_pair *pool;
	unsigned int nr;
	u64 deadline;
	u64 end;
	unsigned long cycles;
	int err;
};

static int bench_worker_fn(void *data)
{
	struct bench_worker *w = data;
	unsigned int i = 0;

	while (ktime_get_ns() < w->deadline) {
		if (bench_cycle(&w->pool[i])) {
			w->err = -EIO;
			break;
		}
		w->cycles++;
		if (++i == w->nr)
			i = 0;
	}
	WRITE_ONCE(w->end, ktime_get_ns());

	/* kthread_stop() needs us alive until it is called. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int bench_contend(unsigned int threads, unsigned int ms,
			 unsigned int us)
{
	struct bench_worker *w;
	unsigned long total = 0;
	unsigned int i, per;
	u64 start, end = 0;
	int ret = 0;

	if (!threads || threads > BENCH_MAX_THREADS || threads > nr_spare || !ms)
		return -EINVAL;
	per = nr_spare / threads;
	contend_sleep_us = us;
	w = kcalloc(threads, sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	for (i = 0; i < nr_spare; i++)
		bench_init_pair(&spares[i], i, true);
	atomic_long_set(&nr_sleepy_connects, 0);
	atomic_long_set(&nr_sleepy_disconnects, 0);

	for (i = 0; i < threads; i++) {
		w[i].pool = &spares[i * per];
		w[i].nr = per;
		w[i].task = kthread_create(bench_worker_fn, &w[i],
					   "irqbypass_bench/%u", i);
		if (IS_ERR(w[i].task)) {
			ret = PTR_ERR(w[i].task);
			w[i].task = NULL;
			break;
		}
	}

	start = ktime_get_ns();
	for (i = 0; i < threads; i++) {
		w[i].deadline = start + (u64)ms * NSEC_PER_MSEC;
		if (w[i].task)
			wake_up_process(w[i].task);
	}
	msleep(ms);
	for (i = 0; i < threads; i++) {
		if (!w[i].task)
			continue;
		/* Wait for the last cycle: the thread then sets @end. */
		while (!READ_ONCE(w[i].end))
			usleep_range(1000, 2000);
		kthread_stop(w[i].task);
		if (w[i].err && !ret)
			ret = w[i].err;
		total += w[i].cycles;
		end = max(end, w[i].end);
	}
	if (!ret && pairing &&
	    (atomic_long_read(&nr_sleepy_connects) != total ||
	     atomic_long_read(&nr_sleepy_disconnects) != total))
		ret = -EIO;
	if (!ret && end > start)
		scnprintf(result, sizeof(result),
			  "contend threads=%u ms=%u sleep_us=%u pairs=%lu ns=%llu pairs_per_s=%llu",
			  threads, ms, us, total, end - start,
			  div64_u64((u64)total * NSEC_PER_SEC, end - start));
	kfree(w);
	return ret;
}

/* Record the time since @t0 into @lat[*@n], while there is room. */
static void bench_lat(u64 *lat, unsigned long *n, u64 t0)
{
	if (*n < BENCH_HOL_SAMPLES)
		lat[(*n)++] = ktime_get_ns() - t0;
}

/* The timed cycle of hol: as bench_cycle(), each call timed. */
static unsigned int bench_timed_cycle(struct bench_pair *p, u64 *lat,
				      unsigned long *n)
{
	u64 t0 = ktime_get_ns();
	int ret;

	ret = bench_register_consumer(p);
	bench_lat(lat, n, t0);
	if (ret)
		return 1;
	t0 = ktime_get_ns();
	ret = bench_register_producer(p);
	bench_lat(lat, n, t0);
	if (!ret) {
		t0 = ktime_get_ns();
		irq_bypass_unregister_producer(&p->prod);
		bench_lat(lat, n, t0);
	}
	t0 = ktime_get_ns();
	irq_bypass_unregister_consumer(&p->cons);
	bench_lat(lat, n, t0);
	return ret ? 1 : 0;
}

static int bench_hol(unsigned int ms)
{
	static struct bench_pair slow;
	struct bench_worker w = { .pool = &slow, .nr = 1 };
	unsigned long n = 0, cycles = 0;
	unsigned int i = 0;
	u64 *lat, deadline;
	int ret = 0;

	if (!ms || nr_spare < 2)
		return -EINVAL;
	lat = kvmalloc_array(BENCH_HOL_SAMPLES, sizeof(*lat), GFP_KERNEL);
	if (!lat)
		return -ENOMEM;
	bench_init_pair(&slow, -1, false);
	slow.cons.add_producer = bench_add_producer_slow;
	slow.cons.del_producer = bench_del_producer_slow;
	for (i = 0; i < nr_spare; i++)
		bench_init_pair(&spares[i], i, false);
	atomic_long_set(&nr_sleepy_connects, 0);
	atomic_long_set(&nr_sleepy_disconnects, 0);

	w.task = kthread_create(bench_worker_fn, &w, "irqbypass_bench/hol");
	if (IS_ERR(w.task)) {
		ret = PTR_ERR(w.task);
		goto out;
	}
	deadline = ktime_get_ns() + (u64)ms * NSEC_PER_MSEC;
	w.deadline = deadline;
	wake_up_process(w.task);
	i = 0;
	while (ktime_get_ns() < deadline && n < BENCH_HOL_SAMPLES) {
		if (bench_timed_cycle(&spares[i], lat, &n)) {
			ret = -EIO;
			break;
		}
		cycles++;
		if (++i == nr_spare)
			i = 0;
		/*
		 * Paced, so that the calls sample time evenly: back to back,
		 * one call would wait out a stall and a thousand would not.
		 */
		usleep_range(100, 150);
	}
	while (!READ_ONCE(w.end))
		usleep_range(1000, 2000);
	kthread_stop(w.task);
	if (!ret && w.err)
		ret = w.err;
	if (!ret && pairing &&
	    (atomic_long_read(&nr_sleepy_connects) != w.cycles ||
	     atomic_long_read(&nr_sleepy_disconnects) != w.cycles))
		ret = -EIO;
	if (ret || !n)
		goto out;
	sort(lat, n, sizeof(*lat), bench_cmp_u64, NULL);
	scnprintf(result, sizeof(result),
		  "hol ms=%u slow_cycles=%lu cycles=%lu calls=%lu med_ns=%llu p99_ns=%llu max_ns=%llu",
		  ms, w.cycles, cycles, n, lat[n / 2], lat[n - n / 100 - 1],
		  lat[n - 1]);
out:
	kvfree(lat);
	return ret;
}

static int bench_command(char *cmd)
{
	unsigned int t, ms, us;
	unsigned long n;
	int args;

	if (sscanf(cmd, "fill %lu", &n) == 1)
		return bench_fill(n);
	if (!strcmp(cmd, "measure"))
		return bench_measure();
	args = sscanf(cmd, "contend %u %u %u", &t, &ms, &us);
	if (args == 2)
		return bench_contend(t, ms, sleep_us);
	if (args == 3)
		return bench_contend(t, ms, us);
	if (sscanf(cmd, "hol %u", &ms) == 1)
		return bench_hol(ms);
	if (!strcmp(cmd, "clear")) {
		bench_clear();
		return 0;
	}
	return -EINVAL;
}

static ssize_t bench_ctl_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char buf[64];
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';

	ret = mutex_lock_interruptible(&bench_lock);
	if (ret)
		return ret;
	scnprintf(result, sizeof(result), "error %s", strim(buf));
	ret = bench_command(strim(buf));
	mutex_unlock(&bench_lock);
	if (ret)
		pr_warn("'%s' failed: %d\n", strim(buf), ret);
	return ret ? ret : len;
}

static const struct file_operations bench_ctl_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = bench_ctl_write,
};

static ssize_t bench_result_read(struct file *file, char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	char line[sizeof(result) + 1];
	size_t n;

	mutex_lock(&bench_lock);
	n = scnprintf(line, sizeof(line), "%s\n", result);
	mutex_unlock(&bench_lock);
	return simple_read_from_buffer(ubuf, len, ppos, line, n);
}

static const struct file_operations bench_result_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = bench_result_read,
	.llseek = default_llseek,
};

static int __init bench_init(void)
{
	if (!nr_spare || !max_pairs)
		return -EINVAL;
	pairs = kvcalloc(max_pairs, sizeof(*pairs), GFP_KERNEL);
	spares = kvcalloc(nr_spare, sizeof(*spares), GFP_KERNEL);
	if (!pairs || !spares) {
		kvfree(pairs);
		kvfree(spares);
		return -ENOMEM;
	}
	bench_dir = debugfs_create_dir("irqbypass_bench", NULL);
	debugfs_create_file("ctl", 0200, bench_dir, NULL, &bench_ctl_fops);
	debugfs_create_file("result", 0400, bench_dir, NULL,
			    &bench_result_fops);
	return 0;
}
module_init(bench_init);

static void __exit bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	mutex_lock(&bench_lock);
	bench_clear();
	mutex_unlock(&bench_lock);
	kvfree(spares);
	kvfree(pairs);
}
module_exit(bench_exit);
