/* npycmp A.npy B.npy [TOL]: exit 0 when A and B have the same dtype and shape and
 * max|a - b| <= TOL * max|b| (TOL defaults to 1e-4; integers must be equal). */
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
        fprintf(stderr, "usage: npycmp A.npy B.npy [TOL]\n");
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
    slimc_tensor_free(&a);
    slimc_tensor_free(&b);
    slimc_context_free(ctx);
    return ok ? 0 : 1;
}
