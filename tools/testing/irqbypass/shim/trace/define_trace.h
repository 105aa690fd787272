/* SPDX-License-Identifier: GPL-2.0-only */
/* The tracepoints are no-ops: nothing to define. */
