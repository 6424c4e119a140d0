/* qconv_taps.c — int8 convolutions without the im2col panel (qconv2d with w_taps=1,
 * passes/qtaps.c).
 *
 * The input of one image is copied once per call into a padded, channel-interleaved layout,
 * xt [CG / 4][HP][WP] of 32-bit words, the word at (c4, r, c) holding channels 4 c4 .. 4 c4 + 3
 * of padded pixel (r, c) (channel 4 c4 + i in byte i), HP = OH + DH (KH - 1), WP = OW +
 * DW (KW - 1); padded (r, c) is input (r - PH, c - PW), zp where that falls outside the image.
 * Output pixel (oh, ow) is computed at q = oh WP + ow: tap (kh, kw) of the 64 pixels from q0
 * is then the 64 words from q0 + kh DH WP + kw DW, four plain loads, so one vpdpbusd of 16
 * pixels and one broadcast weight word takes the 4 channels of one tap (CG, the weight's
 * channels, is a multiple of 4; the input's C may be less: one group). With stride (SH, SW)
 * the copy is split into SH SW phases (slimc_rt_qtaps_fill), HP = OH + DH (KH - 1) / SH and
 * WP = OW + DW (KW - 1) / SW, and a tap reads its phase's words the same way. The weight rows are
 * in the same order (passes/qtaps.c: w[o][c4][kh][kw][4]), so the i32 sums are those of
 * slimc_rt_qconv_block exactly. The lanes of the WP - OW columns past each output row are
 * computed and dropped (compressed out before the store). */
#include "runtime/kernels/internal.h"

/* Rows and columns of each phase of the layout, and its size in bytes: the planes and, after
 * them, the words a block's last lanes may read past the last plane (never stored). */
static inline int64_t slimc_rt_qtaps_hp(const slimc_rt_conv *s)
{
    return s->OH + s->DH * (s->KH - 1) / s->SH;
}

static inline int64_t slimc_rt_qtaps_wp(const slimc_rt_conv *s)
{
    return s->OW + s->DW * (s->KW - 1) / s->SW;
}

static inline int64_t slimc_rt_qtaps_tail(const slimc_rt_conv *s)
{
    return 4 * (SLIMC_RT_QCONV_PX + s->DW * (s->KW - 1) / s->SW);
}

SLIMC_RT_KERNEL int64_t slimc_rt_qtaps_bytes(const slimc_rt_conv *s)
{
    return s->SH * s->SW * s->CG * slimc_rt_qtaps_hp(s) * slimc_rt_qtaps_wp(s) +
           slimc_rt_qtaps_tail(s);
}

SLIMC_RT_KERNEL uint8_t *slimc_rt_qtaps_alloc(const slimc_rt_conv *s)
{
    const int64_t n = slimc_rt_qtaps_bytes(s), tail = slimc_rt_qtaps_tail(s);
    uint8_t *xt = (uint8_t *)malloc((size_t)n);
    if (xt) /* read by the last block's dropped lanes only: defined all the same */
        memset(xt + n - tail, 0, (size_t)tail);
    return xt;
}

/* The words of 4 channel rows a, b, c, e at columns [iw, iw + n): channel 4 c4 + i in byte i. */
static inline uint32_t slimc_rt_qtaps_word(const uint8_t *a, const uint8_t *b, const uint8_t *c,
                                           const uint8_t *e, int64_t iw)
{
    return (uint32_t)a[iw] | (uint32_t)b[iw] << 8 | (uint32_t)c[iw] << 16 | (uint32_t)e[iw] << 24;
}

/* Rows [r0, r1) of every phase of the layout from x (the group's first channel of one image,
 * NCHW u8). With stride (SH, SW) the layout holds SH SW phases, [SH][SW][CG / 4][HP][WP]:
 * phase (a, b) at (i, j) is padded pixel (SH i + a, SW j + b), so that the taps of
 * consecutive output pixels are consecutive words there too. 16 input columns are
 * interleaved at a time (SSE2), and for stride 2 split into the even and odd columns. */
