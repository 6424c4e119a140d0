/* Calibration for static int8 (docs/quantization.md): the samples of every model input
 * (one .npy, or named arrays for a model of several inputs: pass_qcal_inputs) are matched
 * to the inputs and checked, then the fp32 graph runs over them with the JIT or the
 * reference evaluator (ir_eval_node, node by node, so every intermediate
 * value is seen), and the activations that quantized ops will read are summarized: min,
 * max, and a histogram over [min, max] (widened to hold 0). The range choosers that turn
 * those into a clip range are described in passes/quant_internal.h. */
#include "passes/quant_internal.h"

#include "frontend/builder.h" /* fe_suggest */
#include "ir/checked.h"
#include "ir/eval.h"
#include "passes/pass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pass_qcal_stats_init(QStats *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
}

void pass_qcal_observe_range(QStats *s, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (v < s->min)
            s->min = v;
        if (v > s->max)
            s->max = v;
    }
    s->count += n;
}

/* The histogram's range [L, H]: the observed one, widened to hold 0. */
static void hist_range(const QStats *s, double *L, double *H)
{
    *L = s->min < 0 ? s->min : 0;
    *H = s->max > 0 ? s->max : 0;
}

void pass_qcal_observe_hist(QStats *s, const float *x, int64_t n)
{
    double L, H;
    hist_range(s, &L, &H);
    if (!(H > L)) {
        s->hist[0] += n;
        return;
    }
    const double k = QCAL_BINS / (H - L);
    for (int64_t i = 0; i < n; i++) {
        double b = ((double)x[i] - L) * k;
        s->hist[b >= QCAL_BINS ? QCAL_BINS - 1 : b < 0 ? 0 : (int64_t)b]++;
    }
}

static int64_t hist_total(const QStats *s)
{
    int64_t t = 0;
    for (int i = 0; i < QCAL_BINS; i++)
        t += s->hist[i];
    return t;
}

/* KL(p || q) of two unnormalized distributions over n bins. */
static double kl_div(const double *p, const double *q, int n)
{
    double sp = 0, sq = 0, r = 0;
    for (int i = 0; i < n; i++) {
        sp += p[i];
        sq += q[i];
    }
    if (sp <= 0 || sq <= 0)
        return INFINITY;
    for (int i = 0; i < n; i++)
        if (p[i] > 0) {
            if (q[i] <= 0)
                return INFINITY;
            r += p[i] / sp * log((p[i] / sp) / (q[i] / sq));
        }
    return r;
}

enum { QCAL_STEPS = 128, QCAL_LEVELS = 256 };

/* The KL divergence of the histogram clipped to bins [a, b) (outliers folded into the edge
 * bins) from its quantization to QCAL_LEVELS levels. */
static double entropy_of(const QStats *s, int a, int b, double *p, double *q)
{
    const int w = b - a;
    for (int j = 0; j < w; j++)
        p[j] = (double)s->hist[a + j];
    for (int j = 0; j < a; j++)
        p[0] += (double)s->hist[j];
    for (int j = b; j < QCAL_BINS; j++)
        p[w - 1] += (double)s->hist[j];
    /* q quantizes the clipped histogram without the folded outliers (TensorRT's way): the
     * mass a range clips away is what its p has and its q lacks */
    const int nq = w < QCAL_LEVELS ? w : QCAL_LEVELS;
    for (int lv = 0; lv < nq; lv++) {
        int lo = (int)((int64_t)lv * w / nq), hi = (int)((int64_t)(lv + 1) * w / nq);
        double sum = 0;
        int nz = 0;
        for (int j = lo; j < hi; j++) {
            sum += (double)s->hist[a + j];
            nz += s->hist[a + j] != 0;
        }
        for (int j = lo; j < hi; j++)
            q[j] = (s->hist[a + j] != 0 && nz) ? sum / nz : 0;
    }
    for (int j = 0; j < w; j++) /* smoothing: a bin p has and q lacks costs, not infinitely */
        if (p[j] > 0 && q[j] <= 0)
            q[j] = 1e-4;
    return kl_div(p, q, w);
}

