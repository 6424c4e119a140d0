/* The generated code's thread pool (runtime/kernels/threadpool.c, included here as it is
 * pasted into every model): chunks cover [0, n) once each, fixed by n and the thread
 * count; a second caller on another thread gets the workers (it waits, it never runs the
 * job alone on one thread); a nested call runs inline; idle workers park instead of
 * spinning; the split by work size; the CPU count. Then two models, and two executables of
 * one model, run at the same time from two threads through the public API, with results
 * equal to one thread's. */
#define _GNU_SOURCE 1 /* sched_getaffinity, for slimc_rt_cpu_count and the check of it */
#include "runtime/kernels/threadpool.c"

#include "slimc/slimc.h"

#include <check.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- coverage and chunking: SLIMC_RT_CHUNKS_PER_THREAD chunks per thread, at most n ---- */

typedef struct Cover {
    int64_t n;
    int chunks;
    int hits[1000];
    int bad; /* a call whose range is not one of the chunks */
} Cover;

static void cover_fn(void *ctx, int64_t b, int64_t e)
{
    Cover *c = ctx;
    int ok = 0;
    for (int i = 0; i < c->chunks; i++)
        ok |= b == c->n * i / c->chunks && e == c->n * (i + 1) / c->chunks;
    if (!ok)
        __atomic_add_fetch(&c->bad, 1, __ATOMIC_RELAXED);
    for (int64_t i = b; i < e; i++)
        __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
}

START_TEST(test_chunks_cover)
{
    static const int64_t ns[] = {1, 2, 3, 7, 64, 999};
    for (int t = 1; t <= 5; t++)
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
            for (int rep = 0; rep < 20; rep++) {
                static Cover c;
                memset(&c, 0, sizeof c);
                c.n = ns[k];
                const int64_t want = (int64_t)t * SLIMC_RT_CHUNKS_PER_THREAD;
                c.chunks = t == 1 ? 1 : want < c.n ? (int)want : (int)c.n;
                slimc_rt_parallel_for(t, c.n, cover_fn, &c);
                ck_assert_msg(c.bad == 0, "n=%lld threads=%d: a call off the chunks",
                              (long long)c.n, t);
                for (int64_t i = 0; i < c.n; i++)
                    ck_assert_msg(c.hits[i] == 1, "n=%lld threads=%d: item %lld run %d times",
                                  (long long)c.n, t, (long long)i, c.hits[i]);
            }
}
END_TEST

/* ---- two callers ---- */

/* A job of two chunks whose chunks each wait until the other has started: it ends only
 * when two threads run it at once (or after 5 s, counted as a failure). */
typedef struct Pair {
    int started[2];
    int whole; /* a call that got both items: the job ran on one thread */
    int timed_out;
    pthread_t who[2];
} Pair;

static int b_calling; /* caller B is about to call the pool */

static void pair_fn(void *ctx, int64_t b, int64_t e)
{
    Pair *p = ctx;
    if (e - b != 1) {
        __atomic_store_n(&p->whole, 1, __ATOMIC_RELAXED);
        return;
    }
    p->who[b] = pthread_self();
    __atomic_store_n(&p->started[b], 1, __ATOMIC_SEQ_CST);
    const double t0 = now_s(CLOCK_MONOTONIC);
    while (!__atomic_load_n(&p->started[1 - b], __ATOMIC_SEQ_CST))
        if (now_s(CLOCK_MONOTONIC) - t0 > 5) {
            __atomic_store_n(&p->timed_out, 1, __ATOMIC_RELAXED);
            return;
        } else
            sched_yield();
}

/* Caller A's first job also holds the pool until caller B has come to call it. */
static void pair_fn_hold(void *ctx, int64_t b, int64_t e)
{
    pair_fn(ctx, b, e);
    const double t0 = now_s(CLOCK_MONOTONIC);
    while (!__atomic_load_n(&b_calling, __ATOMIC_SEQ_CST) && now_s(CLOCK_MONOTONIC) - t0 < 5)
        sched_yield();
    usleep(50000); /* B is now inside slimc_rt_parallel_for */
}

enum { JOBS = 30 };
typedef struct Caller {
    int id, failed;
    char msg[200];
} Caller;