SLIMC_RT_KERNEL void slimc_rt_qtaps_fill(const slimc_rt_conv *s, const uint8_t *x, uint8_t zp,
                                         int64_t r0, int64_t r1, uint8_t *xt)
{
    const int64_t HP = slimc_rt_qtaps_hp(s), WP = slimc_rt_qtaps_wp(s), HW = s->H * s->W;
    const int64_t W = s->W, PW = s->PW, SW = s->SW, C4 = s->CG / 4;
    const int64_t iw_end = slimc_rt_min(W, SW * WP - PW); /* columns j < WP */
    const uint32_t z4 = 0x01010101u * zp;
    uint32_t *x32 = (uint32_t *)(void *)xt;
    r0 = slimc_rt_max(r0, 0);
    r1 = slimc_rt_min(r1, HP);
    for (int64_t ph = 0; ph < s->SH; ph++)
        for (int64_t c4 = 0; c4 < C4; c4++)
            for (int64_t i = r0; i < r1; i++) {
                uint32_t *d[2]; /* the row of phase (ph, pw), pw < SW (at most 2 kept: below) */
                const int64_t ih = s->SH * i + ph - s->PH;
                for (int64_t pw = 0; pw < SW; pw++) {
                    uint32_t *row = x32 + (((ph * SW + pw) * C4 + c4) * HP + i) * WP;
                    if (pw < 2)
                        d[pw] = row;
                    /* the columns of padding: all of them in a row of padding */
                    const int64_t lo = ih < 0 || ih >= s->H ? WP
                                       : PW - pw <= 0       ? 0
                                                            : (PW - pw + SW - 1) / SW;
                    const int64_t last = W - 1 + PW - pw; /* SW j of the last column */
                    const int64_t hi =
                        lo == WP ? WP
                                 : slimc_rt_max(lo, slimc_rt_min(WP, last < 0 ? 0 : last / SW + 1));
                    for (int64_t j = 0; j < lo; j++)
                        row[j] = z4;
                    for (int64_t j = hi; j < WP; j++)
                        row[j] = z4;
                }
                if (ih < 0 || ih >= s->H)
                    continue;
                /* channels past C (a stem's 3 of 4) repeat the group's first: their
                 * weights are 0 */
                const uint8_t *a = x + 4 * c4 * HW + ih * W;
                const uint8_t *b = 4 * c4 + 1 < s->C ? a + HW : a;
                const uint8_t *c = 4 * c4 + 2 < s->C ? a + 2 * HW : a;
                const uint8_t *e = 4 * c4 + 3 < s->C ? a + 3 * HW : a;
                int64_t iw = 0;
#ifdef SLIMC_RT_X86
                if (SW <= 2)
                    for (; iw + 16 <= iw_end; iw += 16) {
                        const __m128i va = _mm_loadu_si128((const __m128i *)(const void *)(a + iw));
                        const __m128i vb = _mm_loadu_si128((const __m128i *)(const void *)(b + iw));
                        const __m128i vc = _mm_loadu_si128((const __m128i *)(const void *)(c + iw));
                        const __m128i ve = _mm_loadu_si128((const __m128i *)(const void *)(e + iw));
                        const __m128i ab0 = _mm_unpacklo_epi8(va, vb),
                                      ab1 = _mm_unpackhi_epi8(va, vb);
                        const __m128i ce0 = _mm_unpacklo_epi8(vc, ve),
                                      ce1 = _mm_unpackhi_epi8(vc, ve);
                        const __m128i w0 = _mm_unpacklo_epi16(ab0, ce0),
                                      w1 = _mm_unpackhi_epi16(ab0, ce0);
                        const __m128i w2 = _mm_unpacklo_epi16(ab1, ce1),
                                      w3 = _mm_unpackhi_epi16(ab1, ce1);
                        const int64_t c0 = iw + PW; /* padded column of word 0 */
                        if (SW == 1) {
                            uint32_t *dd = d[0] + c0;
                            _mm_storeu_si128((__m128i *)(void *)dd, w0);
                            _mm_storeu_si128((__m128i *)(void *)(dd + 4), w1);
                            _mm_storeu_si128((__m128i *)(void *)(dd + 8), w2);
                            _mm_storeu_si128((__m128i *)(void *)(dd + 12), w3);
                            continue;
                        }
                        /* stride 2: the even words (columns c0, c0 + 2, ...) to phase c0 & 1,
                         * the odd ones to the other; 8 words each, at most to column WP */
                        const int64_t je = c0 >> 1, jo = (c0 + 1) >> 1;
                        if (je + 8 > WP || jo + 8 > WP)
                            break;
                        const __m128 f0 = _mm_castsi128_ps(w0), f1 = _mm_castsi128_ps(w1);
                        const __m128 f2 = _mm_castsi128_ps(w2), f3 = _mm_castsi128_ps(w3);
                        uint32_t *de = d[c0 & 1] + je, *dq = d[(c0 + 1) & 1] + jo;
                        _mm_storeu_ps((float *)(void *)de, _mm_shuffle_ps(f0, f1, 0x88));
                        _mm_storeu_ps((float *)(void *)(de + 4), _mm_shuffle_ps(f2, f3, 0x88));
                        _mm_storeu_ps((float *)(void *)dq, _mm_shuffle_ps(f0, f1, 0xDD));
                        _mm_storeu_ps((float *)(void *)(dq + 4), _mm_shuffle_ps(f2, f3, 0xDD));
                    }
#endif
                if (SW == 1)
                    for (; iw < iw_end; iw++)
                        d[0][iw + PW] = slimc_rt_qtaps_word(a, b, c, e, iw);
                else if (SW == 2)
                    for (; iw < iw_end; iw++)
                        d[(iw + PW) & 1][(iw + PW) >> 1] = slimc_rt_qtaps_word(a, b, c, e, iw);
                else
                    for (; iw < iw_end; iw++) {
                        const int64_t cc = iw + PW, pw = cc % SW;
                        x32[(((ph * SW + pw) * C4 + c4) * HP + i) * WP + cc / SW] =
                            slimc_rt_qtaps_word(a, b, c, e, iw);
                    }
            }
}

