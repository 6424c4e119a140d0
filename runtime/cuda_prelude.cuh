/* cuda_prelude.cuh - slimc's portability layer for the GPU: the NVRTC spelling of what
 * runtime/cuda_emu.h gives the CPU emulation (cuda_design.md, "The portability layer").
 * codegen/cuda/ pastes this text into every generated file, after slimc_cuda_abi.h, under
 * #if defined(__CUDACC_RTC__); it is CUDA C++ for NVRTC and includes nothing (NVRTC has no
 * libc headers; the ABI typedefs the fixed-width types). Targets compute_75 and up: where
 * an instruction needs more (bf16 conversion and mma, the m16n8k16 and m16n8k32 shapes
 * need sm_80) the sm_75 spelling below computes the same thing another way, so kernels have
 * one path. The mma functions take the fragment layouts of the PTX ISA (section 9.7.14.5;
 * the table is written out in cuda_emu.h) and need every lane of the warp, as
 * mma.sync.aligned does. */
#ifndef SLIMC_CUDA_PRELUDE_CUH
#define SLIMC_CUDA_PRELUDE_CUH

#define SLIMC_KERNEL extern "C" __global__ void
#define SLIMC_DEV    static __device__ __forceinline__
#define SLIMC_INF    __int_as_float(0x7f800000)
#define SLIMC_NAN    __int_as_float(0x7fffffff)
/* The layer's own functions: a file that does not call one gets no warning for it. */
#define SLIMC_PRE static __device__ __forceinline__ __attribute__((unused))

/* The lane (0..31) and the warp in the block of this thread (warps are consecutive
 * linear thread ids, x fastest). */
#define SLIMC_LINEAR_TID (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z))
#define SLIMC_LANE       ((int)(SLIMC_LINEAR_TID & 31u))
#define SLIMC_WARP       ((int)(SLIMC_LINEAR_TID >> 5))

/* ---- arithmetic: each rounds once, never contracted into an FMA ---- */
SLIMC_PRE float slimc_rsqrt(float x)
{
    return rsqrtf(x);
}
SLIMC_PRE float slimc_fmul_rn(float a, float b)
{
    return __fmul_rn(a, b);
}
SLIMC_PRE float slimc_fadd_rn(float a, float b)
{
    return __fadd_rn(a, b);
}
SLIMC_PRE float slimc_fsub_rn(float a, float b)
{
    return __fsub_rn(a, b);
}
SLIMC_PRE float slimc_fdiv_rn(float a, float b)
{
    return __fdiv_rn(a, b);
}
SLIMC_PRE float slimc_fma_rn(float a, float b, float c)
{
    return __fmaf_rn(a, b, c);
}

/* ---- f16 and bf16 (round to nearest even; a NaN becomes 0x7fff) ---- */
SLIMC_PRE float slimc_h2f(uint16_t h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
SLIMC_PRE uint16_t slimc_f2h(float f)
{
    uint16_t h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
SLIMC_PRE float slimc_b2f(uint16_t h)
{
    return __uint_as_float((unsigned)h << 16);
}
SLIMC_PRE uint16_t slimc_f2b(float f)
{
#if __CUDA_ARCH__ >= 800
    uint16_t h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#else
    const unsigned x = __float_as_uint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return 0x7fffu;
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
#endif
}

/* ---- integers ---- */
SLIMC_PRE int slimc_dp4a(int a, int b, int c)
{
    return __dp4a(a, b, c);
}

/* ---- warp shuffles (every lane of the warp calls) ---- */
SLIMC_PRE float slimc_shfl_xor_f(float v, int lanemask)
{
    return __shfl_xor_sync(0xffffffffu, v, lanemask);
}
SLIMC_PRE int slimc_shfl_xor_i(int v, int lanemask)
{
    return __shfl_xor_sync(0xffffffffu, v, lanemask);
}
SLIMC_PRE float slimc_shfl_idx_f(float v, int src_lane)
{
    return __shfl_sync(0xffffffffu, v, src_lane);
}
SLIMC_PRE int slimc_shfl_idx_i(int v, int src_lane)
{
    return __shfl_sync(0xffffffffu, v, src_lane);
}
SLIMC_PRE float slimc_shfl_down_f(float v, int delta)
{
    return __shfl_down_sync(0xffffffffu, v, (unsigned)delta);
}

/* ---- atomics (device scope; each returns the old value) ---- */
SLIMC_PRE float slimc_atomic_add_f(float *p, float v)
{
    return atomicAdd(p, v);
}
SLIMC_PRE int slimc_atomic_add_i(int *p, int v)
{
    return atomicAdd(p, v);
}
SLIMC_PRE int slimc_atomic_max_i(int *p, int v)
{
    return atomicMax(p, v);
}
SLIMC_PRE int slimc_atomic_or_i(int *p, int v)
{
    return atomicOr(p, v);
}

/* ---- tensor cores ---- */

/* d = A * B + c, m16n8k16 row.col, f16 operands, f32 accumulators. sm_80: one
 * mma.sync.m16n8k16; sm_75: two m16n8k8 (k 0..7 from a[0], a[1], b[0]; k 8..15 from a[2],
 * a[3], b[1]: the m16n8k8 layout is the m16n8k16 one cut in two along k). */
SLIMC_PRE void slimc_mma_f16_16816(float d[4], const uint32_t a[4], const uint32_t b[2],
                                   const float c[4])
{
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]),
                   "f"(c[1]), "f"(c[2]), "f"(c[3]));
