/* qdw_avx2.c — the int8 depthwise plane on AVX2, any kernel size, stride, dilation and
 * padding (slimc_rt_qdw_plane picks it where the AVX-512 3x3 kernels do not apply).
 *
 * The same sum as qdw.c's loop, acc = corr + sum over taps of (x - zp) w, in exact i32:
 * (x - zp) is an i16 in [-255, 255], a weight an i16 in [-128, 127], and vpmaddwd adds two
 * such products (|sum| <= 65280) into an i32 lane. The two taps of a vpmaddwd are the
 * neighbours kw and kw + 1 of one kernel row (an odd row's last tap pairs with a phantom
 * tap of weight 0), so an i32 lane j of a row buffer must hold the pair
 * (z[S j + t], z[S j + t + D]) for the pair's first tap t = kw D, where z is the padded
 * input row as i16 (x - zp inside the image, 0 outside: padding is the zero point):
 *   S = 2, D = 1: z itself (pairs of neighbours), read at i16 offset 2 j + t;
 *   otherwise:    S phase rows Q_ph[m] = (z[S m + ph], z[S m + ph + D]), the pair of tap t
 *                 at Q_{t % S}[j + t / S] (S = 1 is one phase, built with two unpacks).
 * Each padded input row is built once into a ring of (KH - 1) DH + 1 rows; an output row
 * then reads, per tap pair, one contiguous ymm per 8 outputs: a load, a vpmaddwd, an add.
 * The epilogue is slimc_rt_qout and slimc_rt_qstore lane by lane (slimc_rt_qout8). */
#include "runtime/kernels/internal.h"

#ifdef SLIMC_RT_X86

enum {
    SLIMC_RT_QDW_MAXPAIRS = 1024,  /* KH x ceil(KW / 2) tap pairs at most */
    SLIMC_RT_QDW_STACK = 32 * 1024 /* bytes of ring kept on the stack; more: malloc */
};

/* z[0, lz) of input row ih: x - zp at z[iw + pw] for iw in [0, W), 0 elsewhere. */
static inline SLIMC_RT_AVX2 void slimc_rt_qdw_zrow(int16_t *z, int64_t lz, const uint8_t *x,
                                                   int64_t ih, int64_t H, int64_t W, int64_t pw,
                                                   int32_t zp)
{
    const int64_t b = slimc_rt_min(pw, lz), e = slimc_rt_min(pw + W, lz);
    if (ih < 0 || ih >= H || e <= b) {
        memset(z, 0, sizeof(int16_t) * (size_t)lz);
        return;
    }
    memset(z, 0, sizeof(int16_t) * (size_t)b);
    memset(z + e, 0, sizeof(int16_t) * (size_t)(lz - e));
    const uint8_t *r = x + ih * W - pw;
    const __m256i zv = _mm256_set1_epi16((short)zp);
    int64_t i = b;
    for (; i + 16 <= e; i += 16)
        _mm256_storeu_si256(
            (__m256i *)(void *)(z + i),
            _mm256_sub_epi16(
                _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + i))), zv));
    for (; i < e; i++)
        z[i] = (int16_t)((int32_t)r[i] - zp);
}

/* The phase rows of one padded row z: q[ph * 2 wq + 2 m + {0, 1}] =
 * (z[S m + ph], z[S m + ph + D]) for m in [0, wq). */
static inline SLIMC_RT_AVX2 void slimc_rt_qdw_pairs(int16_t *q, const int16_t *z, int64_t wq,
                                                    int64_t S, int64_t D)
{
    if (S == 1) {
        int64_t m = 0;
        for (; m + 16 <= wq; m += 16) { /* unpack: lanes 0..3 | 8..11 and 4..7 | 12..15 */
            const __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(z + m));
            const __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(z + m + D));
            const __m256i lo = _mm256_unpacklo_epi16(a, c), hi = _mm256_unpackhi_epi16(a, c);
            _mm256_storeu_si256((__m256i *)(void *)(q + 2 * m),
                                _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_storeu_si256((__m256i *)(void *)(q + 2 * m + 16),
                                _mm256_permute2x128_si256(lo, hi, 0x31));
        }
        for (; m < wq; m++) {
            q[2 * m] = z[m];
            q[2 * m + 1] = z[m + D];
        }
        return;
    }
    for (int64_t ph = 0; ph < S; ph++)
        for (int64_t m = 0; m < wq; m++) {
            q[ph * 2 * wq + 2 * m] = z[S * m + ph];
            q[ph * 2 * wq + 2 * m + 1] = z[S * m + ph + D];
        }
}

/* NV x 8 outputs of one row from column j0: the taps' pairs of each kernel row kh read at
 * rows[kh] + 2 j0 + toff[pair], then the epilogue of the first n outputs. */
