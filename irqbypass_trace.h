/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of the IRQ bypass manager: the irqbypass event system
 *
 * Each event names the token explicitly: with the API of Linux 6.17 and
 * later it is the eventfd, which an object carries only once registered.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM irqbypass

#if !defined(IRQBYPASS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define IRQBYPASS_TRACE_H

#include <linux/irqbypass.h>
#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(irqbypass_producer_class,
		    TP_PROTO(const void *token, struct irq_bypass_producer *prod,
			     int ret),
		    TP_ARGS(token, prod, ret),
		    TP_STRUCT__entry(__field(const void *, prod)
				     __field(const void *, token)
				     __field(int, irq)
				     __field(int, ret)),
		    TP_fast_assign(__entry->prod = prod;
				   __entry->token = token;
				   __entry->irq = prod->irq;
				   __entry->ret = ret;),
		    TP_printk("producer=%p token=%p irq=%d ret=%d",
			      __entry->prod, __entry->token, __entry->irq,
			      __entry->ret)
);

DEFINE_EVENT(irqbypass_producer_class, irqbypass_register_producer,
	     TP_PROTO(const void *token, struct irq_bypass_producer *prod,
		      int ret),
	     TP_ARGS(token, prod, ret)
);

DEFINE_EVENT(irqbypass_producer_class, irqbypass_unregister_producer,
	     TP_PROTO(const void *token, struct irq_bypass_producer *prod,
		      int ret),
	     TP_ARGS(token, prod, ret)
);

DECLARE_EVENT_CLASS(irqbypass_consumer_class,
		    TP_PROTO(const void *token, struct irq_bypass_consumer *cons,
			     int ret),
		    TP_ARGS(token, cons, ret),
		    TP_STRUCT__entry(__field(const void *, cons)
				     __field(const void *, token)
				     __field(int, ret)),
		    TP_fast_assign(__entry->cons = cons;
				   __entry->token = token;
				   __entry->ret = ret;),
		    TP_printk("consumer=%p token=%p ret=%d",
			      __entry->cons, __entry->token, __entry->ret)
);

DEFINE_EVENT(irqbypass_consumer_class, irqbypass_register_consumer,
	     TP_PROTO(const void *token, struct irq_bypass_consumer *cons,
		      int ret),
	     TP_ARGS(token, cons, ret)
);

DEFINE_EVENT(irqbypass_consumer_class, irqbypass_unregister_consumer,
	     TP_PROTO(const void *token, struct irq_bypass_consumer *cons,
		      int ret),
	     TP_ARGS(token, cons, ret)
);

TRACE_EVENT(irqbypass_connect,
	    TP_PROTO(const void *token, struct irq_bypass_producer *prod,
		     struct irq_bypass_consumer *cons, int ret),
	    TP_ARGS(token, prod, cons, ret),
	    TP_STRUCT__entry(__field(const void *, token)
			     __field(const void *, prod)
			     __field(const void *, cons)
			     __field(int, irq)
			     __field(int, ret)),
	    TP_fast_assign(__entry->token = token;
			   __entry->prod = prod;
			   __entry->cons = cons;
			   __entry->irq = prod->irq;
			   __entry->ret = ret;),
	    TP_printk("token=%p irq=%d producer=%p consumer=%p ret=%d",
		      __entry->token, __entry->irq, __entry->prod,
		      __entry->cons, __entry->ret)
);

TRACE_EVENT(irqbypass_disconnect,
	    TP_PROTO(const void *token, struct irq_bypass_producer *prod,
		     struct irq_bypass_consumer *cons),
	    TP_ARGS(token, prod, cons),
	    TP_STRUCT__entry(__field(const void *, token)
			     __field(const void *, prod)
			     __field(const void *, cons)
			     __field(int, irq)),
	    TP_fast_assign(__entry->token = token;
			   __entry->prod = prod;
			   __entry->cons = cons;
			   __entry->irq = prod->irq;),
	    TP_printk("token=%p irq=%d producer=%p consumer=%p",
		      __entry->token, __entry->irq, __entry->prod,
		      __entry->cons)
);

#endif /* IRQBYPASS_TRACE_H */

/* This header is not in include/trace/events/: tell define_trace.h where. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE irqbypass_trace
#include <trace/define_trace.h>
