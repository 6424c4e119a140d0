/* The main() of an executable that `slimc build` writes. slimc pastes this file after the
 * generated model code and a block of metadata that defines:
 *   SLIMC_MODEL_NAME, SLIMC_N_INPUTS, SLIMC_N_OUTPUTS, SLIMC_N_SYMS, SLIMC_N_VALUES,
 *   slimc_sym_names[], slimc_inputs[] / slimc_outputs[] (SlimcIoInfo: the name, the name as
 *   shown on the terminal -- escaped by slimc --, the type), slimc_consts[]
 *   (value id and offset into the embedded blob) and the blob symbol slimc_weights_blob.
 * It reads inputs from .npy files, runs the model and writes outputs as .npy files.
 * Only libc: the executable needs nothing of slimc at run time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const slimc_dtype_descr[] = {"<f8", "<f4", "<f2", "<u2", "<i8", "<i4",
                                                "<i2", "|i1", "|u1", "|u1", "|b1"};
static const int slimc_dtype_size[] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1, 1};
/* The most bytes one array may take (as slimc's IR_MAX_TENSOR_BYTES). */
#define SLIMC_MAIN_MAX_BYTES ((size_t)1 << 62)

typedef struct SlimcArray {
    int dtype, ndim;
    int64_t shape[8];
    void *data;
    size_t nbytes;
} SlimcArray;

static int slimc_main_fail(const char *file, const char *msg)
{
    fprintf(stderr, "%s: error: %s\n", file, msg);
    return 0;
}

/* Opens path for reading only if it is a regular file: a FIFO, device or folder is
 * refused at once (stat first; O_NONBLOCK, so a FIFO swapped in never waits for a
 * writer), as slimc's own readers do (frontend/files.c). NULL after an error message. */
static FILE *slimc_open_regular(const char *path)
{
    struct stat st;
    const char *kind = NULL; /* what it is instead of a regular file */
    int fd = -1;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        kind = S_ISDIR(st.st_mode) ? "is a directory, not a file" : "is not a regular file";
    else if (stat(path, &st) == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) >= 0 &&
             (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)))
        kind = "is not a regular file";
    FILE *f = NULL;
    if (!kind && fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0)
        f = fdopen(fd, "rb");
    if (!f) {
        if (kind)
            fprintf(stderr, "%s: error: %s\n", path, kind);
        else
            fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

/* Reads a little-endian, C-order .npy file. Returns 1 on success. */
static int slimc_npy_read(const char *path, SlimcArray *a)
{
    memset(a, 0, sizeof *a);
    FILE *f = slimc_open_regular(path);
    if (!f)
        return 0;
    unsigned char pre[12];
    int ok = 0;
    char *hdr = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        slimc_main_fail(path, "not a .npy file (bad magic)");
        goto out;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            slimc_main_fail(path, "truncated header");
            goto out;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        slimc_main_fail(path, "unsupported .npy version");
        goto out;
    }
    if (hlen > 1 << 20 || !(hdr = calloc(1, hlen + 1)) || fread(hdr, 1, hlen, f) != hlen) {
        slimc_main_fail(path, "truncated or oversized header");
        goto out;
    }
    char *p = strstr(hdr, "'descr':");
    char descr[8] = {0};
    if (!p || sscanf(p, "'descr': '%7[^']'", descr) != 1) {
        slimc_main_fail(path, "header has no descr");
        goto out;
    }
    a->dtype = -1;
    for (int i = 0; i < 11; i++)
        if (strcmp(descr, slimc_dtype_descr[i]) == 0 && i != 3 && i != 9) {
            a->dtype = i;
            break;
        }
    if (a->dtype < 0) {
        fprintf(stderr, "%s: error: unsupported dtype '%s'\n", path, descr);
        goto out;
    }
    p = strstr(hdr, "'fortran_order':");
    if (!p || strncmp(p + 16, " False", 6) != 0) {
        slimc_main_fail(path, "only C-order arrays are supported (fortran_order must be False)");
        goto out;
    }
    p = strstr(hdr, "'shape':");
    char *q = p ? strchr(p, '(') : NULL;
    if (!q) {
        slimc_main_fail(path, "header has no shape");
        goto out;
    }
    q++;
    size_t count = 1;
    while (*q && *q != ')') {
        while (*q == ' ' || *q == ',')
            q++;
        if (*q == ')')
            break;
        char *end;
        errno = 0;
        long long v = strtoll(q, &end, 10);
        if (end == q || v < 0 || errno || a->ndim == 8 ||
            __builtin_mul_overflow(count, (size_t)v, &count)) {
            slimc_main_fail(path, "bad shape in header");
            goto out;
        }
        a->shape[a->ndim++] = v;
        q = end;
    }
    /* checked: a byte count that wraps would read a short file into a small buffer */
    if (__builtin_mul_overflow(count, (size_t)slimc_dtype_size[a->dtype], &a->nbytes) ||
        a->nbytes > SLIMC_MAIN_MAX_BYTES) {
        slimc_main_fail(path, "the shape in the header is too large");
        goto out;
    }
    a->data = malloc(a->nbytes ? a->nbytes : 1);
    if (!a->data) {
        slimc_main_fail(path, "out of memory");
        goto out;
    }
    if (fread(a->data, 1, a->nbytes, f) != a->nbytes) {
        slimc_main_fail(path, "the data is shorter than the shape says");
        goto out;
    }
    ok = 1;
out:
    free(hdr);
    fclose(f);
    if (!ok) {
        free(a->data);
        a->data = NULL;
    }
    return ok;
}

