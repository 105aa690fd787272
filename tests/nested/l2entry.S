/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entry of the nested guest (l2guest.c): the multiboot header that lets
 * QEMU's -kernel load it, a flat GDT of our own, a stack, and one small
 * stub per interrupt vector that hands the vector number to C.
 *
 * QEMU's multiboot loader enters _start in 32-bit protected mode, paging
 * off, interrupts off, with EAX = 0x2BADB002 and EBX = the multiboot
 * information (where the command line is).
 */

#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	/* The loader's GDT may be anywhere: load ours, reload every segment. */
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	pushl %ebx
	pushl %eax
	call l2_main
2:	cli
	hlt
	jmp 2b

/*
 * isrN: push N, then the common part saves the registers and calls
 * l2_interrupt(N).  Exceptions that push an error code are never returned
 * from (l2_interrupt ends the program), so the stubs need not tell them
 * apart.
 */
	.macro isr n
isr\n:
	pushl $\n
	jmp isr_common
	.endm

	.altmacro
	.set i, 0
	.rept 256
	isr %i
	.set i, i + 1
	.endr

isr_common:
	pushal
	cld
	pushl 32(%esp)
	call l2_interrupt
	addl $4, %esp
	popal
	addl $4, %esp
	iret

	.macro isr_addr n
	.long isr\n
	.endm

	.section .rodata
	.align 4
	.globl l2_isr_table
l2_isr_table:
	.set i, 0
	.rept 256
	isr_addr %i
	.set i, i + 1
	.endr

	/* Null, flat 4 GiB code (0x08), flat 4 GiB data (0x10). */
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .note.GNU-stack, "", @progbits

	.bss
	.align 16
	.skip 16384
stack_top:
