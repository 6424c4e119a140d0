/* cuda_emu.h - runs the device half of a file from slimc's CUDA backend on the CPU.
 *
 * What it is for: CI has no GPU, so the kernels codegen/cuda/ writes are also compiled as
 * C11 (clang or gcc) with this header and run here, against the reference evaluator.
 * docs/cuda_emulation.md says what is emulated, how, how fast, and what is not.
 *
 * How to use it: one translation unit, in this order
 *     #define SLIMC_CUDA_EMULATE 1
 *     <runtime/slimc_cuda_abi.h>      (its include guard skips the generated file's copy)
 *     <runtime/cuda_emu.h>            (this file)
 *     <the generated file>
 * When this header is read as a file and the ABI has not been seen, it includes its sibling
 * slimc_cuda_abi.h; pasted as text without the ABI before it, it stops with #error.
 * It needs libc only (and <ucontext.h> where the context switch below has no assembly).
 *
 * What it gives the kernels (the contract is docs/cuda.md, "The portability layer"):
 *   CUDA's words: threadIdx blockIdx blockDim gridDim (.x .y .z, unsigned), __shared__
 *   (= static: blocks run one after another, so a static is the block's shared memory),
 *   __syncthreads(), __device__ __global__ __host__ __forceinline__ __noinline__
 *   __launch_bounds__(...), warpSize; __restrict__ is C's own in gcc and clang;
 *   the slimc_* layer: SLIMC_KERNEL SLIMC_DEV SLIMC_INF SLIMC_NAN slimc_rsqrt slimc_f*_rn
 *   slimc_h2f/f2h/b2f/f2b slimc_dp4a the shuffles the atomics SLIMC_LANE SLIMC_WARP and the
 *   three mma functions;
 *   and for the host half:
 *   int slimc_emu_launch(void (*fn)(slimc_kargs), const unsigned grid[3],
 *                        const unsigned block[3], const slimc_kargs *a)
 *       runs the grid; 0, or one of SLIMC_EMU_E_* (slimc_emu_error() says what happened).
 *
 * How a launch runs: blocks one after another (blockIdx.x fastest). A block's threads are
 * fibers on stacks of SLIMC_EMU_STACK_BYTES, allocated once (with a guard page below each)
 * and reused by every later block and launch. A fiber is a "runner": it takes the next
 * thread not yet started and calls the kernel for it, then the next, and so on; a kernel
 * whose threads never wait runs the whole grid as that loop on one fiber (two context
 * switches per launch). When a thread waits, at __syncthreads() (all threads of the block)
 * or at a warp operation (the live lanes of its warp: consecutive linear thread ids, x
 * fastest, 32 a warp), its runner's stack becomes that thread's, and the fiber switches
 * straight to a released thread, else to a new runner for the threads not yet started, else
 * back to the scheduler (slimc_emu_launch's stack). Released threads resume where they
 * waited; the last thread to arrive at a barrier releases the others and goes on. A block in which
 * some threads wait and none can run is a deadlock (threads at __syncthreads while others have
 * returned, or lanes at a warp operation while the rest of the warp waits elsewhere, or
 * lanes of one warp at different kinds of warp operation): the launch stops and returns
 * SLIMC_EMU_E_DEADLOCK, it never hangs.
 *
 * The context switch is a few instructions of assembly on x86-64 (callee-saved registers
 * and the stack pointer; MXCSR and the x87 control word are not switched: nothing here
 * changes them); elsewhere, or with SLIMC_EMU_UCONTEXT defined to 1, swapcontext (which
 * costs a system call a switch). Under AddressSanitizer every switch is announced with
 * __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber.
 *
 * State is per translation unit (the statics below) and one launch runs at a time in it:
 * a second launch while one runs (another OS thread, or a kernel that launches) returns
 * SLIMC_EMU_E_BUSY. __shared__ variables are statics of the translation unit in any case.
 *
 * Floating point: compiled without FMA contraction (clang: the pragma below; gcc in ISO C
 * mode, as slimc builds and JIT-compiles, does not contract), so slimc_fmul_rn and the
 * others round like the GPU's __fmul_rn; they also keep their result out of contraction by
 * construction (an empty asm on the rounded value). */
#ifndef SLIMC_CUDA_EMU_H
#define SLIMC_CUDA_EMU_H

#if !defined(SLIMC_CUDA_EMULATE)
#error "cuda_emu.h: define SLIMC_CUDA_EMULATE to 1 before slimc_cuda_abi.h and this header"
#endif
#if !defined(SLIMC_CUDA_ABI_H) && defined(__has_include)
#if __has_include("slimc_cuda_abi.h")
#include "slimc_cuda_abi.h"
#endif
#endif
#if !defined(SLIMC_CUDA_ABI_H)
#error "cuda_emu.h: paste runtime/slimc_cuda_abi.h before this header (it defines slimc_kargs)"
#endif

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* The context switch: assembly on x86-64 (System V), swapcontext elsewhere. */
#if !defined(SLIMC_EMU_UCONTEXT)
#if defined(__x86_64__) && defined(__ELF__)
#define SLIMC_EMU_UCONTEXT 0
#else
#define SLIMC_EMU_UCONTEXT 1
#endif
#endif
#if SLIMC_EMU_UCONTEXT
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SLIMC_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLIMC_EMU_ASAN 1
#endif
#endif
#ifndef SLIMC_EMU_ASAN
#define SLIMC_EMU_ASAN 0
#endif

