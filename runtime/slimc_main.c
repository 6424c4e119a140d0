/* The main() of an executable that `slimc build` writes. slimc pastes this file after the
 * generated model code, runtime/model_desc.h and runtime/model_io.c (the input code
 * libslimc shares: the .npy reader and the binder), and the model's descriptor:
 *   SLIMC_MODEL_NAME, SLIMC_N_INPUTS, SLIMC_N_OUTPUTS, SLIMC_N_SYMS, SLIMC_N_VALUES,
 *   slimc_desc (an RtModelDesc over slimc_inputs[] / slimc_outputs[]: the name, the name
 *   as shown on the terminal -- escaped by slimc --, the type, dims), slimc_consts[]
 *   (value id and offset into the embedded blob) and the blob symbol slimc_weights_blob.
 * It reads inputs from .npy files, runs the model and writes outputs as .npy files.
 * Only libc: the executable needs nothing of slimc at run time. Where the model runs is
 * the slimc_dev_* layer below: the CPU here, a CUDA GPU when `slimc build --device cuda`
 * pastes runtime/slimc_cuda_main.c before this file (SLIMC_MAIN_CUDA). An input file is checked
 * and converted exactly as `slimc run` does it (same reader, same binder, same messages). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SLIMC_MAIN_CUDA
/* ---- the CPU: the weights where the blob is, the arena in host memory ---- */
#define SLIMC_DEV_FAILED (-1)
static int slimc_dev_open(const char *argv0, const void **consts)
{
    (void)argv0;
    for (size_t c = 0; c < sizeof slimc_consts / sizeof slimc_consts[0]; c++)
        if (slimc_consts[c].id >= 0)
            consts[slimc_consts[c].id] = slimc_weights_blob + slimc_consts[c].offset;
    return 1;
}
static void *slimc_dev_alloc(const char *argv0, size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!p)
        fprintf(stderr, "%s: error: out of memory (%zu bytes of arena)\n", argv0, bytes);
    return p;
}
static void slimc_dev_free(void *p)
{
    free(p);
}
static void slimc_dev_close(void) {}
static int slimc_dev_run(const char *argv0, const void *const *consts, const void *const *in,
                         const size_t *in_bytes, void *const *out, const size_t *out_bytes,
                         const int64_t *syms, void *arena, int threads)
{
    (void)argv0, (void)in_bytes, (void)out_bytes;
    return slimc_model_run(consts, in, out, syms, arena, threads);
}
#endif

static int slimc_main_fail(const char *file, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", file, msg);
    return 0;
}

/* "f32[2, 3]" for a message, as runtime/exec.c prints what it was given. */
static void slimc_shape_str(const RtNpyArray *a, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%s[", rt_dtype_name(a->dtype));
    for (int i = 0; i < a->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

/* Writes a .npy file (version 1.0) through a temporary file and a rename. */
static int slimc_npy_write(const char *path, int dtype, int ndim, const int64_t *shape,
                           const void *data, size_t nbytes)
{
    char hdr[256], tmp[4096];
    if (!rt_npy_descr(dtype)) {
        fprintf(stderr, "%s: error: cannot write %s to .npy: the format has no such dtype\n", path,
                rt_dtype_name(dtype));
        return 0;
    }
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     rt_npy_descr(dtype));
    for (int i = 0; i < ndim; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)shape[i],
                      ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    int total = (10 + n + 1 + 63) / 64 * 64;
    while (10 + n + 1 < total)
        hdr[n++] = ' ';
    hdr[n++] = '\n';
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int)sizeof tmp)
        return slimc_main_fail(path, "path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
        return 0;
    }
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 255), (unsigned char)(n >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
             fwrite(data, 1, nbytes, f) == nbytes;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
        remove(tmp);
        return 0;
    }
    return 1;
}

static double slimc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int slimc_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --max-memory SIZE: bytes, or a number with a suffix K, M, G or T (binary). 0 if bad. */
static double slimc_parse_size(const char *s)
{
    char *end;
    double v = s[0] >= '0' && s[0] <= '9' ? strtod(s, &end) : 0;
    if (v <= 0)
        return 0;
    const char *units = "KMGT", *u = *end ? strchr(units, *end & ~0x20) : NULL;
    if (u && *u) {
        v *= (double)(1ull << (10 * (u - units + 1)));
        end += end[1] == 'i' && end[2] == 'B' ? 3 : end[1] == 'B' ? 2 : 1;
    }
    return *end || v < 1 || v >= 0x1p63 ? 0 : v;
}

