/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints: every trace_<event>() is an empty inline function, so that
 * the arguments are still type-checked.  TP_PROTO() keeps its parentheses,
 * which makes it the parameter list of the function.
 */
#ifndef IRQBYPASS_SHIM_TRACE_H
#define IRQBYPASS_SHIM_TRACE_H

#define TP_PROTO(args...)	(args)
#define TP_ARGS(args...)	(args)
#define DECLARE_EVENT_CLASS(...)
#define TRACE_EVENT(name, proto, ...)					\
	static inline void trace_##name proto { }
#define DEFINE_EVENT(template, name, proto, args)			\
	TRACE_EVENT(name, proto, template, args)

#endif /* IRQBYPASS_SHIM_TRACE_H */