/* A fiber's stack (the guard page below it not counted). The kernels of the unit tests
 * use under 1 KiB of it (under 4 KiB with AddressSanitizer); a generated kernel's frame
 * holds its register tiles, a few hundred bytes to a few KiB. */
#ifndef SLIMC_EMU_STACK_BYTES
#if SLIMC_EMU_ASAN
#define SLIMC_EMU_STACK_BYTES (256u * 1024u)
#else
#define SLIMC_EMU_STACK_BYTES (64u * 1024u)
#endif
#endif
#define SLIMC_EMU_GUARD_BYTES 4096u

#if SLIMC_EMU_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

#define SLIMC_EMU_FN static __attribute__((unused))

/* ------------------------------------------------------------------------------------ */
/* CUDA's vocabulary                                                                     */

#define __device__
#define __global__
#define __host__
#define __forceinline__ inline
#define __noinline__    __attribute__((noinline))
#define __shared__      static
#define __constant__    static
#define __launch_bounds__(...)
#define warpSize 32

#define SLIMC_KERNEL static __attribute__((unused)) void
#define SLIMC_DEV    static inline
#define SLIMC_INF    __builtin_inff()
#define SLIMC_NAN    __builtin_nanf("0x3fffff") /* 0x7fffffff, the GPU's CUDART_NAN_F */

typedef struct slimc_emu_uint3 {
    unsigned x, y, z;
} slimc_emu_uint3;

/* ------------------------------------------------------------------------------------ */
/* The scheduler's state                                                                 */

#define SLIMC_EMU_MAX_THREADS 1024
#define SLIMC_EMU_MAX_WARPS   (SLIMC_EMU_MAX_THREADS / 32)
#define SLIMC_EMU_XCH_WORDS   6 /* per lane and warp operation: mma's a[4] and b[2] */

/* Return values of slimc_emu_launch. */
#define SLIMC_EMU_E_LAUNCH   1 /* a zero or too large grid or block dimension */
#define SLIMC_EMU_E_DEADLOCK 2 /* threads wait at barriers that cannot complete */
#define SLIMC_EMU_E_NOMEM    3 /* no memory for a fiber's stack */
#define SLIMC_EMU_E_BUSY     4 /* a launch is already running in this translation unit */

/* What a warp barrier is for: lanes of one warp must all be at the same kind. */
enum {
    SLIMC_EMU_OP_NONE,
    SLIMC_EMU_OP_SHFL_XOR,
    SLIMC_EMU_OP_SHFL_IDX,
    SLIMC_EMU_OP_SHFL_DOWN,
    SLIMC_EMU_OP_MMA_F16,
    SLIMC_EMU_OP_MMA_BF16,
    SLIMC_EMU_OP_MMA_S8
};

/* A warp's barrier and exchange area. A lane writes its operands into xch[gen & 1] before
 * it arrives and reads the others' after the release; the next operation uses the other
 * buffer, and the one after that cannot open before every lane has left this one. */
typedef struct SlimcEmuWarp {
    unsigned live;       /* lanes of the block in this warp that have not returned */
    unsigned arrived;    /* lanes at the open barrier (the last one does not wait) */
    uint32_t waiting;    /* lanes suspended at it */
    int kind;            /* SLIMC_EMU_OP_* of the open barrier */
    unsigned gen;        /* barriers released so far */
    uint32_t present[2]; /* lanes that wrote into each buffer */
    uint32_t xch[2][32][SLIMC_EMU_XCH_WORDS];
} SlimcEmuWarp;

/* A fiber: its saved context and its stack. */
typedef struct SlimcEmuSlot {
#if SLIMC_EMU_UCONTEXT
    ucontext_t uc;
#else
    void *sp;
#endif
    void *fake_stack;           /* AddressSanitizer's, while suspended */
    unsigned char *mem;         /* the guard page, then the stack */
    slimc_emu_uint3 thread_idx; /* of the thread suspended on it */
} SlimcEmuSlot;

typedef void (*SlimcEmuKernel)(slimc_kargs);

typedef struct SlimcEmu {
    /* the launch */
    SlimcEmuKernel fn;
    const slimc_kargs *args;
    slimc_emu_uint3 grid_dim, block_dim, block_idx, thread_idx;
    int grid_done;
    /* the block */
    unsigned n;                            /* its threads */
    unsigned next;                         /* the next thread to start */
    slimc_emu_uint3 next_idx;              /* its threadIdx */
    unsigned done;                         /* threads returned */
    unsigned block_arrived;                /* threads at __syncthreads */
    unsigned cur;                          /* the running thread (linear id) */
    int cur_slot;                          /* and its fiber (-1: the scheduler) */
    unsigned ready[SLIMC_EMU_MAX_THREADS]; /* released threads, a ring */
    unsigned ready_head, ready_count;
    short slot_of[SLIMC_EMU_MAX_THREADS]; /* the fiber of a suspended thread */
    SlimcEmuWarp warp[SLIMC_EMU_MAX_WARPS];
    int error;
    char msg[200];
    /* the fibers, kept from launch to launch */
#if SLIMC_EMU_UCONTEXT
    ucontext_t main_uc;
#else
    void *main_sp;
#endif
    void *main_fake;
    const void *main_bottom; /* the scheduler's stack, for AddressSanitizer */
    size_t main_size;
    int from_main; /* the switch under way left the scheduler */
    SlimcEmuSlot slot[SLIMC_EMU_MAX_THREADS];
    int nslots;
    int free_slot[SLIMC_EMU_MAX_THREADS];
    int nfree;
    int active;
    unsigned long long switches; /* context switches since the program started */
} SlimcEmu;

