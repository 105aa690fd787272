#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh: our irqbypass.ko against Debian's stock one (make bench).
#
# Boots Debian's own 6.1 kernel under QEMU TCG twice, with the same kernel,
# the same kvm.ko and the same benchmark module each time; only
# irqbypass.ko differs: Debian's, then ours, built against Debian's headers.
# Each boot runs bench/guest.sh, which runs
#   - irqfd_bench: 20,000 KVM irqfds over 100 VMs, the manager's real
#     client, created and then destroyed;
#   - contention: 1, 2 and 4 kthreads pairing tokens of their own through
#     callbacks that sleep 50 us;
#   - the microbenchmark (bench/irqbypass_bench.c): register, pair and
#     unregister at populations of 1 to 100,000 pairs (1,000,000 for ours).
# Then it prints the two runs side by side, and which targets were met.
# TCG is no native machine: read ratios between the two runs and the shape
# of each curve, not absolute numbers.
#
#   bash scripts/bench.sh           the full benchmark (some minutes)
#   bash scripts/bench.sh --smoke   tiny sizes, to check that it all still
#                                   runs; records "bench-smoke" for make check
#   bash scripts/bench.sh --report  print the last full run's report again
#
# Logs, initramfs and the report are in $CACHE/bench/.  It exits 0 when
# the benchmark ran, met targets or not.  The host should be otherwise
# idle: before each boot the full benchmark waits up to BENCH_WAIT seconds
# (600) for the load average to drop below the number of CPUs, and the
# report shows the load averages it ran under.

# shellcheck source=scripts/distro.sh
. "$(dirname "$0")/distro.sh"

BENCH=$CACHE/bench
# Extra kernel arguments for both boots.
# tsc=reliable: under MTTCG the vCPUs' TSCs fail Linux's synchronisation
# check, and the fallback clocksource, the HPET, is an MMIO read that QEMU
# serves under its global lock: every clock read of every vCPU would then
# serialise, and the contention benchmark would measure that.  QEMU's TCG
# TSC is the host's, so it is reliable.
BENCH_KARGS=${BENCH_KARGS:-tsc=reliable}
mode=full
case ${1:-} in
"") ;;
--smoke) mode=smoke ;;
--smoke-run) mode=smoke-run ;;
--report) mode=report ;;
*) die "usage: bench.sh [--smoke | --report]" ;;
esac

# What each mode runs: kernel arguments for bench/guest.sh.
# shellcheck disable=SC2054 # the commas are in the values
full_args=(bench_vms=100 bench_per_vm=200 bench_parts=10
	   bench_threads=1,2,4 bench_ms=2000 bench_sleeps=50,500
	   bench_batches=11 bench_batch_ms=50)
full_sizes_stock=1,16,100,1000,10000,100000
full_sizes_ours=$full_sizes_stock,1000000
smoke_args=(bench_vms=4 bench_per_vm=25 bench_parts=2
	    "bench_threads=${BENCH_SMOKE_THREADS:-1,2}"
	    "bench_ms=${BENCH_SMOKE_MS:-200}"
	    bench_sleeps=50 bench_batches=3 bench_batch_ms=2)
smoke_sizes=1,16,100

# Build irqbypass.ko, the bench module and irqfd_bench; sets OURS_KO,
# BENCH_KO, IRQFD_BENCH.
bench_build() {
	local dir=$BENCH/build ours theirs
	need procps	# pgrep, for the watchdog of hung boots
	distro_fetch 6.1

	# Ours, in a directory of our own so as not to race other scripts.
	sync_sources "$dir/irqbypass" "${MODULE_SOURCES[@]}"
	log "building irqbypass.ko against $DISTRO_KVER"
	make -s -C "$DISTRO_KDIR" M="$dir/irqbypass" modules >&2
	OURS_KO=$dir/irqbypass/irqbypass.ko
	ours=$(distro_crcs "$dir/irqbypass/Module.symvers")
	theirs=$(distro_crcs "$DISTRO_KDIR/Module.symvers")
	if [ "$ours" != "$theirs" ] || [ "$(wc -l <<<"$ours")" -ne 4 ]; then
		die "our exports' CRCs differ from $DISTRO_KVER's"
	fi

	mkdir -p "$dir/bench"
	cp -u "$REPO/bench/Kbuild" "$REPO/bench/irqbypass_bench.c" "$dir/bench/"
	log "building irqbypass_bench.ko against $DISTRO_KVER"
	make -s -C "$DISTRO_KDIR" M="$dir/bench" modules >&2
	BENCH_KO=$dir/bench/irqbypass_bench.ko

	IRQFD_BENCH=$dir/irqfd_bench
	if [ ! -x "$IRQFD_BENCH" ] ||
	   [ "$REPO/bench/irqfd_bench.c" -nt "$IRQFD_BENCH" ]; then
		log "building irqfd_bench"
		gcc -static -O2 -Wall -Wextra -Werror -o "$IRQFD_BENCH" \
			"$REPO/bench/irqfd_bench.c"
	fi
}