static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_qdw_cols(const int NV, const int16_t *const *rows, int64_t KH, int64_t npw,
                  const int64_t *toff, const int32_t *wp, int64_t j0, int64_t n, __m256i cv,
                  __m256 mv, __m256 bv, int has_bias, void *y, int64_t i0, const slimc_rt_qreq *rq)
{
    __m256i acc[4];
    SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) acc[v] = cv;
    for (int64_t kh = 0; kh < KH; kh++) {
        const int16_t *r = rows[kh] + 2 * j0;
        const int32_t *wr = wp + kh * npw;
        for (int64_t q = 0; q < npw; q++) {
            const __m256i wv = _mm256_set1_epi32(wr[q]);
            const int16_t *p = r + toff[q];
            SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) acc[v] = _mm256_add_epi32(
                acc[v], _mm256_madd_epi16(
                            _mm256_loadu_si256((const __m256i *)(const void *)(p + 16 * v)), wv));
        }
    }
    SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
    {
        const int64_t left = n - 8 * v;
        if (left > 0)
            slimc_rt_qout8(y, i0 + 8 * v, left >= 8 ? 8 : (int)left, acc[v], mv, bv, has_bias, rq);
    }
}

SLIMC_RT_SHARED SLIMC_RT_AVX2 int slimc_rt_qdw_plane_avx2(const slimc_rt_conv *s, const uint8_t *x,
                                                          int32_t zp, const int8_t *w, int32_t corr,
                                                          float xs, float ws, const float *bias,
                                                          int64_t o, void *y,
                                                          const slimc_rt_qreq *rq)
{
    const int64_t KH = s->KH, KW = s->KW, S = s->SW, D = s->DW, OW = s->OW, OH = s->OH;
    const int64_t npw = (KW + 1) / 2, owp = (OW + 7) / 8 * 8;
    if (OH <= 0 || OW <= 0 || KH <= 0 || KW <= 0 || KH * npw > SLIMC_RT_QDW_MAXPAIRS)
        return 0;
    const int direct = S == 2 && D == 1; /* the ring holds z itself */
    /* pairs start at taps t = 2 k D (k < npw): the last reads m = owp - 1 + t_max / S */
    const int64_t tmax = 2 * (npw - 1) * D, wq = owp + tmax / S + 1;
    const int64_t lz = direct ? 2 * owp + tmax + 2 : S * wq + D;
    const int64_t rowlen = direct ? lz : 2 * S * wq; /* i16 per ring row */
    const int64_t nring = (KH - 1) * s->DH + 1;
    const size_t bytes = sizeof(int16_t) * (size_t)(nring * rowlen + (direct ? 0 : lz)) + 64;
    _Alignas(32) unsigned char stack[SLIMC_RT_QDW_STACK];
    unsigned char *mem = bytes <= sizeof stack ? stack : malloc(bytes);
    if (!mem)
        return 0;
    int16_t *ring = (int16_t *)(void *)mem, *z = ring + nring * rowlen;

    int64_t toff[SLIMC_RT_QDW_MAXPAIRS];
    int32_t wp[SLIMC_RT_QDW_MAXPAIRS];
    for (int64_t q = 0; q < npw; q++) {
        const int64_t t = 2 * q * D;
        toff[q] = direct ? t : (t % S) * 2 * wq + 2 * (t / S);
    }
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t q = 0; q < npw; q++) {
            const int8_t *wr = w + kh * KW + 2 * q;
            const uint16_t w0 = (uint16_t)(int16_t)wr[0],
                           w1 = 2 * q + 1 < KW ? (uint16_t)(int16_t)wr[1] : 0;
            wp[kh * npw + q] = (int32_t)((uint32_t)w0 | (uint32_t)w1 << 16);
        }

    const __m256i cv = _mm256_set1_epi32(corr);
    const __m256 mv = _mm256_set1_ps(xs * ws), bv = _mm256_set1_ps(bias ? bias[o] : 0.0f);
    const slimc_rt_qreq rqc = rq ? *rq : (slimc_rt_qreq){0.0f, 0, 0, 0.0f};
    const slimc_rt_qreq *rl = rq ? &rqc : NULL; /* not reloaded after each byte store */
    const int hb = bias != NULL;
    const int16_t *rows[256];
    if (KH > 256) {
        if (mem != stack)
            free(mem);
        return 0;
    }
    int64_t next = 0; /* the next padded row (ih + PH) to build */
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t lo = oh * s->SH, hi = lo + (KH - 1) * s->DH;
        for (next = slimc_rt_max(next, lo); next <= hi; next++) {
            int16_t *dst = ring + (next % nring) * rowlen;
            if (direct)
                slimc_rt_qdw_zrow(dst, lz, x, next - s->PH, s->H, s->W, s->PW, zp);
            else {
                slimc_rt_qdw_zrow(z, lz, x, next - s->PH, s->H, s->W, s->PW, zp);
                slimc_rt_qdw_pairs(dst, z, wq, S, D);
            }
        }
        for (int64_t kh = 0; kh < KH; kh++)
            rows[kh] = ring + ((lo + kh * s->DH) % nring) * rowlen;
        const int64_t i0 = oh * OW;
        int64_t j = 0;
        for (; j + 32 <= OW; j += 32)
            slimc_rt_qdw_cols(4, rows, KH, npw, toff, wp, j, 32, cv, mv, bv, hb, y, i0 + j, rl);
        for (; j < OW; j += 8)
            slimc_rt_qdw_cols(1, rows, KH, npw, toff, wp, j, slimc_rt_min(8, OW - j), cv, mv, bv,
                              hb, y, i0 + j, rl);
    }
    if (mem != stack)
        free(mem);
    return 1;
}
#endif
