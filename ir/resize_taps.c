/* The taps of resize_axis, computed as onnx.reference.ops.op_resize computes one axis:
 * the output coordinate x maps to x_ori in the input by the coordinate transformation
 * mode, the weights follow from the fractional part (nearest's rounding, linear, cubic
 * with coefficient A, their antialiased forms when downsampling), the taps are the nearest
 * whole positions to x_ori (the lower one on a tie), and positions off the input read its
 * edge unless exclude_outside drops them (the rest renormalized). Attribute codes are
 * ir/ops.def's. */
#include "ir/resize_taps.h"
#include "ir/checked.h"

#include <math.h>
#include <stdlib.h>

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_ASYMMETRIC, CT_ALIGN_CORNERS, CT_PYTORCH, CT_TF_CROP, CT_SYMMETRIC };
enum { NM_ROUND_FLOOR, NM_ROUND_CEIL, NM_FLOOR, NM_CEIL };

#define MAX_TAPS 64 /* antialiasing by up to 1/16 (cubic) or 1/32 (linear) */

/* Keys's cubic convolution kernel with coefficient a. */
static double cubic_kernel(double x, double a)
{
    x = fabs(x);
    double x2 = x * x, x3 = x * x2;
    if (x <= 1)
        return (a + 2) * x3 - (a + 3) * x2 + 1;
    if (x < 2)
        return a * x3 - 5 * a * x2 + 8 * a * x - 4 * a;
    return 0.0;
}

/* The first tap's offset (relative to floor(x_ori)) of the antialiased kernels. */
static int antialias_start(int mode, double scale)
{
    double s = scale < 1.0 ? scale : 1.0;
    return (int)floor((mode == RS_CUBIC ? -2.0 : -1.0) / s) + 1;
}

static int tap_count(int mode, bool antialias, double scale)
{
    if (mode == RS_NEAREST)
        return 2;
    if (!antialias)
        return mode == RS_CUBIC ? 4 : 2;
    int start = antialias_start(mode, scale);
    return 2 - 2 * start; /* cubic: i_end - i_start with i_end = 2 - i_start */
}

/* The n weights for the fractional position ratio in (0, 1]. */
static void weights(int mode, int nearest, bool antialias, double a, double ratio, double scale,
                    double *c, int n)
{
    if (mode == RS_NEAREST) {
        bool up = ratio == 1.0                ? true
                  : nearest == NM_ROUND_FLOOR ? ratio > 0.5
                  : nearest == NM_ROUND_CEIL  ? ratio >= 0.5
                                              : nearest == NM_CEIL;
        c[0] = up ? 0.0 : 1.0;
        c[1] = up ? 1.0 : 0.0;
        return;
    }
    if (!antialias && mode == RS_LINEAR) {
        c[0] = 1 - ratio;
        c[1] = ratio;
        return;
    }
    if (!antialias) {
        double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
        c[0] = ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a;
        c[1] = ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1;
        c[2] = ((a + 2) * q - (a + 3)) * q * q + 1;
        c[3] = ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a;
        return;
    }
    double s = scale < 1.0 ? scale : 1.0, sum = 0;
    int start = antialias_start(mode, scale);
    for (int i = 0; i < n; i++) {
        double arg = mode == RS_CUBIC ? s * (start + i - ratio) : (start + i - ratio) * s;
        double v = mode == RS_CUBIC ? cubic_kernel(arg, a) : 1 - fabs(arg);
        c[i] = mode == RS_CUBIC ? v : v < 0 ? 0 : v > 1 ? 1 : v;
        sum += c[i];
    }
    for (int i = 0; i < n; i++)
        c[i] /= sum;
}

/* The n whole positions in [0, limit) nearest to x (ties to the lower), ascending. */
static void nearest_positions(double x, int n, int64_t limit, int64_t *pos)
{
    double f = floor(x);
    int64_t c = f < 0 ? 0 : f > (double)(limit - 1) ? limit - 1 : (int64_t)f;
    int64_t cand[2 * MAX_TAPS + 1];
    int m = 0;
    for (int64_t i = c - n; i <= c + n; i++)
        if (i >= 0 && i < limit)
            cand[m++] = i;
    for (int k = 0; k < n && k < m; k++) { /* selection by (|x - i|, i) */
        int best = k;
        for (int j = k + 1; j < m; j++) {
            double dj = fabs(x - (double)cand[j]), db = fabs(x - (double)cand[best]);
            if (dj < db || (dj == db && cand[j] < cand[best]))
                best = j;
        }
        int64_t t = cand[k];
        cand[k] = cand[best];
        cand[best] = t;
    }
    for (int k = 0; k < n; k++) /* ascending */
        for (int j = k + 1; j < n; j++)
            if (cand[j] < cand[k]) {
                int64_t t = cand[k];
                cand[k] = cand[j];
                cand[j] = t;
            }
    for (int k = 0; k < n; k++)
        pos[k] = cand[k];
}