/* `slimc build --threads N` sets it: the thread count when --threads is not given; 0 (a
 * build without --threads): the CPUs this program may run on (slimc_rt_cpu_count). */
#ifndef SLIMC_DEFAULT_THREADS
#define SLIMC_DEFAULT_THREADS 1
#endif
static int slimc_default_threads(void)
{
#if SLIMC_DEFAULT_THREADS > 0
    return SLIMC_DEFAULT_THREADS;
#else
    return slimc_rt_cpu_count();
#endif
}

#ifdef SLIMC_PROFILE
/* --profile (slimc build --profile): each node's time per run, slowest first, from the
 * timers the generated code keeps (slimc_model_prof_ms, its names in slimc_model_prof_node),
 * printed after the runs as `slimc run --profile` prints them (without the FLOP rates). */
static void slimc_print_profile(int runs)
{
    int *order = malloc(sizeof(int) * (size_t)(slimc_model_prof_n + 1));
    if (!order) {
        fputs("profile: out of memory\n", stderr);
        return;
    }
    int n = 0;
    double total = 0;
    for (int i = 0; i < slimc_model_prof_n; i++)
        if (slimc_model_prof_ms[i] > 0) {
            order[n++] = i;
            total += slimc_model_prof_ms[i] / runs;
        }
    for (int a = 1; a < n; a++) /* insertion sort, slowest first, ties by node order */
        for (int b = a; b > 0 && slimc_model_prof_ms[order[b]] > slimc_model_prof_ms[order[b - 1]];
             b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    printf("profile: %d run%s, %.4f ms per run in %d nodes\n", runs, runs == 1 ? "" : "s", total,
           n);
    printf("%10s %7s  %s\n", "ms/run", "share", "node (op)");
    for (int r = 0; r < n; r++) {
        double ms = slimc_model_prof_ms[order[r]] / runs;
        char shown[512]; /* names are data: no control byte reaches the terminal */
        const char *name = slimc_model_prof_node[order[r]];
        printf("%10.4f %6.1f%%  %s\n", ms, total > 0 ? 100 * ms / total : 0,
               rt_quote_for_message(shown, sizeof shown, name, strlen(name)));
    }
    free(order);
}

/* --trace FILE: the last run's timeline as a Chrome trace (chrome://tracing, Perfetto), one
 * complete event per node, as `slimc run --trace` writes it; names JSON-escaped (valid
 * UTF-8 kept, any other byte U+FFFD). 0 after a message. */
static int slimc_write_trace(const char *argv0, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: error: cannot write '%s'\n", argv0, path);
        return 0;
    }
    fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", f);
    int first = 1;
    for (int i = 0; i < slimc_model_prof_n; i++) {
        if (slimc_model_prof_last[i] <= 0)
            continue;
        fputs(first ? "  {\"name\": \"" : ",\n  {\"name\": \"", f);
        first = 0;
        const unsigned char *s = (const unsigned char *)slimc_model_prof_node[i];
        size_t left = strlen((const char *)s);
        while (left) {
            size_t n = rt_utf8_seq(s, left);
            if (n > 1) {
                fwrite(s, 1, n, f);
            } else if (n == 1 && *s >= 0x20 && *s != '"' && *s != '\\' && *s != 0x7f) {
                fputc(*s, f);
            } else if (n == 1) {
                fprintf(f, "\\u%04x", *s);
            } else {
                fputs("\\ufffd", f);
                n = 1;
            }
            s += n;
            left -= n;
        }
        fprintf(f,
                "\", \"cat\": \"node\", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, \"ts\": %.3f, "
                "\"dur\": %.3f}",
                slimc_model_prof_start[i] * 1e3, slimc_model_prof_last[i] * 1e3);
    }
    fputs("\n]}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: error: cannot write '%s'\n", argv0, path);
        return 0;
    }
    return 1;
}
#endif