/* The word offset of tap t (kh KW + kw) from a lane's word in the first phase's plane: its
 * phase and its row and column there. */
static inline int64_t slimc_rt_qtaps_off(const slimc_rt_conv *s, int64_t t)
{
    const int64_t HP = slimc_rt_qtaps_hp(s), WP = slimc_rt_qtaps_wp(s);
    const int64_t dh = t / s->KW * s->DH, dw = t % s->KW * s->DW;
    return (((dh % s->SH) * s->SW + dw % s->SW) * (s->CG / 4) * HP + dh / s->SH) * WP + dw / s->SW;
}

/* slimc_rt_qtaps_block without VNNI, one pixel and channel at a time: lane q of the
 * padded-pixel space is output pixel (q / WP) OW + q % WP when q % WP < OW, else dropped. */
static void slimc_rt_qtaps_block_ref(const slimc_rt_conv *s, const uint8_t *xt, int64_t q0,
                                     int64_t q1, int32_t zp, const int8_t *w, const int32_t *wsum,
                                     float xs, const float *ws, const float *bias, void *out,
                                     const slimc_rt_qreq *rq)
{
    const int64_t HP = slimc_rt_qtaps_hp(s), WP = slimc_rt_qtaps_wp(s), P = s->OH * s->OW;
    const int64_t T = s->KH * s->KW, K = s->CG * T;
    for (int64_t o = 0; o < s->OG; o++)
        for (int64_t q = q0; q < q1; q++) {
            if (q % WP >= s->OW)
                continue;
            int32_t acc = 0;
            for (int64_t c4 = 0; c4 < s->CG / 4; c4++)
                for (int64_t t = 0; t < T; t++) {
                    const uint8_t *xv = xt + 4 * (c4 * HP * WP + q + slimc_rt_qtaps_off(s, t));
                    const int8_t *wv = w + o * K + 4 * (c4 * T + t);
                    for (int i = 0; i < 4; i++)
                        acc += (int32_t)xv[i] * (int32_t)wv[i];
                }
            slimc_rt_qstore(out, o * P + q / WP * s->OW + q % WP,
                            slimc_rt_qout(acc - zp * wsum[o], xs, ws[o], bias, o), rq);
        }
}

