/* Hand-written kernels in the C-compatible subset of CUDA that codegen/cuda/ writes
 * (docs/cuda.md, "The portability layer"), using every facility of the portability layer.
 * test_cuda_emu.c runs them on the CPU (runtime/cuda_emu.h) against plain C references;
 * test_cuda_prelude.c compiles this same text with NVRTC and runtime/cuda_prelude.cuh for
 * compute_75/80/90. It follows slimc_cuda_abi.h and one of the two portability layers. */
#if SLIMC_CU_DEVICE

/* The thread's linear id in its block, and the block's in the grid. */
SLIMC_DEV unsigned tk_tid(void)
{
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}
SLIMC_DEV unsigned tk_bid(void)
{
    return blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
}

/* out[block] = sum of in[block * n .. block * n + n - 1], n = threads a block (<= 1024):
 * a tree reduction in shared memory, one __syncthreads a level. */
SLIMC_KERNEL tk_block_sum(const slimc_kargs a)
{
    __shared__ float s[1024];
    const float *__restrict__ in = (const float *)a.in[0];
    float *__restrict__ out = (float *)a.out;
    const unsigned t = tk_tid(), n = blockDim.x * blockDim.y * blockDim.z;
    s[t] = in[(int64_t)tk_bid() * n + t];
    __syncthreads();
    for (unsigned k = 512; k > 0; k >>= 1) {
        if (t < k && t + k < n)
            s[t] += s[t + k];
        __syncthreads();
    }
    if (t == 0)
        out[tk_bid()] = s[0];
}

/* Every thread writes its coordinates: out[i] = tx + 1000 ty + 100000 tz and
 * out[total + i] = bx + 1000 by + 100000 bz, i = bid * n + tid, total = a.syms[0]. No
 * barrier: the whole grid runs as one loop. */
SLIMC_KERNEL tk_coords(const slimc_kargs a)
{
    int *out = (int *)a.out;
    const int64_t total = a.syms[0];
    const unsigned n = blockDim.x * blockDim.y * blockDim.z;
    const int64_t i = (int64_t)tk_bid() * n + tk_tid();
    out[i] = (int)(threadIdx.x + 1000u * threadIdx.y + 100000u * threadIdx.z);
    out[total + i] = (int)(blockIdx.x + 1000u * blockIdx.y + 100000u * blockIdx.z);
}

/* Warp shuffles: per thread, out[4 i + 0] = the xor-butterfly sum of its warp,
 * [4 i + 1] = the value after a shfl_down reduction (the warp's sum at lane 0),
 * [4 i + 2] = 2 x (the value of lane (lane * 7 + 3) & 31), [4 i + 3] = the int xor sum. */
SLIMC_KERNEL tk_warp_ops(const slimc_kargs a)
{
    const float *in = (const float *)a.in[0];
    float *out = (float *)a.out;
    const int64_t i = (int64_t)tk_bid() * (blockDim.x * blockDim.y * blockDim.z) + tk_tid();
    const float v = in[i];
    float x = v, d = v;
    int iv = (int)v;
    for (int m = 16; m > 0; m >>= 1) {
        x += slimc_shfl_xor_f(x, m);
        iv += slimc_shfl_xor_i(iv, m);
    }
    for (int m = 16; m > 0; m >>= 1)
        d += slimc_shfl_down_f(d, m);
    const float w = slimc_shfl_idx_f(2.0f * v, (SLIMC_LANE * 7 + 3) & 31);
    const int iw = slimc_shfl_idx_i(SLIMC_WARP, 0); /* the same in every lane */
    out[4 * i + 0] = x;
    out[4 * i + 1] = d;
    out[4 * i + 2] = w;
    out[4 * i + 3] = (float)iv + (float)(iw - SLIMC_WARP);
}

/* Divergence: odd and even lanes run loops of data-dependent length on different paths,
 * then meet at a block barrier and at warp shuffles (blocks of a multiple of 64 threads).
 * out[i] = the result (test_cuda_emu.c computes the same in C). */
SLIMC_KERNEL tk_divergent(const slimc_kargs a)
{
    __shared__ int s[1024];
    const int *in = (const int *)a.in[0];
    int *out = (int *)a.out;
    const unsigned t = tk_tid();
    const int64_t i = (int64_t)tk_bid() * (blockDim.x * blockDim.y * blockDim.z) + t;
    const int v = in[i];
    int acc = 0;
    if (SLIMC_LANE & 1) {
        for (int k = 0; k < v % 5; k++)
            acc += 3 * k + 1;
    } else {
        for (int k = 0; k < v % 3; k++)
            acc ^= k + 7;
        acc += 100;
    }
    s[t] = acc;
    __syncthreads();
    acc += slimc_shfl_xor_i(acc, 1);
    acc += s[t ^ 32u] * 2; /* another warp's value, written before the barrier */
    acc += slimc_shfl_idx_i(acc, 31 - SLIMC_LANE);
    out[i] = acc;
}