# The host's 1-minute load average, and whether it is below the number of
# CPUs.  TCG timings are wall-clock times of QEMU's threads: on a busy host
# (builds, other guests) they mostly measure the host's scheduler.
host_load() { cut -d' ' -f1 /proc/loadavg; }
host_quiet() { awk -v n="$(nproc)" '{ exit !($1 < n) }' /proc/loadavg; }

# Wait up to BENCH_WAIT seconds (default 600; 0 not at all) for a quiet
# host; say so if it does not come.
bench_wait_quiet() {
	local waited=0 max=${BENCH_WAIT:-600}
	while ! host_quiet && [ "$waited" -lt "$max" ]; do
		[ "$waited" -eq 0 ] &&
			log "host load $(host_load) on $(nproc) CPUs: waiting up to ${max}s for it to drop"
		sleep 10
		waited=$((waited + 10))
	done
	host_quiet || log "WARNING: host load still $(host_load) on $(nproc) CPUs; timings will be noisy"
}

# The console of a boot, as distro_boot's DISTRO_CONSOLE: QEMU's TCG now and
# then hangs early in the boot, silently, so if /init has not spoken within
# BENCH_BOOT_WAIT seconds (120), kill that QEMU and leave $BENCH/hung.
bench_watch() {
	local line pid rc
	while :; do
		rc=0
		IFS= read -r -t "${BENCH_BOOT_WAIT:-120}" line || rc=$?
		[ "$rc" -eq 0 ] || break
		case $line in
		"@@ kernel="*)
			cat >/dev/null
			return 0
			;;
		esac
	done
	[ "$rc" -gt 128 ] || return 0
	touch "$BENCH/hung"
	for pid in $(pgrep -f -- "-initrd $BENCH_INITRD "); do
		kill "$pid" 2>/dev/null || true
	done
	cat >/dev/null
}

# bench_boot WHICH SIZES MAX ARG...: one boot with the stock irqbypass.ko
# (WHICH=stock) or ours; the console goes to $BENCH/WHICH.log and the
# results, without their "@@bench " prefix, to $BENCH/WHICH.res.  A boot
# that hangs early is tried once more.
bench_boot() {
	local which=$1 sizes=$2 max=$3 ko logf try start
	shift 3
	ko=$OURS_KO
	[ "$which" = stock ] && ko=stock
	BENCH_INITRD=$BENCH/initrd-$which.gz
	logf=$BENCH/$which.log
	DISTRO_EXTRA=("$BENCH_KO:/bench/irqbypass_bench.ko"
		      "$IRQFD_BENCH:/bench/irqfd_bench"
		      "$REPO/bench/guest.sh:/bench/guest.sh")
	distro_initramfs "$BENCH_INITRD" "$ko" kvm_amd
	# distro_boot's -smp and -m are for the demo; later ones override.
	DISTRO_QEMU_EXTRA=(-smp 4 -m "$BENCH_MEM")
	DISTRO_CONSOLE=bench_watch
	for try in 1 2; do
		[ "$mode" = full ] && bench_wait_quiet
		start=$SECONDS
		loads+="$which boot: $(cut -d' ' -f1-3 /proc/loadavg) before, "
		rm -f "$BENCH/hung"
		if ! distro_boot "$BENCH_INITRD" "$logf" ib_scenario=run \
			ib_run=/bench/guest.sh bench_sizes="$sizes" \
			bench_max="$max" "$@" ${BENCH_KARGS:+"$BENCH_KARGS"} &&
		   [ ! -e "$BENCH/hung" ]; then
			die "the $which run failed or timed out; see $logf"
		fi
		[ -e "$BENCH/hung" ] || break
		log "the $which boot hung early (try $try); see $logf"
		[ "$try" -eq 1 ] || die "the $which boot hung twice"
	done
	log "the $which run took $((SECONDS - start)) s"
	loads+="$(cut -d' ' -f1-3 /proc/loadavg) after; "
	sed -n 's/^@@bench //p' "$logf" >"$BENCH/$which.res"
	grep -q '^done$' "$BENCH/$which.res" ||
		die "the $which run did not finish; see $logf"
}

