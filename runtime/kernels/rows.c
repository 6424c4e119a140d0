/* rows.c — fp32 row kernels: softmax, log_softmax, layer_norm. */
#include "runtime/kernels/internal.h"

/* ---- softmax and layer_norm rows ---- */

#ifdef SLIMC_RT_X86
static SLIMC_RT_AVX512 void slimc_rt_softmax_row_512(const float *x, float *y, int64_t len, int log)
{
    __m512 vm = _mm512_set1_ps(-INFINITY);
    __mmask16 nan = 0;
    for (int64_t i = 0; i < len; i += 16) {
        const __mmask16 mk =
            len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        const __m512 v = _mm512_mask_loadu_ps(vm, mk, x + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        vm = _mm512_max_ps(vm, v);
    }
    const float m = nan ? NAN : _mm512_reduce_max_ps(vm);
    const __m512 bm = _mm512_set1_ps(m);
    __m512 vs = _mm512_setzero_ps();
    for (int64_t i = 0; i < len; i += 16) {
        const __mmask16 mk =
            len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        const __m512 e = slimc_rt_exp_512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), bm));
        vs = _mm512_add_ps(vs, _mm512_maskz_mov_ps(mk, e));
        if (!log)
            _mm512_mask_storeu_ps(y + i, mk, e);
    }
    const float sum = _mm512_reduce_add_ps(vs);
    if (log) {
        const __m512 c = _mm512_set1_ps(m + logf(sum));
        for (int64_t i = 0; i < len; i += 16) {
            const __mmask16 mk =
                len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
            _mm512_mask_storeu_ps(y + i, mk, _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), c));
        }
        return;
    }
    const __m512 bs = _mm512_set1_ps(sum);
    for (int64_t i = 0; i < len; i += 16) {
        const __mmask16 mk =
            len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, mk, _mm512_div_ps(_mm512_maskz_loadu_ps(mk, y + i), bs));
    }
}

static SLIMC_RT_AVX512 void slimc_rt_layernorm_row_512(const float *x, float *y, int64_t len,
                                                       float eps, const float *weight,
                                                       const float *bias)
{
    __m512 vs = _mm512_setzero_ps();
    for (int64_t i = 0; i < len; i += 16) {
        const __mmask16 mk =
            len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        vs = _mm512_add_ps(vs, _mm512_maskz_loadu_ps(mk, x + i));
    }
    const float mean = _mm512_reduce_add_ps(vs) / (float)len;
    const __m512 bm = _mm512_set1_ps(mean);
    __m512 vq = _mm512_setzero_ps();
    for (int64_t i = 0; i < len; i += 16) {
        const __mmask16 mk =
            len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        const __m512 d = _mm512_maskz_sub_ps(mk, _mm512_maskz_loadu_ps(mk, x + i), bm);
        vq = _mm512_fmadd_ps(d, d, vq);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(vq) / (float)len + eps));
    for (int64_t i = 0; i < len; i += 16) {
        const __mmask16 mk =
            len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), bm), inv);
        if (weight)
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, weight + i));
        if (bias)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias + i));
        _mm512_mask_storeu_ps(y + i, mk, v);
    }
}

/* The AVX2 rows: 8 lanes, the tail loaded and stored under a lane mask (masked lanes read
 * as -inf for the max, 0 elsewhere). */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) __m256i slimc_rt_tail_256(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline SLIMC_RT_AVX2 __attribute__((always_inline)) float slimc_rt_hsum_256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static SLIMC_RT_AVX2 void slimc_rt_softmax_row_256(const float *x, float *y, int64_t len, int log)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 vm = ninf, vnan = _mm256_setzero_ps();
    for (int64_t i = 0; i < len; i += 8) {
        const __m256i mk = slimc_rt_tail_256(len - i);
        const __m256 v =
            _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, mk), _mm256_castsi256_ps(mk));
        vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        vm = _mm256_max_ps(vm, v);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float m = _mm256_movemask_ps(vnan) ? NAN : _mm_cvtss_f32(m4);
    const __m256 bm = _mm256_set1_ps(m);
    __m256 vs = _mm256_setzero_ps();
    for (int64_t i = 0; i < len; i += 8) {
        const __m256i mk = slimc_rt_tail_256(len - i);
        const __m256 e =
            _mm256_and_ps(slimc_rt_exp_256(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), bm)),
                          _mm256_castsi256_ps(mk));
        vs = _mm256_add_ps(vs, e);
        if (!log)
            _mm256_maskstore_ps(y + i, mk, e);
    }
    const float sum = slimc_rt_hsum_256(vs);
    const __m256 c = _mm256_set1_ps(log ? m + logf(sum) : sum);
    for (int64_t i = 0; i < len; i += 8) {
        const __m256i mk = slimc_rt_tail_256(len - i);
        _mm256_maskstore_ps(y + i, mk,
                            log ? _mm256_sub_ps(_mm256_maskload_ps(x + i, mk), c)
                                : _mm256_div_ps(_mm256_maskload_ps(y + i, mk), c));
    }
}