static SlimcEmu slimc_emu_state;

#define threadIdx (slimc_emu_state.thread_idx)
#define blockIdx  (slimc_emu_state.block_idx)
#define blockDim  (slimc_emu_state.block_dim)
#define gridDim   (slimc_emu_state.grid_dim)

/* The lane (0..31) and the warp in the block of the running thread. */
#define SLIMC_LANE ((int)(slimc_emu_state.cur & 31u))
#define SLIMC_WARP ((int)(slimc_emu_state.cur >> 5))

/* ------------------------------------------------------------------------------------ */
/* Context switches                                                                      */

#if !SLIMC_EMU_UCONTEXT
/* slimc_emu_swap_v1(save, load): pushes the callee-saved registers, stores the stack
 * pointer at *save, loads load as the stack pointer, pops and returns there. A fresh
 * fiber's stack holds six zero registers and the address of its entry function. Weak and
 * hidden: every file that includes this header defines the same bytes, and they stay
 * inside the shared object. */
__asm__(".pushsection .text.slimc_emu_swap_v1,\"axG\",@progbits,slimc_emu_swap_v1,comdat\n"
        ".weak slimc_emu_swap_v1\n"
        ".hidden slimc_emu_swap_v1\n"
        ".type slimc_emu_swap_v1,@function\n"
        ".p2align 4\n"
        "slimc_emu_swap_v1:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size slimc_emu_swap_v1, .-slimc_emu_swap_v1\n"
        ".popsection\n");
__attribute__((visibility("hidden"))) void slimc_emu_swap_v1(void **save, void *load);
#endif

static inline unsigned char *slimc_emu_stack_lo(const SlimcEmuSlot *s)
{
    return s->mem + SLIMC_EMU_GUARD_BYTES;
}

/* Switches from the running context (fiber `from`, or the scheduler when from < 0) to
 * fiber `to` (or the scheduler); dying: `from` will not be resumed. Returns when something
 * switches back to `from`, which then has set E->cur_slot, E->cur and E->thread_idx. */
static inline void slimc_emu_switch(SlimcEmu *E, int from, int to, int dying)
{
    SlimcEmuSlot *f = from < 0 ? NULL : &E->slot[from], *t = to < 0 ? NULL : &E->slot[to];
    E->cur_slot = to;
    E->switches++;
#if SLIMC_EMU_ASAN
    E->from_main = from < 0;
    __sanitizer_start_switch_fiber(dying ? NULL
                                   : f   ? &f->fake_stack
                                         : &E->main_fake,
                                   t ? (const void *)slimc_emu_stack_lo(t) : E->main_bottom,
                                   t ? SLIMC_EMU_STACK_BYTES : E->main_size);
#else
    (void)dying;
#endif
#if SLIMC_EMU_UCONTEXT
    swapcontext(f ? &f->uc : &E->main_uc, t ? &t->uc : &E->main_uc);
#else
    slimc_emu_swap_v1(f ? &f->sp : &E->main_sp, t ? t->sp : E->main_sp);
#endif
#if SLIMC_EMU_ASAN
    __sanitizer_finish_switch_fiber(f ? f->fake_stack : E->main_fake, NULL, NULL);
#endif
}

/* ------------------------------------------------------------------------------------ */
/* Threads, barriers and blocks                                                          */

static inline void slimc_emu_push_ready(SlimcEmu *E, unsigned t)
{
    E->ready[(E->ready_head + E->ready_count) % SLIMC_EMU_MAX_THREADS] = t;
    E->ready_count++;
}

static int slimc_emu_new_runner(SlimcEmu *E);

/* The fiber of the next released thread, made current (its E->cur and threadIdx); -1 when
 * none is released. */
static inline int slimc_emu_pop_ready(SlimcEmu *E)
{
    if (!E->ready_count)
        return -1;
    const unsigned t = E->ready[E->ready_head];
    E->ready_head = (E->ready_head + 1) % SLIMC_EMU_MAX_THREADS;
    E->ready_count--;
    const int s = E->slot_of[t];
    E->cur = t;
    E->thread_idx = E->slot[s].thread_idx;
    return s;
}

/* The running thread waits until it is released. Its fiber switches straight to a
 * released thread, else to a new runner for threads not started, else to the scheduler
 * (which finds the block complete, or deadlocked, or out of memory). */
static inline void slimc_emu_suspend(SlimcEmu *E)
{
    const int me = E->cur_slot;
    E->slot[me].thread_idx = E->thread_idx;
    E->slot_of[E->cur] = (short)me;
    int to = slimc_emu_pop_ready(E);
    if (to < 0 && E->next < E->n)
        to = slimc_emu_new_runner(E);
    slimc_emu_switch(E, me, to, 0);
}

static inline void slimc_emu_warp_release(SlimcEmu *E, SlimcEmuWarp *W, unsigned w)
{
    uint32_t m = W->waiting;
    while (m) {
        const unsigned lane = (unsigned)__builtin_ctz(m);
        m &= m - 1;
        slimc_emu_push_ready(E, w * 32u + lane);
    }
    W->waiting = 0;
    W->arrived = 0;
    W->gen++;
}

