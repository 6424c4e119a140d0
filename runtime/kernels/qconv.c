/* qconv.c — int8 convolution blocks (slimc_rt_qconv_block): im2col rows and VNNI panels, VNNI and
 * AMX tiles. */
#include "runtime/kernels/internal.h"
#include "runtime/kernels/amx.h"

/* The im2col rows of output pixels [p0, p1) of one image and one group, one row of
 * K = CG*KH*KW bytes per pixel (channel, then kernel row, then kernel column, the weight
 * order), padding read as zp. x points at the group's first channel. */
SLIMC_RT_KERNEL void slimc_rt_qim2col(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                      int64_t p1, uint8_t zp, uint8_t *col)
{
    const int64_t K = s->CG * s->KH * s->KW;
    for (int64_t p = p0; p < p1; p++) {
        const int64_t oh = p / s->OW, ow = p % s->OW;
        uint8_t *r = col + (p - p0) * K;
        for (int64_t ci = 0; ci < s->CG; ci++)
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = oh * s->SH - s->PH + kh * s->DH;
                uint8_t *rr = r + (ci * s->KH + kh) * s->KW;
                if (ih < 0 || ih >= s->H) {
                    for (int64_t kw = 0; kw < s->KW; kw++)
                        rr[kw] = zp;
                    continue;
                }
                const uint8_t *xr = x + (ci * s->H + ih) * s->W;
                const int64_t iw0 = ow * s->SW - s->PW;
                if (s->DW == 1 && iw0 >= 0 && iw0 + s->KW <= s->W) { /* short: no memcpy call */
                    for (int64_t kw = 0; kw < s->KW; kw++)
                        rr[kw] = xr[iw0 + kw];
                    continue;
                }
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const int64_t iw = iw0 + kw * s->DW;
                    rr[kw] = (iw < 0 || iw >= s->W) ? zp : xr[iw];
                }
            }
    }
}

/* qconv2d's block kernel: output pixels [p0, p1) (at most 64) of one image and one group,
 * all OG output channels of the group. x points at the group's first input channel, w at
 * its first weight row (K = CG*KH*KW bytes each), out at the group's first output plane
 * (planes of P pixels). col holds slimc_rt_qcol_bytes(K) bytes.
 * VNNI: the taps are gathered into [KP/4][pixel][4] panels (slimc_rt_qpanel), so one vpdpbusd
 * multiplies 16 pixels' 4 taps by one broadcast group of 4 weights; 4 channels x 64 pixels
 * keep 16 accumulators, and the pixels of a channel land contiguous in its output plane:
 * no horizontal sums, a vector epilogue. AVX2 without VNNI: panels of tap pairs as i16 for
 * vpmaddwd (slimc_rt_qconv_block_avx2). Elsewhere: the rows and the portable qgemm. */
/* The VNNI panels of output pixels [p0, p1) straight from x: for each group of 4 taps k,
 * each tap's bytes over the block's pixels are gathered run by run (a run is the part of
 * one output row in the block: contiguous in x for stride 1), then the 4 rows are
 * interleaved into panel[k4][pixel] (4 bytes each). Taps past K read 0 (their weights are
 * 0 too); pixels past p1 read zp (computed, never stored). tmp holds 4 * npx bytes. */
static inline void slimc_rt_qpanel_interleave(uint32_t *dst, const uint8_t *tmp, int64_t npx)
{
    const uint8_t *r0 = tmp, *r1 = tmp + npx, *r2 = tmp + 2 * npx, *r3 = tmp + 3 * npx;
    for (int64_t j = 0; j < npx; j++)
        dst[j] =
            (uint32_t)r0[j] | (uint32_t)r1[j] << 8 | (uint32_t)r2[j] << 16 | (uint32_t)r3[j] << 24;
}

/* The block's runs: (output row, first column, length, first pixel of the block), each at
 * most maxlen pixels long; returns how many (at most 64: the block has at most 64 pixels). */
static inline int64_t slimc_rt_qruns(const slimc_rt_conv *s, int64_t p0, int64_t p1, int64_t maxlen,
                                     int64_t *r_oh, int64_t *r_ow, int64_t *r_len, int64_t *r_j)
{
    int64_t nr = 0;
    for (int64_t p = p0, j = 0; p < p1 && nr < 64; nr++) {
        r_oh[nr] = p / s->OW;
        r_ow[nr] = p % s->OW;
        r_len[nr] = slimc_rt_min(slimc_rt_min(s->OW - r_ow[nr], p1 - p), maxlen);
        r_j[nr] = j;
        p += r_len[nr];
        j += r_len[nr];
    }
    return nr;
}

