/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the nested guest's C (l2guest.c) and its entry code (l2entry.S)
 * share.
 */
#ifndef L2GUEST_H
#define L2GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

/* The stub of each vector, in l2entry.S. */
extern const u32 l2_isr_table[256];

/* Called by l2entry.S: the program, and every interrupt or exception. */
void l2_main(u32 magic, const u32 *mbi);
void l2_interrupt(u32 vector);

#endif