/* Expected squared error of quantizing the histogram (bin centers) with range [lo, hi]. */
static double mse_of(const QStats *s, float lo, float hi)
{
    float scale;
    int32_t zp;
    double L, H;
    hist_range(s, &L, &H);
    pass_qcal_params(lo, hi, &scale, &zp);
    const double bw = (H - L) / QCAL_BINS;
    double err = 0;
    for (int j = 0; j < QCAL_BINS; j++) {
        if (!s->hist[j])
            continue;
        double x = L + (j + 0.5) * bw;
        double qv = nearbyint(x / scale) + zp;
        qv = fmin(fmax(qv, 0), 255);
        double e = x - (qv - zp) * scale;
        err += (double)s->hist[j] * e * e;
    }
    return err;
}

/* The f in (0, 1] of the range [f L, f H] that minimizes the method's loss. */
static double best_fraction(const QStats *s, QMethod m)
{
    double L, H;
    hist_range(s, &L, &H);
    const double z = -L / (H - L) * QCAL_BINS; /* zero's position, in bins */
    double *p = malloc(sizeof(double) * QCAL_BINS), *q = malloc(sizeof(double) * QCAL_BINS);
    if (!p || !q) {
        free(p);
        free(q);
        return 1.0;
    }
    double best = INFINITY, best_f = 1.0;
    for (int i = QCAL_STEPS; i >= 1; i--) {
        const double f = (double)i / QCAL_STEPS;
        double loss;
        if (m == QCAL_ENTROPY) {
            int a = (int)floor(z - z * f), b = (int)ceil(z + (QCAL_BINS - z) * f);
            a = a < 0 ? 0 : a;
            b = b > QCAL_BINS ? QCAL_BINS : b;
            if (b - a < QCAL_LEVELS)
                break;
            loss = entropy_of(s, a, b, p, q);
        } else {
            loss = mse_of(s, (float)(L * f), (float)(H * f));
        }
        if (loss < best) {
            best = loss;
            best_f = f;
        }
    }
    free(p);
    free(q);
    return best_f;
}

void pass_qcal_range(const QStats *s, QMethod m, double p, float *lo, float *hi)
{
    double L, H;
    hist_range(s, &L, &H);
    if (!(s->count > 0) || !(H > L) || !isfinite(L) || !isfinite(H)) {
        *lo = *hi = 0;
        return;
    }
    double l = L, h = H;
    const int64_t total = hist_total(s);
    const double bw = (H - L) / QCAL_BINS;
    if (total > 0 && m == QCAL_PERCENTILE) {
        const double want_lo = (100.0 - p) / 100.0 * (double)total,
                     want_hi = p / 100.0 * (double)total;
        double acc = 0;
        int jl = 0, jh = QCAL_BINS - 1;
        for (int j = 0; j < QCAL_BINS; j++) {
            acc += (double)s->hist[j];
            if (acc > want_lo) {
                jl = j;
                break;
            }
        }
        acc = 0;
        for (int j = 0; j < QCAL_BINS; j++) {
            acc += (double)s->hist[j];
            if (acc >= want_hi) {
                jh = j;
                break;
            }
        }
        l = fmin(L + jl * bw, 0);
        h = fmax(L + (jh + 1) * bw, 0);
    } else if (total > 0 && (m == QCAL_ENTROPY || m == QCAL_MSE)) {
        const double f = best_fraction(s, m);
        l = L * f;
        h = H * f;
    }
    *lo = (float)fmax(l, L);
    *hi = (float)fmin(h, H);
}