static SLIMC_RT_UNUSED void slimc_rt_qpanel(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                            int64_t p1, uint8_t zp, uint32_t *panel, int64_t npx,
                                            uint8_t *tmp)
{
    int64_t r_oh[64], r_ow[64], r_len[64], r_j[64];
    const int64_t nr = slimc_rt_qruns(s, p0, p1, 64, r_oh, r_ow, r_len, r_j);
    const int64_t n = p1 - p0;
    int64_t k = 0;
    for (int64_t ci = 0; ci < s->CG; ci++)
        for (int64_t kh = 0; kh < s->KH; kh++)
            for (int64_t kw = 0; kw < s->KW; kw++, k++) {
                uint8_t *r = tmp + (k & 3) * npx;
                for (int64_t q = 0; q < nr; q++) {
                    uint8_t *rr = r + r_j[q];
                    const int64_t run = r_len[q], ih = r_oh[q] * s->SH - s->PH + kh * s->DH;
                    if (ih < 0 || ih >= s->H) {
                        for (int64_t i = 0; i < run; i++)
                            rr[i] = zp;
                        continue;
                    }
                    const uint8_t *xr = x + (ci * s->H + ih) * s->W;
                    const int64_t iw0 = r_ow[q] * s->SW - s->PW + kw * s->DW;
                    /* taps i in [lo, hi) fall inside the row; the others read padding */
                    int64_t lo = iw0 >= 0 ? 0 : (-iw0 + s->SW - 1) / s->SW;
                    int64_t hi = iw0 > s->W - 1 ? 0 : (s->W - 1 - iw0) / s->SW + 1;
                    lo = slimc_rt_min(lo, run);
                    hi = slimc_rt_min(slimc_rt_max(hi, lo), run);
                    for (int64_t i = 0; i < lo; i++)
                        rr[i] = zp;
                    if (s->SW == 1) {
                        int64_t i = lo;
                        for (; i + 8 <= hi; i += 8) /* fixed-size copies: moves, not calls */
                            memcpy(rr + i, xr + iw0 + i, 8);
                        for (; i < hi; i++)
                            rr[i] = xr[iw0 + i];
                    } else {
                        const uint8_t *xs = xr + iw0;
                        for (int64_t i = lo; i < hi; i++)
                            rr[i] = xs[i * s->SW];
                    }
                    for (int64_t i = hi; i < run; i++)
                        rr[i] = zp;
                }
                for (int64_t j = n; j < npx; j++)
                    r[j] = zp;
                if ((k & 3) == 3)
                    slimc_rt_qpanel_interleave(panel + (k >> 2) * npx, tmp, npx);
            }
    if (k & 3) { /* taps past K read 0 (their weights are 0 too) */
        for (int64_t t = k & 3; t < 4; t++)
            memset(tmp + t * npx, 0, (size_t)npx);
        slimc_rt_qpanel_interleave(panel + (k >> 2) * npx, tmp, npx);
    }
}

#ifdef SLIMC_RT_X86
/* tmp's 4 tap rows interleaved into panel row dst, 16 pixels per step: bytes a b -> pairs,
 * pairs -> quads (pixel j's 4 taps in one 32-bit word, tap 0 lowest, as in the scalar one). */
static inline __attribute__((always_inline)) SLIMC_RT_VNNI void
slimc_rt_qpanel_interleave_128(uint32_t *dst, const uint8_t *tmp, int64_t npx)
{
    for (int64_t j = 0; j < npx; j += 16) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(tmp + j));
        const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(tmp + npx + j));
        const __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(tmp + 2 * npx + j));
        const __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(tmp + 3 * npx + j));
        const __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        const __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
        _mm_storeu_si128((__m128i *)(void *)(dst + j), _mm_unpacklo_epi16(ab0, cd0));
        _mm_storeu_si128((__m128i *)(void *)(dst + j + 4), _mm_unpackhi_epi16(ab0, cd0));
        _mm_storeu_si128((__m128i *)(void *)(dst + j + 8), _mm_unpacklo_epi16(ab1, cd1));
        _mm_storeu_si128((__m128i *)(void *)(dst + j + 12), _mm_unpackhi_epi16(ab1, cd1));
    }
}

/* The one-permute gather of small images (both panel builders): when all of a block's
 * source bytes for a tap lie within 128 bytes of the first (pixel j at rel[j] from it, the
 * same for every tap) and the tap stays inside the image for every pixel, two masked loads
 * and one vpermt2b (VBMI) give the tap's whole row instead of a load per run. */
typedef struct slimc_rt_qgather {
    int on; /* the block fits and the CPU has VBMI */
    int64_t r0, r1, cmin, cmax, base, span;
    uint8_t rel[64] __attribute__((aligned(64)));
} slimc_rt_qgather;

static SLIMC_RT_UNUSED void slimc_rt_qgather_init(slimc_rt_qgather *gt, const slimc_rt_conv *s,
                                                  int64_t nr, const int64_t *r_oh,
                                                  const int64_t *r_ow, const int64_t *r_len,
                                                  const int64_t *r_j)
{
    gt->r0 = r_oh[0];
    gt->r1 = r_oh[nr - 1];
    gt->cmin = s->OW;
    gt->cmax = 0;
    for (int64_t q = 0; q < nr; q++) {
        gt->cmin = slimc_rt_min(gt->cmin, r_ow[q]);
        gt->cmax = slimc_rt_max(gt->cmax, r_ow[q] + r_len[q] - 1);
    }
    gt->base = gt->r0 * s->SH * s->W + gt->cmin * s->SW;
    gt->span = gt->r1 * s->SH * s->W + gt->cmax * s->SW - gt->base + 1;
    gt->on = gt->span <= 128 && slimc_rt_has_vbmi();
    if (!gt->on)
        return;
    memset(gt->rel, 0, sizeof gt->rel);
    for (int64_t q = 0; q < nr; q++)
        for (int64_t i = 0; i < r_len[q]; i++)
            gt->rel[r_j[q] + i] =
                (uint8_t)(r_oh[q] * s->SH * s->W + (r_ow[q] + i) * s->SW - gt->base);
}

/* True when tap (dh, dw) (its offsets from the window's corner) can be gathered. */
static inline int slimc_rt_qgather_tap(const slimc_rt_qgather *gt, const slimc_rt_conv *s,
                                       int64_t dh, int64_t dw)
{
    return gt->on && gt->r0 * s->SH + dh >= 0 && gt->r1 * s->SH + dh < s->H &&
           gt->cmin * s->SW + dw >= 0 && gt->cmax * s->SW + dw < s->W;
}

/* The tap's row of the block as a vector, from the channel plane xc. */
static SLIMC_RT_VBMI __m512i slimc_rt_qgather_row(const slimc_rt_qgather *gt,
                                                  const slimc_rt_conv *s, const uint8_t *xc,
                                                  int64_t dh, int64_t dw)
{
    const uint8_t *src = xc + gt->base + dh * s->W + dw;
    const __m512i lo = _mm512_maskz_loadu_epi8(slimc_rt_bits64(0, gt->span), src);
    const __m512i hi = gt->span > 64
                           ? _mm512_maskz_loadu_epi8(slimc_rt_bits64(0, gt->span - 64), src + 64)
                           : _mm512_setzero_si512();
    return _mm512_permutex2var_epi8(lo, _mm512_loadu_si512((const void *)gt->rel), hi);
}

