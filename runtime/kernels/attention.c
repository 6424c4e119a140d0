/* attention.c — the attention op (ir/attention.c has its semantics) with the scores kept in
 * cache: per (leading index, block of SLIMC_RT_ATTN_QB query rows) one item, which
 *   1. transposes its query rows into qt [D, QB],
 *   2. computes the block's scores transposed, st [Sk, QB] = k [Sk, D] qt (one GEMM; the
 *      query rows are the columns, so the softmax below runs down columns with a query per
 *      lane),
 *   3. scales, adds the mask, hides the causal keys and takes the softmax of each column
 *      as the softmax op does (the maximum, NaN winning; e = exp(s - m); p = e / sum),
 *   4. multiplies: out [nq, Dv] = st^T v (one GEMM reading st through strides).
 * With causal=1 the keys hidden from the whole block (after its last query) are skipped in
 * all four steps: about half the work of a square causal attention.
 * Only st (Sk x QB floats: 64 KB at Sk = 512) and qt exist at a time, never [Sq, Sk] for
 * every head. An item's arithmetic does not depend on the other items, so any split of the
 * items over threads gives the same bits. AVX-512 and AVX2 paths (slimc_rt_isa), and a
 * portable one with expf. */
#include "runtime/kernels/internal.h"

#include <stdlib.h>
#include <string.h>

/* The mask's offset for leading index bh (its dims decomposed last-first). */
static int64_t slimc_rt_attn_mask_off(const slimc_rt_attn *s, int64_t bh)
{
    int64_t off = 0;
    for (int64_t i = s->nlead - 1; i >= 0; i--) {
        off += (bh % s->lead[i]) * s->mlead[i];
        bh /= s->lead[i];
    }
    return off;
}

/* Softmax of columns [0, nq) of st [Sk, QB] (query q0 + l in column l), the scores scaled,
 * masked (mb: the mask at query q0, key 0) and causal-hidden first. Portable. */
static void slimc_rt_attn_cols_c(const slimc_rt_attn *s, float *st, int64_t nq, int64_t q0,
                                 const float *mb, int64_t Sk)
{
    const int64_t QB = SLIMC_RT_ATTN_QB;
    for (int64_t l = 0; l < nq; l++) {
        float m = -INFINITY;
        for (int64_t j = 0; j < Sk; j++) {
            float x = st[j * QB + l] * s->scale;
            if (mb)
                x += mb[l * s->mrs + j * s->mcs];
            if (s->causal && j > q0 + l)
                x = -INFINITY;
            st[j * QB + l] = x;
            if (x > m || x != x)
                m = x;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < Sk; j++) {
            const float e = expf(st[j * QB + l] - m);
            st[j * QB + l] = e;
            sum += e;
        }
        for (int64_t j = 0; j < Sk; j++)
            st[j * QB + l] /= sum;
    }
}

#ifdef SLIMC_RT_X86
static SLIMC_RT_AVX512 void slimc_rt_attn_cols_512(const slimc_rt_attn *s, float *st, int64_t nq,
                                                   int64_t q0, const float *mb, int64_t Sk)
{
    const int64_t QB = SLIMC_RT_ATTN_QB;
    const int gather = mb && s->mrs != 0 && s->mrs <= INT32_MAX / QB;
    const __m512 scale = _mm512_set1_ps(s->scale), ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t c = 0; c < nq; c += 16) {
        const int64_t r = nq - c;
        const __mmask16 mk = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1u);
        const __m512i lane =
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        const __m512i qi = _mm512_add_epi32(lane, _mm512_set1_epi32((int)(q0 + c)));
        const __m512i vidx =
            _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)(gather ? s->mrs : 0)));
        const float *mc = mb ? mb + c * s->mrs : NULL;
        __m512 vm = ninf;
        __mmask16 nan = 0;
        for (int64_t j = 0; j < Sk; j++) {
            float *p = st + j * QB + c;
            __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, p), scale);
            if (mc) {
                const float *mj = mc + j * s->mcs;
                __m512 mv;
                if (s->mrs == 0)
                    mv = _mm512_set1_ps(*mj);
                else if (gather)
                    mv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, vidx, mj, 4);
                else {
                    float t[16] = {0};
                    for (int64_t l = 0; l < r && l < 16; l++)
                        t[l] = mj[l * s->mrs];
                    mv = _mm512_loadu_ps(t);
                }
                x = _mm512_add_ps(x, mv);
            }
            if (s->causal && j > q0 + c) /* lanes whose query is before key j */
                x = _mm512_mask_mov_ps(x, _mm512_cmpgt_epi32_mask(_mm512_set1_epi32((int)j), qi),
                                       ninf);
            _mm512_mask_storeu_ps(p, mk, x);
            nan |= _mm512_mask_cmp_ps_mask(mk, x, x, _CMP_UNORD_Q);
            vm = _mm512_max_ps(vm, x);
        }
        const __m512 m = _mm512_mask_mov_ps(vm, nan, _mm512_set1_ps(NAN));
        __m512 sum = _mm512_setzero_ps();
        for (int64_t j = 0; j < Sk; j++) {
            float *p = st + j * QB + c;
            const __m512 e = slimc_rt_exp_512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, p), m));
            _mm512_mask_storeu_ps(p, mk, e);
            sum = _mm512_add_ps(sum, e);
        }
        for (int64_t j = 0; j < Sk; j++) {
            float *p = st + j * QB + c;
            _mm512_mask_storeu_ps(p, mk, _mm512_div_ps(_mm512_maskz_loadu_ps(mk, p), sum));
        }
    }
}