# The report: both runs side by side, then the targets (full mode only).
bench_report() {
	awk -v mode="$1" -v load="$2" '
	# The value of KEY=VALUE in LINE, a number if it looks like one.
	function kv(line, key,    m) {
		if (!match(line, "(^| )" key "=[^ ]*"))
			return ""
		m = substr(line, RSTART, RLENGTH)
		sub(/^ /, "", m)
		m = substr(m, length(key) + 2)
		return m ~ /^[0-9]+(\.[0-9]*)?$/ ? m + 0 : m
	}
	function ratio(a, b) { return (a != "" && b != "" && a > 0 && b > 0) ? a / b : 0 }
	# ns/op of RUN at N in units of its own floor: the median, over pairs of
	# neighbouring batches, of the one over the other
	function norm(run, n) {
		return pf[run, n] != "" ? pf[run, n] : ratio(ns[run, n], floor[run, n])
	}
	function fmt(x, f) { return x == "" ? "-" : sprintf(f, x) }
	function fx(x) { return x > 0 ? sprintf("%.2fx", x) : "-" }
	function target(ok, text, value) {
		printf "  %-7s %s: %s\n", ok ? "MET" : "MISSED", text, value
		if (!ok)
			missed++
	}
	FNR == 1 { run = (FILENAME ~ /stock\.res$/) ? "stock" : "ours" }
	/^error/ { errors = errors "\n  " run ": " $0 }
	/^start / { start[run] = $0 }
	/^measure / {
		n = kv($0, "pairs")
		if (!(n in seen)) { seen[n] = 1; sizes[nsizes++] = n }
		ns[run, n] = kv($0, "ns_op"); best[run, n] = kv($0, "min")
		worst[run, n] = kv($0, "max"); floor[run, n] = kv($0, "floor_ns_op")
		pf[run, n] = kv($0, "per_floor")
	}
	/^fill / { fillns[run, kv($0, "pairs")] = kv($0, "ns") }
	/^contend / {
		t = kv($0, "threads"); us = kv($0, "sleep_us")
		if (!(t in tseen)) { tseen[t] = 1; threads[nthreads++] = t }
		if (!(us in useen)) { useen[us] = 1; sleeps[nsleeps++] = us }
		pps[run, us, t] = kv($0, "pairs_per_s")
	}
	/^irqfd setup/ { vms = kv($0, "vms") }
	/^irqfd part=/ {
		p = kv($0, "part"); if (p > nparts) nparts = p
		iq[run, p] = kv($0, "irqfd_med_ns"); iqmean[run, p] = kv($0, "irqfd_ns")
		wall[run, p] = kv($0, "wall_ns"); des[run, p] = kv($0, "destroy_ns")
	}
	/^irqfd total/ {
		iqmean[run, "all"] = kv($0, "irqfd_ns"); wall[run, "all"] = kv($0, "wall_ns")
		des[run, "all"] = kv($0, "destroy_ns"); irqfds = kv($0, "irqfds")
		sumiq[run] = kv($0, "sum_irqfd_us"); sumdes[run] = kv($0, "sum_destroy_us")
		sumwall[run] = kv($0, "sum_wall_us")
	}
	END {
		print "Guest (ours boot): " start["ours"]
		print "Host load averages: " load
		print ""
		print "1. Microbenchmark, ns per operation, median of the batches"
		print "   operation = one call of irq_bypass_(un)register_{producer,consumer}();"
		print "   a cycle is 4: register consumer, register producer (connects, empty"
		print "   callbacks), unregister producer (disconnects), unregister consumer,"
		print "   on spare tokens while N pairs stay registered.  floor = per operation"
		print "   one mutex_lock + list_add or list_del + mutex_unlock, its batches"
		print "   alternating with the manager'"'"'s; ours/floor is the median over pairs of"
		print "   neighbouring batches.  Host noise moves whole boots and bursts: \"norm\""
		print "   compares the boots in units of each one'"'"'s own floor (the same code in"
		print "   both): (stock/floor) / (ours/floor)."
		printf "%9s %12s %11s %10s %10s %10s %8s %8s %9s\n", "N", "stock ns/op", \
			"ours ns/op", "stock/ours", "(norm)", "ours/floor", "floor", "floor", "stock"
		printf "%9s %12s %11s %10s %10s %10s %8s %8s %9s\n", "", "", "", "", "", "", \
			"(ours)", "(stock)", "fill (s)"
		for (i = 0; i < nsizes; i++) {
			n = sizes[i]
			printf "%9d %12s %11s %10s %10s %10s %8s %8s %9s\n", n, \
				fmt(ns["stock", n], "%.1f"), fmt(ns["ours", n], "%.1f"), \
				fx(ratio(ns["stock", n], ns["ours", n])), \
				fx(ratio(norm("stock", n), norm("ours", n))), \
				fx(norm("ours", n)), fmt(floor["ours", n], "%.1f"), \
				fmt(floor["stock", n], "%.1f"), \
				fillns["stock", n] == "" ? "-" : sprintf("%.1f", fillns["stock", n] / 1e9)
		}
		print "   batch spread, fastest-slowest ns/op:"
		for (i = 0; i < nsizes; i++) {
			n = sizes[i]
			printf "   N=%-8d stock %s  ours %s\n", n, \
				best["stock", n] == "" ? "-" : sprintf("%.0f-%.0f", best["stock", n], worst["stock", n]), \
				sprintf("%.0f-%.0f", best["ours", n], worst["ours", n])
		}
		print ""
		print "2. Contention: pairs per second; T kthreads on 4 vCPUs, each pairing tokens"
		print "   of its own; the consumer connect and disconnect callbacks each sleep"
		for (j = 0; j < nsleeps; j++) {
			us = sleeps[j]
			printf "   callbacks sleeping %d us:\n", us
			printf "%4s %14s %14s %13s %12s %11s\n", "T", "stock pairs/s", \
				"ours pairs/s", "stock vs T=1", "ours vs T=1", "ours/stock"
			for (i = 0; i < nthreads; i++) {
				t = threads[i]
				printf "%4d %14s %14s %13s %12s %11s\n", t, pps["stock", us, t], \
					pps["ours", us, t], \
					fx(ratio(pps["stock", us, t], pps["stock", us, threads[0]])), \
					fx(ratio(pps["ours", us, t], pps["ours", us, threads[0]])), \
					fx(ratio(pps["ours", us, t], pps["stock", us, t]))
			}
		}
		print ""
		printf "3. Real client: %d KVM irqfds over %d VMs through the distro kvm.ko,\n", \
			irqfds, vms
		print "   ns per irqfd in each part of the run.  KVM_IRQFD: the ioctl alone, of"
		print "   the part median VM (total row: mean of all); all: VM, irqchip, eventfds"
		print "   and ioctls (mean); destroy: closing each VM then its eventfds, in"
		print "   creation order (mean)"
		printf "%6s %11s %11s %9s %11s %11s %12s %12s\n", "part", "stock IRQFD", \
			"ours IRQFD", "stk/ours", "stock all", "ours all", "stock destr", "ours destr"
		for (p = 1; p <= nparts + 1; p++) {
			k = p <= nparts ? p : "all"
			a = p <= nparts ? iq["stock", k] : iqmean["stock", k]
			b = p <= nparts ? iq["ours", k] : iqmean["ours", k]
			printf "%6s %11s %11s %9s %11s %11s %12s %12s\n", k, a, b, fx(ratio(a, b)), \
				wall["stock", k], wall["ours", k], des["stock", k], des["ours", k]
		}
		printf "   totals: KVM_IRQFD stock %.3f s, ours %.3f s (%s); all stock %.3f s, ours %.3f s;\n", \
			sumiq["stock"] / 1e6, sumiq["ours"] / 1e6, fx(ratio(sumiq["stock"], sumiq["ours"])), \
			sumwall["stock"] / 1e6, sumwall["ours"] / 1e6
		printf "   destroy stock %.3f s, ours %.3f s\n", sumdes["stock"] / 1e6, sumdes["ours"] / 1e6
		if (errors != "") {
			print ""
			print "Errors:" errors
		}
		if (mode != "full")
			exit
		print ""
		print "Targets (ratios within this run; TCG timings are not native ones):"
		n = 100000
		r = ratio(ns["stock", n], ns["ours", n])
		target(ratio(norm("stock", n), norm("ours", n)) >= 1000, \
			"at 100k pairs ours >= 1000x faster per op than stock (norm)", \
			fx(ratio(norm("stock", n), norm("ours", n))) "; raw " fx(r))
		r = ratio(norm("ours", 1000000), norm("ours", 16))
		target(r > 0 && r <= 2, "ours at 1M within 2x of ours at 16 (norm)", \
			fx(r) "; raw " fx(ratio(ns["ours", 1000000], ns["ours", 16])))
		w = 0; at = ""
		for (i = 0; i < nsizes; i++) {
			n = sizes[i]
			if (n > 16)
				continue
			r = ratio(norm("ours", n), norm("stock", n))
			if (r > w) { w = r; at = n; raw = ratio(ns["ours", n], ns["stock", n]) }
		}
		target(w > 0 && w <= 1.1, "at N <= 16 ours within 1.1x of stock (norm)", \
			"worst ours/stock " fx(w) " at N=" at "; raw " fx(raw))
		w = 0; at = ""
		for (i = 0; i < nsizes; i++) {
			n = sizes[i]
			r = norm("ours", n)
			if (r > w) { w = r; at = n }
		}
		target(w > 0 && w <= 3, "ours within 3x of the floor at every N", \
			"worst " fx(w) " at N=" at "; stock at N=1: " fx(norm("stock", 1)))
		us = 50
		r2 = ratio(pps["ours", us, 2], pps["ours", us, 1])
		r4 = ratio(pps["ours", us, 4], pps["ours", us, 1])
		target(r2 >= 1.8, "contention (50 us): ours at T=2 >= 1.8x its T=1", fx(r2))
		target(r4 >= 3, "contention (50 us): ours at T=4 >= 3x its T=1", fx(r4))
		s2 = ratio(pps["stock", us, 2], pps["stock", us, 1])
		s4 = ratio(pps["stock", us, 4], pps["stock", us, 1])
		target(s2 > 0 && s2 <= 1.25 && s4 <= 1.25, \
			"contention (50 us): stock flat (T=2, T=4 at most 1.25x its T=1)", \
			fx(s2) ", " fx(s4))
		r = ratio(sumiq["stock"], sumiq["ours"])
		target(r >= 10, "irqfd: ours >= 10x faster in total (all KVM_IRQFD calls)", fx(r))
		r = ratio(iq["ours", nparts], iq["ours", 1])
		target(r > 0 && r <= 1.5, "irqfd: ours last tenth within 1.5x of its first", \
			fx(r) " (stock: " fx(ratio(iq["stock", nparts], iq["stock", 1])) ")")
		print ""
		if (missed)
			printf "%d target(s) MISSED, as marked above.\n", missed
		else
			print "All targets met."
	}' "$BENCH/stock.res" "$BENCH/ours.res"
}

# Sanity of a run: both runs printed every table, without errors, and the
# kernel did not complain.  Fatal for the smoke test, a warning otherwise.
bench_assert() {
	local f bad=
	for f in "$BENCH/stock.res" "$BENCH/ours.res"; do
		grep -q '^measure ' "$f" || bad+=" no microbenchmark in $f;"
		grep -q '^contend ' "$f" || bad+=" no contention in $f;"
		grep -q '^irqfd total ' "$f" || bad+=" no irqfd totals in $f;"
		! grep -q '^error' "$f" || bad+=" errors in $f;"
	done
	if grep -E '(WARNING|BUG|Oops|Call Trace)' "$BENCH"/{stock,ours}.log; then
		bad+=" the kernel complained (see the logs in $BENCH);"
	fi
	[ -z "$bad" ] && return 0
	[ "$mode" = smoke ] && die "$bad"
	log "WARNING:$bad"
}

bench_run() {
	local start=$SECONDS
	mkdir -p "$BENCH"
	rm -f "$BENCH"/{stock,ours}.{log,res}
	loads=
	bench_build
	if [ "$mode" = full ]; then
		BENCH_MEM=4G
		DISTRO_TIMEOUT=${BENCH_TIMEOUT:-2400}
		bench_boot stock "$full_sizes_stock" 100000 "${full_args[@]}"
		bench_boot ours "$full_sizes_ours" 1000000 "${full_args[@]}"
	else
		BENCH_MEM=1G
		DISTRO_TIMEOUT=${BENCH_TIMEOUT:-300}
		bench_boot stock "$smoke_sizes" 100 "${smoke_args[@]}"
		bench_boot ours "$smoke_sizes" 100 "${smoke_args[@]}"
	fi
	bench_report "$mode" "${loads%; } ($(nproc) CPUs)" |
		tee "$BENCH/report-$mode.txt"
	bench_assert
	log "bench ($mode) took $((SECONDS - start)) s"
}

case $mode in
full)
	bench_run
	;;
report)
	bench_report full "-" | tee "$BENCH/report-full.txt"
	;;
smoke-run)
	mode=smoke
	bench_run
	;;
smoke)
	rm -f "$BENCH/report-smoke.txt"
	check bench-smoke bash "$REPO/scripts/bench.sh" --smoke-run
	[ -f "$BENCH/report-smoke.txt" ] && cat "$BENCH/report-smoke.txt"
	;;
esac