/* slimc_rt_qpanel for stride 1 or 2 and kernels at most 16 wide, one run at a time with
 * masked byte loads: the bytes of the run's input columns that fall inside the row load,
 * the padding ones read zp (the load's merge source); stride 2 keeps the even bytes
 * (vpmovwb). The per-column masks depend on the tap's kw and the run only, so they are made
 * once per block. Runs are at most 64 / stride pixels. */
static SLIMC_RT_VNNI void slimc_rt_qpanel_512(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                              int64_t p1, uint8_t zp, uint32_t *panel, int64_t npx,
                                              uint8_t *tmp)
{
    int64_t r_oh[64], r_ow[64], r_len[64], r_j[64];
    const int64_t SW = s->SW, nr = slimc_rt_qruns(s, p0, p1, 64 / SW, r_oh, r_ow, r_len, r_j);
    const int64_t n = p1 - p0;
    __mmask64 cmask[16][64], rmask[64];
    int64_t coff[16][64];
    for (int64_t q = 0; q < nr; q++) {
        rmask[q] = slimc_rt_bits64(0, r_len[q]);
        for (int64_t kw = 0; kw < s->KW; kw++) {
            const int64_t iw0 = r_ow[q] * SW - s->PW + kw * s->DW;
            coff[kw][q] = iw0;
            cmask[kw][q] = slimc_rt_bits64(-iw0, slimc_rt_min(s->W - iw0, (r_len[q] - 1) * SW + 1));
        }
    }
    for (int t = 0; t < 4; t++) /* pixels past p1 read zp in every tap */
        memset(tmp + t * npx + n, zp, (size_t)(npx - n));
    slimc_rt_qgather gt; /* small images: a tap's whole row in one permute */
    slimc_rt_qgather_init(&gt, s, nr, r_oh, r_ow, r_len, r_j);
    const __m512i vzp = _mm512_set1_epi8((char)zp);
    int64_t k = 0;
    for (int64_t ci = 0; ci < s->CG; ci++) {
        const uint8_t *xc = x + ci * s->H * s->W;
        for (int64_t kh = 0; kh < s->KH; kh++)
            for (int64_t kw = 0; kw < s->KW; kw++, k++) {
                uint8_t *r = tmp + (k & 3) * npx;
                const int64_t dh = kh * s->DH - s->PH, dw = kw * s->DW - s->PW;
                if (slimc_rt_qgather_tap(&gt, s, dh, dw)) {
                    _mm512_mask_storeu_epi8(r, slimc_rt_bits64(0, n),
                                            slimc_rt_qgather_row(&gt, s, xc, dh, dw));
                    if ((k & 3) == 3)
                        slimc_rt_qpanel_interleave_128(panel + (k >> 2) * npx, tmp, npx);
                    continue;
                }
                for (int64_t q = 0; q < nr; q++) {
                    const int64_t ih = r_oh[q] * s->SH - s->PH + kh * s->DH;
                    __m512i v = vzp;
                    if (ih >= 0 && ih < s->H) {
                        /* the run's first input column may lie before the row (padding): the
                         * address is formed as an integer and those bytes are masked off */
                        const uintptr_t a = (uintptr_t)(xc + ih * s->W) + (uintptr_t)coff[kw][q];
                        v = _mm512_mask_loadu_epi8(vzp, cmask[kw][q], (const void *)a);
                        if (SW == 2)
                            v = _mm512_castsi256_si512(_mm512_cvtepi16_epi8(v));
                    }
                    _mm512_mask_storeu_epi8(r + r_j[q], rmask[q], v);
                }
                if ((k & 3) == 3)
                    slimc_rt_qpanel_interleave_128(panel + (k >> 2) * npx, tmp, npx);
            }
    }
    if (k & 3) { /* taps past K read 0 (their weights are 0 too) */
        for (int64_t t = k & 3; t < 4; t++)
            memset(tmp + t * npx, 0, (size_t)npx);
        slimc_rt_qpanel_interleave_128(panel + (k >> 2) * npx, tmp, npx);
    }
}

/* Four tap rows (64 pixels each, a byte per pixel) interleaved into panel row dst: pixel j's
 * 4 taps in one 32-bit word, tap 0 lowest. Bytes to pairs and pairs to quads work within
 * 128-bit lanes; a 4 x 4 transpose of the lanes puts the pixels in order. */
static inline __attribute__((always_inline)) SLIMC_RT_VNNI void
slimc_rt_qpanel_store4(uint32_t *dst, __m512i t0, __m512i t1, __m512i t2, __m512i t3, int64_t npx)
{
    const __m512i ab0 = _mm512_unpacklo_epi8(t0, t1), ab1 = _mm512_unpackhi_epi8(t0, t1);
    const __m512i cd0 = _mm512_unpacklo_epi8(t2, t3), cd1 = _mm512_unpackhi_epi8(t2, t3);
    const __m512i q0 = _mm512_unpacklo_epi16(ab0, cd0), q1 = _mm512_unpackhi_epi16(ab0, cd0);
    const __m512i q2 = _mm512_unpacklo_epi16(ab1, cd1), q3 = _mm512_unpackhi_epi16(ab1, cd1);
    const __m512i x0 = _mm512_shuffle_i64x2(q0, q1, 0x44), x1 = _mm512_shuffle_i64x2(q0, q1, 0xEE);
    const __m512i x2 = _mm512_shuffle_i64x2(q2, q3, 0x44), x3 = _mm512_shuffle_i64x2(q2, q3, 0xEE);
    _mm512_storeu_si512((void *)dst, _mm512_shuffle_i64x2(x0, x2, 0x88));
    if (npx > 16)
        _mm512_storeu_si512((void *)(dst + 16), _mm512_shuffle_i64x2(x0, x2, 0xDD));
    if (npx > 32)
        _mm512_storeu_si512((void *)(dst + 32), _mm512_shuffle_i64x2(x1, x3, 0x88));
    if (npx > 48)
        _mm512_storeu_si512((void *)(dst + 48), _mm512_shuffle_i64x2(x1, x3, 0xDD));
}

