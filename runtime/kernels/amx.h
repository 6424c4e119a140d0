/* amx.h — the AMX tile primitives that qconv.c, qpacked.c and bf16.c share (static: each
 * is inlined where it is used). */
#ifndef SLIMC_RT_AMX_H
#define SLIMC_RT_AMX_H

#include "runtime/kernels/internal.h"

/* ---- int8 on AMX tiles (Intel AMX-INT8: Sapphire Rapids and later) ----
 * One tdpbusd / tdpbsud multiplies a 16 x 64-byte tile by a 16-row x 64-byte tile in VNNI
 * order (row r = 4 k x 16 columns) into 16 x 16 i32: 16 K MACs, about 16 times what one
 * vpdpbusd does. The packed qlinear weight is already in that order, one 16-output block's
 * 16 k4 rows a tile (hence KB rounded to 16), and so is qconv2d's panel, [k4][pixel][4] (its
 * rows past K zeroed). qlinear: A = the u8 rows (tdpbusd), B = the weight. qconv2d: A = the
 * s8 weight rows (tdpbsud: signed x unsigned), B = the panel, so a C tile is 16 output
 * channels x 16 pixels that land contiguous in their planes. 2 x 2 C tiles per step (tiles
 * 0-3), A in 4-5, B in 6-7, all configured 16 rows x 64 bytes. A tile reads 64 bytes of
 * 16 rows whatever K and the row count: rows that would read past the caller's buffers
 * (the last ones, and any past its row count) are copied into a zero-padded scratch first;
 * bytes past K meet zero weights or zero panel rows. Integer sums equal vpdpbusd's, so the
 * outputs are bit for bit those of the VNNI and portable kernels.
 * Linux hands the tile state out only on request (arch_prctl ARCH_REQ_XCOMP_PERM), which
 * slimc_rt_has_amx makes once per process. SLIMC_NO_AMX=1 (or SLIMC_NO_VNNI=1) turns it off. */
#ifdef SLIMC_RT_HAS_AMX
typedef struct slimc_rt_tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} slimc_rt_tilecfg;

/* Tiles 0-7, 16 rows x 64 bytes each. The configuration is left loaded after a call:
 * reloading and releasing it around every call cost more than a small conv block computes.
 * Whether it is still there is read back (sttilecfg) rather than remembered in a thread
 * variable, which proved unreliable (a sanitizer build's threads lost it between calls). */
static SLIMC_RT_UNUSED SLIMC_RT_AMX void slimc_rt_amx_config(void)
{
    slimc_rt_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    /* gcc's tile-config asm names only 8 bytes of cfg as its operand: the barriers make the
     * whole struct count as read and written */
    __asm__ volatile("" : : "r"(&cfg) : "memory");
    _tile_storeconfig(&cfg);
    __asm__ volatile("" : : "r"(&cfg) : "memory");
    int ok = cfg.palette == 1;
    for (int t = 0; t < 8 && ok; t++)
        ok = cfg.colsb[t] == 64 && cfg.rows[t] == 16;
    if (ok)
        return;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    __asm__ volatile("" : : "r"(&cfg) : "memory");
    _tile_loadconfig(&cfg);
}

/* One C tile (16 x 16 i32, ldc i32 apart) through qlinear / qconv2d's epilogue:
 * (float)(acc - zp wsum[o]) * (xs ws[o]) + bias[o]. conv: rows are outputs o0 + r, columns
 * pixels (out + o * P + p); linear: rows are rows, columns outputs (out + r * ldo + o). */
static inline __attribute__((always_inline)) SLIMC_RT_AMX void
slimc_rt_amx_epilogue(int conv, const int32_t *ct, int64_t nr, int64_t nc, int64_t o0, int32_t zp,
                      const int32_t *wsum, float xs, const float *ws, const float *bias, void *out,
                      int64_t base, int64_t ldo, const slimc_rt_qreq *rq)
{
    const __mmask16 mk = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1u);
    if (conv) {
        for (int64_t r = 0; r < nr; r++) {
            const int64_t o = o0 + r;
            const __m512i corr = _mm512_set1_epi32(zp * wsum[o]);
            __m512 v = _mm512_mul_ps(
                _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(ct + 16 * r), corr)),
                _mm512_set1_ps(xs * ws[o]));
            if (bias)
                v = _mm512_add_ps(v, _mm512_set1_ps(bias[o]));
            slimc_rt_qstore16(out, base + o * ldo, mk, v, rq);
        }
        return;
    }
    const __m512i corr =
        _mm512_mullo_epi32(_mm512_set1_epi32(zp), _mm512_maskz_loadu_epi32(mk, wsum + o0));
    const __m512 m = _mm512_mul_ps(_mm512_set1_ps(xs), _mm512_maskz_loadu_ps(mk, ws + o0));
    const __m512 bv = bias ? _mm512_maskz_loadu_ps(mk, bias + o0) : _mm512_setzero_ps();
    for (int64_t r = 0; r < nr; r++) {
        __m512 v = _mm512_mul_ps(
            _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(ct + 16 * r), corr)), m);
        if (bias)
            v = _mm512_add_ps(v, bv);
        slimc_rt_qstore16(out, base + r * ldo + o0, mk, v, rq);
    }
}

