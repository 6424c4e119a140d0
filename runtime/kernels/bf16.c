/* bf16.c — bf16 compute for wlinear with bf16 weights (AVX-512 BF16, AMX-BF16, portable). */
#include "runtime/kernels/internal.h"
#include "runtime/kernels/amx.h"

/* ---- bf16 compute (wlinear with bf16 weights, packed) ---- */

/* f32 to bf16 as vcvtneps2bf16: round to nearest even, denormals to signed zero, NaN kept
 * a quiet NaN. */
static inline uint16_t slimc_rt_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0) /* zero or denormal: a signed zero, as the instruction */
        return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float slimc_rt_from_bf16(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Portable bf16 compute; packed: W in pairs (slimc_rt_bgemm_packed), else rows [N, K]. */
static SLIMC_RT_UNUSED void slimc_rt_bgemm_c(int packed, int64_t m0, int64_t mc, int64_t n0,
                                             int64_t nc, int64_t N, int64_t K, const float *A,
                                             const uint16_t *W, const float *bias, float *C)
{
    const int64_t KB = slimc_rt_bpack_rows(K);
    for (int64_t m = m0; m < m0 + mc; m++)
        for (int64_t n = n0; n < n0 + nc; n++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                const uint16_t w =
                    packed ? W[((n / 16) * KB + k / 2) * 32 + (n % 16) * 2 + k % 2] : W[n * K + k];
                acc += slimc_rt_from_bf16(slimc_rt_to_bf16(A[m * K + k])) * slimc_rt_from_bf16(w);
            }
            C[m * N + n] = bias ? acc + bias[n] : acc;
        }
}

SLIMC_RT_KERNEL void slimc_rt_bgemm_rows(int64_t m0, int64_t mc, int64_t N, int64_t K,
                                         const float *A, const uint16_t *W, const float *bias,
                                         float *C)
{
    slimc_rt_bgemm_c(0, m0, mc, 0, N, N, K, A, W, bias, C);
}

#ifdef SLIMC_RT_X86
#define SLIMC_RT_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16,avx2,fma")))

/* Rows [m0, m0 + mc) of A to bf16 in buf [mc][KP] (KP = 2 KB), zero padded. */
static SLIMC_RT_BF16 void slimc_rt_bf16_rows(const float *A, int64_t m0, int64_t mc, int64_t K,
                                             int64_t KP, uint16_t *buf)
{
    for (int64_t r = 0; r < mc; r++) {
        const float *a = A + (m0 + r) * K;
        uint16_t *d = buf + r * KP;
        int64_t k = 0;
        for (; k + 16 <= K; k += 16)
            _mm256_storeu_si256((__m256i *)(void *)(d + k),
                                (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(a + k)));
        for (; k < K; k++)
            d[k] = slimc_rt_to_bf16(a[k]);
        for (; k < KP; k++)
            d[k] = 0;
    }
}

/* vdpbf16ps: per row and k pair, the pair of A broadcast times 16 outputs' packed pairs;
 * blocks of up to 8 rows x 32 outputs. */
static SLIMC_RT_BF16 void slimc_rt_bgemm_512(int64_t mc, int64_t n0, int64_t nc, int64_t N,
                                             int64_t KB, const uint16_t *Ab, int64_t KP,
                                             const uint16_t *Wp, const float *bias, float *C)
{
    for (int64_t n = n0; n < n0 + nc; n += 32) {
        const int64_t nr = slimc_rt_min(32, n0 + nc - n);
        const int nb = nr > 16 ? 2 : 1;
        const uint16_t *w0 = Wp + (n / 16) * KB * 32;
        for (int64_t m = 0; m < mc; m += 8) {
            const int64_t mr = slimc_rt_min(8, mc - m);
            __m512 acc[8][2];
            for (int i = 0; i < 8; i++)
                acc[i][0] = acc[i][1] = _mm512_setzero_ps();
            for (int64_t k2 = 0; k2 < KB; k2++) {
                const __m512bh wv0 = (__m512bh)_mm512_loadu_si512((const void *)(w0 + k2 * 32));
                const __m512bh wv1 =
                    nb == 2 ? (__m512bh)_mm512_loadu_si512((const void *)(w0 + (KB + k2) * 32))
                            : wv0;
                for (int i = 0; i < mr; i++) {
                    int32_t pair;
                    memcpy(&pair, Ab + (m + i) * KP + 2 * k2, 4);
                    const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
                    acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, wv0);
                    if (nb == 2)
                        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, wv1);
                }
            }
            for (int b = 0; b < nb; b++) {
                const int64_t left = nr - 16 * b;
                const __mmask16 mk =
                    left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
                const __m512 bv =
                    bias ? _mm512_maskz_loadu_ps(mk, bias + n + 16 * b) : _mm512_setzero_ps();
                for (int i = 0; i < mr; i++)
                    _mm512_mask_storeu_ps(C + (m + i) * N + n + 16 * b, mk,
                                          _mm512_add_ps(acc[i][b], bv));
            }
        }
    }
}

