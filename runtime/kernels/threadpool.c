/* threadpool.c — the persistent thread pool of generated code (part of the generated
 * runtime/slimc_rt.h, defined `static` in every model, so two generated models can live in
 * one process, each with its own pool).
 *
 * Threads: a small persistent pthread pool (no OpenMP: a process must never hold two
 * OpenMP runtimes, and an ahead-of-time library must not force one on its host).
 * Workers are created on the first parallel call with nthreads > 1 and reused.
 * nthreads <= 1 runs inline and creates nothing.
 *
 * A job splits [0, n) in contiguous chunks (SLIMC_RT_CHUNKS_PER_THREAD per thread, at
 * most n), fixed by n and the thread count alone; kernels never split a reduction across
 * chunks, so results do not depend on the thread count nor on which thread runs which
 * chunk. Threads claim chunks from an atomic counter, the caller first: a worker that is
 * late (not yet woken, or descheduled on a busy machine) leaves its chunks to the threads
 * that run instead of holding the job up.
 *
 * Waking without a syscall: a job is published by bumping an atomic job word (a sequence
 * number, with the job's chunk count in its low bits). A worker that finished its chunk
 * spins on that word (with the CPU's pause hint) for up to SLIMC_RT_SPIN_NS, so the next
 * job of a model — usually microseconds away — starts with no system call; only then
 * does it park on a condition variable (and the caller takes the mutex to wake it only
 * when some worker is parked). The caller likewise spins for chunks still running before
 * it parks. An idle pool therefore sleeps: no core is burnt for longer than the spin.
 *
 * One job at a time: a second caller (another thread calling the same model) waits for
 * the running job to end — at the granularity of one parallel region, so two callers'
 * regions interleave — and then has all the workers; it never silently runs on one
 * thread. A parallel_for called from inside a job (a chunk's function) runs inline, so
 * the pool cannot deadlock on itself. */
#include "runtime/kernels/base.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

typedef void (*slimc_rt_fn)(void *ctx, int64_t begin, int64_t end);

#define SLIMC_RT_MAX_THREADS 256

/* How long a worker waits spinning for the next job, and the caller for the workers,
 * before parking (a futex sleep and wake costs tens of microseconds on a VM). */
#ifndef SLIMC_RT_SPIN_NS
#define SLIMC_RT_SPIN_NS 50000
#endif

/* 1: a spinning thread offers its CPU to others (sched_yield) once per 64 pauses. */
#ifndef SLIMC_RT_SPIN_YIELD
#define SLIMC_RT_SPIN_YIELD 1
#endif

/* Chunks per thread: a few, so that a worker descheduled in the middle of its chunk (on a
 * machine busy with other work) holds up only a small part of the job, the rest being
 * claimed by the threads that run. */
#ifndef SLIMC_RT_CHUNKS_PER_THREAD
#define SLIMC_RT_CHUNKS_PER_THREAD 4
#endif

/* The smallest job (in the work units codegen gives: about one multiply-add or one
 * element) worth one more thread; smaller jobs run inline. */
#ifndef SLIMC_RT_MIN_WORK
#define SLIMC_RT_MIN_WORK 32768
#endif

typedef struct slimc_rt_pool {
    pthread_mutex_t busy; /* held by the caller running a job: one job at a time */
    pthread_mutex_t lock; /* guards starting threads, parking and waking */
    pthread_cond_t wake, done;
    pthread_t threads[SLIMC_RT_MAX_THREADS];
    uint64_t seen[SLIMC_RT_MAX_THREADS]; /* the job word each worker was started at */
    int n_threads;                       /* workers started (under lock) */
    /* Atomics (__atomic builtins; sequentially consistent where a parked thread is
     * involved: "publish, then look whether anyone sleeps" against "say that I sleep, then
     * look again"). The job word is (sequence number << 16) | chunks, the claim word
     * (the same sequence number << 16) | the next chunk: a thread still looking at an
     * older job claims nothing. */
    uint64_t job;
    int quit;
    uint64_t claim;    /* see above */
    int finished;      /* chunks of this job finished */
    int parked;        /* workers parked on wake */
    int caller_parked; /* 1 while the caller sleeps on done */
    int owner_active;  /* 1 while the caller (owner) runs chunks of its job */
    pthread_t owner;   /* the caller holding busy */
    /* the current job, written by the caller before it publishes the job word and kept
     * until its chunks are done */
    slimc_rt_fn fn;
    void *ctx;
    int64_t n;
} slimc_rt_pool;

static slimc_rt_pool slimc_rt_the_pool = {PTHREAD_MUTEX_INITIALIZER,
                                          PTHREAD_MUTEX_INITIALIZER,
                                          PTHREAD_COND_INITIALIZER,
                                          PTHREAD_COND_INITIALIZER,
                                          {0},
                                          {0},
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0};