void pass_qcal_params(float lo, float hi, float *scale, int32_t *zp)
{
    if (lo > 0)
        lo = 0;
    if (hi < 0)
        hi = 0;
    float s = (hi - lo) / 255.0f;
    if (!(s > 0) || !isfinite(s)) {
        *scale = 1.0f;
        *zp = 0;
        return;
    }
    double z = nearbyint(-(double)lo / s);
    *scale = s;
    *zp = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

/* ---- the samples of each input ---- */

/* The inputs a calibration batch holds on the stack. */
enum { QCAL_MAX_INPUTS = 64 };

/* An error naming the file and the first NaN or Inf of float32 samples (what: "calibration"
 * or "validation"), with its index in the array; false when there is one. */
static bool check_finite(const char *what, const PassFile *a, SrcLoc loc, Diag *d)
{
    const float *x = a->data;
    const int64_t n = (int64_t)(a->nbytes / sizeof(float));
    int64_t i = 0;
    while (i < n && isfinite(x[i]))
        i++;
    if (i == n)
        return true;
    char idx[IR_MAX_RANK * 24 + 4] = "";
    int64_t r = i;
    for (int k = a->ndim - 1; k >= 0; k--) { /* the multi-index, last axis first */
        int64_t dim = a->shape[k] > 0 ? a->shape[k] : 1;
        char tmp[sizeof idx];
        if (snprintf(tmp, sizeof tmp, "%lld%s%s", (long long)(r % dim),
                     k == a->ndim - 1 ? "" : ", ", idx) >= (int)sizeof tmp)
            break; /* cannot happen (IR_MAX_RANK * 24 holds any index); -Wformat-truncation */
        memcpy(idx, tmp, sizeof idx);
        r /= dim;
    }
    ir_diag_error(d, loc, "quantize: %s: the %s data holds %s at element %lld (index [%s])",
                  a->path, what, isnan(x[i]) ? "NaN" : "Inf", (long long)i, idx);
    return false;
}

/* "a (int64 [?, 128]), b (f32 [?, 3])" into buf: the model's inputs for messages. */
static const char *input_list(const Graph *g, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int j = 0; j < g->n_inputs && len + 8 < size; j++) {
        const Value *v = &g->values[g->inputs[j]];
        int w = snprintf(buf + len, size - len, "%s'%s' (%s)", j ? ", " : "", v->name,
                         ir_dtype_name(v->type.dtype));
        len += w > 0 ? (size_t)w : 0;
    }
    if (len >= size)
        snprintf(buf + size - 5, 5, "...");
    return buf;
}

/* The data for input j from part p of f: dtype and at least one sample. */
static bool take_part(const Graph *g, int j, const PassFile *p, const char *what, PassTensor *t,
                      SrcLoc loc, Diag *d)
{
    const Value *v = &g->values[g->inputs[j]];
    if (p->dtype != v->type.dtype) {
        ir_diag_error(d, loc,
                      "quantize: %s: input '%s' is %s, but its %s data is %s (the samples are "
                      "fed as they are: save them as %s)",
                      p->path, v->name, ir_dtype_name(v->type.dtype), what, ir_dtype_name(p->dtype),
                      ir_dtype_name(v->type.dtype));
        return false;
    }
    if (p->ndim < 1 || p->shape[0] < 1) {
        ir_diag_error(d, loc,
                      "quantize: %s: the %s data of input '%s' holds no samples (its first "
                      "dimension counts them)",
                      p->path, what, v->name);
        return false;
    }
    const Shape *s = &v->type.shape;
    if (p->ndim != s->rank) {
        ir_diag_error(d, loc,
                      "quantize: %s: the %s data of input '%s' has %d dimensions (the samples "
                      "first); the input has %d",
                      p->path, what, v->name, p->ndim, s->rank);
        return false;
    }
    for (int i = 1; i < s->rank; i++)
        if (s->d[i].syms == 0 && s->d[i].c != p->shape[i]) {
            ir_diag_error(d, loc,
                          "quantize: %s: dimension %d of the %s data of input '%s' is %lld; the "
                          "input needs %lld",
                          p->path, i, what, v->name, (long long)p->shape[i], (long long)s->d[i].c);
            return false;
        }
    if (p->dtype == IR_F32 && !check_finite(what, p, loc, d))
        return false;
    t->dtype = p->dtype;
    t->ndim = p->ndim;
    memcpy(t->shape, p->shape, sizeof t->shape);
    t->data = p->data;
    return true;
}

