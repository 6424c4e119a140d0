/* The ONNX conformance runner: for each test folder of the onnx package's node tests
 * (onnx/backend/test/data/node/TEST/{model.onnx, test_data_set_K/{input,output}_J.pb}) it
 * imports the model, compiles it, runs every data set and compares each output with the
 * expected one (|a - b| <= atol + rtol * |b| elementwise, NaN matching NaN; integers and
 * bools exactly). Each test runs in a child process (a crash or a hang fails that test
 * only), several at once. Writes a Markdown report and exits 1 when fewer tests pass than
 * the ratchet file records, or when any test crashed (with --ratchet).
 *
 *   run_node_tests NODE_DIR [--report FILE.md] [--ratchet FILE] [--jobs N] [--filter SUBSTR]
 *                  [--timeout SEC] [-v]
 */
#include "api/api_internal.h"
#include "frontend/onnx.h"
#include "slimc/slimc.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RTOL 1e-3
#define ATOL 1e-5

enum { ST_PASS, ST_FAIL, ST_UNSUPPORTED, ST_ERROR, ST_CRASH };

/* --device: where the models run (cuda: the CUDA backend, on a GPU or, with
 * SLIMC_CUDA_EMULATE=1, under the CPU emulation; docs/cuda.md). */
static SlimcDevice g_device = SLIMC_DEVICE_CPU;
static const char *const status_names[] = {"pass", "FAIL", "unsupported", "error", "crash"};

typedef struct Result {
    char name[160];
    int status;
    int float32;    /* inputs/outputs float32 (integer/bool index or shape inputs allowed) */
    double max_err; /* largest |a - b| over the outputs (FAIL) */
    char reason[400];
    char ops[200]; /* unsupported ONNX op types, comma separated */
    int frozen;    /* graph inputs fixed at import (shape-like inputs: axes, pads, scales) */
} Result;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of entries of dir whose names start with prefix; returns count. */
static int list_dir(const char *dir, const char *prefix, char ***out)
{
    DIR *d = opendir(dir);
    int n = 0, cap = 0;
    char **v = NULL;
    if (!d) {
        *out = NULL;
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            v = realloc(v, sizeof(char *) * (size_t)cap);
        }
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof(char *), cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int numeric_index(const char *name) /* "input_12.pb" -> 12 */
{
    const char *u = strrchr(name, '_');
    return u ? atoi(u + 1) : 0;
}

static int cmp_pb(const void *a, const void *b)
{
    return numeric_index(*(char *const *)a) - numeric_index(*(char *const *)b);
}

static bool is_float(SlimcDType t)
{
    return t == SLIMC_F32 || t == SLIMC_F64 || t == SLIMC_F16 || t == SLIMC_BF16;
}

static double elem(const NpyArray *a, int64_t i)
{
    return ir_dtype_get(a->dtype, a->data, i);
}

static double elem_t(const SlimcTensor *t, int64_t i)
{
    NpyArray a = {.dtype = (DType)t->dtype, .data = t->data};
    return elem(&a, i);
}

/* Loads the .pb files of one data set (prefix "input_" or "output_"). */
static int load_set_named(const char *dir, const char *prefix, NpyArray **out, char ***names_out,
                          Result *r);
static int load_set(const char *dir, const char *prefix, NpyArray **out, Result *r)
{
    return load_set_named(dir, prefix, out, NULL, r);
}

static int load_set_named(const char *dir, const char *prefix, NpyArray **out, char ***names_out,
                          Result *r)
{
    char **names;
    int n = list_dir(dir, prefix, &names);
    qsort(names, (size_t)n, sizeof(char *), cmp_pb);
    NpyArray *arr = calloc((size_t)n + 1, sizeof(NpyArray));
    if (names_out)
        *names_out = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        Diag d;
        ir_diag_init(&d);
        if (!fe_onnx_tensor_read(path, &arr[i], names_out ? &(*names_out)[i] : NULL, &d)) {
            snprintf(r->reason, sizeof r->reason, "reading %s: %s", names[i], ir_diag_text(&d));
            ir_diag_fini(&d);
            free_list(names, n);
            *out = arr;
            return -1 - i;
        }
        ir_diag_fini(&d);
    }
    free_list(names, n);
    *out = arr;
    return n;
}