/* The running thread has returned from the kernel. */
static inline void slimc_emu_thread_done(SlimcEmu *E, unsigned t)
{
    SlimcEmuWarp *W = &E->warp[t >> 5];
    E->done++;
    W->live--;
    if (W->arrived && W->arrived == W->live)
        slimc_emu_warp_release(E, W, t >> 5);
}

/* Sets up block E->block_idx: no thread started. */
static inline void slimc_emu_block_begin(SlimcEmu *E)
{
    E->next = 0;
    E->next_idx.x = E->next_idx.y = E->next_idx.z = 0;
    E->done = 0;
    E->block_arrived = 0;
    for (unsigned w = 0; w * 32u < E->n; w++) {
        SlimcEmuWarp *W = &E->warp[w];
        W->live = E->n - w * 32u < 32u ? E->n - w * 32u : 32u;
        W->arrived = 0;
        W->waiting = 0;
        W->kind = SLIMC_EMU_OP_NONE;
    }
}

/* Moves to the next block of the grid (x fastest); false after the last. */
static inline bool slimc_emu_next_block(SlimcEmu *E)
{
    if (E->grid_done)
        return false;
    if (++E->block_idx.x == E->grid_dim.x) {
        E->block_idx.x = 0;
        if (++E->block_idx.y == E->grid_dim.y) {
            E->block_idx.y = 0;
            if (++E->block_idx.z == E->grid_dim.z) {
                E->grid_done = 1;
                return false;
            }
        }
    }
    slimc_emu_block_begin(E);
    return true;
}

/* A fiber's entry: runs threads not yet started, one after another, until none is left;
 * when the block is then complete (no other thread alive) it goes on with the next block. */
static void slimc_emu_runner(void)
{
    SlimcEmu *E = &slimc_emu_state;
#if SLIMC_EMU_ASAN
    const void *from_bottom;
    size_t from_size;
    __sanitizer_finish_switch_fiber(NULL, &from_bottom, &from_size);
    if (E->from_main) {
        E->main_bottom = from_bottom;
        E->main_size = from_size;
    }
#endif
    for (;;) {
        while (E->next < E->n) {
            const unsigned t = E->next++;
            E->cur = t;
            E->thread_idx = E->next_idx;
            if (++E->next_idx.x == E->block_dim.x) {
                E->next_idx.x = 0;
                if (++E->next_idx.y == E->block_dim.y) {
                    E->next_idx.y = 0;
                    E->next_idx.z++;
                }
            }
            E->fn(*E->args);
            slimc_emu_thread_done(E, t);
        }
        if (E->done == E->n && !E->error && slimc_emu_next_block(E))
            continue;
        /* Nothing left to start: this fiber ends (its stack is free: nothing below makes
         * a runner before the switch). */
        const int me = E->cur_slot;
        E->free_slot[E->nfree++] = me;
        slimc_emu_switch(E, me, slimc_emu_pop_ready(E), 1);
    }
}

/* Ends the launch with an error (called on a fiber, which is abandoned). */
static void slimc_emu_fail(SlimcEmu *E, int code)
{
    E->error = code;
    slimc_emu_switch(E, E->cur_slot, -1, 1);
}

#if SLIMC_EMU_UCONTEXT
/* A fresh context for slot sl that starts slimc_emu_runner (getcontext returns once here:
 * makecontext replaces what it saved; volatile only quiets -Wclobbered). */
static void slimc_emu_make_uc(SlimcEmuSlot *volatile sl)
{
    getcontext(&sl->uc);
    sl->uc.uc_stack.ss_sp = slimc_emu_stack_lo(sl);
    sl->uc.uc_stack.ss_size = SLIMC_EMU_STACK_BYTES;
    sl->uc.uc_link = NULL;
    makecontext(&sl->uc, slimc_emu_runner, 0);
}
#endif

/* A fiber for a new runner: a free one, or a new stack. -1: no memory. */
static int slimc_emu_new_runner(SlimcEmu *E)
{
    int s;
    if (E->nfree > 0) {
        s = E->free_slot[--E->nfree];
    } else {
        if (E->nslots == SLIMC_EMU_MAX_THREADS)
            return -1; /* cannot happen: a block has at most that many threads */
        unsigned char *mem = (unsigned char *)aligned_alloc(
            SLIMC_EMU_GUARD_BYTES, SLIMC_EMU_GUARD_BYTES + SLIMC_EMU_STACK_BYTES);
        if (!mem)
            return -1;
#ifdef SLIMC_EMU_STACK_CHECK
        memset(mem, 0xa5, SLIMC_EMU_GUARD_BYTES + SLIMC_EMU_STACK_BYTES);
#endif
        (void)mprotect(mem, SLIMC_EMU_GUARD_BYTES, PROT_NONE); /* no guard where it fails */
        s = E->nslots++;
        E->slot[s].mem = mem;
    }
    SlimcEmuSlot *sl = &E->slot[s];
#if SLIMC_EMU_ASAN
    /* the frames of the runner that ended on this stack are still poisoned */
    __asan_unpoison_memory_region(slimc_emu_stack_lo(sl), SLIMC_EMU_STACK_BYTES);
#endif
#if SLIMC_EMU_UCONTEXT
    slimc_emu_make_uc(sl);
#else
    uintptr_t top = (uintptr_t)(slimc_emu_stack_lo(sl) + SLIMC_EMU_STACK_BYTES) & ~(uintptr_t)15;
    void **sp = (void **)top;
    void (*entry)(void) = slimc_emu_runner;
    sp[-1] = NULL; /* the entry's return address: none */
    memcpy(&sp[-2], &entry, sizeof entry);
    for (int i = 3; i <= 8; i++)
        sp[-i] = NULL; /* rbp rbx r12 r13 r14 r15 */
    sl->sp = &sp[-8];
#endif
    sl->fake_stack = NULL;
    return s;
}