/* Atomics over the whole grid: o[0..15] a histogram of in & 15, o[16] the max, o[17] the
 * or of 1u << (in & 31), and a float sum of (in & 7) in o[18] (as float bits). */
SLIMC_KERNEL tk_atomics(const slimc_kargs a)
{
    const int *in = (const int *)a.in[0];
    int *o = (int *)a.out;
    const int64_t i = (int64_t)tk_bid() * (blockDim.x * blockDim.y * blockDim.z) + tk_tid();
    const int v = in[i];
    slimc_atomic_add_i(&o[v & 15], 1);
    slimc_atomic_max_i(&o[16], v);
    slimc_atomic_or_i(&o[17], (int)(1u << (v & 31)));
    slimc_atomic_add_f((float *)&o[18], (float)(v & 7));
}

/* Conversions and rounding-exact arithmetic, element by element:
 * o16[2 i] = f2h(x), o16[2 i + 1] = f2b(x); of[3 i] = h2f(f2h(x)), of[3 i + 1] = b2f(f2b(x)),
 * of[3 i + 2] = fadd_rn(fmul_rn(x, y), z); oi[i] = dp4a(bits of x, bits of y, bits of z). */
SLIMC_KERNEL tk_convert(const slimc_kargs a)
{
    const float *x = (const float *)a.in[0];
    const float *y = (const float *)a.in[1];
    const float *z = (const float *)a.in[2];
    uint16_t *o16 = (uint16_t *)a.out;
    float *of = (float *)a.ep[0];
    int *oi = (int *)a.ep[1];
    const int64_t n = a.syms[0];
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    const uint16_t h = slimc_f2h(x[i]), b = slimc_f2b(x[i]);
    o16[2 * i] = h;
    o16[2 * i + 1] = b;
    of[3 * i] = slimc_h2f(h);
    of[3 * i + 1] = slimc_b2f(b);
    of[3 * i + 2] = slimc_fadd_rn(slimc_fmul_rn(x[i], y[i]), z[i]);
    oi[i] = slimc_dp4a(((const int *)x)[i], ((const int *)y)[i], ((const int *)z)[i]);
}

/* One m16n8k16 tile a warp: warp w multiplies A[w] (16x16, 16-bit bits, row-major) by
 * B[w] (16x8, row-major) and adds C[w] (16x8 f32) into D[w]. Fragments are loaded as the
 * PTX ISA words them, element by element (a_i: row g for i < 2 or 4 <= i < 6, else g + 8;
 * col 2t + (i & 1), + 8 for i >= 4; b_i: row 2t + (i & 1), + 8 for i >= 2, col g;
 * c_i: row g, + 8 for i >= 2, col 2t + (i & 1)). a.syms[0]: 1 bf16, 0 f16. */
SLIMC_KERNEL tk_mma_16816(const slimc_kargs a)
{
    const uint16_t *A = (const uint16_t *)a.in[0];
    const uint16_t *B = (const uint16_t *)a.in[1];
    const float *C = (const float *)a.in[2];
    float *D = (float *)a.out;
    const int w = SLIMC_WARP, lane = SLIMC_LANE, g = lane >> 2, t = lane & 3;
    uint32_t fa[4] = {0, 0, 0, 0}, fb[2] = {0, 0};
    float fc[4], fd[4];
    for (int i = 0; i < 8; i++) {
        const int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
        const int col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
        fa[i / 2] |= (uint32_t)A[w * 256 + row * 16 + col] << (16 * (i % 2));
    }
    for (int i = 0; i < 4; i++) {
        const int row = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
        fb[i / 2] |= (uint32_t)B[w * 128 + row * 8 + g] << (16 * (i % 2));
    }
    for (int i = 0; i < 4; i++)
        fc[i] = C[w * 128 + (g + (i >= 2 ? 8 : 0)) * 8 + t * 2 + (i & 1)];
    if (a.syms[0])
        slimc_mma_bf16_16816(fd, fa, fb, fc);
    else
        slimc_mma_f16_16816(fd, fa, fb, fc);
    for (int i = 0; i < 4; i++)
        D[w * 128 + (g + (i >= 2 ? 8 : 0)) * 8 + t * 2 + (i & 1)] = fd[i];
}

/* The same for m16n8k32 s8: A[w] 16x32 bytes, B[w] 32x8 bytes (row-major), C, D s32
 * (a_i: row g for i < 4 or 8 <= i < 12, else g + 8; col 4t + (i & 3), + 16 for i >= 8;
 * b_i: row 4t + (i & 3), + 16 for i >= 4, col g). */
