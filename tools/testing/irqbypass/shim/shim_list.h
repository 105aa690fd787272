/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The doubly linked lists of <linux/list.h> that irqbypass.c uses, with the
 * checks of CONFIG_DEBUG_LIST and poisoning on deletion.
 */
#ifndef IRQBYPASS_SHIM_LIST_H
#define IRQBYPASS_SHIM_LIST_H

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_POISON1	((struct list_head *)0x100)
#define LIST_POISON2	((struct list_head *)0x122)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void list_add(struct list_head *new, struct list_head *head)
{
	struct list_head *next = head->next;

	shim_assert(next->prev == head && new != head && new != next);
	next->prev = new;
	new->next = next;
	new->prev = head;
	head->next = new;
}

static inline void __list_del_entry(struct list_head *entry)
{
	struct list_head *prev = entry->prev, *next = entry->next;

	shim_assert(prev != LIST_POISON2 && next != LIST_POISON1);
	shim_assert(prev->next == entry && next->prev == entry);
	next->prev = prev;
	prev->next = next;
}

static inline void list_del(struct list_head *entry)
{
	__list_del_entry(entry);
	entry->next = LIST_POISON1;
	entry->prev = LIST_POISON2;
}

static inline void list_move(struct list_head *entry, struct list_head *head)
{
	__list_del_entry(entry);
	list_add(entry, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

/*
 * The iterators step with a helper, so that each macro argument is used
 * once.  Like the kernel's, list_for_each_entry() reads the next entry after
 * the loop body, and the _safe variant before it.
 */
struct shim_list_iter {
	struct list_head *head;
	struct list_head *cur;	/* visited last; or, if @safe, to visit next */
	size_t offset;
	bool safe;
};

static inline bool shim_list_next(struct shim_list_iter *it, void **pos,
				  void **n)
{
	struct list_head *node;

	if (!it->cur)
		it->cur = it->safe ? it->head->next : it->head;
	if (it->safe) {
		node = it->cur;
		if (node == it->head)
			return false;
		it->cur = node->next;
		*n = (char *)it->cur - it->offset;
	} else {
		node = it->cur->next;
		if (node == it->head)
			return false;
		it->cur = node;
	}
	*pos = (char *)node - it->offset;
	return true;
}

#define shim_list_iter(head, type, member, safe)			\
	((struct shim_list_iter){ (head), NULL, offsetof(type, member), safe })

#define list_for_each_entry(pos, head, member)				\
	for (struct shim_list_iter __it = shim_list_iter(head,		\
		typeof(*(typeof(pos))NULL), member, false);		\
	     shim_list_next(&__it, (void **)&(pos), NULL);)

#define list_for_each_entry_safe(pos, n, head, member)			\
	for (struct shim_list_iter __it = shim_list_iter(head,		\
		typeof(*(typeof(pos))NULL), member, true);		\
	     shim_list_next(&__it, (void **)&(pos), (void **)&(n));)

#endif /* IRQBYPASS_SHIM_LIST_H */
