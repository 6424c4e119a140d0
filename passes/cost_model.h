/* The cost model: one module that predicts how long a node takes on a device, for every
 * choice slimc makes between implementations (the place pass's CPU or GPU, pruning's sparse
 * or dense, quantization's int8 or float). It reads a node's FLOPs and bytes from ops.def's
 * cost columns (ir/cost.c) and the rates of a device profile:
 *
 *   time(node, device) = launch + max(FLOPs / rate(family, dtype), bytes / bandwidth)
 *                        (an op with no FLOPs, data movement, counts bytes / 8 as its FLOPs)
 *   time(edge)         = latency + bytes / link bandwidth      (a value crossing devices)
 *
 * A profile (CostProfile) holds, for each device, measured GFLOP/s per op family and
 * precision, the memory bandwidth and the launch overhead, and for the CPU-GPU pair the
 * link's bandwidth and latency. `slimc profile-device` measures one with micro-benchmarks
 * of the real kernels and stores it as JSON in slimc's cache directory; a JSON file can be
 * given instead (--device-profile FILE). The format is in docs/placement.md. Every choice
 * made from a profile is recorded in the compiled artifact, and the profile's hash is part
 * of the JIT cache key, so a changed profile recompiles. */
#ifndef SLIMC_PASSES_COST_MODEL_H
#define SLIMC_PASSES_COST_MODEL_H

#include "ir/diag.h"
#include "ir/graph.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COST_NUM_DEVICES 2 /* IR_DEVICE_CPU, IR_DEVICE_CUDA */

/* The rate classes a profile measures: a node's class comes from its op family and the
 * dtype it computes in (cost_class). */
typedef enum CostClass {
    COST_GEMM_F32,    /* linear, matmul, attention-like products in f32 */
    COST_CONV_F32,    /* conv2d, conv_transpose2d (implicit GEMM / im2col) */
    COST_GEMM_INT8,   /* qlinear, qconv2d, wlinear, dqlinear */
    COST_GEMM_F16,    /* GEMMs and convolutions with --precision fp16/bf16 (tensor cores) */
    COST_ELEMENTWISE, /* elementwise, compare, quant/dequant, casts (bandwidth-bound) */
    COST_REDUCE,      /* reductions, softmax, norms, pools */
    COST_DATA,        /* data movement, index ops, resampling */
    COST_NUM_CLASSES
} CostClass;

/* The sparse kernels a profile may time (the C backend's, runtime/kernels/sparse.c), their
 * rate in GFLOP/s counted on the nonzeros only (2 x rows x nonzeros): JSON
 * devices.cpu.sparse.{csr_gflops, csr_gemv_gflops, dense_gemv_gflops, nm_gflops,
 * nm_gemv_gflops, csr_conv_gflops, nm_conv_gflops, q8sp_gflops, q8sp_gemv_gflops,
 * q8_dense_gemv_gflops, q8sp_conv_gflops}. */
typedef enum CostSparse {
    COST_SPARSE_CSR,           /* several rows (the transposed-panel kernel) */
    COST_SPARSE_CSR_GEMV,      /* one row (a gathered dot product per output) */
    COST_SPARSE_DENSE_GEMV,    /* the dense GEMM at one row, which it is weighed against (all
                                * FLOPs): gemm_f32 is measured at many rows */
    COST_SPARSE_NM,            /* the N:M kernel (runtime/kernels/sparse_nm.c), several rows: FLOPs
                                * of the kept weights (2 x rows x N x K n / m) */
    COST_SPARSE_NM_GEMV,       /* the N:M kernel at one row */
    COST_SPARSE_CONV,          /* the CSR conv2d kernel (runtime/kernels/sparse_conv.c): FLOPs of
                                * the nonzeros (2 x images x OH x OW x nonzeros); derived from
                                * conv_f32 when absent */
    COST_SPARSE_NM_CONV,       /* the N:M conv2d kernel (runtime/kernels/sparse_nm.c, im2col
                                * panels): FLOPs of the kept weights; derived from conv_f32 */
    COST_SPARSE_Q8,            /* the int8 block-sparse qlinear kernel (runtime/kernels/qsparse.c),
                                * several rows: FLOPs of the kept blocks (2 x rows x 4 x blocks);
                                * derived from gemm_int8 */
    COST_SPARSE_Q8_GEMV,       /* the same at one row (gathered blocks) */
    COST_SPARSE_Q8_DENSE_GEMV, /* the dense int8 GEMM at one row, which it is weighed against */
    COST_SPARSE_Q8_CONV,       /* the int8 block-sparse qconv2d kernel (runtime/kernels/qsparse.c,
                                * im2col panels): FLOPs of the kept blocks (2 x images x OH x OW
                                * x 4 x blocks); derived from gemm_int8 */
    COST_SPARSE_NUM
    /* COST_SPARSE_NM and after are optional within "sparse" (profiles written before them
     * stay valid): a rate of 0 means absent, derived as if the profile had no sparse rates. */
} CostSparse;