#ifdef SLIMC_RT_X86
/* 4 output channels (from o0; channels past oc repeat the last, computed, not stored) x
 * NV vectors of 16 lanes from q0. vm[v]: the lanes of vector v that are output pixels,
 * ps[v] the first one's pixel. */
static inline __attribute__((always_inline)) SLIMC_RT_VNNI void
slimc_rt_qtaps_tile(int NV, const uint32_t *x32, int64_t plane, const int64_t *off, int64_t T,
                    int64_t C4, const int8_t *w, int64_t K, int64_t o0, int64_t oc, int32_t zp,
                    const int32_t *wsum, float xs, const float *ws, const float *bias, void *out,
                    const slimc_rt_qreq *rq, int64_t P, const __mmask16 *vm, const int64_t *ps)
{
    __m512i acc[4][4];
    const int8_t *wr[4];
    SLIMC_RT_UNROLL
    for (int j = 0; j < 4; j++) {
        wr[j] = w + (o0 + (j < oc ? j : oc - 1)) * K;
        SLIMC_RT_UNROLL
        for (int v = 0; v < 4; v++)
            acc[j][v] = _mm512_setzero_si512();
    }
    if (NV == 4) {
        /* named accumulators, as in slimc_rt_qconv_tile_vnni (arrays were copied around
         * every vpdpbusd) */
        SLIMC_RT_VNNI_ACC_LOAD(acc);
        const int8_t *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3];
        for (int64_t c4 = 0; c4 < C4; c4++) {
            const uint32_t *xc = x32 + c4 * plane;
            for (int64_t t = 0; t < T; t++, w0 += 4, w1 += 4, w2 += 4, w3 += 4) {
                const uint32_t *pp = xc + off[t];
                SLIMC_RT_VNNI_STEP4X4(pp, w0, w1, w2, w3);
            }
        }
        SLIMC_RT_VNNI_ACC_STORE(acc);
    } else {
        int64_t k4 = 0;
        for (int64_t c4 = 0; c4 < C4; c4++) {
            const uint32_t *xc = x32 + c4 * plane;
            for (int64_t t = 0; t < T; t++, k4++) {
                __m512i av[4], bv[4];
                SLIMC_RT_UNROLL
                for (int v = 0; v < NV; v++)
                    av[v] = _mm512_loadu_si512((const void *)(xc + off[t] + 16 * v));
                SLIMC_RT_UNROLL
                for (int j = 0; j < 4; j++) {
                    int32_t wv;
                    memcpy(&wv, wr[j] + 4 * k4, 4);
                    bv[j] = _mm512_set1_epi32(wv);
                }
                SLIMC_RT_UNROLL
                for (int j = 0; j < 4; j++) {
                    SLIMC_RT_UNROLL
                    for (int v = 0; v < NV; v++)
                        acc[j][v] = _mm512_dpbusd_epi32(acc[j][v], av[v], bv[j]);
                }
            }
        }
    }
    for (int j = 0; j < 4 && j < oc; j++) {
        const int64_t o = o0 + j;
        const __m512i corr = _mm512_set1_epi32(zp * wsum[o]);
        const __m512 m = _mm512_set1_ps(xs * ws[o]);
        const __m512 bv = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int v = 0; v < NV; v++) {
            if (!vm[v])
                continue;
            __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[j][v], corr)), m);
            if (bias)
                r = _mm512_add_ps(r, bv);
            /* the lanes of the columns past the row drop out; the rest are consecutive
             * output pixels */
            if (vm[v] == 0xffff) { /* no column past a row: as it is */
                slimc_rt_qstore16(out, o * P + ps[v], vm[v], r, rq);
                continue;
            }
            const int cnt = __builtin_popcount((unsigned)vm[v]);
            slimc_rt_qstore16(out, o * P + ps[v], (__mmask16)((1u << cnt) - 1u),
                              _mm512_maskz_compress_ps(vm[v], r), rq);
        }
    }
}