/* x_ori of output coordinate x; *outside for tf_crop_and_resize beyond the input. */
static double source_coord(const Node *n, double x, double in, double scale, int64_t out_len,
                           bool *outside)
{
    double ow = scale * in;
    double r0 = ir_attr_roi_start(n), r1 = ir_attr_roi_end(n);
    *outside = false;
    switch (ir_attr_coord_or(n, CT_HALF_PIXEL)) {
    case CT_ALIGN_CORNERS: return ow == 1 ? 0.0 : x * (in - 1) / (ow - 1);
    case CT_ASYMMETRIC: return x / scale;
    case CT_TF_CROP: {
        double span = (double)((float)r1 - (float)r0); /* ONNX's roi is f32 */
        double xo = ow == 1 ? span * (in - 1) / 2 : x * span * (in - 1) / (ow - 1);
        xo += r0 * (in - 1);
        *outside = xo < 0 || xo > in - 1;
        return xo;
    }
    case CT_PYTORCH: return ow == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case CT_SYMMETRIC: {
        double adjustment = (double)out_len / ow, center = in / 2;
        return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    }
    default: return (x + 0.5) / scale - 0.5;
    }
}

bool ir_resize_taps(const Node *n, int64_t in_len, ResizeTaps *t)
{
    return ir_resize_taps_to(n, in_len, 0, t);
}

bool ir_resize_taps_to(const Node *n, int64_t in_len, int64_t out_len, ResizeTaps *t)
{
    int mode = (int)ir_attr_mode_or(n, RS_NEAREST);
    int nearest = (int)ir_attr_nearest_or(n, NM_ROUND_FLOOR);
    bool antialias = mode != RS_NEAREST && ir_attr_antialias(n) != 0;
    bool exclude = ir_attr_exclude_outside(n) != 0;
    double a = ir_attr_cubic_a(n), scale = ir_attr_scale(n);
    /* along a symbolic length (ir_resize_sym): the size from the scale, or the scale
     * (0) from the size, once the length is known */
    t->out_len = out_len > 0 ? out_len : ir_attr_size_1d_or(n, 1);
    if (t->out_len < 1 && !ir_ckd_from_double(floor((double)in_len * scale), &t->out_len))
        return false;
    if (!(scale > 0))
        scale = (double)t->out_len / (double)in_len;
    int nc = tap_count(mode, antialias, scale);
    if (nc < 1 || nc > MAX_TAPS || t->out_len < 1)
        return false;
    t->k = mode == RS_NEAREST ? 1 : nc; /* nearest keeps the one tap of weight 1 */
    size_t taps = (size_t)(t->out_len * t->k);
    t->idx = malloc(sizeof(int32_t) * taps + 1);
    t->w = malloc(sizeof(double) * taps + 1);
    t->extrap = calloc((size_t)t->out_len + 1, 1);
    if (!t->idx || !t->w || !t->extrap) {
        ir_resize_taps_free(t);
        return false;
    }
    double in = (double)in_len;
    int pad = (nc + 1) / 2;
    for (int64_t o = 0; o < t->out_len; o++) {
        bool outside;
        double xo = source_coord(n, (double)o, in, scale, t->out_len, &outside);
        double ratio = xo == floor(xo) ? 1.0 : xo - floor(xo);
        double c[MAX_TAPS];
        int64_t pos[MAX_TAPS];
        weights(mode, nearest, antialias, a, ratio, scale, c, nc);
        nearest_positions(xo + pad, nc, in_len + 2 * pad, pos);
        if (exclude) {
            double sum = 0;
            for (int i = 0; i < nc; i++) {
                int64_t p = pos[i] - pad;
                if (p < 0 || p >= in_len)
                    c[i] = 0;
                sum += c[i];
            }
            for (int i = 0; i < nc; i++)
                c[i] /= sum;
        }
        t->extrap[o] = outside;
        int used = 0;
        for (int i = 0; i < nc; i++) {
            if (mode == RS_NEAREST && c[i] == 0)
                continue;
            int64_t p = pos[i] - pad;
            p = p < 0 ? 0 : p >= in_len ? in_len - 1 : p; /* edge padding */
            t->idx[o * t->k + used] = (int32_t)p;
            t->w[o * t->k + used] = c[i];
            if (++used == t->k)
                break;
        }
    }
    return true;
}

void ir_resize_taps_free(ResizeTaps *t)
{
    free(t->idx);
    free(t->w);
    free(t->extrap);
    t->idx = NULL;
    t->w = NULL;
    t->extrap = NULL;
}

int64_t ir_resize_upsample_factor(int mode, int coord, int nearest, double scale, bool antialias)
{
    if (mode != RS_NEAREST || coord != CT_ASYMMETRIC || antialias || !(scale >= 1.0) ||
        scale > 1024.0 || scale != floor(scale))
        return 0;
    int64_t k = (int64_t)scale;
    return nearest == NM_FLOOR || (nearest == NM_ROUND_FLOOR && k <= 2) ? k : 0;
}

bool ir_resize_sym(int mode, int coord)
{
    return (mode == RS_NEAREST || mode == RS_LINEAR || mode == RS_CUBIC) &&
           (coord == CT_HALF_PIXEL || coord == CT_ASYMMETRIC || coord == CT_ALIGN_CORNERS ||
            coord == CT_PYTORCH);
}

int ir_resize_aa_taps(int mode, double scale)
{
    if ((mode != RS_LINEAR && mode != RS_CUBIC) || !(scale >= IR_RESIZE_AA_MIN_SCALE))
        return 0;
    return tap_count(mode, true, scale);
}

bool ir_resize_scale_dyadic(double scale, int64_t *m, int64_t *div)
{
    if (!(scale > 0) || scale > 1024.0)
        return false;
    for (int64_t d = 1; d <= 256; d *= 2)
        if (scale * (double)d == floor(scale * (double)d)) {
            *m = (int64_t)(scale * (double)d);
            *div = d;
            return true;
        }
    return false;
}