typedef struct CostDevice {
    bool present;                    /* measured (or given) */
    char name[128];                  /* "Intel Xeon ... (2 threads)", "NVIDIA H100 (sm_90)" */
    double gflops[COST_NUM_CLASSES]; /* sustained GFLOP/s of each class (> 0) */
    double bandwidth_gbs;            /* memory bandwidth, GB/s (> 0) */
    double launch_us;                /* fixed cost of one node (a kernel launch, a
                                      * parallel-for's fork and join), microseconds */
    double memory_mb;                /* memory it has (0: unknown) */
    /* The sparse rates, when the profile gives them ("sparse" is optional: profiles written
     * before it stay valid); when not, cost_sparse_rate derives them from gemm_f32. */
    bool sparse_measured;
    double sparse_gflops[COST_SPARSE_NUM];
    /* int8 convolutions with a small reduction, K = in-channels per group x KH x KW below
     * int8_small_k_below, take at least int8_small_k_vs_f32 times the f32 conv's time: the
     * C backend's int8 conv without VNNI (AVX2's vpmaddwd does 16 multiply-adds, as many as
     * two f32 FMAs, and gathering the taps costs more than the few products; bench/RESULTS.md).
     * Both 0: no such penalty. JSON devices.DEV.int8_small_k {"k_below", "vs_f32"}, optional:
     * a profile without it gets the host's default (cost_int8_small_k_host). */
    double int8_small_k_below;
    double int8_small_k_vs_f32;
} CostDevice;

typedef struct CostProfile {
    CostDevice dev[COST_NUM_DEVICES]; /* indexed by Device */
    double link_gbs;                  /* host <-> GPU copy bandwidth, GB/s (GPU present) */
    double link_latency_us;           /* the fixed cost of one copy, microseconds */
    char source[512];                 /* where it came from: the file, or "measured ..." */
    uint64_t hash;                    /* of its numbers (cost_profile_hash) */
} CostProfile;

/* The class of node n of g (its family and the dtype it computes in). */
CostClass cost_class(const Graph *g, const Node *n);
const char *cost_class_name(CostClass c); /* the JSON key: "gemm_f32", ... */
/* The same for a graph compiled with --precision (IR_F16 or IR_BF16: its GEMMs and
 * convolutions are COST_GEMM_F16; IR_F32: as cost_class). */
CostClass cost_class_prec(const Graph *g, const Node *n, DType precision);

/* Predicted milliseconds of node n on device dev, its symbols at syms (NULL: every symbol
 * 1). A dead node, or a device the profile lacks, costs 0 / INFINITY respectively. Views
 * (reshape, flatten...) cost nothing; a transfer node costs cost_transfer_ms of its bytes. */
double cost_node_ms(const CostProfile *p, const Graph *g, const Node *n, Device dev,
                    const int64_t *syms);
/* The same with --precision: precision (IR_F32, IR_F16, IR_BF16) applies on IR_DEVICE_CUDA
 * only (the CPU's GEMMs are f32 whatever it is). */
double cost_node_ms_prec(const CostProfile *p, const Graph *g, const Node *n, Device dev,
                         const int64_t *syms, DType precision);
/* The rate of sparse kernel k on device d: the profile's, else gemm_f32 times the built-in
 * factor (COST_SPARSE_DEFAULT_*, measured on the machines of bench/RESULTS.md). */
#define COST_SPARSE_DEFAULT_CSR        0.4
#define COST_SPARSE_DEFAULT_GEMV       0.06
#define COST_SPARSE_DEFAULT_DENSE_GEMV 0.25
/* times gemm_f32: the N:M kernel at several rows ran at 0.47x the dense GEMM's rate per FLOP
 * at batch 64 on the AVX-512 EPYC (2:4 0.94x dense, bench/RESULTS.md; 0.65 had predicted
 * 1.29x), so without a measured profile 2:4 at several rows is predicted 0.9x and stays dense */