static void slimc_emu_deadlock_message(SlimcEmu *E)
{
    unsigned at_warp = 0;
    for (unsigned w = 0; w * 32u < E->n; w++)
        at_warp += (unsigned)__builtin_popcount(E->warp[w].waiting);
    if (E->error == SLIMC_EMU_E_DEADLOCK && E->msg[0])
        return; /* a mismatch already said what */
    snprintf(E->msg, sizeof E->msg,
             "deadlock in block (%u,%u,%u): %u of %u threads wait at __syncthreads, %u at a "
             "warp operation, %u have returned",
             E->block_idx.x, E->block_idx.y, E->block_idx.z, E->block_arrived, E->n, at_warp,
             E->done);
}

/* The scheduler: runs the grid from block (0,0,0). 0 or SLIMC_EMU_E_*. */
static int slimc_emu_run_grid(SlimcEmu *E)
{
    for (;;) {
        if (E->error)
            return E->error;
        int s = slimc_emu_pop_ready(E);
        if (s < 0 && E->next < E->n) {
            s = slimc_emu_new_runner(E);
            if (s < 0) {
                snprintf(E->msg, sizeof E->msg, "no memory for a fiber stack of %u bytes",
                         (unsigned)SLIMC_EMU_STACK_BYTES);
                return SLIMC_EMU_E_NOMEM;
            }
        }
        if (s >= 0) {
            slimc_emu_switch(E, -1, s, 0);
        } else if (E->done == E->n) {
            if (!slimc_emu_next_block(E))
                return 0;
        } else {
            slimc_emu_deadlock_message(E);
            return SLIMC_EMU_E_DEADLOCK;
        }
    }
}

/* The message of the last failed launch ("" when none failed). */
SLIMC_EMU_FN const char *slimc_emu_error(void)
{
    return slimc_emu_state.msg;
}

/* Context switches made so far (for measurements). */
SLIMC_EMU_FN unsigned long long slimc_emu_switches(void)
{
    return slimc_emu_state.switches;
}

#ifdef SLIMC_EMU_STACK_CHECK
/* The most bytes of a fiber stack ever used (stacks are filled with 0xa5 when made). */
SLIMC_EMU_FN size_t slimc_emu_stack_peak(void)
{
    size_t peak = 0;
    for (int s = 0; s < slimc_emu_state.nslots; s++) {
        const unsigned char *lo = slimc_emu_stack_lo(&slimc_emu_state.slot[s]);
        size_t i = 0;
        while (i < SLIMC_EMU_STACK_BYTES && lo[i] == 0xa5)
            i++;
        if (SLIMC_EMU_STACK_BYTES - i > peak)
            peak = SLIMC_EMU_STACK_BYTES - i;
    }
    return peak;
}
#endif

/* Runs fn over the grid (see the top of this file). Returns 0, or SLIMC_EMU_E_LAUNCH for
 * a zero dimension or one over CUDA's limits (block: x, y <= 1024, z <= 64, x*y*z <= 1024;
 * grid: x < 2^31, y, z <= 65535), SLIMC_EMU_E_DEADLOCK, SLIMC_EMU_E_NOMEM or
 * SLIMC_EMU_E_BUSY; slimc_emu_error() then has a message. After a failure the blocks not
 * run have not run and the failing one may have run in part. */
SLIMC_EMU_FN int slimc_emu_launch(void (*fn)(slimc_kargs), const unsigned grid[3],
                                  const unsigned block[3], const slimc_kargs *a)
{
    SlimcEmu *E = &slimc_emu_state;
    if (__atomic_exchange_n(&E->active, 1, __ATOMIC_ACQUIRE)) {
        /* not E->msg: the running launch owns it */
        return SLIMC_EMU_E_BUSY;
    }
    E->msg[0] = 0;
    E->error = 0;
    const unsigned long long threads =
        (unsigned long long)block[0] * (unsigned long long)block[1] * block[2];
    if (!fn || !a || grid[0] == 0 || grid[1] == 0 || grid[2] == 0 || block[0] == 0 ||
        block[1] == 0 || block[2] == 0 || block[0] > 1024 || block[1] > 1024 || block[2] > 64 ||
        threads > SLIMC_EMU_MAX_THREADS || grid[0] > 0x7fffffffu || grid[1] > 65535 ||
        grid[2] > 65535) {
        snprintf(E->msg, sizeof E->msg, "bad launch: grid (%u,%u,%u), block (%u,%u,%u)", grid[0],
                 grid[1], grid[2], block[0], block[1], block[2]);
        __atomic_store_n(&E->active, 0, __ATOMIC_RELEASE);
        return SLIMC_EMU_E_LAUNCH;
    }
    E->fn = fn;
    E->args = a;
    E->grid_dim.x = grid[0];
    E->grid_dim.y = grid[1];
    E->grid_dim.z = grid[2];
    E->block_dim.x = block[0];
    E->block_dim.y = block[1];
    E->block_dim.z = block[2];
    E->block_idx.x = E->block_idx.y = E->block_idx.z = 0;
    E->grid_done = 0;
    E->n = (unsigned)threads;
    E->ready_head = E->ready_count = 0;
    slimc_emu_block_begin(E);
    const int rc = slimc_emu_run_grid(E);
    if (rc) {
        /* Fibers still suspended are abandoned: every stack is free again. */
        E->nfree = 0;
        for (int s = 0; s < E->nslots; s++) {
#if SLIMC_EMU_ASAN
            __asan_unpoison_memory_region(slimc_emu_stack_lo(&E->slot[s]), SLIMC_EMU_STACK_BYTES);
#endif
            E->free_slot[E->nfree++] = s;
        }
        E->ready_count = 0;
        E->error = 0;
    }
    __atomic_store_n(&E->active, 0, __ATOMIC_RELEASE);
    return rc;
}