/* slimc_rt_qpanel_s1 when the whole block's source lies within 128 bytes of its first
 * (gt->on: the one-permute gather, VBMI) and the kernel is at most 16 high: every tap by the
 * gather, the taps that reach into the padding too. The two loads are masked to the
 * channel's plane, and the lanes whose row or column falls outside the image (their bytes
 * come from a neighbouring row, or none) take zp, as do the lanes past the block; so each
 * tap is two loads, a vpermt2b and a blend instead of a masked load per run. */
static SLIMC_RT_VBMI void slimc_rt_qpanel_s1_gather(const slimc_rt_conv *s, const uint8_t *x,
                                                    int64_t n, uint8_t zp, uint32_t *panel,
                                                    int64_t npx, const slimc_rt_qgather *gt,
                                                    int64_t nr, const int64_t *r_oh,
                                                    const int64_t *r_ow, const int64_t *r_len,
                                                    const int64_t *r_j)
{
    __mmask64 cm[16], rm[16];
    for (int64_t kw = 0; kw < s->KW; kw++) {
        cm[kw] = 0;
        for (int64_t q = 0; q < nr; q++) {
            const int64_t iw0 = r_ow[q] * s->SW - s->PW + kw * s->DW;
            cm[kw] |= slimc_rt_bits64(-iw0, slimc_rt_min(s->W - iw0, r_len[q])) << r_j[q];
        }
    }
    for (int64_t kh = 0; kh < s->KH; kh++) {
        rm[kh] = 0;
        for (int64_t q = 0; q < nr; q++) {
            const int64_t ih = r_oh[q] * s->SH - s->PH + kh * s->DH;
            if (ih >= 0 && ih < s->H)
                rm[kh] |= slimc_rt_bits64(0, r_len[q]) << r_j[q];
        }
    }
    const int64_t HW = s->H * s->W, span = gt->span;
    const __m512i vzp = _mm512_set1_epi8((char)zp);
    const __m512i rel = _mm512_loadu_si512((const void *)gt->rel);
    const __mmask64 inblk = slimc_rt_bits64(0, n);
    __m512i t[4] = {vzp, vzp, vzp, vzp};
    int64_t k = 0;
    for (int64_t ci = 0; ci < s->CG; ci++) {
        const uint8_t *xc = x + ci * HW;
        for (int64_t kh = 0; kh < s->KH; kh++) {
            const int64_t dh = kh * s->DH - s->PH;
            for (int64_t kw = 0; kw < s->KW; kw++, k++) {
                const int64_t off = gt->base + dh * s->W + kw * s->DW - s->PW;
                /* the address may lie outside the plane (masked-off bytes): an integer */
                const uintptr_t a = (uintptr_t)xc + (uintptr_t)off;
                const __m512i lo = _mm512_maskz_loadu_epi8(
                    slimc_rt_bits64(-off, slimc_rt_min(span, HW - off)), (const void *)a);
                const __m512i hi =
                    span > 64 ? _mm512_maskz_loadu_epi8(
                                    slimc_rt_bits64(-off - 64, slimc_rt_min(span, HW - off) - 64),
                                    (const void *)(a + 64))
                              : _mm512_setzero_si512();
                t[k & 3] = _mm512_mask_blend_epi8(cm[kw] & rm[kh] & inblk, vzp,
                                                  _mm512_permutex2var_epi8(lo, rel, hi));
                if ((k & 3) == 3)
                    slimc_rt_qpanel_store4(panel + (k >> 2) * npx, t[0], t[1], t[2], t[3], npx);
            }
        }
    }
    if (k & 3) { /* taps past K read 0 (their weights are 0 too) */
        for (int64_t j = k & 3; j < 4; j++)
            t[j] = _mm512_setzero_si512();
        slimc_rt_qpanel_store4(panel + (k >> 2) * npx, t[0], t[1], t[2], t[3], npx);
    }
}

/* slimc_rt_qpanel_512 for stride 1, the tap rows kept in registers: each tap's row is one
 * vector, filled run by run with masked loads merged into the zero point (a run's lanes at
 * its place in the block, its padding lanes left at zp), or by the one-permute gather of
 * small images; every 4 taps are interleaved in registers and stored (no tap-row buffer). */
static SLIMC_RT_VNNI void slimc_rt_qpanel_s1(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                             int64_t p1, uint8_t zp, uint32_t *panel, int64_t npx)
{
    /* a 1x1 conv without padding reads each channel's block as it lies in x: one load */
    const int pointwise = s->KH == 1 && s->KW == 1 && s->PH == 0 && s->PW == 0 && s->SH == 1 &&
                          s->OH == s->H && s->OW == s->W;
    int64_t r_oh[64] = {0}, r_ow[64] = {0}, r_len[64] = {0}, r_j[64] = {0};
    const int64_t nr = pointwise ? 0 : slimc_rt_qruns(s, p0, p1, 64, r_oh, r_ow, r_len, r_j);
    const int64_t n = p1 - p0;
    __mmask64 lmask[16][64];
    int64_t aoff[16][64];
    for (int64_t q = 0; q < nr; q++)
        for (int64_t kw = 0; kw < s->KW; kw++) {
            const int64_t iw0 = r_ow[q] - s->PW + kw * s->DW;
            aoff[kw][q] = iw0 - r_j[q]; /* lane r_j + i reads the row at iw0 + i */
            lmask[kw][q] = slimc_rt_bits64(-iw0, slimc_rt_min(s->W - iw0, r_len[q])) << r_j[q];
        }
    slimc_rt_qgather gt;
    gt.on = 0;
    if (!pointwise)
        slimc_rt_qgather_init(&gt, s, nr, r_oh, r_ow, r_len, r_j);
    if (gt.on && s->KH <= 16) {
        slimc_rt_qpanel_s1_gather(s, x, n, zp, panel, npx, &gt, nr, r_oh, r_ow, r_len, r_j);
        return;
    }
    const __m512i vzp = _mm512_set1_epi8((char)zp);
    const __mmask64 inblk = slimc_rt_bits64(0, n);
    __m512i t[4] = {vzp, vzp, vzp, vzp};
    int64_t k = 0;
    for (int64_t ci = 0; ci < s->CG; ci++) {
        const uint8_t *xc = x + ci * s->H * s->W;
        for (int64_t kh = 0; kh < s->KH; kh++)
            for (int64_t kw = 0; kw < s->KW; kw++, k++) {
                const int64_t dh = kh * s->DH - s->PH, dw = kw * s->DW - s->PW;
                __m512i v = vzp;
                if (pointwise) {
                    v = _mm512_mask_loadu_epi8(vzp, inblk, xc + p0);
                } else if (slimc_rt_qgather_tap(&gt, s, dh, dw)) {
                    v = _mm512_mask_blend_epi8(inblk, vzp,
                                               slimc_rt_qgather_row(&gt, s, xc, dh, dw));
                } else {
                    for (int64_t q = 0; q < nr; q++) {
                        const int64_t ih = r_oh[q] * s->SH + dh;
                        if (ih < 0 || ih >= s->H)
                            continue;
                        /* the address may lie before the row (masked-off lanes): formed as
                         * an integer */
                        const uintptr_t a = (uintptr_t)(xc + ih * s->W) + (uintptr_t)aoff[kw][q];
                        v = _mm512_mask_loadu_epi8(v, lmask[kw][q], (const void *)a);
                    }
                }
                t[k & 3] = v;
                if ((k & 3) == 3)
                    slimc_rt_qpanel_store4(panel + (k >> 2) * npx, t[0], t[1], t[2], t[3], npx);
            }
    }
    if (k & 3) { /* taps past K read 0 (their weights are 0 too) */
        for (int64_t j = k & 3; j < 4; j++)
            t[j] = _mm512_setzero_si512();
        slimc_rt_qpanel_store4(panel + (k >> 2) * npx, t[0], t[1], t[2], t[3], npx);
    }
}