#define COST_SPARSE_DEFAULT_NM      0.45
#define COST_SPARSE_DEFAULT_NM_GEMV 0.2
/* times conv_f32, per FLOP of the CSR conv kernel's work (cost_spconv_flops): with the row
 * overhead and the rounding to whole vectors counted, the kernel ran at 0.6-0.75 of the dense
 * conv's rate on the AVX-512 EPYC at densities 14-60% (bench/RESULTS.md, issue 17, i17-ds),
 * 1.3-2x the dense conv's rate under SLIMC_MAX_ISA=avx2; the lower end is kept */
#define COST_SPARSE_DEFAULT_CONV 0.6
/* The CSR conv kernel's fixed costs, in its work (cost_spconv_flops): each row of the weight
 * and block of SLIMC_RT_SPCONV_KC columns costs as many nonzeros (its sums loaded and stored,
 * the mispredicted loop exit), and each image's pixels are rounded up to whole vectors (a
 * partial vector costs a whole one: 196 pixels cost 208). */
#define COST_SPCONV_ROW_NNZ      11.0
#define COST_SPCONV_PIXEL_VECTOR 16.0
/* times conv_f32: the N:M conv kernel ran at 0.19-0.46 of the dense conv's rate per FLOP on
 * the AVX-512 EPYC (bench/RESULTS.md, "N:M conv"), so at 2:4 it is kept dense unless a
 * measured profile says otherwise */
#define COST_SPARSE_DEFAULT_NM_CONV 0.35
/* times gemm_int8 (the int8 block-sparse kernel, per FLOP of the kept blocks; the dense int8
 * GEMM at one row): bench/RESULTS.md, "int8 sparse", kept low so that an unmeasured machine
 * does not pick a slower kernel */
#define COST_SPARSE_DEFAULT_Q8            0.25
#define COST_SPARSE_DEFAULT_Q8_GEMV       0.015
#define COST_SPARSE_DEFAULT_Q8_DENSE_GEMV 0.25
/* times gemm_int8, per FLOP of the kept blocks of the int8 block-sparse conv (against the dense
 * qconv2d at gemm_int8): the kernel ran at 0.22-0.66 of the dense int8 conv's rate per FLOP on
 * the AVX-512 EPYC (bench/qsparse_conv.c; bench/RESULTS.md, issue 17, i17-q8c); kept near the
 * low end, so that only a conv with under about a fifth of its blocks kept goes sparse */
#define COST_SPARSE_DEFAULT_Q8_CONV 0.25
double cost_sparse_rate(const CostDevice *d, CostSparse k);
const char *cost_sparse_name(CostSparse k); /* the JSON key: "csr_gflops", ... */
/* Predicted milliseconds of linear node n on the CPU's dense GEMM, as cost_node_ms but at
 * the profile's dense_gemv rate when x has one row at syms (what the sparse kernel is weighed
 * against; passes/sparse.c). A CSR input the node carries is not counted. */
double cost_linear_dense_ms(const CostProfile *p, const Graph *g, const Node *n,
                            const int64_t *syms);
/* Predicted milliseconds of linear node n on the CPU with its weight in CSR: nnz nonzeros
 * in csr_bytes (slimc_rt_csr_layout), the rows of x at syms (NULL: every symbol 1); the same
 * roofline as cost_node_ms with the FLOPs of the nonzeros at the sparse rate. */
double cost_linear_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                             const int64_t *syms, double nnz, double csr_bytes);
/* Predicted milliseconds of linear node n on the CPU's N:M kernel: kept weights stored (N x K
 * x n / m) in nm_bytes (slimc_rt_nm_layout), at the profile's nm rates; otherwise as
 * cost_linear_sparse_ms. */
double cost_linear_nm_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                         double kept, double nm_bytes);
/* Predicted milliseconds of qlinear node n (O outputs, K inputs) on the CPU's dense int8 GEMM
 * (gemm_int8; q8_dense_gemv at one row), and on the int8 block-sparse kernel with `kept`
 * blocks of 4 (q8sp; q8sp_gemv at one row): the FLOPs at the rate, x (u8) and the output at
 * the bandwidth (the weight is not: its reads are in the measured rates). */
