/* threadpool.c — the persistent thread pool of generated code (part of the generated
 * runtime/slimc_rt.h, defined `static` in every model, so two generated models can live in
 * one process, each with its own pool).
 *
 * Threads: a small persistent pthread pool (no OpenMP: a process must never hold two
 * OpenMP runtimes, and an ahead-of-time library must not force one on its host).
 * Workers are created on the first parallel call with nthreads > 1 and reused; they sleep
 * on a condition variable between jobs. nthreads <= 1 runs inline and creates nothing.
 * A job splits [0, n) in contiguous chunks, one per thread; kernels never split a
 * reduction across chunks, so results do not depend on the thread count. */
#include "runtime/kernels/base.h"

typedef void (*slimc_rt_fn)(void *ctx, int64_t begin, int64_t end);

#define SLIMC_RT_MAX_THREADS 256

typedef struct slimc_rt_pool {
    pthread_mutex_t lock; /* guards everything below */
    pthread_mutex_t busy; /* held by the caller running a job */
    pthread_cond_t wake, done;
    pthread_t threads[SLIMC_RT_MAX_THREADS];
    int n_threads;                            /* workers started */
    unsigned long seen[SLIMC_RT_MAX_THREADS]; /* generation each worker last ran */
    unsigned long generation;                 /* bumped per job */
    int quit;
    /* the current job */
    slimc_rt_fn fn;
    void *ctx;
    int64_t n;
    int chunks;  /* chunks of this job, caller included */
    int pending; /* worker chunks not finished yet */
} slimc_rt_pool;

static slimc_rt_pool slimc_rt_the_pool = {PTHREAD_MUTEX_INITIALIZER,
                                          PTHREAD_MUTEX_INITIALIZER,
                                          PTHREAD_COND_INITIALIZER,
                                          PTHREAD_COND_INITIALIZER,
                                          {0},
                                          0,
                                          {0},
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0};

static void slimc_rt_chunk(int64_t n, int chunks, int i, int64_t *b, int64_t *e)
{
    /* n is an item count (rows, planes), far below 2^55, so n * 256 cannot overflow. */
    *b = n * i / chunks;
    *e = n * (i + 1) / chunks;
}

static void *slimc_rt_worker(void *arg)
{
    slimc_rt_pool *p = &slimc_rt_the_pool;
    int me = (int)(intptr_t)arg; /* worker k runs chunk k + 1 */
    unsigned long seen;
    pthread_mutex_lock(&p->lock);
    seen = p->seen[me]; /* the generation before the job it was started for */
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        if (me + 1 < p->chunks) {
            slimc_rt_fn fn = p->fn;
            void *ctx = p->ctx;
            int64_t b, e;
            slimc_rt_chunk(p->n, p->chunks, me + 1, &b, &e);
            pthread_mutex_unlock(&p->lock);
            fn(ctx, b, e);
            pthread_mutex_lock(&p->lock);
            if (--p->pending == 0)
                pthread_cond_signal(&p->done);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Stops and joins the workers when the program exits or the shared object is unloaded
 * (their code goes away with it). */
static void slimc_rt_pool_shutdown(void) __attribute__((destructor));
static void slimc_rt_pool_shutdown(void)
{
    slimc_rt_pool *p = &slimc_rt_the_pool;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    int n = p->n_threads;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    p->n_threads = 0;
}

/* Runs fn(ctx, b, e) over contiguous chunks covering [0, n), on up to nthreads threads
 * (the caller included). Falls back to running inline when nthreads <= 1, when n is 1,
 * when another caller is using the pool at the moment, or when threads cannot be made. */
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
    if (nthreads <= 1 || pthread_mutex_trylock(&p->busy) != 0) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->lock);
    while (p->n_threads < nthreads - 1 && !p->quit) {
        p->seen[p->n_threads] = p->generation;
        if (pthread_create(&p->threads[p->n_threads], NULL, slimc_rt_worker,
                           (void *)(intptr_t)p->n_threads) != 0)
            break;
        p->n_threads++;
    }
    if (nthreads - 1 > p->n_threads)
        nthreads = p->n_threads + 1;
    if (nthreads <= 1) {
        pthread_mutex_unlock(&p->lock);
        pthread_mutex_unlock(&p->busy);
        fn(ctx, 0, n);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunks = nthreads;
    p->pending = nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    {
        int64_t b, e;
        slimc_rt_chunk(n, nthreads, 0, &b, &e);
        fn(ctx, b, e);
    }
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    p->chunks = 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->busy);
}

/* How many threads a job of about `work` multiply-adds deserves: small jobs run inline,
 * where waking the pool would cost more than it saves. */
static SLIMC_RT_UNUSED int slimc_rt_threads(int nthreads, int64_t work)
{
    if (work < 32768)
        return 1;
    return nthreads;
}