PassTensor *pass_qcal_inputs(const Graph *g, const PassFile *f, const char *what, SrcLoc loc,
                             Diag *d)
{
    char list[512];
    const int n_in = g->n_inputs;
    PassTensor *t = calloc((size_t)n_in + 1, sizeof *t);
    if (!t) {
        ir_diag_error(d, loc, "quantize: out of memory");
        return NULL;
    }
    if (f->n_parts == 0) { /* one .npy: the model's one input */
        if (n_in == 1 && take_part(g, 0, f, what, &t[0], loc, d))
            return t;
        if (n_in != 1)
            ir_diag_error(d, loc,
                          "quantize: %s: the model has %d inputs (%s); give %s data for each, "
                          "by name: a .npz of arrays named after the inputs (np.savez), or "
                          "\"NAME=FILE.npy,NAME=FILE.npy\" (--calibrate NAME=FILE.npy, once per "
                          "input)",
                          f->path, n_in, input_list(g, list, sizeof list), what);
        free(t);
        return NULL;
    }
    const char **names = calloc((size_t)n_in + 1, sizeof *names);
    int *from = malloc(sizeof(int) * ((size_t)n_in + 1));
    bool ok = names && from;
    for (int j = 0; ok && j < n_in; j++) {
        names[j] = g->values[g->inputs[j]].name;
        from[j] = -1;
    }
    for (int k = 0; ok && k < f->n_parts; k++) {
        const PassFile *p = &f->parts[k];
        int j = 0;
        while (j < n_in && strcmp(names[j], p->key) != 0)
            j++;
        if (j == n_in) {
            const char *near = fe_suggest(p->key, names, n_in);
            if (near)
                ir_diag_error(d, loc,
                              "quantize: %s: '%s' is not an input of the model; did you "
                              "mean '%s'?",
                              p->path, p->key, near);
            else
                ir_diag_error(d, loc,
                              "quantize: %s: '%s' is not an input of the model (its inputs: %s)",
                              p->path, p->key, input_list(g, list, sizeof list));
            ok = false;
        } else if (from[j] >= 0) {
            ir_diag_error(d, loc, "quantize: %s: input '%s' is given twice (also in %s)", p->path,
                          p->key, f->parts[from[j]].path);
            ok = false;
        } else {
            from[j] = k;
        }
    }
    for (int j = 0; ok && j < n_in; j++)
        if (from[j] < 0) {
            ir_diag_error(d, loc,
                          "quantize: %s: no %s data for input '%s' (%s); every input "
                          "needs its samples",
                          f->path, what, names[j],
                          ir_dtype_name(g->values[g->inputs[j]].type.dtype));
            ok = false;
        }
    for (int j = 0; ok && j < n_in; j++)
        ok = take_part(g, j, &f->parts[from[j]], what, &t[j], loc, d);
    for (int j = 1; ok && j < n_in; j++)
        if (t[j].shape[0] != t[0].shape[0]) {
            ir_diag_error(d, loc,
                          "quantize: %s: %lld %s samples of input '%s' but %lld of input '%s' "
                          "(the first dimension counts the samples, the same for every input)",
                          f->parts[from[j]].path, (long long)t[j].shape[0], what, names[j],
                          (long long)t[0].shape[0], names[0]);
            ok = false;
        }
    if (!names || !from)
        ir_diag_error(d, loc, "quantize: out of memory");
    free(names);
    free(from);
    if (!ok) {
        free(t);
        return NULL;
    }
    return t;
}

/* ---- running the graph ---- */

/* v's element count with these symbol values; -1 when it overflows. */
static int64_t numel_of(const Graph *g, ValueId v, const int64_t *syms)
{
    const Shape *s = &g->values[v].type.shape;
    int64_t n = 1, k;
    for (int i = 0; i < s->rank; i++)
        if (!ir_dim_eval_ckd(s->d[i], syms, &k) || !ir_ckd_mul_i64(n, k, &n))
            return -1;
    return n;
}

/* Binds the symbols of input in's shape to the dims of t (a batch of nb of its samples);
 * false with a message when a static dim does not match. */