static const char *g_node_dir; /* stripped from messages */

static void one_line(char *s)
{
    if (g_node_dir) {
        size_t k = strlen(g_node_dir);
        for (char *p; (p = strstr(s, g_node_dir));)
            memmove(p, p + k + (p[k] == '/'), strlen(p + k + (p[k] == '/')) + 1);
    }
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '|' || *p == '\t')
            *p = ' ';
}

/* Collects the op types of "node 'X': OpType (" lines of an import error. */
static void collect_ops(const char *msg, char *ops, size_t size)
{
    ops[0] = 0;
    for (const char *p = msg; (p = strstr(p, "\n  node '"));) {
        const char *q = strstr(p, "': ");
        if (!q)
            break;
        q += 3;
        const char *e = strchr(q, ' ');
        if (!e)
            break;
        char op[64];
        size_t len = (size_t)(e - q) < sizeof op - 1 ? (size_t)(e - q) : sizeof op - 1;
        memcpy(op, q, len);
        op[len] = 0;
        if (!strstr(ops, op) && strlen(ops) + len + 2 < size) {
            if (ops[0])
                strcat(ops, ",");
            strcat(ops, op);
        }
        p = e;
    }
}

typedef struct Needs {
    char *names[64];
    int n;
} Needs;

static void note_need(void *arg, const char *name)
{
    Needs *nd = arg;
    for (int i = 0; i < nd->n; i++)
        if (!strcmp(nd->names[i], name))
            return;
    if (nd->n < 64)
        nd->names[nd->n++] = strdup(name);
}

