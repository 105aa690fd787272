#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/samples/guest.sh: the sample producer and consumer, paired with each other
# inside a Debian kernel under QEMU.  tests/samples/run.sh puts this script,
# the two sample modules (in /samples) and with-eventfd (in /bin) into the
# initramfs that scripts/distro.sh builds, and tools/init runs it
# (ib_scenario=run ib_run=/samples/guest.sh) once the manager is
# loaded, ours or the distro's.
#
# Every assertion prints "SAMPLES: PASS NAME" or "SAMPLES: FAIL NAME: WHY";
# the last line is "SAMPLES: DONE".  Busybox ash, no bashisms.

# Two eventfds, held open by this shell from here on: $EVENTFD is the token
# both sides share, $OTHER a token nobody else uses.
if [ -z "${EVENTFD:-}" ]; then
	exec with-eventfd sh "$0"
fi
if [ -z "${OTHER:-}" ]; then
	OTHER=$EVENTFD exec with-eventfd sh "$0"
fi

D=/sys/kernel/debug
P=$D/irqbypass_sample_producer
C=$D/irqbypass_sample_consumer
M=$D/irqbypass		# only with our manager
IRQ=4242
ERR=/tmp/samples.err

pass() { echo "SAMPLES: PASS $1"; }
fail() { echo "SAMPLES: FAIL $1: $2"; }

# expect NAME FILE PATTERN...: FILE contains every PATTERN (grep -E).
expect() {
	name=$1
	file=$2
	shift 2
	for pat in "$@"; do
		if ! grep -Eq -- "$pat" "$file"; then
			fail "$name" "no '$pat' in $file: $(cat "$file")"
			return
		fi
	done
	pass "$name"
}