#ifdef SLIMC_RT_HAS_AMX
#define SLIMC_RT_AMXBF16                                                                           \
    __attribute__((target("amx-tile,amx-bf16,avx512f,avx512vl,avx512bw,avx512bf16,avx2,fma")))

/* AMX-BF16: 2 x 2 C tiles of 16 rows x 16 outputs (f32), A 16 rows x 32 bf16 of the
 * converted rows, B 16 k pairs x 16 outputs of the packed weight (the tiles as the int8
 * ones: 16 rows x 64 bytes). */
static SLIMC_RT_AMXBF16 void slimc_rt_bgemm_amx(int64_t mc, int64_t n0, int64_t nc, int64_t N,
                                                int64_t KB, const uint16_t *Ab, int64_t KP,
                                                const uint16_t *Wp, const float *bias, float *C)
{
    float ct[4 * 256] __attribute__((aligned(64)));
    const int64_t KC = KB / 16;
    slimc_rt_amx_config();
    for (int64_t m = 0; m < mc; m += 32) {
        const int64_t mr = slimc_rt_min(32, mc - m);
        const uint16_t *a0 = Ab + m * KP, *a1 = mr > 16 ? a0 + 16 * KP : a0;
        for (int64_t n = n0; n < n0 + nc; n += 32) {
            const int64_t nr = slimc_rt_min(32, n0 + nc - n);
            const uint16_t *b0 = Wp + (n / 16) * KB * 32, *b1 = nr > 16 ? b0 + KB * 32 : b0;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            SLIMC_RT_BARRIER();
            for (int64_t kc = 0; kc < KC; kc++) {
                _tile_loadd(4, a0 + 32 * kc, 2 * KP);
                _tile_loadd(6, b0 + kc * 16 * 32, 64);
                _tile_dpbf16ps(0, 4, 6);
                if (nr > 16) {
                    _tile_loadd(7, b1 + kc * 16 * 32, 64);
                    _tile_dpbf16ps(1, 4, 7);
                }
                if (mr > 16) {
                    _tile_loadd(5, a1 + 32 * kc, 2 * KP);
                    _tile_dpbf16ps(2, 5, 6);
                    if (nr > 16)
                        _tile_dpbf16ps(3, 5, 7);
                }
            }
            _tile_stored(0, ct, 64);
            _tile_stored(1, ct + 256, 64);
            _tile_stored(2, ct + 512, 64);
            _tile_stored(3, ct + 768, 64);
            for (int t = 0; t < 4; t++) {
                const int64_t r0 = 16 * (t >> 1), c0 = 16 * (t & 1);
                if (r0 >= mr || c0 >= nr)
                    continue;
                const int64_t left = slimc_rt_min(16, nr - c0);
                const __mmask16 mk =
                    left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
                const __m512 bv =
                    bias ? _mm512_maskz_loadu_ps(mk, bias + n + c0) : _mm512_setzero_ps();
                for (int64_t r = 0; r < 16 && r0 + r < mr; r++)
                    _mm512_mask_storeu_ps(
                        C + (m + r0 + r) * N + n + c0, mk,
                        _mm512_add_ps(_mm512_loadu_ps(ct + 256 * t + 16 * r), bv));
            }
        }
    }
}
#endif
#endif

SLIMC_RT_KERNEL void slimc_rt_bgemm_packed(int64_t m0, int64_t mc, int64_t n0, int64_t nc,
                                           int64_t N, int64_t K, const float *A, const uint16_t *Wp,
                                           const float *bias, float *C)
{
    if (mc <= 0 || nc <= 0)
        return;
#ifdef SLIMC_RT_X86
    const int caps = K > 0 ? slimc_rt_bf16_caps() : 0;
    if (caps) {
        /* the rows in bf16, zero padded to whole tiles (32 rows x KB pairs) */
        const int64_t KB = slimc_rt_bpack_rows(K), KP = 2 * KB, rows = (mc + 31) / 32 * 32;
        uint16_t *Ab = (uint16_t *)malloc(sizeof(uint16_t) * (size_t)(rows * KP));
        if (Ab) {
            slimc_rt_bf16_rows(A, m0, mc, K, KP, Ab);
            memset(Ab + mc * KP, 0, sizeof(uint16_t) * (size_t)((rows - mc) * KP));
#ifdef SLIMC_RT_HAS_AMX
            SLIMC_RT_BARRIER(); /* the rows are stored before the tile loads read them */
#endif
#ifdef SLIMC_RT_HAS_AMX
            if ((caps & 2) && mc >= 16)
                slimc_rt_bgemm_amx(mc, n0, nc, N, KB, Ab, KP, Wp, bias, C + m0 * N);
            else
#endif
                slimc_rt_bgemm_512(mc, n0, nc, N, KB, Ab, KP, Wp, bias, C + m0 * N);
            free(Ab);
            return;
        }
    }
#endif
    slimc_rt_bgemm_c(1, m0, mc, n0, nc, N, K, A, Wp, bias, C);
}
