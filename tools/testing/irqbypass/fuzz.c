// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fuzz target: libFuzzer calls it with each input, driver.c with each
 * file of the corpus or with pseudo-random inputs.  A divergence from the
 * model aborts, and libFuzzer keeps the input as a reproducer.
 */
#include "shim/shim.h"
#include "harness.h"

static unsigned long inputs;

static void summary(void)
{
	harness_exit();
	fprintf(stderr, "irqbypass-fuzz: %lu inputs, %lu operations, %s\n",
		inputs, harness_ops, "0 divergences");
}

/* libFuzzer's LLVMFuzzerTestOneInput(), named by the Makefile. */
int FUZZ_TARGET(const unsigned char *data, size_t size);
int FUZZ_TARGET(const unsigned char *data, size_t size)
{
	if (!inputs++)
		atexit(summary);
	harness_run(data, size);
	return 0;
}