static SLIMC_RT_AVX2 void slimc_rt_layernorm_row_256(const float *x, float *y, int64_t len,
                                                     float eps, const float *weight,
                                                     const float *bias)
{
    __m256 vs = _mm256_setzero_ps();
    for (int64_t i = 0; i < len; i += 8)
        vs = _mm256_add_ps(vs, _mm256_maskload_ps(x + i, slimc_rt_tail_256(len - i)));
    const float mean = slimc_rt_hsum_256(vs) / (float)len;
    const __m256 bm = _mm256_set1_ps(mean);
    __m256 vq = _mm256_setzero_ps();
    for (int64_t i = 0; i < len; i += 8) {
        const __m256i mk = slimc_rt_tail_256(len - i);
        const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), bm),
                                       _mm256_castsi256_ps(mk));
        vq = _mm256_fmadd_ps(d, d, vq);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sqrtf(slimc_rt_hsum_256(vq) / (float)len + eps));
    for (int64_t i = 0; i < len; i += 8) {
        const __m256i mk = slimc_rt_tail_256(len - i);
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), bm), inv);
        if (weight)
            v = _mm256_mul_ps(v, _mm256_maskload_ps(weight + i, mk));
        if (bias)
            v = _mm256_add_ps(v, _mm256_maskload_ps(bias + i, mk));
        _mm256_maskstore_ps(y + i, mk, v);
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_softmax_row(const float *x, float *y, int64_t len, int log)
{
#ifdef SLIMC_RT_X86
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_softmax_row_512(x, y, len, log);
        return;
    }
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX2) {
        slimc_rt_softmax_row_256(x, y, len, log);
        return;
    }
#endif
    float m = -INFINITY;
    for (int64_t i = 0; i < len; i++)
        if (x[i] > m || x[i] != x[i])
            m = x[i];
    float sum = 0.0f;
    for (int64_t i = 0; i < len; i++) {
        const float e = expf(x[i] - m);
        sum += e;
        if (!log)
            y[i] = e;
    }
    if (log) {
        const float lse = logf(sum);
        for (int64_t i = 0; i < len; i++)
            y[i] = x[i] - m - lse;
        return;
    }
    for (int64_t i = 0; i < len; i++)
        y[i] /= sum;
}

SLIMC_RT_KERNEL void slimc_rt_layernorm_row(const float *x, float *y, int64_t len, float eps,
                                            const float *weight, const float *bias)
{
#ifdef SLIMC_RT_X86
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_layernorm_row_512(x, y, len, eps, weight, bias);
        return;
    }
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX2) {
        slimc_rt_layernorm_row_256(x, y, len, eps, weight, bias);
        return;
    }
#endif
    float sum = 0.0f;
    for (int64_t i = 0; i < len; i++)
        sum += x[i];
    const float mean = sum / (float)len;
    float sq = 0.0f;
    for (int64_t i = 0; i < len; i++)
        sq += (x[i] - mean) * (x[i] - mean);
    const float inv = 1.0f / sqrtf(sq / (float)len + eps);
    for (int64_t i = 0; i < len; i++) {
        float v = (x[i] - mean) * inv;
        if (weight)
            v *= weight[i];
        if (bias)
            v += bias[i];
        y[i] = v;
    }
}

/* ---- 16 row sums in the one-row order ---- */

#ifdef SLIMC_RT_X86
/* 16 columns of the 16 rows at a time, transposed, so that lane j adds row j's elements
 * one after another. */
static SLIMC_RT_AVX512 void slimc_rt_sum_rows16_512(const float *x, int64_t count, float *acc)
{
    __m512 a = _mm512_setzero_ps();
    for (int64_t r0 = 0; r0 < count; r0 += 16) {
        const int64_t nr = slimc_rt_min(16, count - r0);
        const __mmask16 mk = (__mmask16)((1u << nr) - 1u);
        __m512 v[16];
        for (int j = 0; j < 16; j++)
            v[j] = _mm512_maskz_loadu_ps(mk, x + j * count + r0);
        slimc_rt_transpose16(v);
        if (nr == 16) {
            SLIMC_RT_UNROLL for (int k = 0; k < 16; k++) a = _mm512_add_ps(a, v[k]);
        } else {
            for (int64_t k = 0; k < nr; k++)
                a = _mm512_add_ps(a, v[k]);
        }
    }
    _mm512_storeu_ps(acc, a);
}
#endif

/* acc[j] = the sum of row j of the 16 rows x[j * count, (j + 1) * count), added from 0.0f
 * in the row's order (what the one-row loop computes, the same bits), 16 rows at once:
 * global average pooling over a small map, as one row at a time, was bound by the latency
 * of one chain of adds. */
SLIMC_RT_KERNEL void slimc_rt_sum_rows16(const float *x, int64_t count, float *acc)
{
#ifdef SLIMC_RT_X86
    if (slimc_rt_isa() == SLIMC_RT_ISA_AVX512) {
        slimc_rt_sum_rows16_512(x, count, acc);
        return;
    }
#endif
    for (int j = 0; j < 16; j++)
        acc[j] = 0.0f;
    for (int64_t r = 0; r < count; r++)
        for (int j = 0; j < 16; j++)
            acc[j] += x[j * count + r];
}
