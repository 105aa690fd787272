// SPDX-License-Identifier: GPL-2.0-only
/*
 * with-eventfd - run a command with an eventfd open
 *
 * Usage: with-eventfd COMMAND [ARG...]
 *
 * Creates an eventfd, puts its number in the environment as EVENTFD and
 * executes COMMAND, which inherits it.  The IRQ bypass samples take an
 * eventfd by number, and a number means something only in a process that
 * has the eventfd open: the shell that writes it to debugfs must be that
 * process, and a shell cannot create an eventfd itself.
 *
 *   with-eventfd sh -c 'D=/sys/kernel/debug
 *       echo "$EVENTFD 4242" > $D/irqbypass_sample_producer/eventfd
 *       echo "$EVENTFD" > $D/irqbypass_sample_consumer/eventfd'
 *
 * Nested calls give a command several eventfds; save each $EVENTFD under
 * another name before the next call replaces it.
 *
 * Build: gcc -static -O2 -Wall -o with-eventfd with-eventfd.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

int main(int argc, char **argv)
{
	char num[16];
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
		return 2;
	}

	/* Not EFD_CLOEXEC: COMMAND must inherit it. */
	fd = eventfd(0, 0);
	if (fd < 0) {
		perror("eventfd");
		return 1;
	}
	snprintf(num, sizeof(num), "%d", fd);
	if (setenv("EVENTFD", num, 1)) {
		perror("setenv");
		return 1;
	}

	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