/* The panel by the fastest builder that handles the conv's stride and kernel width. */
static SLIMC_RT_VNNI void slimc_rt_qpanel_any(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                              int64_t p1, uint8_t zp, uint32_t *panel, int64_t npx,
                                              uint8_t *tmp)
{
    if (s->SW == 1 && s->KW <= 16)
        slimc_rt_qpanel_s1(s, x, p0, p1, zp, panel, npx);
    else if (s->SW == 2 && s->KW <= 16)
        slimc_rt_qpanel_512(s, x, p0, p1, zp, panel, npx, tmp);
    else
        slimc_rt_qpanel(s, x, p0, p1, zp, panel, npx, tmp);
}

static inline __attribute__((always_inline)) SLIMC_RT_VNNI void
slimc_rt_qconv_tile_vnni(int NV, const uint32_t *panel, int64_t npx, int64_t K4, const int8_t *w,
                         int64_t K, int64_t o0, int64_t oc, int64_t p0, int64_t p1, int32_t zp,
                         const int32_t *wsum, float xs, const float *ws, const float *bias,
                         void *out, const slimc_rt_qreq *rq, int64_t P)
{
    __m512i acc[4][4];
    const int8_t *wr[4];
    SLIMC_RT_UNROLL
    for (int j = 0; j < 4; j++) {
        wr[j] = w + (o0 + (j < oc ? j : oc - 1)) * K;
        SLIMC_RT_UNROLL
        for (int v = 0; v < NV; v++)
            acc[j][v] = _mm512_setzero_si512();
    }
    const int64_t kfull = K / 4;
    int64_t k4done = 0;
    if (NV == 4) {
        /* The full 64-pixel tile with its 16 accumulators in named variables: with them in
         * an array both gcc and clang copied each accumulator to a scratch register around
         * every vpdpbusd (and spilled the weight row pointers), about half the loop. */
        SLIMC_RT_VNNI_ACC_LOAD(acc);
        const int8_t *w0 = wr[0], *w1 = wr[1], *w2 = wr[2], *w3 = wr[3];
        const uint32_t *pp = panel;
        for (int64_t k4 = 0; k4 < kfull; k4++, pp += npx) {
            SLIMC_RT_VNNI_STEP4X4(pp, w0 + 4 * k4, w1 + 4 * k4, w2 + 4 * k4, w3 + 4 * k4);
        }
        SLIMC_RT_VNNI_ACC_STORE(acc);
        k4done = kfull;
    }
    for (int64_t k4 = k4done; k4 < kfull; k4++) {
        __m512i av[4], bv[4];
        SLIMC_RT_UNROLL
        for (int v = 0; v < NV; v++)
            av[v] = _mm512_loadu_si512((const void *)(panel + k4 * npx + 16 * v));
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
    if (kfull < K4) { /* the last 1..3 taps: the missing weight bytes are 0 */
        __m512i av[4];
        SLIMC_RT_UNROLL
        for (int v = 0; v < NV; v++)
            av[v] = _mm512_loadu_si512((const void *)(panel + kfull * npx + 16 * v));
        SLIMC_RT_UNROLL
        for (int j = 0; j < 4; j++) {
            uint8_t wb[4] = {0, 0, 0, 0};
            for (int64_t t = 0; t < K - 4 * kfull; t++)
                wb[t] = (uint8_t)wr[j][4 * kfull + t];
            int32_t wv;
            memcpy(&wv, wb, 4);
            const __m512i b = _mm512_set1_epi32(wv);
            SLIMC_RT_UNROLL
            for (int v = 0; v < NV; v++)
                acc[j][v] = _mm512_dpbusd_epi32(acc[j][v], av[v], b);
        }
    }
    for (int j = 0; j < 4 && j < oc; j++) {
        const int64_t o = o0 + j;
        const __m512i corr = _mm512_set1_epi32(zp * wsum[o]);
        const __m512 m = _mm512_set1_ps(xs * ws[o]);
        const __m512 bv = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int v = 0; v < NV; v++) {
            const int64_t p = p0 + 16 * v;
            if (p >= p1)
                break;
            const int64_t left = p1 - p;
            const __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
            __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[j][v], corr)), m);
            if (bias)
                r = _mm512_add_ps(r, bv);
            slimc_rt_qstore16(out, o * P + p, mk, r, rq);
        }
    }
}