# ok NAME WHY CMD...: CMD succeeds; WHY says what was seen if it fails.
ok() {
	name=$1
	why=$2
	shift 2
	if "$@"; then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

# put NAME VALUE FILE: writing VALUE to FILE succeeds.
put() {
	if echo "$2" >"$3" 2>$ERR; then
		pass "$1"
	else
		fail "$1" "write '$2' to $3: $(cat $ERR)"
	fi
}

# refuse NAME VALUE FILE: writing VALUE to FILE fails.
refuse() {
	if echo "$2" >"$3" 2>$ERR; then
		fail "$1" "write '$2' to $3 succeeded"
	else
		pass "$1"
		echo "($1: $(cat $ERR))"
	fi
}

# Number of kernel log lines matching PATTERN.
klog() {
	dmesg | grep -Ec -- "$1"
}

show() {
	echo "=== BEGIN samples@$1"
	echo "producer: $(cat $P/state)"
	echo "consumer: $(cat $C/state)"
	if [ -d $M ]; then
		echo "manager producers:"
		cat $M/producers
		echo "manager consumers:"
		cat $M/consumers
	fi
	echo "=== END samples@$1"
}

echo "@@ samples-eventfds=$EVENTFD,$OTHER"
if [ -d $M ]; then
	echo "@@ samples-manager=ours"
else
	echo "@@ samples-manager=stock"
fi

for m in irqbypass_sample_producer irqbypass_sample_consumer; do
	if insmod /samples/$m.ko 2>$ERR; then
		pass "insmod $m"
	else
		fail "insmod $m" "$(cat $ERR)"
		echo "SAMPLES: DONE"
		exit 1
	fi
done
[ -e /sys/kernel/irq/$IRQ ] && fail "irq $IRQ is free" "it exists"

# 1. A consumer alone, and a producer with another token: no pairing.
put "consumer registers" "$EVENTFD" $C/eventfd
expect "consumer alone is unpaired" $C/state 'registered=yes' 'paired=no'
put "producer with another token registers" "$OTHER $IRQ" $P/eventfd
expect "different tokens do not pair" $P/state 'registered=yes' 'paired=no'
expect "different tokens do not pair (consumer)" $C/state 'paired=no' \
	'adds=0 '
refuse "a second producer in the sample is refused" "$EVENTFD $IRQ" \
	$P/eventfd
put "producer unregisters" -1 $P/eventfd
refuse "a taken interrupt number is refused" "$EVENTFD 0" $P/eventfd

# 2. The producer with the consumer's token: connected.
put "producer with the same token registers" "$EVENTFD $IRQ" $P/eventfd
show paired
expect "consumer is paired" $C/state 'paired=yes' "irq=$IRQ " \
	'stopped=no' 'adds=1 ' 'dels=0 ' 'stops=1 ' 'starts=1'
expect "producer is paired" $P/state 'paired=yes' "irq=$IRQ " \
	'stopped=no' 'adds=1 ' 'stops=1 ' 'starts=1'
ok "add_producer logged the irq" "$(dmesg | tail -n 5)" \
	[ "$(klog "add_producer irq $IRQ\$")" -eq 1 ]
# The producer's add_consumer runs before the consumer's add_producer.
dmesg | grep -E 'add_consumer|add_producer' | tail -n 2 >/tmp/order
if head -n 1 /tmp/order | grep -q add_consumer &&
   tail -n 1 /tmp/order | grep -q add_producer; then
	pass "add_consumer before add_producer"
else
	fail "add_consumer before add_producer" "$(cat /tmp/order)"
fi
if [ -d $M ]; then
	expect "manager lists the pair" $M/consumers "irq=$IRQ paired=yes"
	expect "manager lists the producer" $M/producers \
		"irq=$IRQ paired=yes"
fi

# 3. The producer goes: the consumer is disconnected and stays registered.
put "paired producer unregisters" -1 $P/eventfd
expect "consumer disconnected" $C/state 'registered=yes' 'paired=no' \
	'adds=1 ' 'dels=1 ' 'stops=2 ' 'starts=2'
expect "producer gone" $P/state 'registered=no'

# 4. The consumer's add_producer fails: the producer's registration fails
# with its errno, the producer's del_consumer undoes its add_consumer, and
# the consumer stays registered, unpaired, and pairs later.
put "consumer add_producer set to fail with ENOSPC" 28 $C/fail_add
dels=$(klog 'del_consumer$')
refuse "producer registration fails with the consumer's errno" \
	"$EVENTFD $IRQ" $P/eventfd
ok "the errno is ENOSPC" "$(cat $ERR)" grep -q 'No space left' $ERR
expect "consumer stays registered, unpaired" $C/state 'registered=yes' \
	'paired=no' 'add_failures=1 ' 'adds=1 ' 'dels=1 ' 'stops=3 ' \
	'starts=3' 'stopped=no'
expect "failed producer is not registered" $P/state 'registered=no'
ok "del_consumer undid add_consumer" "$(dmesg | tail -n 5)" \
	[ "$(klog 'del_consumer$')" -eq $((dels + 1)) ]
if [ -d $M ]; then
	expect "manager counts the failure by errno" $M/stats \
		'connect_failures\[-ENOSPC\] +1'
	# Recorded, warned about once, and shown by irqbypass-status.
	refuse "the producer's registration fails again" "$EVENTFD $IRQ" \
		$P/eventfd
	expect "manager records the failure" $M/failures \
		"^token=[0-9a-f]+ irq=$IRQ error=-ENOSPC errno=28 callback=sample_add_producer \\[irqbypass_sample_consumer\\] failures=2 age=[0-9]+s\$"
	ok "one warning for the token" "$(dmesg | grep 'not bypassed')" \
		[ "$(klog "irqbypass: irq $IRQ: sample_add_producer \\[irqbypass_sample_consumer\\] failed with -ENOSPC: the interrupt is not bypassed\$")" -eq 1 ]
	/usr/sbin/irqbypass-status >/tmp/status
	echo "exit $?" >>/tmp/status
	echo "=== BEGIN status@failed-producer"
	cat /tmp/status
	echo "=== END status@failed-producer"
	expect "irqbypass-status shows the failed registration" /tmp/status \
		"^  a producer that failed to register, irq $IRQ: not paired: connect failed: sample_add_producer \\[irqbypass_sample_consumer\\] returned -ENOSPC \\(failures: 2, the last [0-9]+s ago\\)\$" \
		'^exit 1$'
fi
put "consumer add_producer set to succeed" 0 $C/fail_add
put "producer registers again" "$EVENTFD $IRQ" $P/eventfd
expect "the pair connects later" $C/state 'paired=yes' 'adds=2 '
if [ -d $M ]; then
	ok "the pair forgets the failure" "$(cat $M/failures)" \
		[ ! -s $M/failures ]
fi

# 5. The producer's add_consumer fails: the consumer's add_producer is not
# called, the consumer's registration fails, the producer stays registered.
put "producer unregisters again" -1 $P/eventfd
put "consumer unregisters" -1 $C/eventfd
put "producer add_consumer set to fail with EINVAL" 22 $P/fail_add
put "lone producer registers" "$EVENTFD $IRQ" $P/eventfd
adds=$(klog 'add_producer irq')
refuse "consumer registration fails with the producer's errno" \
	"$EVENTFD" $C/eventfd
ok "the errno is EINVAL" "$(cat $ERR)" grep -q 'Invalid argument' $ERR
ok "no add_producer after a failed add_consumer" "$(dmesg | tail -n 5)" \
	[ "$(klog 'add_producer irq')" -eq "$adds" ]
expect "producer stays registered, unpaired" $P/state 'registered=yes' \
	'paired=no' 'add_failures=1 ' 'dels=0 ' 'stops=1 ' 'starts=1' \
	'stopped=no'
expect "failed consumer is not registered" $C/state 'registered=no'
if [ -d $M ]; then
	/usr/sbin/irqbypass-status >/tmp/status
	echo "exit $?" >>/tmp/status
	echo "=== BEGIN status@failed-consumer"
	cat /tmp/status
	echo "=== END status@failed-consumer"
	expect "irqbypass-status shows the producer and why it is unpaired" \
		/tmp/status \
		"^  producer irq $IRQ: not paired: connect failed: sample_add_consumer \\[irqbypass_sample_producer\\] returned -EINVAL " \
		'^exit 1$'
fi
put "producer add_consumer set to succeed" 0 $P/fail_add
put "consumer registers again" "$EVENTFD" $C/eventfd
expect "and pairs" $P/state 'paired=yes' 'adds=1 '

# 6. The consumer goes first: the producer is disconnected.
put "paired consumer unregisters" -1 $C/eventfd
expect "producer disconnected" $P/state 'registered=yes' 'paired=no' \
	'adds=1 ' 'dels=1 ' 'stops=3 ' 'starts=3'
refuse "unregistering twice is refused by the sample" -1 $C/eventfd

# 7. Unloading with a pair registered: module exit unregisters.
put "consumer registers for the unload" "$EVENTFD" $C/eventfd
show unload
for m in irqbypass_sample_consumer irqbypass_sample_producer; do
	if rmmod $m 2>$ERR; then
		pass "rmmod $m"
	else
		fail "rmmod $m" "$(cat $ERR)"
	fi
done
if [ -d $M ]; then
	expect "manager has nothing registered" $M/stats '^producers +0$' \
		'^consumers +0$'
	echo "=== BEGIN samples-stats"
	cat $M/stats
	echo "=== END samples-stats"
fi
T=/sys/kernel/tracing
if [ -d $T/events/irqbypass ] && [ "$(cat $T/events/irqbypass/enable)" = 1 ]; then
	grep -v '^#' $T/trace >/tmp/trace
	expect "trace shows the failed connect" /tmp/trace \
		"irqbypass_connect: token=[0-9a-f]+ irq=$IRQ .* ret=-28" \
		"irqbypass_disconnect: token=[0-9a-f]+ irq=$IRQ "
	echo "=== BEGIN samples-trace"
	cat /tmp/trace
	echo "=== END samples-trace"
fi
echo "=== BEGIN samples-dmesg"
dmesg | grep irqbypass_sample
echo "=== END samples-dmesg"
echo "SAMPLES: DONE"
