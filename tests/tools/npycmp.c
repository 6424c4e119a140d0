/* npycmp A.npy B.npy [TOL [TOP1]]: exit 0 when A and B have the same dtype and shape and
 * max|a - b| <= TOL * max|b| (TOL defaults to 1e-4; integers must be equal), and, with
 * TOP1, when the argmax over the last axis agrees on at least that fraction of rows (for
 * quantized models, whose outputs differ by rounding steps). */
#include "slimc/slimc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double get(const SlimcTensor *t, size_t i)
{
    switch (t->dtype) {
    case SLIMC_F64: return ((const double *)t->data)[i];
    case SLIMC_F32: return ((const float *)t->data)[i];
    case SLIMC_I64: return (double)((const int64_t *)t->data)[i];
    case SLIMC_I32: return ((const int32_t *)t->data)[i];
    case SLIMC_I16: return ((const int16_t *)t->data)[i];
    case SLIMC_I8: return ((const int8_t *)t->data)[i];
    case SLIMC_U8:
    case SLIMC_BOOL: return ((const uint8_t *)t->data)[i];
    default: return NAN;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: npycmp A.npy B.npy [TOL [TOP1]]\n");
        return 2;
    }
    double tol = argc > 3 ? atof(argv[3]) : 1e-4;
    SlimcContext *ctx = slimc_context_new();
    SlimcTensor a, b;
    if (slimc_npy_load(ctx, argv[1], &a) != SLIMC_OK ||
        slimc_npy_load(ctx, argv[2], &b) != SLIMC_OK) {
        fputs(slimc_error(ctx), stderr);
        return 2;
    }
    if (a.dtype != b.dtype || a.ndim != b.ndim ||
        memcmp(a.shape, b.shape, sizeof(int64_t) * (size_t)a.ndim)) {
        fprintf(stderr, "npycmp: %s and %s differ in dtype or shape\n", argv[1], argv[2]);
        return 1;
    }
    size_t n = a.nbytes / slimc_dtype_size(a.dtype);
    double max_b = 0, max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        double x = get(&a, i), y = get(&b, i);
        if (isnan(x) != isnan(y)) {
            fprintf(stderr, "npycmp: NaN mismatch at %zu\n", i);
            return 1;
        }
        if (isnan(x))
            continue;
        max_b = fmax(max_b, fabs(y));
        max_diff = fmax(max_diff, fabs(x - y));
    }
    int ok = a.dtype == SLIMC_F32 || a.dtype == SLIMC_F64 ? max_diff <= tol * max_b : max_diff == 0;
    printf("npycmp: max|a-b| = %.3g, max|b| = %.3g, tol %.3g: %s\n", max_diff, max_b, tol,
           ok ? "ok" : "DIFFER");
    if (argc > 4 && a.ndim >= 1 && a.shape[a.ndim - 1] > 0) {
        const size_t cols = (size_t)a.shape[a.ndim - 1], rows = n / cols;
        size_t same = 0;
        for (size_t r = 0; r < rows; r++) {
            size_t ia = 0, ib = 0;
            for (size_t c = 1; c < cols; c++) {
                ia = get(&a, r * cols + c) > get(&a, r * cols + ia) ? c : ia;
                ib = get(&b, r * cols + c) > get(&b, r * cols + ib) ? c : ib;
            }
            same += ia == ib;
        }
        const double frac = rows ? (double)same / (double)rows : 1.0, want = atof(argv[4]);
        printf("npycmp: top-1 agrees on %zu of %zu rows (%.2f%%, at least %.2f%% wanted)\n", same,
               rows, 100 * frac, 100 * want);
        ok = ok && frac >= want;
    }
    slimc_tensor_free(&a);
    slimc_tensor_free(&b);
    slimc_context_free(ctx);
    return ok ? 0 : 1;
}