static void *caller_main(void *arg)
{
    Caller *c = arg;
    for (int j = 0; j < JOBS && !c->failed; j++) {
        Pair p;
        memset(&p, 0, sizeof p);
        if (c->id == 1 && j == 0) {
            __atomic_store_n(&b_calling, 1, __ATOMIC_SEQ_CST);
            slimc_rt_parallel_for(2, 2, pair_fn, &p);
        } else {
            slimc_rt_parallel_for(2, 2, c->id == 0 && j == 0 ? pair_fn_hold : pair_fn, &p);
        }
        if (p.whole || p.timed_out || !p.started[0] || !p.started[1] ||
            pthread_equal(p.who[0], p.who[1])) {
            c->failed = 1;
            snprintf(c->msg, sizeof c->msg, "caller %d, job %d: %s", c->id, j,
                     p.whole       ? "ran on the caller alone"
                     : p.timed_out ? "its chunks never ran at once"
                                   : "not both chunks ran, or on one thread");
        }
    }
    return NULL;
}

/* Before the pool waited for a busy pool, the second caller ran the whole job inline. */
START_TEST(test_two_callers_both_threaded)
{
    Caller c[2] = {{0, 0, ""}, {1, 0, ""}};
    pthread_t t[2];
    b_calling = 0;
    ck_assert_int_eq(pthread_create(&t[0], NULL, caller_main, &c[0]), 0);
    usleep(20000); /* A takes the pool first */
    ck_assert_int_eq(pthread_create(&t[1], NULL, caller_main, &c[1]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(!c[i].failed, "%s", c[i].msg);
}
END_TEST

/* ---- nesting, parking, the split by work, the CPU count ---- */

static int inner_hits;
static void inner_fn(void *ctx, int64_t b, int64_t e)
{
    (void)ctx;
    __atomic_add_fetch(&inner_hits, (int)(e - b), __ATOMIC_RELAXED);
}
static void outer_fn(void *ctx, int64_t b, int64_t e)
{
    (void)ctx;
    for (int64_t i = b; i < e; i++)
        slimc_rt_parallel_for(4, 10, inner_fn, NULL);
}

START_TEST(test_nested_inline)
{
    inner_hits = 0;
    slimc_rt_parallel_for(3, 6, outer_fn, NULL); /* would deadlock on the busy pool */
    ck_assert_int_eq(inner_hits, 60);
}
END_TEST

static void spin_fn(void *ctx, int64_t b, int64_t e)
{
    volatile double *x = ctx;
    for (int64_t i = b; i < e; i++)
        for (int k = 0; k < 1000; k++)
            x[i] += 1;
}

/* After a burst of jobs, the workers spin for at most SLIMC_RT_SPIN_NS and then sleep:
 * a quarter of a second idle costs the process almost no CPU time. */
START_TEST(test_idle_workers_park)
{
    static double x[64];
    for (int j = 0; j < 200; j++)
        slimc_rt_parallel_for(4, 64, spin_fn, x);
    usleep(50000); /* longer than the spin */
    const double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    usleep(250000);
    const double used = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    ck_assert_msg(used < 0.02, "idle workers used %.3f s of CPU in 0.25 s", used);
}
END_TEST

START_TEST(test_threads_by_work)
{
    ck_assert_int_eq(slimc_rt_threads(8, 0), 1);
    ck_assert_int_eq(slimc_rt_threads(8, 2 * SLIMC_RT_MIN_WORK - 1), 1);
    ck_assert_int_eq(slimc_rt_threads(8, 2 * SLIMC_RT_MIN_WORK), 2);
    ck_assert_int_eq(slimc_rt_threads(8, 5 * SLIMC_RT_MIN_WORK + 7), 5);
    ck_assert_int_eq(slimc_rt_threads(8, (int64_t)1 << 40), 8);
    ck_assert_int_eq(slimc_rt_threads(1, (int64_t)1 << 40), 1);
    ck_assert_int_eq(slimc_rt_threads(0, (int64_t)1 << 40), 1);
}
END_TEST

START_TEST(test_cpu_count)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(slimc_rt_cpu_count(), CPU_COUNT(&set));
    /* one CPU allowed: one thread */
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) {
            CPU_SET(i, &one);
            break;
        }
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    const int n1 = slimc_rt_cpu_count();
    ck_assert_int_eq(sched_setaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(n1, 1);
}
END_TEST

/* ---- models through the API, from two threads at once ---- */

static char path_buf[8][1024];
static const char *sample(int slot, const char *name, const char *file)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/samples/%s/%s", root ? root : ".", name,
             file);
    return path_buf[slot];
}