SLIMC_KERNEL tk_mma_16832(const slimc_kargs a)
{
    const int8_t *A = (const int8_t *)a.in[0];
    const int8_t *B = (const int8_t *)a.in[1];
    const int *C = (const int *)a.in[2];
    int *D = (int *)a.out;
    const int w = SLIMC_WARP, lane = SLIMC_LANE, g = lane >> 2, t = lane & 3;
    uint32_t fa[4] = {0, 0, 0, 0}, fb[2] = {0, 0};
    int fc[4], fd[4];
    for (int i = 0; i < 16; i++) {
        const int row = (i < 4 || (i >= 8 && i < 12)) ? g : g + 8;
        const int col = t * 4 + (i & 3) + (i >= 8 ? 16 : 0);
        fa[i / 4] |= (uint32_t)(uint8_t)A[w * 512 + row * 32 + col] << (8 * (i % 4));
    }
    for (int i = 0; i < 8; i++) {
        const int row = t * 4 + (i & 3) + (i >= 4 ? 16 : 0);
        fb[i / 4] |= (uint32_t)(uint8_t)B[w * 256 + row * 8 + g] << (8 * (i % 4));
    }
    for (int i = 0; i < 4; i++)
        fc[i] = C[w * 128 + (g + (i >= 2 ? 8 : 0)) * 8 + t * 2 + (i & 1)];
    slimc_mma_s8_16832(fd, fa, fb, fc);
    for (int i = 0; i < 4; i++)
        D[w * 128 + (g + (i >= 2 ? 8 : 0)) * 8 + t * 2 + (i & 1)] = fd[i];
}

/* The rest of the layer and of CUDA's words, element by element (a.syms[0] elements):
 * o[8 i ..] = rsqrt(x), fsub_rn(x, y), fdiv_rn(x, y), fma_rn(x, y, z), the larger of x and
 * y or SLIMC_INF / SLIMC_NAN where x is out of range, expf(x) clamped, the lane count. */
static __device__ __forceinline__ float tk_pick(float x, float y, bool big)
{
    return big ? (x > 1000.0f ? SLIMC_INF : SLIMC_NAN) : fmaxf(x, y);
}
SLIMC_KERNEL __launch_bounds__(128) tk_math(const slimc_kargs a)
{
    const float *__restrict__ x = (const float *)a.in[0];
    const float *__restrict__ y = (const float *)a.in[1];
    const float *__restrict__ z = (const float *)a.in[2];
    float *__restrict__ o = (float *)a.out;
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= a.syms[0])
        return;
    const bool big = fabsf(x[i]) > 1000.0f;
    o[8 * i + 0] = slimc_rsqrt(fabsf(x[i]));
    o[8 * i + 1] = slimc_fsub_rn(x[i], y[i]);
    o[8 * i + 2] = slimc_fdiv_rn(x[i], y[i]);
    o[8 * i + 3] = slimc_fma_rn(x[i], y[i], z[i]);
    o[8 * i + 4] = tk_pick(x[i], y[i], big);
    o[8 * i + 5] = expf(fminf(x[i], 80.0f));
    o[8 * i + 6] = (float)warpSize;
    o[8 * i + 7] = 0.0f;
}

/* Deadlocks (bugs a launch must report, not hang on): */
/* threads past 16 return before a __syncthreads the others wait at; */
SLIMC_KERNEL tk_dead_return(const slimc_kargs a)
{
    int *out = (int *)a.out;
    if (threadIdx.x >= 16)
        return;
    __syncthreads();
    out[threadIdx.x] = 1;
}
/* lanes of a warp at different warp operations; */
SLIMC_KERNEL tk_dead_mixed(const slimc_kargs a)
{
    int *out = (int *)a.out;
    int v = (int)threadIdx.x;
    if (SLIMC_LANE & 1)
        v = slimc_shfl_xor_i(v, 1);
    else
        v = slimc_shfl_idx_i(v, 0);
    out[threadIdx.x] = v;
}
/* half a warp at __syncthreads, the other half at a shuffle. */
SLIMC_KERNEL tk_dead_split(const slimc_kargs a)
{
    int *out = (int *)a.out;
    int v = (int)threadIdx.x;
    if (SLIMC_LANE < 16)
        __syncthreads();
    else
        v = slimc_shfl_xor_i(v, 1);
    out[threadIdx.x] = v;
}

/* Barrier traffic for timing: a.syms[0] rounds of write, barrier, read, barrier. */
SLIMC_KERNEL tk_barriers(const slimc_kargs a)
{
    __shared__ int s[1024];
    int *out = (int *)a.out;
    const unsigned t = tk_tid(), n = blockDim.x * blockDim.y * blockDim.z;
    int acc = 0;
    for (int64_t r = 0; r < a.syms[0]; r++) {
        s[t] = (int)t + (int)r;
        __syncthreads();
        acc += s[(t + 1) % n];
        __syncthreads();
    }
    out[(int64_t)tk_bid() * n + t] = acc;
}

#endif