static SLIMC_RT_VNNI void slimc_rt_qconv_block_vnni(const slimc_rt_conv *s, const uint8_t *x,
                                                    int64_t p0, int64_t p1, int32_t zp,
                                                    const int8_t *w, const int32_t *wsum, float xs,
                                                    const float *ws, const float *bias, void *out,
                                                    const slimc_rt_qreq *rq, uint8_t *col)
{
    const int64_t K = s->CG * s->KH * s->KW, K4 = (K + 3) / 4, KQ = (K + 63) / 64 * 64;
    const int64_t P = s->OH * s->OW, n = p1 - p0, nv = (n + 15) / 16, npx = 16 * nv;
    uint32_t *panel = (uint32_t *)(void *)col;
    slimc_rt_qpanel_any(s, x, p0, p1, (uint8_t)zp, panel, npx, col + 64 * KQ);
    for (int64_t o0 = 0; o0 < s->OG; o0 += 4) {
        const int64_t oc = slimc_rt_min(4, s->OG - o0);
        switch (nv) {
        case 1:
            slimc_rt_qconv_tile_vnni(1, panel, npx, K4, w, K, o0, oc, p0, p1, zp, wsum, xs, ws,
                                     bias, out, rq, P);
            break;
        case 2:
            slimc_rt_qconv_tile_vnni(2, panel, npx, K4, w, K, o0, oc, p0, p1, zp, wsum, xs, ws,
                                     bias, out, rq, P);
            break;
        case 3:
            slimc_rt_qconv_tile_vnni(3, panel, npx, K4, w, K, o0, oc, p0, p1, zp, wsum, xs, ws,
                                     bias, out, rq, P);
            break;
        default:
            slimc_rt_qconv_tile_vnni(4, panel, npx, K4, w, K, o0, oc, p0, p1, zp, wsum, xs, ws,
                                     bias, out, rq, P);
            break;
        }
    }
}
#endif

#ifdef SLIMC_RT_HAS_AMX
/* qconv2d's block on AMX: the panel as the VNNI block makes it (rows past K zeroed), then per
 * 32 output channels x 32 pixels 4 C tiles over K in steps of 64. The weight rows' copies
 * (the group's last rows) live in col after the panel and its tap rows. */
static SLIMC_RT_AMX void slimc_rt_qconv_block_amx(const slimc_rt_conv *s, const uint8_t *x,
                                                  int64_t p0, int64_t p1, int32_t zp,
                                                  const int8_t *w, const int32_t *wsum, float xs,
                                                  const float *ws, const float *bias, void *out,
                                                  const slimc_rt_qreq *rq, uint8_t *col)
{
    const int64_t K = s->CG * s->KH * s->KW, K4 = (K + 3) / 4, KQ = (K + 63) / 64 * 64;
    const int64_t KC = KQ / 64, P = s->OH * s->OW, n = p1 - p0, npx = (n + 15) / 16 * 16;
    uint32_t *panel = (uint32_t *)(void *)col;
    uint8_t *wb0 = col + 64 * KQ + 4 * 64, *wb1 = wb0 + 16 * KQ;
    const void **tags = (const void **)(void *)(wb1 + 16 * KQ); /* what wb0, wb1 hold */
    slimc_rt_qpanel_any(s, x, p0, p1, (uint8_t)zp, panel, npx, col + 64 * KQ);
    memset(panel + K4 * npx, 0, sizeof(uint32_t) * (size_t)((KQ / 4 - K4) * npx));
    int32_t ct[4 * 256] __attribute__((aligned(64)));
    slimc_rt_amx_config();
    for (int64_t o = 0; o < s->OG; o += 32) {
        const int64_t onr = slimc_rt_min(32, s->OG - o);
        int64_t la0, la1 = K;
        const uint8_t *a0 = slimc_rt_amx_rows((const uint8_t *)w, s->OG, K, o, &wb0, &la0, tags);
        const uint8_t *a1 = a0;
        if (onr > 16)
            a1 = slimc_rt_amx_rows((const uint8_t *)w, s->OG, K, o + 16, &wb1, &la1, tags + 1);
        SLIMC_RT_BARRIER();
        for (int64_t pg = 0; pg < npx; pg += 32) {
            const int64_t pnr = slimc_rt_min(32, npx - pg);
            slimc_rt_amx_steps(1, onr > 16 ? 2 : 1, pnr > 16 ? 2 : 1, a0, la0, a1, la1,
                               (const uint8_t *)(panel + pg), 4 * npx, 64 * npx, 64, KC, ct);
            for (int t = 0; t < 4; t++) {
                const int64_t r0 = 16 * (t >> 1), c0 = pg + 16 * (t & 1);
                if (r0 < onr && c0 < n)
                    slimc_rt_amx_epilogue(1, ct + 256 * t, slimc_rt_min(16, onr - r0),
                                          slimc_rt_min(16, n - c0), o + r0, zp, wsum, xs, ws, bias,
                                          out, p0 + c0, P, rq);
            }
        }
    }
}
#endif

#ifdef SLIMC_RT_X86
/* qconv2d's block on AVX2 without VNNI, in halves of up to 32 pixels: a panel of tap pairs,
 * panel[k / 2][pixel] = (tap k, tap k + 1) as two i16 (u8 values, padding zp, a tap past K
 * 0), built from two tap rows gathered run by run as slimc_rt_qpanel does; then per
 * 4 output channels x 16 pixels, one vpmaddwd per pair and 8 pixels by the broadcast weight
 * pair (w[k], w[k + 1]): exact i32 sums of x w, less zp wsum[o], then slimc_rt_qout8.
 * Channels past oc repeat channel o0 (computed, not stored). */
