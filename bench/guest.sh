#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of scripts/bench.sh, run by tools/init (ib_scenario=run)
# after it has loaded kvm-amd and, beneath it, one irqbypass.ko, the
# stock one or ours.  Every result is a console line "@@bench ...".
#
# Settings, from the kernel command line:
#   bench_vms, bench_per_vm, bench_parts   irqfd_bench's -v, -n and -p
#   bench_big_vms, bench_big_per_vm   a second, larger irqfd_bench run
#                    (-p 10), its lines prefixed "big "; none if unset
#   bench_threads    the thread counts of the contention benchmark
#   bench_ms         how long each contention run lasts, in milliseconds
#   bench_sleeps     how long its callbacks sleep, in microseconds (a list)
#   bench_sizes      the populations of the microbenchmark, in pairs
#   bench_max        the largest of them
#   bench_batches, bench_batch_ms   the bench module's batches, batch_ms
#   bench_hol_ms     how long the head-of-line benchmark lasts, in ms
#   bench_skip       parts to leave out, a list of irqfd, contend, hol,
#                    micro
#   bench_pairing    0 with the do-nothing floor manager, which connects
#                    nothing (the bench module then counts no callbacks)
#   bench_managers   several irqbypass.ko in one boot, a list of names
#                    (stock, ours, floor): the first is the one /init
#                    loaded, each later one /bench/irqbypass-NAME.ko,
#                    loaded after the previous one is removed.  Each run
#                    starts with the line "run NAME"; the floor's runs
#                    pair nothing and leave out contend and hol.  Only
#                    where no other module holds irqbypass (no kvm).

D=/sys/kernel/debug/irqbypass_bench
S=/sys/kernel/debug/irqbypass/stats

say() {
	echo "@@bench $*"
}

# settle: with ours, wait until no resize of its table is due or running,
# so that a measurement never races with one.  Same rule as
# irqbypass_account(): grow above 4 objects a bucket, shrink below 1/2.
# The front end of Linux 6.17 and later shows "slots" instead of
# "buckets": its stripes resize each by its own load, which the sums do
# not tell, so there it waits for resizes and slots to stay the same over
# three reads in a row.
settle() {
	[ -r $S ] || return 0
	last=
	same=0
	i=0
	# Resizes are due at the thresholds of irqbypass_account().
	while [ $i -lt 900 ]; do
		cur=$(awk '$1 == "producers" { p = $2 }
			$1 == "consumers" { c = $2 }
			$1 == "resizes" { r = $2 }
			$1 == "buckets" { b = $2 }
			$1 == "slots" { sl = $2 }
			END {
				n = p + c
				if (sl != "")
					print "slots:" r "/" sl
				else if ((n > 4 * b && b < 16777216) || (n < b / 2 && b > 256))
					print "due"
				else
					print r "/" b
			}' $S)
		if [ "$cur" != due ] && [ "$cur" = "$last" ]; then
			same=$((same + 1))
			case $cur in
			slots:*) [ $same -ge 2 ] && return 0 ;;
			*) return 0 ;;
			esac
		else
			same=0
		fi
		last=$cur
		sleep 0.2
		i=$((i + 1))
	done
	say "error the table did not settle: $cur"
}

# run CMD...: one command of the bench module, and its result.
run() {
	if echo "$*" >$D/ctl; then
		say "$(cat $D/result)"
	else
		say "$(cat $D/result) failed"
	fi
}

stats() {
	[ -r $S ] || return 0
	say "stats@$1 $(awk '{ printf "%s=%s ", $1, $2 }' $S)"
}

say "start cpus=$(grep -c ^processor /proc/cpuinfo) mem_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo) clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

skip() {
	case ",${bench_skip:-}," in
	*,"$1",*) return 0 ;;
	esac
	return 1
}

# irqfd PREFIX ARG...: one irqfd_bench run, its lines prefixed.
irqfd() {
	pre=$1
	shift
	/bench/irqfd_bench "$@" >/tmp/irqfd.out 2>&1
	rc=$?
	while read -r line; do
		say "$pre$line"
	done </tmp/irqfd.out
	[ $rc -eq 0 ] || say "error irqfd_bench $* exited $rc"
	stats "${pre}irqfd"
	settle
}

# What the kernel has allocated from slab, vmalloc and percpu, in kB,
# with the per-CPU counters folded in first.
mem_kb() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk '/^(Slab|VmallocUsed|Percpu):/ { s += $2 } END { print s }' /proc/meminfo
}

# Ours has trace events and tools/init enables them; the stock module has
# none, so they would only tax ours.
trace_off() {
	if [ -e /sys/kernel/tracing/events/irqbypass/enable ]; then
		echo 0 >/sys/kernel/tracing/events/irqbypass/enable
	fi
}

# bench_one: every part of the benchmark, with the irqbypass.ko loaded.
bench_one() {
	sleeps=${bench_sleeps:-50}
	sizes=${bench_sizes:-1,16,100,1000,10000,100000}
	# 3. The real client: KVM irqfds.
	if skip irqfd; then
		:
	elif [ -e /dev/kvm ]; then
		irqfd "" -v "${bench_vms:-100}" -n "${bench_per_vm:-200}" \
			-p "${bench_parts:-10}"
		[ -n "${bench_big_vms:-}" ] &&
			irqfd "big " -v "$bench_big_vms" -n "${bench_big_per_vm:-200}" -p 10
	else
		say "error no /dev/kvm"
	fi
	settle

	if ! insmod /bench/irqbypass_bench.ko max_pairs="${bench_max:-100000}" \
		batches="${bench_batches:-7}" batch_ms="${bench_batch_ms:-20}" \
		pairing="${bench_pairing:-1}"; then
		say "error insmod irqbypass_bench.ko"
		exit 1
	fi

	# 2. Contention, at an empty registry.
	skip contend && sleeps=none
	for us in $(echo "$sleeps" | tr , ' '); do
		[ "$us" = none ] && break
		for t in $(echo "${bench_threads:-1,2,4}" | tr , ' '); do
			run contend "$t" "${bench_ms:-2000}" "$us"
		done
	done
	settle

	# 2b. Head-of-line blocking: unrelated calls while another pair's connect
	# sleeps 10 ms, over and over.
	skip hol || run hol "${bench_hol_ms:-2000}"

	# 1. The microbenchmark, growing the population; and the memory the
	# manager holds for the N pairs, against the empty registry.
	skip micro && sizes=none
	sleep 1
	mem0=$(mem_kb)
	for n in $(echo "$sizes" | tr , ' '); do
		[ "$n" = none ] && break
		run fill "$n"
		settle
		stats "fill-$n"
		say "mem pairs=$n kb=$(($(mem_kb) - mem0))"
		run measure
	done
	run clear
	rmmod irqbypass_bench || say "error rmmod irqbypass_bench"
	settle
	stats end
}

trace_off
if [ -z "${bench_managers:-}" ]; then
	bench_one
else
	skip0=${bench_skip:-}
	pairing0=${bench_pairing:-1}
	first=1
	for m in $(echo "$bench_managers" | tr , ' '); do
		say "run $m"
		if [ -z "$first" ]; then
			rmmod irqbypass || say "error rmmod irqbypass before $m"
			insmod "/bench/irqbypass-$m.ko" ||
				say "error insmod irqbypass-$m.ko"
			trace_off
		fi
		first=
		bench_skip=$skip0
		bench_pairing=$pairing0
		if [ "$m" = floor ]; then
			bench_skip=$skip0,contend,hol
			bench_pairing=0
		fi
		bench_one
	done
fi
say "done"