static void slimc_usage(const char *argv0, FILE *out)
{
    fprintf(out,
            "usage: %s [--input NAME=FILE.npy]... [--output-dir DIR] [--threads N] [--bench N]\n"
            "          [--max-memory SIZE] [--profile] [--trace FILE]\n"
            "Runs the model '%s' (compiled by slimc) on --threads N threads (default %d).\n"
            "--max-memory caps the arena and outputs (512M, 4G...; default: half of the\n"
            "physical memory). --profile prints each node's time per run, --trace FILE writes\n"
            "the last run as a Chrome trace (a program built with slimc build --profile).\n\n"
            "inputs:\n",
            argv0, SLIMC_MODEL_NAME, slimc_default_threads());
    for (int i = 0; i < SLIMC_N_INPUTS; i++)
        fprintf(out, "  %s: %s\n", slimc_inputs[i].shown, slimc_inputs[i].type);
    fputs("outputs:\n", out);
    for (int i = 0; i < SLIMC_N_OUTPUTS; i++)
        fprintf(out, "  %s: %s\n", slimc_outputs[i].shown, slimc_outputs[i].type);
    fputs("\nA model with one input also takes --input FILE.npy. Outputs are written as "
          "DIR/NAME.npy.\n",
          out);
}

int main(int argc, char **argv)
{
    const char *files[SLIMC_N_INPUTS + 1] = {0};
    const char *out_dir = NULL;
    int threads = slimc_default_threads(), bench = 0;
#ifdef SLIMC_PROFILE
    int profile = 0;
    const char *trace = NULL;
#endif
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    double max_memory = pages > 0 && page > 0 ? (double)pages * (double)page / 2 : 0x1p32;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            slimc_usage(argv[0], stdout);
            return 0;
        }
        if (!strcmp(arg, "--profile")) {
#ifdef SLIMC_PROFILE
            profile = 1;
            continue;
#else
            fprintf(stderr,
                    "%s: error: --profile: this program was built without it (slimc build "
                    "--profile)\n",
                    argv[0]);
            return 1;
#endif
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: error: %s needs a value (see --help)\n", argv[0], arg);
            return 1;
        }
        const char *val = argv[++i];
        if (!strcmp(arg, "--input")) {
            const char *eq = strchr(val, '=');
            int which = -1;
            if (eq) {
                for (int k = 0; k < SLIMC_N_INPUTS; k++)
                    if (strlen(slimc_inputs[k].name) == (size_t)(eq - val) &&
                        !strncmp(slimc_inputs[k].name, val, (size_t)(eq - val)))
                        which = k;
                if (which < 0) {
                    fprintf(stderr, "%s: error: the model has no input called '%.*s'\n", argv[0],
                            (int)(eq - val), val);
                    return 1;
                }
                files[which] = eq + 1;
            } else if (SLIMC_N_INPUTS == 1) {
                files[0] = val;
            } else {
                fprintf(stderr, "%s: error: the model has %d inputs: use --input NAME=FILE.npy\n",
                        argv[0], SLIMC_N_INPUTS);
                return 1;
            }
        } else if (!strcmp(arg, "--trace")) {
#ifdef SLIMC_PROFILE
            trace = val;
#else
            fprintf(stderr,
                    "%s: error: --trace: this program was built without --profile (slimc build "
                    "--profile)\n",
                    argv[0]);
            return 1;
#endif
        } else if (!strcmp(arg, "--output-dir")) {
            out_dir = val;
        } else if (!strcmp(arg, "--max-memory")) {
            if (!(max_memory = slimc_parse_size(val))) {
                fprintf(stderr, "%s: error: --max-memory takes a size (512M, 4G), not '%s'\n",
                        argv[0], val);
                return 1;
            }
        } else if (!strcmp(arg, "--threads") || !strcmp(arg, "--bench")) {
            char *end;
            long v = strtol(val, &end, 10);
            if (*end || v < 1 || v > 1024) {
                fprintf(stderr, "%s: error: %s takes a number from 1 to 1024\n", argv[0], arg);
                return 1;
            }
            *(!strcmp(arg, "--threads") ? &threads : &bench) = (int)v;
        } else {
            fprintf(stderr, "%s: error: unknown option '%s' (see --help)\n", argv[0], arg);
            return 1;
        }
    }
    /* the device first: no GPU is said before any input is read */
    static const void *consts[SLIMC_N_VALUES + 1];
    if (!slimc_dev_open(argv[0], consts)) {
        slimc_dev_close();
        return 1;
    }
    RtNpyArray in[SLIMC_N_INPUTS + 1];
    RtInputView view[SLIMC_N_INPUTS + 1];
    const void *in_ptr[SLIMC_N_INPUTS + 1];
    size_t in_bytes[SLIMC_N_INPUTS + 1];
    int64_t syms[RT_MAX_SYMS];
    memset(in, 0, sizeof in);
    int status = 1;
    char msg[512];
    for (int k = 0; k < SLIMC_N_INPUTS; k++) {
        const RtIoDesc *info = &slimc_inputs[k];
        if (!files[k]) {
            fprintf(stderr, "%s: error: missing --input %s=FILE.npy (%s)\n", argv[0], info->shown,
                    info->type);
            goto fail_inputs;
        }
        RtNpyArray *a = &in[k];
        if (!rt_npy_read_file(files[k], 0, a, msg, sizeof msg)) {
            slimc_main_fail(files[k], msg);
            goto fail_inputs;
        }
        /* f64 and f16 for an f32 input are converted, as `slimc run` does (api/run.c) */
        if (info->dtype == RT_DT_F32 && a->dtype != RT_DT_F32) {
            size_t n = a->nbytes / (a->dtype == RT_DT_F64 ? 8 : 2);
            float *f = a->dtype == RT_DT_F64 || a->dtype == RT_DT_F16 || a->dtype == RT_DT_BF16
                           ? malloc(n * sizeof(float) + 1)
                           : NULL;
            if (f && rt_convert_to_f32(a->dtype, a->data, n, f)) {
                fprintf(stderr, "%s: note: input '%s': converted %s to f32\n", files[k],
                        info->shown, rt_dtype_name(a->dtype));
                free(a->data);
                a->data = f;
                a->nbytes = n * sizeof(float);
                a->dtype = RT_DT_F32;
            } else if (a->dtype == RT_DT_F64 || a->dtype == RT_DT_F16 || a->dtype == RT_DT_BF16) {
                free(f);
                slimc_main_fail(files[k], "out of memory");
                goto fail_inputs;
            }
        }
        view[k] = (RtInputView){a->dtype, a->ndim, a->shape, a->data, a->nbytes};
        in_ptr[k] = a->data;
        in_bytes[k] = a->nbytes;
    }
    RtBindError err;
    if (rt_desc_bind(&slimc_desc, view, syms, &err) != 0) {
        if (err.input < 0) {
            fprintf(stderr, "%s: error: %s\n", argv[0], err.why);
        } else {
            char got[256];
            slimc_shape_str(&in[err.input], got, sizeof got);
            fprintf(stderr, "%s: error: input '%s': expected %s, got %s: %s\n", files[err.input],
                    slimc_inputs[err.input].shown, slimc_inputs[err.input].type, got, err.why);
        }
        goto fail_inputs;
    }
    /* The arena and the outputs for these inputs against --max-memory, before allocating
     * them (in double: dims of hostile inputs cannot wrap it). */
    double need = (double)slimc_model_arena_bytes(syms);
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++) {
        double count = 1;
        for (int j = 0; j < slimc_outputs[k].rank; j++) {
            double v = (double)slimc_outputs[k].dims[j].c;
            for (int s = 0; s < SLIMC_N_SYMS; s++)
                if (slimc_outputs[k].dims[j].syms & (1u << s))
                    v *= (double)syms[s];
            count *= v;
        }
        size_t one;
        need += count * (rt_dtype_bytes(slimc_outputs[k].dtype, 8, &one) ? (double)one / 8 : 1);
    }
    if (need > max_memory) {
        fprintf(stderr,
                "%s: error: the arena and outputs for these inputs need %.1f MiB, over the memory "
                "limit (%.1f MiB; --max-memory raises it)\n",
                argv[0], need / 0x1p20, max_memory / 0x1p20);
        goto fail_inputs;
    }
    void *out_ptr[SLIMC_N_OUTPUTS + 1];
    size_t out_bytes[SLIMC_N_OUTPUTS + 1];
    int64_t out_shape[SLIMC_N_OUTPUTS + 1][8];
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++)
        out_ptr[k] = NULL;
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++) {
        const RtIoDesc *info = &slimc_outputs[k];
        int64_t count = 1;
        int wraps = 0; /* every product checked: symbol values come from the input files */
        for (int j = 0; j < info->rank; j++) {
            int64_t v = 0;
            wraps |= !rt_dim_eval(info->dims[j], syms, &v);
            out_shape[k][j] = v;
            wraps |= v < 0 || __builtin_mul_overflow(count, v, &count);
        }
        wraps |= !rt_dtype_bytes(info->dtype, count, &out_bytes[k]);
        if (wraps) {
            fprintf(stderr, "%s: error: output '%s': element count overflows for these inputs\n",
                    argv[0], info->name);
            goto fail;
        }
        out_ptr[k] = malloc(out_bytes[k] ? out_bytes[k] : 1);
        if (!out_ptr[k]) {
            fprintf(stderr, "%s: error: out of memory (%zu bytes for output '%s')\n", argv[0],
                    out_bytes[k], info->name);
            goto fail;
        }
    }
    char why[600];
    if (out_dir && !rt_make_dirs(out_dir, 0777, NULL, why, sizeof why)) {
        fprintf(stderr, "%s: error: cannot create the output folder: %s\n", out_dir, why);
        return 1;
    }
    size_t arena_bytes = slimc_model_arena_bytes(syms); /* SIZE_MAX when it overflows */
    if (arena_bytes > (size_t)RT_MAX_TENSOR_BYTES) {
        fprintf(stderr, "%s: error: the model's working memory overflows for these inputs\n",
                argv[0]);
        goto fail;
    }
    void *arena = slimc_dev_alloc(argv[0], arena_bytes);
    if (!arena)
        goto fail;
    int runs = bench ? bench : 1;
    double *ms = malloc(sizeof(double) * (size_t)runs);
    if (!ms) {
        fprintf(stderr, "%s: error: out of memory\n", argv[0]);
        goto done;
    }
    for (int r = 0; r < runs; r++) {
        double t0 = slimc_now_ms();
        int rc = slimc_dev_run(argv[0], consts, in_ptr, in_bytes, out_ptr, out_bytes, syms, arena,
                               threads);
        if (rc == SLIMC_DEV_FAILED)
            goto done;
        if (rc != 0) {
            fprintf(stderr,
                    "%s: error: the model rejected its inputs (an index out of range, or sizes "
                    "that do not fit)\n",
                    argv[0]);
            goto done;
        }
        ms[r] = slimc_now_ms() - t0;
    }