/* Frees the stacks when the program ends or the shared object is unloaded. */
__attribute__((destructor, unused)) static void slimc_emu_free_stacks(void)
{
    SlimcEmu *E = &slimc_emu_state;
    for (int s = 0; s < E->nslots; s++) {
        (void)mprotect(E->slot[s].mem, SLIMC_EMU_GUARD_BYTES, PROT_READ | PROT_WRITE);
        free(E->slot[s].mem);
    }
    E->nslots = E->nfree = 0;
}

/* __syncthreads(): every thread of the block. */
static inline void __syncthreads(void)
{
    SlimcEmu *E = &slimc_emu_state;
    if (++E->block_arrived == E->n) {
        E->block_arrived = 0;
        for (unsigned t = 0; t < E->n; t++)
            if (t != E->cur)
                slimc_emu_push_ready(E, t);
        return;
    }
    slimc_emu_suspend(E);
}

/* The running lane arrives at its warp's barrier for an operation of this kind, having
 * written its operands (slimc_emu_xch_open); returns when every live lane has arrived. */
static inline void slimc_emu_warp_sync(SlimcEmu *E, int kind)
{
    const unsigned w = E->cur >> 5, lane = E->cur & 31u;
    SlimcEmuWarp *W = &E->warp[w];
    if (W->arrived == 0) {
        W->kind = kind;
    } else if (W->kind != kind) {
        snprintf(E->msg, sizeof E->msg,
                 "deadlock in block (%u,%u,%u): lanes of warp %u are at different warp "
                 "operations (%d and %d)",
                 E->block_idx.x, E->block_idx.y, E->block_idx.z, w, W->kind, kind);
        slimc_emu_fail(E, SLIMC_EMU_E_DEADLOCK);
    }
    if (++W->arrived == W->live) {
        slimc_emu_warp_release(E, W, w);
        return;
    }
    W->waiting |= 1u << lane;
    slimc_emu_suspend(E);
}

/* The exchange buffer for the running lane's next warp operation; its words to fill. */
static inline uint32_t *slimc_emu_xch_open(SlimcEmu *E, unsigned *buf)
{
    SlimcEmuWarp *W = &E->warp[E->cur >> 5];
    const unsigned lane = E->cur & 31u;
    *buf = W->gen & 1u;
    if (W->arrived == 0)
        W->present[*buf] = 0;
    W->present[*buf] |= 1u << lane;
    return W->xch[*buf][lane];
}

/* ------------------------------------------------------------------------------------ */
/* Warp shuffles (full warp; as PTX shfl.sync with c = 31: a source lane outside 0..31, or
 * one that has returned, gives the lane its own value).                                 */

static inline uint32_t slimc_emu_shfl(uint32_t v, int kind, int b)
{
    SlimcEmu *E = &slimc_emu_state;
    unsigned buf;
    slimc_emu_xch_open(E, &buf)[0] = v;
    slimc_emu_warp_sync(E, kind);
    const SlimcEmuWarp *W = &E->warp[E->cur >> 5];
    const unsigned lane = E->cur & 31u, bval = (unsigned)b & 31u;
    unsigned j;
    if (kind == SLIMC_EMU_OP_SHFL_XOR)
        j = lane ^ bval;
    else if (kind == SLIMC_EMU_OP_SHFL_DOWN)
        j = lane + bval;
    else
        j = bval;
    if (j > 31u || !((W->present[buf] >> j) & 1u))
        return v;
    return W->xch[buf][j][0];
}

static inline uint32_t slimc_emu_f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float slimc_emu_u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float slimc_shfl_xor_f(float v, int lanemask)
{
    return slimc_emu_u2f(slimc_emu_shfl(slimc_emu_f2u(v), SLIMC_EMU_OP_SHFL_XOR, lanemask));
}
static inline int slimc_shfl_xor_i(int v, int lanemask)
{
    return (int)slimc_emu_shfl((uint32_t)v, SLIMC_EMU_OP_SHFL_XOR, lanemask);
}
static inline float slimc_shfl_idx_f(float v, int src_lane)
{
    return slimc_emu_u2f(slimc_emu_shfl(slimc_emu_f2u(v), SLIMC_EMU_OP_SHFL_IDX, src_lane));
}
static inline int slimc_shfl_idx_i(int v, int src_lane)
{
    return (int)slimc_emu_shfl((uint32_t)v, SLIMC_EMU_OP_SHFL_IDX, src_lane);
}
static inline float slimc_shfl_down_f(float v, int delta)
{
    return slimc_emu_u2f(slimc_emu_shfl(slimc_emu_f2u(v), SLIMC_EMU_OP_SHFL_DOWN, delta));
}

/* ------------------------------------------------------------------------------------ */
/* Atomics: fibers switch only at barriers, so a read-modify-write is atomic here.        */