static bool bind_syms(const Graph *g, ValueId in, const PassTensor *t, int64_t nb, int64_t *syms,
                      SrcLoc loc, Diag *d)
{
    const Shape *s = &g->values[in].type.shape;
    const int ndim = t->ndim;
    const int64_t *shape = t->shape;
    if (s->rank != ndim) {
        ir_diag_error(d, loc,
                      "quantize: the calibration data has %d dimensions but input '%s' has %d",
                      ndim, g->values[in].name, s->rank);
        return false;
    }
    for (int i = 0; i < ndim; i++) {
        int64_t want = i == 0 ? nb : shape[i];
        Dim dm = s->d[i];
        if (dm.syms == 0) {
            if (dm.c != want && !(i == 0 && dm.c == shape[0])) {
                ir_diag_error(
                    d, loc,
                    "quantize: dimension %d of the calibration data is %lld but input '%s' "
                    "needs %lld",
                    i, (long long)shape[i], g->values[in].name, (long long)dm.c);
                return false;
            }
            continue;
        }
        int k = __builtin_ctz(dm.syms);
        if ((dm.syms & (dm.syms - 1)) || dm.c != 1 || (syms[k] && syms[k] != want)) {
            ir_diag_error(d, loc,
                          "quantize: cannot bind the symbolic dimension %d of input '%s' to %lld",
                          i, g->values[in].name, (long long)want);
            return false;
        }
        syms[k] = want;
    }
    return true;
}

/* Binds the symbols of every input to a batch of nb samples of each, then the derived
 * ones (S+1, S*S: ir/symbols.c) from them, others 1. */
static bool bind_all(const Graph *g, const PassTensor *in, int64_t nb, int64_t *syms, SrcLoc loc,
                     Diag *d)
{
    for (int j = 0; j < g->n_inputs; j++)
        if (!bind_syms(g, g->inputs[j], &in[j], nb, syms, loc, d))
            return false;
    if (g->derived_syms) {
        int64_t all[IR_MAX_SYMS];
        char why[192];
        for (int k = 0; k < IR_MAX_SYMS; k++)
            all[k] = syms[k] ? syms[k] : 1;
        if (!ir_syms_derive(g, all, why, sizeof why)) {
            ir_diag_error(d, loc, "quantize: calibration data of input '%s': %s",
                          g->values[g->inputs[0]].name, why);
            return false;
        }
        for (int k = 0; k < IR_MAX_SYMS; k++)
            if (g->derived_syms & (1u << k))
                syms[k] = all[k];
    }
    return true;
}

/* Samples [s0, s0 + nb) of each input into batch (views into in). */
static void slice_inputs(const Graph *g, const PassTensor *in, int64_t s0, int64_t nb,
                         PassTensor *batch)
{
    for (int j = 0; j < g->n_inputs; j++) {
        int64_t per = 1;
        for (int i = 1; i < in[j].ndim; i++)
            per *= in[j].shape[i]; /* fits: the file held shape[0] * per elements */
        batch[j] = in[j];
        batch[j].shape[0] = nb;
        batch[j].data = (const char *)in[j].data + ir_dtype_bytes(in[j].dtype, s0 * per);
    }
}

/* The batch size: the first input's fixed batch dim, else `dflt`; an error when the sample
 * count does not split into fixed batches. */
static bool batch_size(const Graph *g, const PassTensor *in, int64_t dflt, const char *what,
                       int64_t *bs, SrcLoc loc, Diag *d)
{
    *bs = dflt;
    for (int j = 0; j < g->n_inputs; j++) {
        const Shape *is = &g->values[g->inputs[j]].type.shape;
        if (is->rank > 0 && is->d[0].syms == 0) {
            *bs = is->d[0].c > 0 ? is->d[0].c : 1;
            break;
        }
    }
    if (*bs != dflt && in[0].shape[0] % *bs) {
        ir_diag_error(d, loc,
                      "quantize: %lld %s samples do not split into batches of %lld (the "
                      "input's fixed batch)",
                      (long long)in[0].shape[0], what, (long long)*bs);
        return false;
    }
    return true;
}

/* One watched activation of one batch: its range (sweep 0, where NaN or Inf is an error)
 * or its histogram (sweep 1). */