/* Writes a .npy file (version 1.0) through a temporary file and a rename. */
static int slimc_npy_write(const char *path, int dtype, int ndim, const int64_t *shape,
                           const void *data, size_t nbytes)
{
    char hdr[256], tmp[4096];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     slimc_dtype_descr[dtype]);
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

static void slimc_usage(const char *argv0, FILE *out)
{
    fprintf(out,
            "usage: %s [--input NAME=FILE.npy]... [--output-dir DIR] [--threads N] [--bench N]\n"
            "          [--max-memory SIZE]\n"
            "Runs the model '%s' (compiled by slimc). --max-memory caps the arena and outputs\n"
            "(512M, 4G...; default: half of the physical memory).\n\ninputs:\n",
            argv0, SLIMC_MODEL_NAME);
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
    int threads = 1, bench = 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    double max_memory = pages > 0 && page > 0 ? (double)pages * (double)page / 2 : 0x1p32;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            slimc_usage(argv[0], stdout);
            return 0;
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
    SlimcArray in[SLIMC_N_INPUTS + 1];
    const void *in_ptr[SLIMC_N_INPUTS + 1];
    int64_t syms[SLIMC_N_SYMS + 1];
    for (int s = 0; s <= SLIMC_N_SYMS; s++)
        syms[s] = 0;
    int status = 1;
    for (int k = 0; k < SLIMC_N_INPUTS; k++) {
        const SlimcIoInfo *info = &slimc_inputs[k];
        if (!files[k]) {
            fprintf(stderr, "%s: error: missing --input %s=FILE.npy (%s)\n", argv[0], info->shown,
                    info->type);
            return 1;
        }
        if (!slimc_npy_read(files[k], &in[k]))
            return 1;
        SlimcArray *a = &in[k];
        if (a->dtype == 0 && info->dtype == 1) { /* f64 -> f32, as numpy's default is f64 */
            size_t n = a->nbytes / 8;
            float *f = malloc(n * 4 + 1); /* n * 4 < nbytes: no overflow */
            if (!f) {
                slimc_main_fail(files[k], "out of memory");
                return 1;
            }
            for (size_t j = 0; j < n; j++)
                f[j] = (float)((double *)a->data)[j];
            free(a->data);
            a->data = f;
            a->nbytes = n * 4;
            a->dtype = 1;
            fprintf(stderr, "%s: note: converted f64 to f32\n", files[k]);
        }
        if (a->dtype != info->dtype) {
            fprintf(stderr, "%s: error: input '%s' must be %s, the file holds %s\n", files[k],
                    info->shown, info->type, slimc_dtype_descr[a->dtype]);
            return 1;
        }
        int bad = a->ndim != info->rank;
        for (int j = 0; !bad && j < info->rank; j++) {
            int64_t want = info->dims[j].c;
            if (info->dims[j].sym >= 0) {
                int64_t *s = &syms[info->dims[j].sym];
                if (a->shape[j] < 1 || (*s && *s != a->shape[j]))
                    bad = 1;
                else
                    *s = a->shape[j];
            } else if (a->shape[j] != want) {
                bad = 1;
            }
        }
        if (bad) {
            char got[200];
            int m = snprintf(got, sizeof got, "[");
            for (int j = 0; j < a->ndim; j++)
                m += snprintf(got + m, sizeof got - (size_t)m, "%s%lld", j ? ", " : "",
                              (long long)a->shape[j]);
            snprintf(got + m, sizeof got - (size_t)m, "]");
            fprintf(stderr,
                    "%s: error: input '%s' must be %s, the file holds an array of shape %s\n",
                    files[k], info->shown, info->type, got);
            return 1;
        }
        in_ptr[k] = a->data;
    }
    for (int s = 0; s < SLIMC_N_SYMS; s++)
        if (!syms[s])
            syms[s] = 1;
    const void *consts[SLIMC_N_VALUES + 1] = {0};
    for (size_t c = 0; c < sizeof slimc_consts / sizeof slimc_consts[0]; c++)
        if (slimc_consts[c].id >= 0)
            consts[slimc_consts[c].id] = slimc_weights_blob + slimc_consts[c].offset;
    /* The arena and the outputs for these inputs against --max-memory, before allocating
     * them (in double: dims of hostile inputs cannot wrap it). */
    double need = (double)slimc_model_arena_bytes(syms);
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++) {
        double count = 1;
        for (int j = 0; j < slimc_outputs[k].rank; j++) {
            double v = (double)slimc_outputs[k].dims[j].c;
            for (int s = 0; s < SLIMC_N_SYMS; s++)
                if (slimc_outputs[k].dims[j].mask & (1u << s))
                    v *= (double)syms[s];
            count *= v;
        }
        need += count * slimc_dtype_size[slimc_outputs[k].dtype];
    }
    if (need > max_memory) {
        fprintf(stderr,
                "%s: error: the arena and outputs for these inputs need %.1f MiB, over the memory "
                "limit (%.1f MiB; --max-memory raises it)\n",
                argv[0], need / 0x1p20, max_memory / 0x1p20);
        return 1;
    }
    void *out_ptr[SLIMC_N_OUTPUTS + 1];
    size_t out_bytes[SLIMC_N_OUTPUTS + 1];
    int64_t out_shape[SLIMC_N_OUTPUTS + 1][8];
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++)
        out_ptr[k] = NULL;
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++) {
        const SlimcIoInfo *info = &slimc_outputs[k];
        size_t count = 1;
        int wraps = 0; /* every product checked: symbol values come from the input files */
        for (int j = 0; j < info->rank; j++) {
            int64_t v = info->dims[j].c;
            for (int s = 0; s < SLIMC_N_SYMS; s++)
                if (info->dims[j].mask & (1u << s))
                    wraps |= __builtin_mul_overflow(v, syms[s], &v);
            out_shape[k][j] = v;
            wraps |= v < 0 || __builtin_mul_overflow(count, (size_t)v, &count);
        }
        wraps |=
            __builtin_mul_overflow(count, (size_t)slimc_dtype_size[info->dtype], &out_bytes[k]);
        if (wraps || out_bytes[k] > SLIMC_MAIN_MAX_BYTES) {
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
    if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: error: cannot create the output folder: %s\n", out_dir,
                strerror(errno));
        return 1;
    }
    size_t arena_bytes = slimc_model_arena_bytes(syms); /* SIZE_MAX when it overflows */
    if (arena_bytes > SLIMC_MAIN_MAX_BYTES) {
        fprintf(stderr, "%s: error: the model's working memory overflows for these inputs\n",
                argv[0]);
        goto fail;
    }
    void *arena = aligned_alloc(64, (arena_bytes + 63) / 64 * 64 + 64);
    if (!arena) {
        fprintf(stderr, "%s: error: out of memory (%zu bytes of arena)\n", argv[0], arena_bytes);
        goto fail;
    }
    int runs = bench ? bench : 1;
    double *ms = malloc(sizeof(double) * (size_t)runs);
    if (!ms) {
        fprintf(stderr, "%s: error: out of memory\n", argv[0]);
        goto done;
    }
    for (int r = 0; r < runs; r++) {
        double t0 = slimc_now_ms();
        if (slimc_model_run(consts, in_ptr, out_ptr, syms, arena, threads) != 0) {
            fprintf(stderr,
                    "%s: error: the model rejected its inputs (an index out of range, or sizes "
                    "that do not fit)\n",
                    argv[0]);
            goto done;
        }
        ms[r] = slimc_now_ms() - t0;
    }
    if (bench) {
        qsort(ms, (size_t)runs, sizeof ms[0], slimc_cmp_double);
        printf("%s: median %.4f ms over %d runs (%d thread%s)\n", SLIMC_MODEL_NAME, ms[runs / 2],
               runs, threads, threads == 1 ? "" : "s");
    }
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++) {
        const SlimcIoInfo *info = &slimc_outputs[k];
        printf("%s: %s [", info->shown, slimc_dtype_descr[info->dtype] + 1);
        size_t count = out_bytes[k] / (size_t)slimc_dtype_size[info->dtype];
        for (int j = 0; j < info->rank; j++)
            printf("%s%lld", j ? ", " : "", (long long)out_shape[k][j]);
        printf("]");
        if (info->dtype == 1) {
            printf(" =");
            for (size_t j = 0; j < count && j < 6; j++)
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
    free(arena);
fail:
    for (int k = 0; k < SLIMC_N_OUTPUTS; k++)
        free(out_ptr[k]);
    for (int k = 0; k < SLIMC_N_INPUTS; k++)
        free(in[k].data);
    return status;
}