double cost_qlinear_dense_ms(const CostProfile *p, const Graph *g, const Node *n,
                             const int64_t *syms, int64_t O, int64_t K);
double cost_qlinear_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                              const int64_t *syms, int64_t O, int64_t K, double kept);
/* Predicted milliseconds of conv2d node n on the CPU's dense conv kernel (cost_node_ms
 * without the CSR input the node may carry), and on the CSR conv kernel (runtime/kernels/
 * sparse_conv.c): nnz nonzeros in csr_bytes, 2 x images x OH x OW x nnz FLOPs at the
 * csr_conv rate, the same roofline as cost_node_ms; symbols at syms (NULL: every one 1). */
double cost_conv_dense_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms);
/* Predicted milliseconds of qconv2d node n on the CPU's dense int8 conv (cost_node_ms without the
 * block-sparse input it may carry), and on the int8 block-sparse conv with `kept` blocks of 4
 * (2 x images x OH x OW x 4 kept FLOPs at the q8sp_conv rate; x and the output at the
 * bandwidth, the weight not, as for qlinear). */
double cost_qconv_dense_ms(const CostProfile *p, const Graph *g, const Node *n,
                           const int64_t *syms);
double cost_qconv_sparse_ms(const CostProfile *p, const Graph *g, const Node *n,
                            const int64_t *syms, double kept);
/* The work of the CSR conv kernel in FLOPs: 2 x images x (OH x OW rounded up to
 * COST_SPCONV_PIXEL_VECTOR) x (nnz + O x ceil(K / SLIMC_RT_SPCONV_KC) x COST_SPCONV_ROW_NNZ),
 * for a weight of O rows, K = C x KH x KW columns and nnz nonzeros; the rate sparse_conv is
 * per FLOP of this work (profile-device measures it so). */
double cost_spconv_flops(double images, double ohw, double O, double K, double nnz);
double cost_conv_sparse_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                           double nnz, double csr_bytes);
/* ... and on the N:M conv kernel (runtime/kernels/sparse_nm.c, the conv's im2col form): kept
 * weights (a group's padding included) in nm_bytes at the nm_conv rate. */
double cost_conv_nm_ms(const CostProfile *p, const Graph *g, const Node *n, const int64_t *syms,
                       double kept, double nm_bytes);
/* Predicted milliseconds of copying bytes between the CPU and the GPU (either way). */
double cost_transfer_ms(const CostProfile *p, double bytes);

/* The profile's JSON (docs/placement.md): parses text (len bytes, from path, for
 * messages) into *out, or reports what is wrong and where (path:line:col) to d and returns
 * false. A device the file lacks is absent (present == false); a present device must give
 * every rate. */
bool cost_profile_parse(const char *text, size_t len, const char *path, CostProfile *out, Diag *d);
/* Writes p as JSON to f (what cost_profile_parse reads back), its source as "about". */
void cost_profile_write(const CostProfile *p, FILE *f);
/* The built-in profile --device auto uses when none was measured or given (a note says
 * so): conservative figures for a 2-core AVX-512 CPU and a data-centre GPU behind PCIe 4,
 * documented in docs/placement.md. */
void cost_profile_default(CostProfile *out);
/* The host default of int8_small_k for the CPU device d: none when the C backend's int8
 * conv runs on VNNI here (AVX-512 VNNI, as runtime/kernels/cpu.c decides, SLIMC_NO_VNNI and
 * SLIMC_MAX_ISA included) or on a CPU that is not x86; otherwise K below
 * COST_INT8_SMALL_K_BELOW at COST_INT8_SMALL_K_VS_F32 times the f32 time (measured on an
 * AVX2 CPU without VNNI, bench/RESULTS.md: 1.3-1.8x for K from 16 to 32). */
#define COST_INT8_SMALL_K_BELOW  64
#define COST_INT8_SMALL_K_VS_F32 1.3
void cost_int8_small_k_host(CostDevice *d);
/* Whether the C backend's int8 conv runs on AVX-512 VNNI here (the rule above; passes/qtaps.c
 * also asks). */
bool cost_host_int8_vnni(void);
/* A hash of p's numbers and names (sets nothing; the JIT cache key takes it). */
uint64_t cost_profile_hash(const CostProfile *p);

#endif