static inline void slimc_rt_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline int64_t slimc_rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spin-waits of at most SLIMC_RT_SPIN_NS, each returning the last value read (acquire): a
 * worker's, while the job word is still old; the caller's, until all chunks are finished.
 * After the first 64 pauses, the clock is read and the CPU offered to another thread
 * (sched_yield: at once back when none waits) once per 64 pauses, so that spinning on a
 * machine with more threads than CPUs does not keep the thread that we wait for off the
 * CPU. */
static uint64_t slimc_rt_spin_job(const uint64_t *at, uint64_t old)
{
    uint64_t v = __atomic_load_n(at, __ATOMIC_ACQUIRE);
    int64_t until = 0;
    for (unsigned i = 1; v == old; i++) {
        slimc_rt_pause();
        v = __atomic_load_n(at, __ATOMIC_ACQUIRE);
        if (v == old && (i & 63) == 0) {
            const int64_t t = slimc_rt_now_ns();
            if (!until)
                until = t + SLIMC_RT_SPIN_NS;
            else if (t >= until)
                break;
            else if (SLIMC_RT_SPIN_YIELD)
                sched_yield(); /* a thread waiting for this CPU runs first */
        }
    }
    return v;
}
static int slimc_rt_spin_finished(const int *at, int want)
{
    int v = __atomic_load_n(at, __ATOMIC_ACQUIRE);
    int64_t until = 0;
    for (unsigned i = 1; v != want; i++) {
        slimc_rt_pause();
        v = __atomic_load_n(at, __ATOMIC_ACQUIRE);
        if (v != want && (i & 63) == 0) {
            const int64_t t = slimc_rt_now_ns();
            if (!until)
                until = t + SLIMC_RT_SPIN_NS;
            else if (t >= until)
                break;
            else if (SLIMC_RT_SPIN_YIELD)
                sched_yield();
        }
    }
    return v;
}

static void slimc_rt_chunk(int64_t n, int chunks, int i, int64_t *b, int64_t *e)
{
    /* n is an item count (rows, planes), far below 2^55, so n * 256 cannot overflow. */
    *b = n * i / chunks;
    *e = n * (i + 1) / chunks;
}

/* True on a thread running a chunk of this pool's job: one of its workers, or the caller
 * while it runs chunks. No thread-local variable: a `__thread` in a model loaded with
 * dlopen makes LeakSanitizer's thread scan crash at exit, and not every JIT supports one. */