static inline float slimc_atomic_add_f(float *p, float v)
{
    const float old = *p;
    *p = old + v;
    return old;
}
static inline int slimc_atomic_add_i(int *p, int v)
{
    const int old = *p;
    *p = (int)((unsigned)old + (unsigned)v); /* wraps, as on the GPU */
    return old;
}
static inline int slimc_atomic_max_i(int *p, int v)
{
    const int old = *p;
    if (v > old)
        *p = v;
    return old;
}
static inline int slimc_atomic_or_i(int *p, int v)
{
    const int old = *p;
    *p = old | v;
    return old;
}

/* ------------------------------------------------------------------------------------ */
/* Arithmetic                                                                            */

/* The rounded result stays a float in a register: no contraction into an FMA. */
#if defined(__x86_64__) || defined(__i386__)
#define SLIMC_EMU_OPAQUE(r) __asm__("" : "+x"(r))
#elif defined(__aarch64__)
#define SLIMC_EMU_OPAQUE(r) __asm__("" : "+w"(r))
#else
#define SLIMC_EMU_OPAQUE(r) __asm__("" : "+m"(r))
#endif

static inline float slimc_fmul_rn(float a, float b)
{
    float r = a * b;
    SLIMC_EMU_OPAQUE(r);
    return r;
}
static inline float slimc_fadd_rn(float a, float b)
{
    float r = a + b;
    SLIMC_EMU_OPAQUE(r);
    return r;
}
static inline float slimc_fsub_rn(float a, float b)
{
    float r = a - b;
    SLIMC_EMU_OPAQUE(r);
    return r;
}
static inline float slimc_fdiv_rn(float a, float b)
{
    float r = a / b;
    SLIMC_EMU_OPAQUE(r);
    return r;
}
static inline float slimc_fma_rn(float a, float b, float c)
{
    return fmaf(a, b, c); /* one rounding, as __fmaf_rn */
}
static inline float slimc_rsqrt(float x)
{
    return 1.0f / sqrtf(x);
}

/* IEEE half to float: exact; a NaN keeps its payload and becomes quiet. */
static inline float slimc_h2f(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        const float v = (float)m * 5.9604644775390625e-8f; /* m * 2^-24, exact */
        return slimc_emu_u2f(slimc_emu_f2u(v) | sign);
    }
    if (e == 31)
        return slimc_emu_u2f(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0u));
    return slimc_emu_u2f(sign | ((e + 112u) << 23) | (m << 13));
}

/* float to IEEE half, round to nearest even (cvt.rn.f16.f32): overflow to infinity,
 * subnormal halves rounded, every NaN to 0x7fff as the GPU gives. */