#else
    float t0, t1, t2, t3;
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5}, {%6}, {%7,%8,%9,%10};"
                 : "=f"(t0), "=f"(t1), "=f"(t2), "=f"(t3)
                 : "r"(a[0]), "r"(a[1]), "r"(b[0]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5}, {%6}, {%7,%8,%9,%10};"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[2]), "r"(a[3]), "r"(b[1]), "f"(t0), "f"(t1), "f"(t2), "f"(t3));
#endif
}

/* The same with bfloat16 operands. sm_80: mma.sync; sm_75 has no bf16 mma: each lane
 * fetches the rows of A and the columns of B it needs from the lanes holding them
 * (shuffles, same fragment layout) and sums in f32 with FMAs. */
SLIMC_PRE void slimc_mma_bf16_16816(float d[4], const uint32_t a[4], const uint32_t b[2],
                                    const float c[4])
{
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]),
                   "f"(c[1]), "f"(c[2]), "f"(c[3]));
#else
    const int lane = (int)(SLIMC_LINEAR_TID & 31u), g = lane >> 2, t = lane & 3;
    float acc0 = c[0], acc1 = c[1], acc2 = c[2], acc3 = c[3];
    for (int j = 0; j < 4; j++) {
        /* lane 4g+j holds A[g][2j..2j+1] (a[0]), A[g+8][2j..] (a[1]), A[g][2j+8..] (a[2]),
         * A[g+8][2j+8..] (a[3]); lane 4n+j holds B[2j..2j+1][n] (b[0]), B[2j+8..][n] (b[1]) */
        const unsigned r0 = __shfl_sync(0xffffffffu, a[0], 4 * g + j);
        const unsigned r1 = __shfl_sync(0xffffffffu, a[1], 4 * g + j);
        const unsigned r2 = __shfl_sync(0xffffffffu, a[2], 4 * g + j);
        const unsigned r3 = __shfl_sync(0xffffffffu, a[3], 4 * g + j);
        const unsigned p0 = __shfl_sync(0xffffffffu, b[0], 4 * (2 * t) + j);
        const unsigned p1 = __shfl_sync(0xffffffffu, b[1], 4 * (2 * t) + j);
        const unsigned q0 = __shfl_sync(0xffffffffu, b[0], 4 * (2 * t + 1) + j);
        const unsigned q1 = __shfl_sync(0xffffffffu, b[1], 4 * (2 * t + 1) + j);
        const unsigned ar[4] = {r0, r2, r1, r3}; /* row g: k lo, k hi; row g+8: k lo, k hi */
        const unsigned bp[2] = {p0, p1}, bq[2] = {q0, q1};
        for (int h = 0; h < 2; h++)       /* k in 2j..2j+1 (h 0) or 2j+8..2j+9 (h 1) */
            for (int e = 0; e < 2; e++) { /* the element in the pair */
                const float x0 = __uint_as_float((ar[h] >> (16 * e)) << 16);
                const float x1 = __uint_as_float((ar[2 + h] >> (16 * e)) << 16);
                const float y0 = __uint_as_float((bp[h] >> (16 * e)) << 16);
                const float y1 = __uint_as_float((bq[h] >> (16 * e)) << 16);
                acc0 = __fmaf_rn(x0, y0, acc0);
                acc1 = __fmaf_rn(x0, y1, acc1);
                acc2 = __fmaf_rn(x1, y0, acc2);
                acc3 = __fmaf_rn(x1, y1, acc3);
            }
    }
    d[0] = acc0;
    d[1] = acc1;
    d[2] = acc2;
    d[3] = acc3;
#endif
}

/* d = A * B + c, m16n8k32 row.col, s8 operands, s32 accumulators. sm_80: one mma.sync;
 * sm_75: four m8n8k16 (rows g and g+8 of D, k 0..15 then 16..31: the m8n8k16 layout is
 * the m16n8k32 one cut in four). */
SLIMC_PRE void slimc_mma_s8_16832(int d[4], const uint32_t a[4], const uint32_t b[2],
                                  const int c[4])
{
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                 : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(c[0]),
                   "r"(c[1]), "r"(c[2]), "r"(c[3]));
#else
    int t0, t1, t2, t3;
    asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%4,%5};"
                 : "=r"(t0), "=r"(t1)
                 : "r"(a[0]), "r"(b[0]), "r"(c[0]), "r"(c[1]));
    asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%4,%5};"
                 : "=r"(d[0]), "=r"(d[1])
                 : "r"(a[2]), "r"(b[1]), "r"(t0), "r"(t1));
    asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%4,%5};"
                 : "=r"(t2), "=r"(t3)
                 : "r"(a[1]), "r"(b[0]), "r"(c[2]), "r"(c[3]));
    asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%4,%5};"
                 : "=r"(d[2]), "=r"(d[3])
                 : "r"(a[3]), "r"(b[1]), "r"(t2), "r"(t3));
#endif
}

#endif /* SLIMC_CUDA_PRELUDE_CUH */
