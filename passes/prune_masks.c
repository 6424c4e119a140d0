/* The mask math of pruning (passes/prune.h): which elements of a weight array to zero, as
 * torch.nn.utils.prune chooses them, on plain arrays in PyTorch's layout. No graph here, so
 * that the tests can give hand-made weights with known answers.
 *
 * Magnitudes are compared as the bit patterns of |w| (an f32 with its sign bit cleared
 * orders like an unsigned integer, NaN above +inf), so the selection is exact: no rounding
 * stands between slimc's mask and PyTorch's. Norms of slices are computed in double. */
#include "passes/prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t pass_prune_nparams(const PruneAmount *a, int64_t size)
{
    if (a->is_count)
        return a->count > size ? -1 : a->count;
    /* Python's round(amount * tensor_size): the product in double, half to even (rint in
     * the default rounding mode) */
    return (int64_t)rint(a->fraction * (double)size);
}

/* |x| as an unsigned key that orders like the magnitude (NaN largest). */
static uint32_t mag_key(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x7fffffffu;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void pass_prune_mask_l1(const float *w, int64_t n, int64_t k, uint8_t *mask)
{
    SLIMC_ASSERT(k >= 0 && k <= n);
    memset(mask, 1, (size_t)n);
    if (k == 0)
        return;
    uint32_t *keys = malloc(sizeof(uint32_t) * (size_t)n);
    SLIMC_ASSERT(keys);
    for (int64_t i = 0; i < n; i++)
        keys[i] = mag_key(w[i]);
    qsort(keys, (size_t)n, sizeof *keys, cmp_u32);
    const uint32_t t = keys[k - 1]; /* the k-th smallest magnitude */
    free(keys);
    /* everything below t goes; of those equal to t, the lowest indices up to k */
    int64_t below = 0;
    for (int64_t i = 0; i < n; i++)
        if (mag_key(w[i]) < t) {
            mask[i] = 0;
            below++;
        }
    int64_t left = k - below;
    for (int64_t i = 0; i < n && left > 0; i++)
        if (mag_key(w[i]) == t) {
            mask[i] = 0;
            left--;
        }
    SLIMC_ASSERT(left == 0);
}

/* splitmix64: a small, well-mixed generator; the same seed gives the same mask anywhere. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void pass_prune_mask_random(int64_t n, int64_t k, uint64_t seed, uint8_t *mask)
{
    SLIMC_ASSERT(k >= 0 && k <= n);
    memset(mask, 1, (size_t)n);
    /* Floyd's sampling: k distinct indices, the mask itself as the set */
    uint64_t s = seed;
    for (int64_t j = n - k; j < n; j++) {
        int64_t t = (int64_t)(splitmix64(&s) % (uint64_t)(j + 1));
        if (mask[t] == 0)
            t = j;
        mask[t] = 0;
    }
}

/* outer x size x inner: the dims before dim, dim itself, the dims after it. */
static void split_dims(int rank, const int64_t *shape, int dim, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < rank; i++) {
        if (i < dim)
            *outer *= shape[i];
        else if (i > dim)
            *inner *= shape[i];
    }
}

void pass_prune_slice_norms(const float *w, int rank, const int64_t *shape, int dim, double p,
                            double *norms)
{
    int64_t outer, inner, size = shape[dim];
    split_dims(rank, shape, dim, &outer, &inner);
    for (int64_t c = 0; c < size; c++)
        norms[c] = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < size; c++) {
            const float *s = w + (o * size + c) * inner;
            double acc = norms[c];
            for (int64_t i = 0; i < inner; i++) {
                double a = fabs((double)s[i]);
                if (isinf(p))
                    acc = a > acc || isnan(a) ? a : acc;
                else if (p == 1)
                    acc += a;
                else if (p == 2)
                    acc += a * a;
                else
                    acc += pow(a, p);
            }
            norms[c] = acc;
        }
    if (!isinf(p) && p != 1)
        for (int64_t c = 0; c < size; c++)
            norms[c] = p == 2 ? sqrt(norms[c]) : pow(norms[c], 1.0 / p);
}

typedef struct NormIdx {
    double norm;
    int64_t idx;
} NormIdx;