#ifdef SLIMC_PROFILE
    if (profile)
        slimc_print_profile(runs);
    if (trace && !slimc_write_trace(argv[0], trace))
        goto done;
#endif
    if (bench) {
        qsort(ms, (size_t)runs, sizeof ms[0], slimc_cmp_double);
        printf("%s: median %.4f ms over %d runs (%d thread%s)\n", SLIMC_MODEL_NAME, ms[runs / 2],
               runs, threads, threads == 1 ? "" : "s");
    }
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++) {
        const RtIoDesc *info = &slimc_outputs[k];
        const char *descr = rt_npy_descr(info->dtype); /* "f4": numpy's letter and size */
        printf("%s: %s [", info->shown, descr ? descr + 1 : rt_dtype_name(info->dtype));
        int64_t count = 1;
        for (int j = 0; j < info->rank; j++) {
            printf("%s%lld", j ? ", " : "", (long long)out_shape[k][j]);
            count *= out_shape[k][j]; /* fits: checked above */
        }
        printf("]");
        if (info->dtype == RT_DT_F32) {
            printf(" =");
            for (int64_t j = 0; j < count && j < 6; j++)
                printf(" %.6g", (double)((const float *)out_ptr[k])[j]);
            if (count > 6)
                printf(" ...");
        }
        printf("\n");
        if (out_dir) {
            char path[4096];
            if (snprintf(path, sizeof path, "%s/%s.npy", out_dir, info->name) >= (int)sizeof path ||
                !slimc_npy_write(path, info->dtype, info->rank, out_shape[k], out_ptr[k],
                                 out_bytes[k]))
                goto done;
        }
    }
    status = 0;
done:
    free(ms);
    slimc_dev_free(arena);
fail:
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++)
        free(out_ptr[k]);
fail_inputs:
    for (int k = 0; k < SLIMC_N_INPUTS; k++)
        free(in[k].data);
    slimc_dev_close();
    return status;
}