static bool observe(QStats *st, int sweep, const float *x, int64_t n, const char *name, SrcLoc loc,
                    Diag *d)
{
    if (sweep) {
        pass_qcal_observe_hist(st, x, n);
        return true;
    }
    pass_qcal_observe_range(st, x, n);
    if (isfinite(st->min) && isfinite(st->max))
        return true;
    ir_diag_error(d, loc, "quantize: activation '%s' is NaN or Inf during calibration", name);
    return false;
}

/* Runs the compiled graph on samples [s0, s0 + nb) of every input, binding their symbols
 * into syms. */
static bool runner_batch(PassExec *ex, const Graph *g, const PassTensor *in, int64_t s0, int64_t nb,
                         int64_t *syms, void **outs, SrcLoc loc, Diag *d)
{
    PassTensor *batch = calloc((size_t)g->n_inputs + 1, sizeof *batch);
    if (!batch) {
        ir_diag_error(d, loc, "quantize: out of memory");
        return false;
    }
    bool ok = bind_all(g, in, nb, syms, loc, d);
    slice_inputs(g, in, s0, nb, batch);
    ok = ok && pass_get_runner()->run(ex, batch, outs, d);
    free(batch);
    return ok;
}

/* "quantize: calibrating 4096/50000 samples" on a terminal, once a run has taken more
 * than a second; the line is cleared at the end (done = total). */
static void progress(struct timespec *t0, int sweep, int sweeps, int64_t done, int64_t total)
{
    if (!isatty(STDERR_FILENO))
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec) < 1.0)
        return;
    if (done >= total && sweep == sweeps - 1)
        fputs("\r\033[K", stderr);
    else
        fprintf(stderr, "\rquantize: calibrating, pass %d of %d: %lld/%lld samples", sweep + 1,
                sweeps, (long long)done, (long long)total);
    fflush(stderr);
}

/* The installed graph runner compiled for g and watch, or NULL (then the reference
 * evaluator runs, with a note saying why when compiling failed). */
static PassExec *runner_compile(const Graph *g, const ValueId *watch, int n_watch, SrcLoc loc,
                                Diag *d)
{
    const PassRunner *r = pass_get_runner();
    if (!r || getenv("SLIMC_CALIBRATE_REFERENCE"))
        return NULL;
    Diag d2;
    ir_diag_init(&d2);
    PassExec *e = r->compile(g, watch, n_watch, &d2);
    if (!e) {
        const char *t = ir_diag_text(&d2), *nl = strchr(t, '\n');
        ir_diag_note(d, loc,
                     "quantize: running the model with the reference evaluator (the JIT "
                     "failed: %.*s)",
                     nl ? (int)(nl - t) : (int)strlen(t), t);
    }
    ir_diag_fini(&d2);
    return e;
}

/* Runs batch [s0, s0 + nb) of the inputs through the reference evaluator node by node,
 * handing each watched f32 value (widx[v] >= 0) to observe; the values are freed after. */