static SLIMC_RT_AVX2 void slimc_rt_attn_cols_256(const slimc_rt_attn *s, float *st, int64_t nq,
                                                 int64_t q0, const float *mb, int64_t Sk)
{
    const int64_t QB = SLIMC_RT_ATTN_QB;
    const int gather = mb && s->mrs != 0 && s->mrs <= INT32_MAX / QB;
    const __m256 scale = _mm256_set1_ps(s->scale), ninf = _mm256_set1_ps(-INFINITY);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t c = 0; c < nq; c += 8) {
        const int64_t r = nq - c;
        const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(r < 8 ? r : 8)), lane);
        const __m256 mkf = _mm256_castsi256_ps(mk);
        const __m256i qi = _mm256_add_epi32(lane, _mm256_set1_epi32((int)(q0 + c)));
        const __m256i vidx =
            _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)(gather ? s->mrs : 0)));
        const float *mc = mb ? mb + c * s->mrs : NULL;
        __m256 vm = ninf, nan = _mm256_setzero_ps();
        for (int64_t j = 0; j < Sk; j++) {
            float *p = st + j * QB + c;
            __m256 x = _mm256_mul_ps(_mm256_maskload_ps(p, mk), scale);
            if (mc) {
                const float *mj = mc + j * s->mcs;
                __m256 mv;
                if (s->mrs == 0)
                    mv = _mm256_set1_ps(*mj);
                else if (gather)
                    mv = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), mj, vidx, mkf, 4);
                else {
                    float t[8] = {0};
                    for (int64_t l = 0; l < r && l < 8; l++)
                        t[l] = mj[l * s->mrs];
                    mv = _mm256_loadu_ps(t);
                }
                x = _mm256_add_ps(x, mv);
            }
            if (s->causal && j > q0 + c)
                x = _mm256_blendv_ps(
                    x, ninf,
                    _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)j), qi)));
            _mm256_maskstore_ps(p, mk, x);
            nan = _mm256_or_ps(nan, _mm256_and_ps(mkf, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
            vm = _mm256_max_ps(vm, x);
        }
        const __m256 m = _mm256_blendv_ps(vm, _mm256_set1_ps(NAN), nan);
        __m256 sum = _mm256_setzero_ps();
        for (int64_t j = 0; j < Sk; j++) {
            float *p = st + j * QB + c;
            const __m256 e = slimc_rt_exp_256(_mm256_sub_ps(_mm256_maskload_ps(p, mk), m));
            _mm256_maskstore_ps(p, mk, e);
            sum = _mm256_add_ps(sum, e);
        }
        for (int64_t j = 0; j < Sk; j++) {
            float *p = st + j * QB + c;
            _mm256_maskstore_ps(p, mk, _mm256_div_ps(_mm256_maskload_ps(p, mk), sum));
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_attention(const slimc_rt_attn *s, const float *q, const float *k,
                                        const float *v, const float *mask, float *out, int64_t it0,
                                        int64_t it1)
{
    const int64_t QB = SLIMC_RT_ATTN_QB, Sq = s->Sq, Sk = s->Sk, D = s->D, Dv = s->Dv;
    if (it1 <= it0 || Sq == 0)
        return;
    const int64_t nqb = (Sq + QB - 1) / QB;
    const int isa = slimc_rt_isa();
    float *qt = (float *)calloc((size_t)((D + Sk) * QB + 1), sizeof(float)); /* qt, then st */
    if (!qt)
        abort(); /* a few hundred KB at most for the sequences slimc plans */
    float *st = qt + D * QB;
    for (int64_t it = it0; it < it1; it++) {
        const int64_t bh = it / nqb, q0 = it % nqb * QB, nq = slimc_rt_min(QB, Sq - q0);
        const float *qb = q + (bh * Sq + q0) * D, *kb = k + bh * Sk * D, *vb = v + bh * Sk * Dv;
        const float *mb = mask ? mask + slimc_rt_attn_mask_off(s, bh) + q0 * s->mrs : NULL;
        /* causal: the block's last query sees keys 0 .. q0 + nq - 1; the keys after are
         * hidden from every query of the block and are not computed (each would add exp(-inf)
         * = 0 to the sum and 0 * v to the output) */
        const int64_t nk = s->causal ? slimc_rt_min(Sk, q0 + nq) : Sk;
        for (int64_t i = 0; i < nq; i++)
            for (int64_t t = 0; t < D; t++)
                qt[t * QB + i] = qb[i * D + t];
        if (nk > 0)
            slimc_rt_gemm(isa, nk, nq, D, kb, D, 1, qt, QB, st, QB, NULL, NULL, 0);
#ifdef SLIMC_RT_X86
        if (isa == SLIMC_RT_ISA_AVX512)
            slimc_rt_attn_cols_512(s, st, nq, q0, mb, nk);
        else if (isa == SLIMC_RT_ISA_AVX2)
            slimc_rt_attn_cols_256(s, st, nq, q0, mb, nk);
        else
#endif
            slimc_rt_attn_cols_c(s, st, nq, q0, mb, nk);
        slimc_rt_gemm(isa, nq, Dv, nk, st, 1, QB, vb, Dv, out + (bh * Sq + q0) * Dv, Dv, NULL, NULL,
                      0);
    }
    free(qt);
}