/* by norm (NaN last), then by index */
static int cmp_norm_idx(const void *a, const void *b)
{
    const NormIdx *x = a, *y = b;
    bool xn = isnan(x->norm), yn = isnan(y->norm);
    if (xn != yn)
        return xn ? 1 : -1;
    if (!xn && x->norm != y->norm)
        return x->norm < y->norm ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

void pass_prune_mask_ln(const float *w, int rank, const int64_t *shape, int dim, double p,
                        int64_t k, uint8_t *mask)
{
    int64_t outer, inner, size = shape[dim];
    split_dims(rank, shape, dim, &outer, &inner);
    SLIMC_ASSERT(k >= 0 && k <= size);
    memset(mask, 1, (size_t)(outer * size * inner));
    if (k == 0)
        return;
    double *norms = malloc(sizeof(double) * (size_t)size);
    NormIdx *order = malloc(sizeof(NormIdx) * (size_t)size);
    SLIMC_ASSERT(norms && order);
    pass_prune_slice_norms(w, rank, shape, dim, p, norms);
    for (int64_t c = 0; c < size; c++)
        order[c] = (NormIdx){norms[c], c};
    qsort(order, (size_t)size, sizeof *order, cmp_norm_idx);
    for (int64_t j = 0; j < k; j++) {
        int64_t c = order[j].idx;
        for (int64_t o = 0; o < outer; o++)
            memset(mask + (o * size + c) * inner, 0, (size_t)inner);
    }
    free(norms);
    free(order);
}

void pass_prune_mask_nm(const float *w, int rank, const int64_t *shape, int n, int m, uint8_t *mask)
{
    SLIMC_ASSERT(rank >= 2 && m > n && n > 0 && m <= 256 && shape[1] % m == 0);
    int64_t outer, inner, size = shape[1];
    split_dims(rank, shape, 1, &outer, &inner);
    memset(mask, 1, (size_t)(outer * size * inner));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t g0 = 0; g0 < size; g0 += m)
            for (int64_t i = 0; i < inner; i++) {
                /* the group: w[o, g0 .. g0+m, i]; prune its m - n smallest, lowest first */
                const int64_t base = (o * size + g0) * inner + i;
                for (int r = 0; r < m - n; r++) {
                    int64_t best = -1;
                    uint32_t best_key = 0;
                    for (int j = 0; j < m; j++) {
                        int64_t at = base + j * inner;
                        uint32_t key = mag_key(w[at]);
                        if (mask[at] && (best < 0 || key < best_key)) {
                            best = at;
                            best_key = key;
                        }
                    }
                    mask[best] = 0;
                }
            }
}

/* Whether every group of m along dim 1 has at most n nonzeros. */
static bool is_nm(const float *w, int rank, const int64_t *shape, int n, int m)
{
    if (rank < 2 || shape[1] % m != 0)
        return false;
    int64_t outer, inner, size = shape[1];
    split_dims(rank, shape, 1, &outer, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t g0 = 0; g0 < size; g0 += m)
            for (int64_t i = 0; i < inner; i++) {
                int nz = 0;
                for (int j = 0; j < m; j++)
                    nz += w[(o * size + g0 + j) * inner + i] != 0;
                if (nz > n)
                    return false;
            }
    return true;
}

const char *pass_prune_pattern(const float *w, int rank, const int64_t *shape, char *buf,
                               size_t size)
{
    int64_t numel = 1;
    for (int i = 0; i < rank; i++)
        numel *= shape[i];
    int64_t zeros = 0;
    for (int64_t i = 0; i < numel; i++)
        zeros += w[i] == 0;
    if (zeros == 0) {
        snprintf(buf, size, "dense");
        return buf;
    }
    /* whole output channels (dim 0) and nothing else */
    if (rank >= 1 && shape[0] > 0) {
        int64_t per = numel / shape[0], zc = 0;
        for (int64_t c = 0; c < shape[0]; c++) {
            int64_t z = 0;
            for (int64_t i = 0; i < per; i++)
                z += w[c * per + i] == 0;
            zc += z == per;
        }
        if (zc > 0 && zc * per == zeros) {
            snprintf(buf, size, "channels (%lld of %lld zero)", (long long)zc, (long long)shape[0]);
            return buf;
        }
    }
    static const int nm[][2] = {{1, 4}, {2, 4}, {4, 8}};
    for (size_t i = 0; i < sizeof nm / sizeof nm[0]; i++)
        if (is_nm(w, rank, shape, nm[i][0], nm[i][1])) {
            snprintf(buf, size, "n:m %d:%d", nm[i][0], nm[i][1]);
            return buf;
        }
    snprintf(buf, size, "unstructured");
    return buf;
}