static inline SLIMC_RT_AVX2 void slimc_rt_qpairs_avx2(const slimc_rt_conv *s, const uint8_t *x,
                                                      int64_t p0, int64_t p1, uint8_t zp,
                                                      uint32_t *panel, int64_t npx, uint8_t *tmp)
{
    int64_t r_oh[64], r_ow[64], r_len[64], r_j[64];
    const int64_t nr = slimc_rt_qruns(s, p0, p1, 64, r_oh, r_ow, r_len, r_j);
    const int64_t n = p1 - p0, K = s->CG * s->KH * s->KW;
    /* tap k = (ci, kh, kw), counted along without divisions */
    for (int64_t k = 0, ci = 0, kh = 0, kw = 0; k < K + (K & 1); k++) {
        uint8_t *r = tmp + (k & 1) * 32;
        if (k == K)
            memset(r, 0, 32);
        else {
            for (int64_t q = 0; q < nr; q++) {
                uint8_t *rr = r + r_j[q];
                const int64_t run = r_len[q], ih = r_oh[q] * s->SH - s->PH + kh * s->DH;
                if (ih < 0 || ih >= s->H) {
                    memset(rr, zp, (size_t)run);
                    continue;
                }
                const uint8_t *xr = x + (ci * s->H + ih) * s->W;
                const int64_t iw0 = r_ow[q] * s->SW - s->PW + kw * s->DW;
                int64_t lo = iw0 >= 0 ? 0 : (-iw0 + s->SW - 1) / s->SW;
                int64_t hi = iw0 > s->W - 1 ? 0 : (s->W - 1 - iw0) / s->SW + 1;
                lo = slimc_rt_min(lo, run);
                hi = slimc_rt_min(slimc_rt_max(hi, lo), run);
                for (int64_t i = 0; i < lo; i++)
                    rr[i] = zp;
                if (s->SW == 1) {
                    int64_t i = lo;
                    for (; i + 8 <= hi; i += 8) /* fixed-size copies: moves, not calls */
                        memcpy(rr + i, xr + iw0 + i, 8);
                    for (; i < hi; i++)
                        rr[i] = xr[iw0 + i];
                } else {
                    int64_t i = lo;
                    if (s->SW == 2) /* 16 even bytes of 32 a step, inside the row */
                        for (; i + 16 <= hi && iw0 + 2 * i + 31 < s->W; i += 16) {
                            const __m256i v = _mm256_and_si256(
                                _mm256_loadu_si256(
                                    (const __m256i *)(const void *)(xr + iw0 + 2 * i)),
                                _mm256_set1_epi16(0xff));
                            _mm_storeu_si128((__m128i *)(void *)(rr + i),
                                             _mm_packus_epi16(_mm256_castsi256_si128(v),
                                                              _mm256_extracti128_si256(v, 1)));
                        }
                    for (; i < hi; i++)
                        rr[i] = xr[iw0 + i * s->SW];
                }
                for (int64_t i = hi; i < run; i++)
                    rr[i] = zp;
            }
            for (int64_t j = n; j < npx; j++)
                r[j] = zp;
            if (++kw == s->KW) {
                kw = 0;
                if (++kh == s->KH)
                    kh = 0, ci++;
            }
        }
        if (k & 1) { /* rows a, b -> (a[j], b[j]) as i16 pairs, 16 pixels a step */
            uint32_t *dst = panel + (k >> 1) * npx;
            for (int64_t j = 0; j < npx; j += 16) {
                const __m256i a =
                    _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(tmp + j)));
                const __m256i b = _mm256_cvtepu8_epi16(
                    _mm_loadu_si128((const __m128i *)(const void *)(tmp + 32 + j)));
                const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
                _mm256_storeu_si256((__m256i *)(void *)(dst + j),
                                    _mm256_permute2x128_si256(lo, hi, 0x20));
                if (j + 8 < npx)
                    _mm256_storeu_si256((__m256i *)(void *)(dst + j + 8),
                                        _mm256_permute2x128_si256(lo, hi, 0x31));
            }
        }
    }
}

static inline SLIMC_RT_AVX2 __attribute__((always_inline)) void
slimc_rt_qconv_tile_avx2(const int NV, const uint32_t *panel, int64_t npx, int64_t K2,
                         const int16_t *wp, int64_t o0, int64_t oc, int64_t v0, int64_t n,
                         int64_t p0, int32_t zp, const int32_t *wsum, float xs, const float *ws,
                         const float *bias, void *out, const slimc_rt_qreq *rq, int64_t P)
{
    __m256i acc[4][2];
    SLIMC_RT_UNROLL for (int j = 0; j < 4; j++) SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
        acc[j][v] = _mm256_setzero_si256();
    const int16_t *wj[4]; /* the weights as i16, rows of 2 K2 */
    for (int j = 0; j < 4; j++)
        wj[j] = wp + (j < oc ? j : 0) * 2 * K2;
    const uint32_t *pp = panel + 8 * v0;
    for (int64_t k = 0; k < K2; k++, pp += npx) {
        __m256i xv[2];
        SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) xv[v] =
            _mm256_loadu_si256((const __m256i *)(const void *)(pp + 8 * v));
        SLIMC_RT_UNROLL for (int j = 0; j < 4; j++)
        {
            int32_t wk;
            memcpy(&wk, wj[j] + 2 * k, 4);
            const __m256i wv = _mm256_set1_epi32(wk);
            SLIMC_RT_UNROLL for (int v = 0; v < NV; v++) acc[j][v] =
                _mm256_add_epi32(acc[j][v], _mm256_madd_epi16(xv[v], wv));
        }
    }
    for (int64_t j = 0; j < oc; j++) {
        const int64_t o = o0 + j;
        const __m256i corr = _mm256_set1_epi32((int32_t)((uint32_t)zp * (uint32_t)wsum[o]));
        const __m256 mv = _mm256_set1_ps(xs * ws[o]), bv = _mm256_set1_ps(bias ? bias[o] : 0.0f);
        SLIMC_RT_UNROLL for (int v = 0; v < NV; v++)
        {
            const int64_t at = 8 * (v0 + v), left = n - at;
            if (left > 0)
                slimc_rt_qout8(out, o * P + p0 + at, left >= 8 ? 8 : (int)left,
                               _mm256_sub_epi32(acc[j][v], corr), mv, bv, bias != NULL, rq);
        }
    }
}

