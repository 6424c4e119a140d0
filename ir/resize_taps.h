/* The interpolation taps of a resize_axis node (ONNX Resize along one axis): shared by
 * the reference evaluator (ir/eval_index.c) and the C emitter (codegen/c/index_ops.c),
 * which writes them as tables. */
#ifndef SLIMC_IR_RESIZE_TAPS_H
#define SLIMC_IR_RESIZE_TAPS_H

#include "ir/graph.h"

/* Output position o along the axis is extrap[o] ? the extrapolation value :
 * sum over t < k of w[o * k + t] * x[idx[o * k + t]], every idx in [0, in_len). */
typedef struct ResizeTaps {
    int k;
    int64_t out_len;
    int32_t *idx;
    double *w;
    uint8_t *extrap;
} ResizeTaps;

/* Computes the taps of node n (a resize_axis) for an input length in_len (the output
 * length its size, or floor(in_len * scale) when the size is < 1; the scale its scale, or
 * size / in_len when that is 0: a symbolic length, ir_resize_sym), as ONNX's
 * reference computes them (coordinate transform, nearest rounding, linear/cubic weights,
 * antialiasing, exclude_outside, edge padding). Arrays malloc'd; false when out of memory. */
bool ir_resize_taps(const Node *n, int64_t in_len, ResizeTaps *t);
/* The same to out_len outputs (a size_sym resize, its length known when it runs). */
bool ir_resize_taps_to(const Node *n, int64_t in_len, int64_t out_len, ResizeTaps *t);
void ir_resize_taps_free(ResizeTaps *t);

/* The integer factor k of a resize whose taps need no table, so that it works on a
 * symbolic length (issue 19): nearest, asymmetric coordinates (PyTorch's nn.Upsample
 * export), floor rounding (or round_prefer_floor at k = 2, the same taps), a whole scale
 * k >= 1, no antialias; output position j reads input j / k. 0 when another case. */
int64_t ir_resize_upsample_factor(int mode, int coord, int nearest, double scale, bool antialias);

/* Whether a resize_axis of mode and coord computes its taps when it runs, so that it works
 * on a symbolic length (issue 19): nearest (any rounding), linear and cubic (any
 * coefficient, exclude_outside, antialias) with half_pixel, asymmetric, align_corners or
 * pytorch_half_pixel coordinates. Its output length is floor(len * scale) (size -1; the
 * scale m / div with div a power of two up to 256, so that the floor is exact:
 * ir_resize_scale_dyadic) or a constant size (scale 0: size / len when it runs; with
 * antialias the length is then bounded so that the scale is >= IR_RESIZE_AA_MIN_SCALE,
 * ir/shape_index.c). tf_crop_and_resize and half_pixel_symmetric are computed per shape. */
bool ir_resize_sym(int mode, int coord);
/* The least scale an antialiased resize takes (its taps: up to 64 for cubic, 32 linear). */
#define IR_RESIZE_AA_MIN_SCALE (1.0 / 16)
/* The taps per output position of an antialiased linear or cubic resize at scale (the
 * kernel's support widened by 1/scale when downsampling: 2 and 4 when upsampling); 0 for
 * another mode or a scale below IR_RESIZE_AA_MIN_SCALE. */
int ir_resize_aa_taps(int mode, double scale);
bool ir_resize_scale_dyadic(double scale, int64_t *m, int64_t *div);

#endif