/* Rows [m, m + 16) of a byte matrix [rows, K] as an A tile source: in place when all 16
 * rows and the 64-byte over-read of the last k step lie inside it, else copied (zero
 * padded) into *buf [16][KQ], allocated on first need (NULL when that fails). A copy whose
 * source *tag (when tag is not NULL) already names is not made again. Returns the rows'
 * address (NULL: no memory); *ld gets their stride. */
static inline const uint8_t *slimc_rt_amx_rows(const uint8_t *A, int64_t rows, int64_t K, int64_t m,
                                               uint8_t **buf, int64_t *ld, const void **tag)
{
    const int64_t KQ = (K + 63) / 64 * 64;
    *ld = K;
    if (m + 16 < rows || (m + 16 == rows && K == KQ))
        return A + m * K;
    *ld = KQ;
    if (tag && *tag == (const void *)(A + m * K))
        return *buf;
    if (!*buf && !(*buf = (uint8_t *)malloc((size_t)(16 * KQ))))
        return NULL;
    if (tag)
        *tag = A + m * K;
    memset(*buf, 0, (size_t)(16 * KQ));
    for (int64_t r = 0; r < 16 && m + r < rows; r++)
        memcpy(*buf + r * KQ, A + (m + r) * K, (size_t)K);
    return *buf;
}

/* 16 MH rows of A x 16 NB columns of B (MH, NB: 1 or 2) over KC k steps of 64 bytes into
 * ct (C tile t at ct + 256 t, t = 2 row half + column half). A rows la bytes apart, each
 * step 64 bytes on; B rows lb bytes apart, a step bstep bytes on, the second column half
 * bnext bytes after the first. sgn: tdpbsud (s8 A, u8 B: conv) instead of tdpbusd. */
static inline __attribute__((always_inline)) SLIMC_RT_AMX void
slimc_rt_amx_step(int sgn, int MH, int NB, const uint8_t *a0, int64_t la0, const uint8_t *a1,
                  int64_t la1, const uint8_t *b0, int64_t lb, int64_t bstep, int64_t bnext,
                  int64_t KC, int32_t *ct)
{
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    SLIMC_RT_BARRIER();
    for (int64_t kc = 0; kc < KC; kc++) {
        const uint8_t *b = b0 + kc * bstep;
        _tile_loadd(4, a0 + 64 * kc, la0);
        _tile_loadd(6, b, lb);
        if (sgn)
            _tile_dpbsud(0, 4, 6);
        else
            _tile_dpbusd(0, 4, 6);
        if (NB == 2) {
            _tile_loadd(7, b + bnext, lb);
            if (sgn)
                _tile_dpbsud(1, 4, 7);
            else
                _tile_dpbusd(1, 4, 7);
        }
        if (MH == 2) {
            _tile_loadd(5, a1 + 64 * kc, la1);
            if (sgn)
                _tile_dpbsud(2, 5, 6);
            else
                _tile_dpbusd(2, 5, 6);
            if (NB == 2) {
                if (sgn)
                    _tile_dpbsud(3, 5, 7);
                else
                    _tile_dpbusd(3, 5, 7);
            }
        }
    }
    _tile_stored(0, ct, 64);
    _tile_stored(1, ct + 256, 64);
    _tile_stored(2, ct + 512, 64);
    _tile_stored(3, ct + 768, 64);
}

/* slimc_rt_amx_step with its shape as constants (4 copies, no branch per k step). */
static inline __attribute__((always_inline)) SLIMC_RT_AMX void
slimc_rt_amx_steps(int sgn, int MH, int NB, const uint8_t *a0, int64_t la0, const uint8_t *a1,
                   int64_t la1, const uint8_t *b0, int64_t lb, int64_t bstep, int64_t bnext,
                   int64_t KC, int32_t *ct)
{
    if (MH == 2 && NB == 2)
        slimc_rt_amx_step(sgn, 2, 2, a0, la0, a1, la1, b0, lb, bstep, bnext, KC, ct);
    else if (MH == 2)
        slimc_rt_amx_step(sgn, 2, 1, a0, la0, a1, la1, b0, lb, bstep, bnext, KC, ct);
    else if (NB == 2)
        slimc_rt_amx_step(sgn, 1, 2, a0, la0, a1, la1, b0, lb, bstep, bnext, KC, ct);
    else
        slimc_rt_amx_step(sgn, 1, 1, a0, la0, a1, la1, b0, lb, bstep, bnext, KC, ct);
}
#endif

#endif /* SLIMC_RT_AMX_H */