static SLIMC_RT_AVX2 void slimc_rt_qconv_block_avx2(const slimc_rt_conv *s, const uint8_t *x,
                                                    int64_t p0, int64_t p1, int32_t zp,
                                                    const int8_t *w, const int32_t *wsum, float xs,
                                                    const float *ws, const float *bias, void *out,
                                                    const slimc_rt_qreq *rq, uint8_t *col)
{
    const int64_t K = s->CG * s->KH * s->KW, K2 = (K + 1) / 2, KQ = (K + 63) / 64 * 64;
    const int64_t P = s->OH * s->OW;
    /* col: the pair panel of 32 pixels (128 K2 <= 64 KQ + 64 bytes), two tap rows of 32
     * bytes, then 4 channels' weights as i16 (16 K2 <= 32 KQ bytes) */
    uint32_t *panel = (uint32_t *)(void *)col;
    uint8_t *tmp = col + 64 * KQ + 64;
    int16_t *wp = (int16_t *)(void *)(col + 64 * KQ + 4 * 64);
    const slimc_rt_qreq rqc = rq ? *rq : (slimc_rt_qreq){0.0f, 0, 0, 0.0f};
    const slimc_rt_qreq *rl = rq ? &rqc : NULL; /* not reloaded after each byte store */
    for (int64_t h0 = p0; h0 < p1; h0 += 32) {
        const int64_t h1 = slimc_rt_min(p1, h0 + 32), n = h1 - h0, nv = (n + 7) / 8, npx = 8 * nv;
        slimc_rt_qpairs_avx2(s, x, h0, h1, (uint8_t)zp, panel, npx, tmp);
        for (int64_t o0 = 0; o0 < s->OG; o0 += 4) {
            const int64_t oc = slimc_rt_min(4, s->OG - o0);
            for (int64_t j = 0; j < oc; j++) { /* widened 16 at a time, 0 past K */
                const int8_t *wr = w + (o0 + j) * K;
                int16_t *wd = wp + j * 2 * K2;
                int64_t k = 0;
                for (; k + 16 <= K; k += 16)
                    _mm256_storeu_si256((__m256i *)(void *)(wd + k),
                                        _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                            (const __m128i *)(const void *)(wr + k))));
                for (; k < K; k++)
                    wd[k] = wr[k];
                if (K & 1)
                    wd[K] = 0;
            }
            int64_t v = 0;
            for (; v + 2 <= nv; v += 2)
                slimc_rt_qconv_tile_avx2(2, panel, npx, K2, wp, o0, oc, v, n, h0, zp, wsum, xs, ws,
                                         bias, out, rl, P);
            if (v < nv)
                slimc_rt_qconv_tile_avx2(1, panel, npx, K2, wp, o0, oc, v, n, h0, zp, wsum, xs, ws,
                                         bias, out, rl, P);
        }
    }
}
#endif

SLIMC_RT_KERNEL void slimc_rt_qconv_panel(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                          int64_t p1, uint8_t zp, int vnni, uint8_t *col)
{
    const int64_t K = s->CG * s->KH * s->KW, KQ = (K + 63) / 64 * 64, n = p1 - p0;
#ifdef SLIMC_RT_X86
    if (vnni)
        slimc_rt_qpanel_any(s, x, p0, p1, zp, (uint32_t *)(void *)col, (n + 15) / 16 * 16,
                            col + 64 * KQ);
    else
        slimc_rt_qpairs_avx2(s, x, p0, p1, zp, (uint32_t *)(void *)col, (n + 7) / 8 * 8,
                             col + 64 * KQ + 64);
#else
    (void)x, (void)zp, (void)vnni, (void)col, (void)KQ, (void)n;
#endif
}

SLIMC_RT_KERNEL uint8_t *slimc_rt_qcol_alloc(int64_t K)
{
    const int64_t n = slimc_rt_qcol_bytes(K);
    uint8_t *col = (uint8_t *)malloc((size_t)n);
    if (col) /* no weight rows copied yet (the two tags at the end) */
        memset(col + n - 64, 0, 64);
    return col;
}

SLIMC_RT_KERNEL void slimc_rt_qconv_block(const slimc_rt_conv *s, const uint8_t *x, int64_t p0,
                                          int64_t p1, int32_t zp, const int8_t *w,
                                          const int32_t *wsum, float xs, const float *ws,
                                          const float *bias, void *out, const slimc_rt_qreq *rq,
                                          uint8_t *col)
{
    const int64_t K = s->CG * s->KH * s->KW, P = s->OH * s->OW;
    if (p1 <= p0)
        return;
#ifdef SLIMC_RT_HAS_AMX
    /* K up to 64 fills at most one 64-byte tile step, mostly padding (lenet's first conv:
     * 25 of 64; mobilenet's narrow 1x1 convs): the VNNI tile wastes nothing there and was
     * 12% faster on lenet, 4-6% on mobilenet_v2 */
    if (K > 64 && slimc_rt_has_amx()) {
        slimc_rt_qconv_block_amx(s, x, p0, p1, zp, w, wsum, xs, ws, bias, out, rq, col);
        return;
    }
#endif
#ifdef SLIMC_RT_X86
    if (K > 0 && slimc_rt_has_vnni()) {
        slimc_rt_qconv_block_vnni(s, x, p0, p1, zp, w, wsum, xs, ws, bias, out, rq, col);
        return;
    }
    if (K > 0 && slimc_rt_isa() >= SLIMC_RT_ISA_AVX2) {
        slimc_rt_qconv_block_avx2(s, x, p0, p1, zp, w, wsum, xs, ws, bias, out, rq, col);
        return;
    }
#endif
    slimc_rt_qim2col(s, x, p0, p1, (uint8_t)zp, col);
    slimc_rt_qgemm(p1 - p0, s->OG, K, col, K, w, K, zp, wsum, xs, ws, bias,
                   slimc_rt_qoff(out, rq, p0), rq, 1, P);
}