static inline uint16_t slimc_f2h(float f)
{
    const uint32_t x = slimc_emu_f2u(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return 0x7fffu;
    if (ax >= 0x477ff000u) /* 65520 and up round to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {    /* below 2^-14: a subnormal half (units of 2^-24) or zero */
        if (ax <= 0x33000000u) /* 2^-25 and below: ties to even give zero */
            return (uint16_t)sign;
        const uint32_t mant = (ax & 0x7fffffu) | 0x800000u, shift = 126u - (ax >> 23);
        const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        uint32_t q = mant >> shift;
        q += (rem > half || (rem == half && (q & 1u))) ? 1u : 0u;
        return (uint16_t)(sign | q);
    }
    const uint32_t r = ax - (112u << 23);
    return (uint16_t)(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
}

/* bfloat16 to float: the bits shifted, as __bfloat162float. */
static inline float slimc_b2f(uint16_t h)
{
    return slimc_emu_u2f((uint32_t)h << 16);
}

/* float to bfloat16, round to nearest even (cvt.rn.bf16.f32); every NaN to 0x7fff. */
static inline uint16_t slimc_f2b(float f)
{
    const uint32_t x = slimc_emu_f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return 0x7fffu;
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* c + the dot product of a's and b's four signed bytes (__dp4a), wrapping. */
static inline int slimc_dp4a(int a, int b, int c)
{
    const uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
    int s = 0;
    for (unsigned i = 0; i < 32u; i += 8u)
        s += (int)(int8_t)(uint8_t)(ua >> i) * (int)(int8_t)(uint8_t)(ub >> i);
    return (int)((uint32_t)c + (uint32_t)s);
}

/* ------------------------------------------------------------------------------------ */
/* Tensor cores: mma.sync.aligned, row.col, from the fragment layouts of the PTX ISA     */
/* (section 9.7.14.5, "Matrix Fragments for mma.m16n8k16 with floating point type" and  */
/* "Matrix Fragments for mma.m16n8k32"). With g = lane >> 2 and t = lane & 3:           */
/*   m16n8k16 .f16/.bf16, A (16x16, four .f16x2 registers, element i in register i/2,   */
/*     low half first):  a[0] = A[g][2t..2t+1]    a[1] = A[g+8][2t..2t+1]                */
/*                       a[2] = A[g][2t+8..2t+9]  a[3] = A[g+8][2t+8..2t+9]              */
/*   B (16x8, two .f16x2): b[0] = B[2t..2t+1][g]  b[1] = B[2t+8..2t+9][g]                */
/*   C, D (16x8 f32):    c[0], c[1] = C[g][2t], C[g][2t+1]   c[2], c[3] = row g+8        */
/*   m16n8k32 .s8, A (16x32, four .b32 of four bytes, lowest byte first):                */
/*     a[0] = A[g][4t..4t+3]  a[1] = A[g+8][4t..4t+3]  a[2] = A[g][4t+16..]              */
/*     a[3] = A[g+8][4t+16..];  B (32x8): b[0] = B[4t..4t+3][g]  b[1] = B[4t+16..][g];  */
/*     C, D (s32) as for m16n8k16.                                                      */
/* Each lane deposits its a and b, the warp meets, each lane computes its own d from    */
/* all lanes' fragments. f32 accumulation: the 16 exact products and c are summed in     */
/* double and rounded once (the hardware's order of additions is not documented; results */
/* may differ from it in the last bits). s8: exact, the s32 sum wraps (no .satfinite).   */

/* Element (row, k) of A, (k, col) of B, for 16-bit operands in the warp's buffer. */
static inline uint16_t slimc_emu_mma_a16(const SlimcEmuWarp *W, unsigned buf, unsigned row,
                                         unsigned k)
{
    const unsigned lane = (row & 7u) * 4u + ((k & 7u) >> 1), reg = (row >> 3) + 2u * (k >> 3);
    if (!((W->present[buf] >> lane) & 1u))
        return 0;
    return (uint16_t)(W->xch[buf][lane][reg] >> (16u * (k & 1u)));
}
static inline uint16_t slimc_emu_mma_b16(const SlimcEmuWarp *W, unsigned buf, unsigned k,
                                         unsigned col)
{
    const unsigned lane = col * 4u + ((k & 7u) >> 1), reg = 4u + (k >> 3);
    if (!((W->present[buf] >> lane) & 1u))
        return 0;
    return (uint16_t)(W->xch[buf][lane][reg] >> (16u * (k & 1u)));
}

static inline void slimc_emu_mma_16816(float d[4], const uint32_t a[4], const uint32_t b[2],
                                       const float c[4], int kind)
{
    SlimcEmu *E = &slimc_emu_state;
    unsigned buf;
    uint32_t *x = slimc_emu_xch_open(E, &buf);
    memcpy(x, a, 4 * sizeof a[0]);
    memcpy(x + 4, b, 2 * sizeof b[0]);
    slimc_emu_warp_sync(E, kind);
    const SlimcEmuWarp *W = &E->warp[E->cur >> 5];
    const unsigned lane = E->cur & 31u, g = lane >> 2, t = lane & 3u;
    for (unsigned i = 0; i < 4; i++) {
        const unsigned row = g + 8u * (i >> 1), col = 2u * t + (i & 1u);
        double acc = (double)c[i];
        for (unsigned k = 0; k < 16; k++) {
            const uint16_t ha = slimc_emu_mma_a16(W, buf, row, k);
            const uint16_t hb = slimc_emu_mma_b16(W, buf, k, col);
            if (kind == SLIMC_EMU_OP_MMA_F16)
                acc += (double)slimc_h2f(ha) * (double)slimc_h2f(hb);
            else
                acc += (double)slimc_b2f(ha) * (double)slimc_b2f(hb);
        }
        d[i] = (float)acc;
    }
}

/* d = A * B + c, m16n8k16, f16 operands, f32 accumulators (every lane of the warp). */
static inline void slimc_mma_f16_16816(float d[4], const uint32_t a[4], const uint32_t b[2],
                                       const float c[4])
{
    slimc_emu_mma_16816(d, a, b, c, SLIMC_EMU_OP_MMA_F16);
}

/* The same with bfloat16 operands. */
static inline void slimc_mma_bf16_16816(float d[4], const uint32_t a[4], const uint32_t b[2],
                                        const float c[4])
{
    slimc_emu_mma_16816(d, a, b, c, SLIMC_EMU_OP_MMA_BF16);
}

/* d = A * B + c, m16n8k32, s8 operands, s32 accumulators (every lane of the warp). */
static inline void slimc_mma_s8_16832(int d[4], const uint32_t a[4], const uint32_t b[2],
                                      const int c[4])
{
    SlimcEmu *E = &slimc_emu_state;
    unsigned buf;
    uint32_t *x = slimc_emu_xch_open(E, &buf);
    memcpy(x, a, 4 * sizeof a[0]);
    memcpy(x + 4, b, 2 * sizeof b[0]);
    slimc_emu_warp_sync(E, SLIMC_EMU_OP_MMA_S8);
    const SlimcEmuWarp *W = &E->warp[E->cur >> 5];
    const unsigned lane = E->cur & 31u, g = lane >> 2, t = lane & 3u;
    for (unsigned i = 0; i < 4; i++) {
        const unsigned row = g + 8u * (i >> 1), col = 2u * t + (i & 1u);
        uint32_t acc = (uint32_t)c[i];
        for (unsigned k = 0; k < 32; k++) {
            const unsigned la = (row & 7u) * 4u + ((k & 15u) >> 2), ra = (row >> 3) + 2u * (k >> 4);
            const unsigned lb = col * 4u + ((k & 15u) >> 2), rb = 4u + (k >> 4);
            const unsigned sh = 8u * (k & 3u);
            const int ea = ((W->present[buf] >> la) & 1u)
                               ? (int)(int8_t)(uint8_t)(W->xch[buf][la][ra] >> sh)
                               : 0;
            const int eb = ((W->present[buf] >> lb) & 1u)
                               ? (int)(int8_t)(uint8_t)(W->xch[buf][lb][rb] >> sh)
                               : 0;
            acc += (uint32_t)(ea * eb);
        }
        d[i] = (int)acc;
    }
}

#endif /* SLIMC_CUDA_EMU_H */