typedef struct Job {
    SlimcExec *e;
    const SlimcTensor *in;
    const SlimcTensor *want; /* the one-thread result */
    int runs, failed;
} Job;

static void *job_main(void *arg)
{
    Job *j = arg;
    SlimcContext *ctx = slimc_context_new();
    for (int r = 0; r < j->runs && !j->failed; r++) {
        SlimcTensor got;
        if (slimc_exec_run(ctx, j->e, j->in, 1, &got, 1) != SLIMC_OK) {
            j->failed = 1;
            break;
        }
        j->failed = got.nbytes != j->want->nbytes || memcmp(got.data, j->want->data, got.nbytes);
        slimc_tensor_free(&got);
    }
    slimc_context_free(ctx);
    return NULL;
}

static SlimcExec *compile(SlimcContext *ctx, const char *name, int threads, SlimcModel **m)
{
    char file[64];
    snprintf(file, sizeof file, "%s.slim", name);
    SlimcOptions o;
    slimc_options_default(&o);
    o.threads = threads;
    SlimcExec *e;
    ck_assert_msg(slimc_model_load(ctx, sample(0, name, file), m) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    ck_assert_msg(slimc_compile(ctx, *m, &o, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    return e;
}

/* lenet and mlp (each with its own pool), and a second executable of lenet (the same code,
 * so the same pool), all at 2 threads, run at once from three threads: every result is
 * bit-identical to one thread's. */
START_TEST(test_models_at_once)
{
    static const char *const names[3] = {"lenet", "mlp", "lenet"};
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m[3];
    SlimcExec *e[3];
    SlimcTensor in[3], want[3];
    Job jobs[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        ck_assert(slimc_npy_load(ctx, sample(1, names[i], "input.npy"), &in[i]) == SLIMC_OK);
        SlimcModel *m1;
        SlimcExec *e1 = compile(ctx, names[i], 1, &m1);
        ck_assert_msg(slimc_exec_run(ctx, e1, &in[i], 1, &want[i], 1) == SLIMC_OK, "%s",
                      slimc_error(ctx));
        slimc_exec_free(e1);
        slimc_model_free(m1);
        e[i] = compile(ctx, names[i], 2, &m[i]);
        jobs[i] = (Job){e[i], &in[i], &want[i], 40, 0};
    }
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, job_main, &jobs[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(!jobs[i].failed, "%s (caller %d): differs from one thread's result", names[i],
                      i);
        slimc_exec_free(e[i]);
        slimc_model_free(m[i]);
        slimc_tensor_free(&in[i]);
        slimc_tensor_free(&want[i]);
    }
    slimc_context_free(ctx);
}
END_TEST

/* The default thread count (threads = 0, as slimc_options_default leaves it): the CPUs
 * this process may use. */
START_TEST(test_default_threads)
{
    SlimcOptions o;
    slimc_options_default(&o);
    ck_assert_int_eq(o.threads, 0);
    ck_assert_int_eq(slimc_default_threads(), slimc_rt_cpu_count());
}
END_TEST

static Suite *threadpool_suite(void)
{
    Suite *s = suite_create("threadpool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_chunks_cover);
    tcase_add_test(tc, test_two_callers_both_threaded);
    tcase_add_test(tc, test_nested_inline);
    tcase_add_test(tc, test_idle_workers_park);
    tcase_add_test(tc, test_threads_by_work);
    tcase_add_test(tc, test_cpu_count);
    suite_add_tcase(s, tc);
    TCase *api = tcase_create("api");
    tcase_set_timeout(api, 120);
    tcase_add_test(api, test_models_at_once);
    tcase_add_test(api, test_default_threads);
    suite_add_tcase(s, api);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(threadpool_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : 0;
}
