// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs the fuzz target without libFuzzer (the gcc build): every file named
 * on the command line or found in a directory named there, then, with
 * "-random N SEED", N pseudo-random inputs from a fixed seed.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int FUZZ_TARGET(const unsigned char *data, size_t size);

static void run_file(const char *path)
{
	static unsigned char buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	FUZZ_TARGET(buf, n);
}

static void run_path(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[4096];

	if (!d) {
		run_file(path);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		run_file(sub);
	}
	closedir(d);
}

/* xorshift64: the same inputs on every machine. */
static unsigned long long next(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void run_random(long n, unsigned long long seed)
{
	unsigned char buf[1024];
	size_t len, i;

	while (n-- > 0) {
		len = 4 * (next(&seed) % (sizeof(buf) / 4));
		for (i = 0; i < len; i++)
			buf[i] = next(&seed);
		FUZZ_TARGET(buf, len);
	}
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-random") && i + 2 < argc) {
			run_random(atol(argv[i + 1]),
				   strtoull(argv[i + 2], NULL, 0) | 1);
			i += 2;
		} else {
			run_path(argv[i]);
		}
	}
	return 0;
}