/* Runs one test (in the child process). */
static void run_test(const char *node_dir, const char *name, Result *r)
{
    char dir[1024], model[1100];
    snprintf(dir, sizeof dir, "%s/%s", node_dir, name);
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    char **sets;
    int n_sets = list_dir(dir, "test_data_set_", &sets);
    /* classify by the first data set */
    r->float32 = 0;
    if (n_sets > 0) {
        char sd[1200];
        snprintf(sd, sizeof sd, "%s/%s", dir, sets[0]);
        NpyArray *ins = NULL, *outs = NULL;
        int ni = load_set(sd, "input_", &ins, r), no = load_set(sd, "output_", &outs, r);
        bool f32 = ni >= 0 && no > 0, any = false;
        for (int i = 0; f32 && i < ni; i++) {
            if (ins[i].dtype == IR_F32)
                any = true;
            else if (is_float((SlimcDType)ins[i].dtype))
                f32 = false;
        }
        for (int i = 0; f32 && i < no; i++)
            if (outs[i].dtype != IR_F32)
                f32 = false;
        r->float32 = f32 && (any || no > 0);
        for (int i = 0; i < (ni > 0 ? ni : 0); i++)
            fe_npy_free(&ins[i]);
        for (int i = 0; i < (no > 0 ? no : 0); i++)
            fe_npy_free(&outs[i]);
        free(ins);
        free(outs);
        r->reason[0] = 0;
    }
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = NULL;
    SlimcExec *e = NULL;
    SlimcOptions o;
    slimc_options_default(&o);
    o.device = g_device;
    Needs needs = {0};
    FeOnnxOptions fo = {.needs_constant = note_need, .arg = &needs};
    Graph *g = fe_onnx_load_ex(model, &fo, &ctx->diag);
    NpyArray *fixed = NULL;
    char **fixed_names = NULL;
    int n_fixed = 0;
    if (!g && needs.n > 0 && n_sets > 0) {
        /* shape-like graph inputs (axes, pads, scales...): fix them from data set 0, retry */
        char sd[1200];
        snprintf(sd, sizeof sd, "%s/%s", dir, sets[0]);
        n_fixed = load_set_named(sd, "input_", &fixed, &fixed_names, r);
        FeOnnxBinding bind[64];
        int nb = 0;
        for (int i = 0; i < n_fixed && nb < 64; i++)
            for (int k = 0; k < needs.n; k++)
                if (fixed_names[i] && !strcmp(fixed_names[i], needs.names[k]))
                    bind[nb++] = (FeOnnxBinding){needs.names[k], &fixed[i]};
        if (nb == needs.n) {
            slimc_clear_messages(ctx);
            FeOnnxOptions fo2 = {.constants = bind, .n_constants = nb};
            g = fe_onnx_load_ex(model, &fo2, &ctx->diag);
            r->frozen = nb;
        }
    }
    if (g) {
        m = calloc(1, sizeof *m);
        m->g = g;
        api_model_describe(m);
    }
    if (!g) {
        const char *msg = slimc_error(ctx);
        collect_ops(msg, r->ops, sizeof r->ops);
        r->status = r->ops[0] ? ST_UNSUPPORTED : ST_ERROR;
        /* drop the "PATH: error: " prefix (the test is named in the report) */
        const char *tail = strstr(msg, ": error: ");
        snprintf(r->reason, sizeof r->reason, "%s", tail ? tail + 9 : msg);
        goto done;
    }
    if (slimc_compile(ctx, m, &o, &e) != SLIMC_OK) {
        r->status = ST_ERROR;
        snprintf(r->reason, sizeof r->reason, "compile: %s", slimc_error(ctx));
        goto done;
    }
    r->status = ST_PASS;
    for (int s = 0; s < n_sets && r->status == ST_PASS; s++) {
        char sd[1200];
        snprintf(sd, sizeof sd, "%s/%s", dir, sets[s]);
        NpyArray *all_ins = NULL, *exp = NULL;
        char **in_names = NULL;
        int n_all_in = load_set_named(sd, "input_", &all_ins, &in_names, r);
        int no = load_set(sd, "output_", &exp, r);
        int nm_in = slimc_model_num_inputs(m), nm_out = slimc_model_num_outputs(m);
        /* the model's inputs, by name (by position when the files are unnamed) */
        NpyArray *ins = calloc((size_t)nm_in + 1, sizeof *ins);
        int ni = n_all_in < 0 ? -1 : nm_in;
        for (int i = 0; ni >= 0 && i < nm_in; i++) {
            const char *want = slimc_model_input_name(m, i);
            int k = -1;
            for (int j = 0; j < n_all_in && k < 0; j++)
                if (in_names[j] && !strcmp(in_names[j], want))
                    k = j;
            if (k < 0 && n_all_in == nm_in)
                k = i;
            if (k < 0)
                ni = -2;
            else
                ins[i] = all_ins[k];
        }
        if (ni == -2)
            snprintf(r->reason, sizeof r->reason, "no data for a model input");
        if (ni < 0 || no < 0) {
            r->status = ST_ERROR;
        } else if (no != nm_out) {
            r->status = ST_ERROR;
            snprintf(r->reason, sizeof r->reason,
                     "data set has %d inputs / %d outputs, the model %d / %d", ni, no, nm_in,
                     nm_out);
        } else {
            SlimcTensor *ti = calloc((size_t)ni + 1, sizeof *ti),
                        *to = calloc((size_t)no + 1, sizeof *to);
            for (int i = 0; i < ni; i++) {
                ti[i].dtype = (SlimcDType)ins[i].dtype;
                ti[i].ndim = ins[i].ndim;
                memcpy(ti[i].shape, ins[i].shape, sizeof ti[i].shape);
                ti[i].data = ins[i].data;
                ti[i].nbytes = ins[i].nbytes;
            }
            if (slimc_exec_run(ctx, e, ti, ni, to, no) != SLIMC_OK) {
                r->status = ST_ERROR;
                snprintf(r->reason, sizeof r->reason, "run: %s", slimc_error(ctx));
            } else {
                for (int k = 0; k < no && r->status == ST_PASS; k++) {
                    const NpyArray *x = &exp[k];
                    const SlimcTensor *y = &to[k];
                    bool same = y->ndim == x->ndim;
                    for (int j = 0; same && j < x->ndim; j++)
                        same = y->shape[j] == x->shape[j];
                    if (!same) {
                        r->status = ST_FAIL;
                        r->max_err = INFINITY;
                        snprintf(r->reason, sizeof r->reason,
                                 "output %d: shape differs (rank %d vs %d)", k, y->ndim, x->ndim);
                        break;
                    }
                    int64_t cnt = 1;
                    for (int j = 0; j < x->ndim; j++)
                        cnt *= x->shape[j];
                    bool fl = is_float((SlimcDType)x->dtype);
                    for (int64_t i = 0; i < cnt; i++) {
                        double want = elem(x, i), got = elem_t(y, i);
                        if (isnan(want) && isnan(got))
                            continue;
                        double err = fabs(got - want);
                        if (isinf(want) && got == want)
                            err = 0;
                        if (isnan(err))
                            err = INFINITY;
                        if (err > r->max_err)
                            r->max_err = err;
                        if (fl ? !(err <= ATOL + RTOL * fabs(want)) : err != 0) {
                            r->status = ST_FAIL;
                            snprintf(r->reason, sizeof r->reason,
                                     "output %d element %lld: got %g, want %g", k, (long long)i,
                                     got, want);
                        }
                    }
                }
            }
            for (int k = 0; k < no; k++)
                slimc_tensor_free(&to[k]);
            free(ti);
            free(to);
        }
        for (int i = 0; i < (n_all_in > 0 ? n_all_in : 0); i++) {
            fe_npy_free(&all_ins[i]);
            free(in_names[i]);
        }
        free(in_names);
        free(all_ins);
        for (int i = 0; i < (no > 0 ? no : 0); i++)
            fe_npy_free(&exp[i]);
        free(ins);
        free(exp);
    }
done:
    for (int i = 0; i < (n_fixed > 0 ? n_fixed : 0); i++) {
        fe_npy_free(&fixed[i]);
        free(fixed_names[i]);
    }
    free(fixed);
    free(fixed_names);
    for (int i = 0; i < needs.n; i++)
        free(needs.names[i]);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
    free_list(sets, n_sets);
}