static bool reference_batch(const Graph *g, const PassTensor *in, int64_t s0, int64_t nb,
                            const int *widx, QStats *stats, int sweep, const void **vals, bool *own,
                            SrcLoc loc, Diag *d)
{
    int64_t syms[IR_MAX_SYMS] = {0};
    PassTensor batch[QCAL_MAX_INPUTS];
    if (g->n_inputs > QCAL_MAX_INPUTS) {
        ir_diag_error(d, loc, "quantize: calibration takes models of at most %d inputs",
                      QCAL_MAX_INPUTS);
        return false;
    }
    if (!bind_all(g, in, nb, syms, loc, d))
        return false;
    for (int k = 0; k < IR_MAX_SYMS; k++)
        if (!syms[k])
            syms[k] = 1;
    slice_inputs(g, in, s0, nb, batch);
    for (int v = 0; v < g->n_values; v++)
        vals[v] = g->values[v].kind == IR_VALUE_CONST ? g->values[v].data : NULL;
    bool ok = true;
    for (int j = 0; j < g->n_inputs; j++) {
        const ValueId v = g->inputs[j];
        vals[v] = batch[j].data;
        /* an input itself may be watched */
        if (widx[v] >= 0 && g->values[v].type.dtype == IR_F32)
            ok = ok && observe(&stats[widx[v]], sweep, vals[v], numel_of(g, v, syms),
                               g->values[v].name, loc, d);
    }
    for (int i = 0; i < g->n_nodes && ok; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        int n_in = n->n_inputs + n->n_epilogue;
        const void *ins[24] = {0};
        void *outs[4] = {0};
        if (n_in > 24 || n->n_outputs > 4) {
            ir_diag_error(d, n->loc, "quantize: node '%s' has too many operands for calibration",
                          n->name);
            ok = false;
            break;
        }
        for (int j = 0; j < n_in; j++) {
            ValueId v = j < n->n_inputs ? n->inputs[j] : n->epilogue[j - n->n_inputs].operand;
            ins[j] = v == IR_NONE ? NULL : vals[v];
        }
        for (int j = 0; j < n->n_outputs; j++) {
            ValueId v = n->outputs[j];
            size_t bytes;
            outs[j] = NULL;
            if (!ir_ckd_bytes(g->values[v].type.dtype, numel_of(g, v, syms), &bytes)) {
                ir_diag_error(d, n->loc,
                              "quantize: tensor '%s': element count overflows for the "
                              "calibration data's shapes",
                              g->values[v].name);
                ok = false;
            } else if (!(outs[j] = malloc(bytes ? bytes : 1))) {
                ir_diag_error(d, n->loc, "quantize: out of memory");
                ok = false;
            }
        }
        if (ok)
            ok = ir_eval_node(g, n, ins, outs, syms, d);
        for (int j = 0; j < n->n_outputs; j++) {
            ValueId v = n->outputs[j];
            vals[v] = outs[j];
            own[v] = true;
            if (ok && widx[v] >= 0 && g->values[v].type.dtype == IR_F32)
                ok = observe(&stats[widx[v]], sweep, outs[j], numel_of(g, v, syms),
                             g->values[v].name, n->loc, d);
        }
    }
    for (int v = 0; v < g->n_values; v++)
        if (own[v]) {
            free((void *)vals[v]);
            own[v] = false;
        }
    return ok;
}

bool pass_qcal_run(const Graph *g, const PassTensor *in, const ValueId *watch, int n_watch,
                   bool with_hist, QStats *stats, SrcLoc loc, Diag *d)
{
    if (g->n_inputs < 1 || in[0].ndim < 1 || in[0].shape[0] < 1) {
        ir_diag_error(d, loc, "quantize: the calibration set is empty");
        return false;
    }
    const int64_t n_samples = in[0].shape[0];
    const int sweeps = with_hist ? 2 : 1;
    /* the batch: all samples when the batch dim is static, else up to 16 at a time */
    int64_t bs;
    if (!batch_size(g, in, 16, "calibration", &bs, loc, d))
        return false;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    PassExec *ex = runner_compile(g, watch, n_watch, loc, d);
    if (ex) {
        void **outs = calloc((size_t)n_watch + 1, sizeof(void *));
        bool ok = outs != NULL;
        for (int sweep = 0; sweep < sweeps && ok; sweep++)
            for (int64_t s0 = 0; s0 < n_samples && ok; s0 += bs) {
                const int64_t nb = n_samples - s0 < bs ? n_samples - s0 : bs;
                int64_t syms[IR_MAX_SYMS] = {0};
                ok = runner_batch(ex, g, in, s0, nb, syms, outs, loc, d);
                progress(&t0, sweep, sweeps, s0 + nb, n_samples);
                for (int i = 0; outs && i < n_watch; i++) {
                    const Value *v = &g->values[watch[i]];
                    if (ok && v->type.dtype == IR_F32)
                        ok = observe(&stats[i], sweep, outs[i], numel_of(g, watch[i], syms),
                                     v->name, loc, d);
                    free(outs[i]);
                    outs[i] = NULL;
                }
            }
        free(outs);
        pass_get_runner()->release(ex);
        return ok;
    }
    int *widx = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    const void **vals = calloc((size_t)g->n_values + 1, sizeof(void *));
    bool *own = calloc((size_t)g->n_values + 1, 1);
    bool ok = widx && vals && own;
    if (!ok)
        ir_diag_error(d, loc, "quantize: out of memory");
    for (int v = 0; ok && v < g->n_values; v++)
        widx[v] = -1;
    for (int i = 0; ok && i < n_watch; i++)
        widx[watch[i]] = i;
    for (int sweep = 0; sweep < sweeps && ok; sweep++)
        for (int64_t s0 = 0; s0 < n_samples && ok; s0 += bs) {
            const int64_t nb = n_samples - s0 < bs ? n_samples - s0 : bs;
            ok = reference_batch(g, in, s0, nb, widx, stats, sweep, vals, own, loc, d);
            progress(&t0, sweep, sweeps, s0 + nb, n_samples);
        }
    free(widx);
    free(vals);
    free(own);
    return ok;
}