static SLIMC_RT_VNNI void slimc_rt_qtaps_block_vnni(const slimc_rt_conv *s, const uint8_t *xt,
                                                    int64_t q0, int64_t q1, int32_t zp,
                                                    const int8_t *w, const int32_t *wsum, float xs,
                                                    const float *ws, const float *bias, void *out,
                                                    const slimc_rt_qreq *rq)
{
    const int64_t HP = slimc_rt_qtaps_hp(s), WP = slimc_rt_qtaps_wp(s), P = s->OH * s->OW;
    const int64_t T = s->KH * s->KW, K = s->CG * T, nv = (q1 - q0 + 15) / 16;
    int64_t off[256]; /* the taps' offsets in words (KH KW <= 256: passes/qtaps.c) */
    for (int64_t t = 0; t < T; t++)
        off[t] = slimc_rt_qtaps_off(s, t);
    __mmask16 vm[4] = {0, 0, 0, 0};
    int64_t ps[4] = {0, 0, 0, 0};
    for (int64_t v = 0; v < nv; v++) {
        int first = 1;
        for (int i = 0; i < 16; i++) {
            const int64_t q = q0 + 16 * v + i;
            if (q >= q1 || q % WP >= s->OW)
                continue;
            vm[v] |= (__mmask16)(1u << i);
            if (first)
                ps[v] = q / WP * s->OW + q % WP, first = 0;
        }
    }
    const uint32_t *x32 = (const uint32_t *)(const void *)xt + q0;
    for (int64_t o0 = 0; o0 < s->OG; o0 += 4) {
        const int64_t oc = slimc_rt_min(4, s->OG - o0);
        switch (nv) {
        case 1:
            slimc_rt_qtaps_tile(1, x32, HP * WP, off, T, s->CG / 4, w, K, o0, oc, zp, wsum, xs, ws,
                                bias, out, rq, P, vm, ps);
            break;
        case 2:
            slimc_rt_qtaps_tile(2, x32, HP * WP, off, T, s->CG / 4, w, K, o0, oc, zp, wsum, xs, ws,
                                bias, out, rq, P, vm, ps);
            break;
        case 3:
            slimc_rt_qtaps_tile(3, x32, HP * WP, off, T, s->CG / 4, w, K, o0, oc, zp, wsum, xs, ws,
                                bias, out, rq, P, vm, ps);
            break;
        default:
            slimc_rt_qtaps_tile(4, x32, HP * WP, off, T, s->CG / 4, w, K, o0, oc, zp, wsum, xs, ws,
                                bias, out, rq, P, vm, ps);
            break;
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_qtaps_block(const slimc_rt_conv *s, const uint8_t *xt, int64_t q0,
                                          int64_t q1, int32_t zp, const int8_t *w,
                                          const int32_t *wsum, float xs, const float *ws,
                                          const float *bias, void *out, const slimc_rt_qreq *rq)
{
    if (q1 <= q0)
        return;
#ifdef SLIMC_RT_X86
    if (slimc_rt_has_vnni() && s->KH * s->KW <= 256) {
        slimc_rt_qtaps_block_vnni(s, xt, q0, q1, zp, w, wsum, xs, ws, bias, out, rq);
        return;
    }
#endif
    slimc_rt_qtaps_block_ref(s, xt, q0, q1, zp, w, wsum, xs, ws, bias, out, rq);
}