typedef struct Running {
    pid_t pid;
    int fd;
    int index;
    double start;
} Running;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void finish(Running *rn, Result *res)
{
    Result *r = &res[rn->index];
    char name[sizeof r->name];
    memcpy(name, r->name, sizeof name);
    ssize_t got = 0, k;
    while (got < (ssize_t)sizeof *r &&
           (k = read(rn->fd, (char *)r + got, sizeof *r - (size_t)got)) > 0)
        got += k;
    close(rn->fd);
    int st = 0;
    waitpid(rn->pid, &st, 0);
    if (got != (ssize_t)sizeof *r) {
        memset(r, 0, sizeof *r);
        memcpy(r->name, name, sizeof name);
        r->status = ST_CRASH;
        if (WIFSIGNALED(st))
            snprintf(r->reason, sizeof r->reason, "killed by signal %d%s", WTERMSIG(st),
                     WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
        else
            snprintf(r->reason, sizeof r->reason, "exited with status %d", WEXITSTATUS(st));
    }
    one_line(r->reason);
}

static int cmp_count(const void *a, const void *b);
typedef struct OpCount {
    char op[64];
    int alone, any;
} OpCount;
static int cmp_count(const void *a, const void *b)
{
    const OpCount *x = a, *y = b;
    return y->alone != x->alone ? y->alone - x->alone : y->any - x->any;
}

int main(int argc, char **argv)
{
    bool device_given = false;
    const char *node_dir = NULL, *report = NULL, *ratchet = NULL, *filter = NULL;
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), timeout = 120;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--report") && i + 1 < argc)
            report = argv[++i];
        else if (!strcmp(argv[i], "--ratchet") && i + 1 < argc)
            ratchet = argv[++i];
        else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
            jobs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            const char *dev = argv[++i];
            if (strcmp(dev, "cpu") && strcmp(dev, "cuda")) {
                fprintf(stderr, "--device takes cpu or cuda, not '%s'\n", dev);
                return 2;
            }
            g_device = !strcmp(dev, "cuda") ? SLIMC_DEVICE_CUDA : SLIMC_DEVICE_CPU;
            device_given = true;
        } else if (!strcmp(argv[i], "-v"))
            verbose = true;
        else if (argv[i][0] != '-' && !node_dir)
            node_dir = argv[i];
        else {
            fprintf(stderr,
                    "usage: run_node_tests NODE_DIR [--report FILE.md] [--ratchet FILE] [--jobs N] "
                    "[--filter SUBSTR] [--timeout SEC] [--device cpu|cuda] [-v]\n");
            return 2;
        }
    }
    if (device_given && g_device == SLIMC_DEVICE_CUDA && ratchet) {
        fprintf(stderr, "--ratchet holds the CPU's results: leave it out with --device cuda\n");
        return 2;
    }
    if (!node_dir) {
        fprintf(stderr,
                "run_node_tests: give the node test folder (onnx/backend/test/data/node)\n");
        return 2;
    }
    if (jobs < 1)
        jobs = 1;
    g_node_dir = node_dir;
    char **names;
    int n_all = list_dir(node_dir, "test_", &names), n = 0;
    if (n_all == 0) {
        fprintf(stderr, "run_node_tests: no tests in %s\n", node_dir);
        return 2;
    }
    for (int i = 0; i < n_all; i++)
        if (!filter || strstr(names[i], filter))
            names[n++] = names[i];
        else
            free(names[i]);
    Result *res = calloc((size_t)n + 1, sizeof *res);
    Running *run = calloc((size_t)jobs, sizeof *run);
    int active = 0, next = 0, done_count = 0;
    double t0 = now_s();
    fflush(stdout);
    while (next < n || active > 0) {
        while (active < jobs && next < n) {
            int fds[2];
            if (pipe(fds) != 0) {
                perror("pipe");
                return 2;
            }
            snprintf(res[next].name, sizeof res[next].name, "%s", names[next]);
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                alarm((unsigned)timeout);
                Result r;
                memset(&r, 0, sizeof r);
                memcpy(r.name, res[next].name, sizeof r.name);
                run_test(node_dir, names[next], &r);
                ssize_t w = write(fds[1], &r, sizeof r);
                _exit(w == (ssize_t)sizeof r ? 0 : 1);
            }
            close(fds[1]);
            run[active++] = (Running){pid, fds[0], next, now_s()};
            next++;
        }
        /* a child's pipe becomes readable when it wrote its result or died (EOF) */
        fd_set rs;
        FD_ZERO(&rs);
        int maxfd = 0;
        for (int i = 0; i < active; i++) {
            FD_SET(run[i].fd, &rs);
            if (run[i].fd > maxfd)
                maxfd = run[i].fd;
        }
        struct timeval tv = {1, 0};
        if (select(maxfd + 1, &rs, NULL, NULL, &tv) <= 0)
            continue;
        for (int i = 0; i < active; i++)
            if (FD_ISSET(run[i].fd, &rs)) {
                finish(&run[i], res);
                if (verbose)
                    fprintf(stderr, "%-60s %s\n", res[run[i].index].name,
                            status_names[res[run[i].index].status]);
                done_count++;
                run[i] = run[--active];
                break;
            }
    }
    (void)done_count;
    double secs = now_s() - t0;
    int pass = 0, f32 = 0, f32_pass = 0, counts[5] = {0}, frozen_pass = 0;
    for (int i = 0; i < n; i++) {
        counts[res[i].status]++;
        frozen_pass += res[i].status == ST_PASS && res[i].frozen;
        pass += res[i].status == ST_PASS;
        f32 += res[i].float32;
        f32_pass += res[i].float32 && res[i].status == ST_PASS;
    }
    /* unsupported op types ranked by how many tests they alone block */
    OpCount *oc = calloc(512, sizeof *oc);
    int n_oc = 0;
    for (int i = 0; i < n; i++) {
        if (res[i].status != ST_UNSUPPORTED)
            continue;
        char buf[sizeof res[i].ops];
        memcpy(buf, res[i].ops, sizeof buf);
        bool alone = !strchr(buf, ',');
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int j = 0;
            while (j < n_oc && strcmp(oc[j].op, tok) != 0)
                j++;
            if (j == n_oc && n_oc < 512)
                snprintf(oc[n_oc++].op, sizeof oc[0].op, "%s", tok);
            if (j < 512) {
                oc[j].any++;
                oc[j].alone += alone;
            }
        }
    }
    qsort(oc, (size_t)n_oc, sizeof *oc, cmp_count);
    printf("ONNX node tests: %d/%d pass (%.1f%%; %d of them with shape inputs fixed at import); "
           "float32: %d/%d (%.1f%%); %d fail, %d unsupported, %d error, %d crash; %.0f s with %d "
           "jobs\n",
           pass, n, 100.0 * pass / n, frozen_pass, f32_pass, f32,
           f32 ? 100.0 * f32_pass / f32 : 0.0, counts[ST_FAIL], counts[ST_UNSUPPORTED],
           counts[ST_ERROR], counts[ST_CRASH], secs, jobs);
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f) {
            fprintf(stderr, "run_node_tests: cannot write %s: %s\n", report, strerror(errno));
            return 2;
        }
        fprintf(
            f,
            "# ONNX conformance\n\n"
            "Generated by `tests/onnx/run_node_tests` (`tests/onnx/run.sh`) from the node\n"
            "tests of the onnx Python package (pinned in scripts/install-deps.sh). Each test's\n"
            "model.onnx is imported, compiled and run on every data set; outputs must match "
            "within\n"
            "|a - b| <= %g + %g * |b| (integers and bools exactly).\n\n",
            ATOL, RTOL);
        fprintf(f, "| | tests | pass | %% |\n|---|---|---|---|\n");
        fprintf(f, "| all node tests | %d | %d | %.1f |\n", n, pass, 100.0 * pass / n);
        fprintf(f, "| float32 (with integer/bool index or shape inputs) | %d | %d | %.1f |\n\n",
                f32, f32_pass, f32 ? 100.0 * f32_pass / f32 : 0.0);
        fprintf(f, "Status counts: %d pass, %d fail, %d unsupported, %d error, %d crash.\n\n", pass,
                counts[ST_FAIL], counts[ST_UNSUPPORTED], counts[ST_ERROR], counts[ST_CRASH]);
        fprintf(
            f,
            "%d of the passing tests pass only with some graph inputs fixed at import (marked\n"
            "*fixed* below): their models pass shape-like tensors (axes, pads, scales, Clip\n"
            "bounds, Reshape's shape...) as graph inputs, which slimc needs at compile time; the\n"
            "runner retries such a test with exactly the inputs the importer asked for bound to\n"
            "data set 0's values. Without them, %d/%d pass.\n\n",
            frozen_pass, pass - frozen_pass, n);
        fprintf(f, "## Unsupported ONNX ops, by the tests they block\n\n"
                   "| op | tests it alone blocks | tests it appears in |\n|---|---|---|\n");
        for (int i = 0; i < n_oc; i++)
            fprintf(f, "| %s | %d | %d |\n", oc[i].op, oc[i].alone, oc[i].any);
        fprintf(f, "\n## Every test\n\n| test | f32 | status | detail |\n|---|---|---|---|\n");
        for (int i = 0; i < n; i++) {
            char detail[512];
            if (res[i].status == ST_FAIL)
                snprintf(detail, sizeof detail, "max error %.3g; %s", res[i].max_err,
                         res[i].reason);
            else if (res[i].status == ST_PASS)
                snprintf(detail, sizeof detail, "%s", res[i].frozen ? "*fixed*" : "");
            else
                snprintf(detail, sizeof detail, "%s", res[i].reason);
            one_line(detail);
            fprintf(f, "| %s | %s | %s | %s |\n", res[i].name, res[i].float32 ? "yes" : "",
                    status_names[res[i].status], detail);
        }
        fclose(f);
    }
    int rc = 0;
    if (ratchet) {
        FILE *f = fopen(ratchet, "r");
        int want = 0;
        if (!f || fscanf(f, "%d", &want) != 1) {
            fprintf(stderr, "run_node_tests: cannot read the ratchet %s\n", ratchet);
            rc = 1;
        } else if (pass < want) {
            fprintf(stderr, "run_node_tests: %d tests pass, fewer than the %d recorded in %s\n",
                    pass, want, ratchet);
            rc = 1;
        } else if (pass > want)
            printf("run_node_tests: %d pass, more than the %d in %s: raise it\n", pass, want,
                   ratchet);
        if (counts[ST_CRASH] > 0) { /* a crash is a defect whatever the pass count */
            fprintf(stderr, "run_node_tests: %d tests crashed (see the report)\n",
                    counts[ST_CRASH]);
            for (int i = 0; i < n; i++)
                if (res[i].status == ST_CRASH)
                    fprintf(stderr, "  crashed: %s\n", res[i].name);
            rc = 1;
        }
        if (f)
            fclose(f);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(res);
    free(run);
    free(oc);
    return rc;
}