bool pass_qcal_eval(const Graph *g, const PassTensor *in, float **out, int64_t *per_sample,
                    SrcLoc loc, Diag *d)
{
    *out = NULL;
    *per_sample = 0;
    if (g->n_inputs < 1 || g->n_outputs < 1 || g->values[g->outputs[0]].type.dtype != IR_F32) {
        ir_diag_error(d, loc, "quantize: the accuracy check needs an f32 first output");
        return false;
    }
    const int64_t n_samples = in[0].shape[0];
    int64_t bs;
    if (!batch_size(g, in, 32, "validation", &bs, loc, d))
        return false;
    PassTensor batch[QCAL_MAX_INPUTS];
    const void *ins[QCAL_MAX_INPUTS];
    if (g->n_inputs > QCAL_MAX_INPUTS) {
        ir_diag_error(d, loc, "quantize: the accuracy check takes models of at most %d inputs",
                      QCAL_MAX_INPUTS);
        return false;
    }
    float *res = NULL;
    bool ok = true;
    PassExec *ex = runner_compile(g, &g->outputs[0], 1, loc, d);
    for (int64_t s0 = 0; s0 < n_samples && ok; s0 += bs) {
        const int64_t nb = n_samples - s0 < bs ? n_samples - s0 : bs;
        int64_t syms[IR_MAX_SYMS] = {0};
        void **outs = calloc((size_t)g->n_outputs + 1, sizeof(void *));
        if (!outs) {
            ir_diag_error(d, loc, "quantize: out of memory");
            ok = false;
            break;
        }
        if (ex) {
            ok = runner_batch(ex, g, in, s0, nb, syms, outs, loc, d);
        } else {
            ok = bind_all(g, in, nb, syms, loc, d);
            for (int k = 0; k < IR_MAX_SYMS; k++)
                if (!syms[k])
                    syms[k] = 1;
            slice_inputs(g, in, s0, nb, batch);
            for (int j = 0; j < g->n_inputs; j++)
                ins[j] = batch[j].data;
            ok = ok && ir_eval_graph(g, ins, outs, syms, d);
        }
        const int64_t n_out = numel_of(g, g->outputs[0], syms);
        if (ok && (n_out % nb || n_out == 0)) {
            ir_diag_error(d, loc,
                          "quantize: the model's first output does not hold one row per sample");
            ok = false;
        }
        if (ok && !res) {
            *per_sample = n_out / nb;
            res = malloc(sizeof(float) * (size_t)(*per_sample * n_samples));
            if (!res) {
                ir_diag_error(d, loc, "quantize: out of memory");
                ok = false;
            }
        }
        if (ok)
            memcpy(res + s0 * *per_sample, outs[0], sizeof(float) * (size_t)n_out);
        for (int i = 0; i < (ex ? 1 : g->n_outputs); i++)
            free(outs[i]);
        free(outs);
    }
    if (ex)
        pass_get_runner()->release(ex);
    if (!ok || !res) {
        free(res);
        return false;
    }
    *out = res;
    return true;
}