static int slimc_rt_in_job(slimc_rt_pool *p)
{
    const pthread_t me = pthread_self();
    if (__atomic_load_n(&p->owner_active, __ATOMIC_ACQUIRE)) {
        pthread_t o;
        __atomic_load(&p->owner, &o, __ATOMIC_RELAXED);
        if (pthread_equal(o, me))
            return 1;
    }
    /* workers are started only between jobs (busy held), before the job word that wakes
     * them is published, so a worker sees itself here */
    const int n = __atomic_load_n(&p->n_threads, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (pthread_equal(p->threads[i], me))
            return 1;
    return 0;
}

/* Claims chunks of job number seq (of `chunks` chunks) and runs them until none is left;
 * the thread that finishes the job's last chunk wakes the caller if it parked. A thread
 * still looking at an older job claims nothing: the claim word carries the job number. */
static void slimc_rt_run_chunks(slimc_rt_pool *p, uint64_t seq, int chunks)
{
    uint64_t c = __atomic_load_n(&p->claim, __ATOMIC_ACQUIRE);
    while ((c >> 16) == seq && (int)(c & 0xffff) < chunks) {
        if (!__atomic_compare_exchange_n(&p->claim, &c, c + 1, 1, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            continue; /* c is the value seen: try again */
        int64_t b, e;
        slimc_rt_chunk(p->n, chunks, (int)(c & 0xffff), &b, &e);
        p->fn(p->ctx, b, e);
        /* (a wake-up that reaches the next job's caller instead is harmless: it looks
         * again) */
        if (__atomic_add_fetch(&p->finished, 1, __ATOMIC_SEQ_CST) == chunks &&
            __atomic_load_n(&p->caller_parked, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
        c = __atomic_load_n(&p->claim, __ATOMIC_ACQUIRE);
    }
}

static void *slimc_rt_worker(void *arg)
{
    slimc_rt_pool *p = &slimc_rt_the_pool;
    const int me = (int)(intptr_t)arg;
    uint64_t seen, job;
    pthread_mutex_lock(&p->lock);
    seen = p->seen[me]; /* the job word before the job it was started for */
    pthread_mutex_unlock(&p->lock);
    for (;;) {
        job = slimc_rt_spin_job(&p->job, seen);
        if (job == seen) { /* idle: park until the next job */
            pthread_mutex_lock(&p->lock);
            __atomic_add_fetch(&p->parked, 1, __ATOMIC_SEQ_CST);
            while ((job = __atomic_load_n(&p->job, __ATOMIC_SEQ_CST)) == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            __atomic_sub_fetch(&p->parked, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&p->lock);
        }
        if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
            break;
        seen = job;
        slimc_rt_run_chunks(p, job >> 16, (int)(job & 0xffff));
    }
    return NULL;
}

/* Stops and joins the workers when the program exits or the shared object is unloaded
 * (their code goes away with it). */
static void slimc_rt_pool_shutdown(void) __attribute__((destructor));
static void slimc_rt_pool_shutdown(void)
{
    slimc_rt_pool *p = &slimc_rt_the_pool;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->quit, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&p->job, (uint64_t)1 << 16, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&p->wake);
    const int n = p->n_threads;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    __atomic_store_n(&p->n_threads, 0, __ATOMIC_RELEASE);
}

/* Starts workers until there are `want`; returns how many there are. Called with busy
 * held, so that no job is published meanwhile. */
static int slimc_rt_start_workers(slimc_rt_pool *p, int want)
{
    pthread_mutex_lock(&p->lock);
    while (p->n_threads < want && !p->quit) {
        p->seen[p->n_threads] = __atomic_load_n(&p->job, __ATOMIC_RELAXED);
        if (pthread_create(&p->threads[p->n_threads], NULL, slimc_rt_worker,
                           (void *)(intptr_t)p->n_threads) != 0)
            break;
        __atomic_store_n(&p->n_threads, p->n_threads + 1, __ATOMIC_RELEASE);
    }
    const int n = p->n_threads;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* Runs fn(ctx, b, e) over contiguous chunks covering [0, n), on up to nthreads threads
 * (the caller included). Runs inline when nthreads <= 1, when n is 1, when called from
 * inside a job of this pool, or when no thread can be made; waits while another caller's
 * job runs. */
static SLIMC_RT_UNUSED void slimc_rt_parallel_for(int nthreads, int64_t n, slimc_rt_fn fn,
                                                  void *ctx)
{
    slimc_rt_pool *p = &slimc_rt_the_pool;
    if (n <= 0)
        return;
    if (nthreads > SLIMC_RT_MAX_THREADS)
        nthreads = SLIMC_RT_MAX_THREADS;
    if ((int64_t)nthreads > n)
        nthreads = (int)n;
    if (nthreads <= 1 || slimc_rt_in_job(p)) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->busy);
    if (p->n_threads < nthreads - 1) {
        int have = slimc_rt_start_workers(p, nthreads - 1);
        if (nthreads - 1 > have)
            nthreads = have + 1;
    }
    if (nthreads <= 1) {
        pthread_mutex_unlock(&p->busy);
        fn(ctx, 0, n);
        return;
    }
    const uint64_t seq = (__atomic_load_n(&p->job, __ATOMIC_RELAXED) >> 16) + 1;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    __atomic_store_n(&p->finished, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->claim, seq << 16, __ATOMIC_RELAXED);
    /* publish (what is written above is released with it), then wake parked workers */
    const int chunks = (int64_t)nthreads * SLIMC_RT_CHUNKS_PER_THREAD < n
                           ? nthreads * SLIMC_RT_CHUNKS_PER_THREAD
                           : (int)n;
    __atomic_store_n(&p->job, seq << 16 | (uint64_t)chunks, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->parked, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_t me = pthread_self();
    __atomic_store(&p->owner, &me, __ATOMIC_RELAXED);
    __atomic_store_n(&p->owner_active, 1, __ATOMIC_RELEASE);
    slimc_rt_run_chunks(p, seq, chunks);
    __atomic_store_n(&p->owner_active, 0, __ATOMIC_RELEASE);
    /* wait for the chunks still running on workers: spin, then park */
    if (slimc_rt_spin_finished(&p->finished, chunks) != chunks) {
        pthread_mutex_lock(&p->lock);
        __atomic_store_n(&p->caller_parked, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&p->finished, __ATOMIC_SEQ_CST) != chunks)
            pthread_cond_wait(&p->done, &p->lock);
        __atomic_store_n(&p->caller_parked, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&p->busy);
}

/* How many threads a job of about `work` units (multiply-adds, elements) deserves: one
 * per SLIMC_RT_MIN_WORK units, at most nthreads; small jobs run inline, where sharing
 * them would cost more than it saves. */
static SLIMC_RT_UNUSED int slimc_rt_threads(int nthreads, int64_t work)
{
    if (nthreads <= 1 || work < 2 * (int64_t)SLIMC_RT_MIN_WORK)
        return 1;
    const int64_t t = work / SLIMC_RT_MIN_WORK;
    return t < nthreads ? (int)t : nthreads;
}

/* The CPUs this process may run on (its affinity mask where sched.h tells it, as under
 * _GNU_SOURCE; else the CPUs online), at least 1 and at most SLIMC_RT_MAX_THREADS: the
 * thread count when the caller asks for 0. */
static SLIMC_RT_UNUSED int slimc_rt_cpu_count(void)
{
    long n = 0;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
#endif
#ifdef _SC_NPROCESSORS_ONLN
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n < 1 ? 1 : n > SLIMC_RT_MAX_THREADS ? SLIMC_RT_MAX_THREADS : (int)n;
}
