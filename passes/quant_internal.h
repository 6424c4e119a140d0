/* Private to passes/quantize.c and passes/calibrate.c (and their unit tests): activation
 * statistics gathered by running the fp32 graph over calibration samples, the range
 * choosers (minmax, percentile, entropy, mse) and the u8 parameters of a range. */
#ifndef SLIMC_PASSES_QUANT_INTERNAL_H
#define SLIMC_PASSES_QUANT_INTERNAL_H

#include "ir/graph.h"
#include "passes/pass.h"

#define QCAL_BINS 2048

typedef struct QStats {
    double min, max; /* over every sample */
    int64_t count;
    int64_t hist[QCAL_BINS]; /* QCAL_BINS equal bins over [min(min, 0), max(max, 0)] */
} QStats;

typedef enum QMethod { QCAL_MINMAX, QCAL_PERCENTILE, QCAL_ENTROPY, QCAL_MSE } QMethod;

/* Statistics from raw data (the two steps run_calibration does per value): first
 * pass_qcal_observe_range over all of it, then, when the method needs one, pass_qcal_observe_hist.
 */
void pass_qcal_stats_init(QStats *s);
void pass_qcal_observe_range(QStats *s, const float *x, int64_t n);
void pass_qcal_observe_hist(QStats *s, const float *x, int64_t n);

/* The clip range [lo, hi] (lo <= 0 <= hi) the method picks; p is the percentile (e.g.
 * 99.99) for QCAL_PERCENTILE. With [L, H] the observed range widened to hold 0:
 *   minmax         [L, H]
 *   percentile(p)  the (100 - p)-th and p-th percentiles (one side stays 0 if L or H is)
 *   entropy, mse   [f L, f H] for the f in (0, 1] minimizing the KL divergence between
 *                  the histogram and its 256-level quantization (TensorRT's method, made
 *                  asymmetric), or the expected squared error of quantizing it. */
void pass_qcal_range(const QStats *s, QMethod m, double p, float *lo, float *hi);
/* u8 asymmetric parameters of [lo, hi]: scale = (hi - lo) / 255, zero point round(-lo /
 * scale) in [0, 255]; a zero range gives scale 1, zero point 0. */
void pass_qcal_params(float lo, float hi, float *scale, int32_t *zp);

/* The samples of each input of g from file argument f (what: "calibration" or
 * "validation"): a plain .npy for a model of one input, else one named array per input (a
 * .npz, or NAME=FILE.npy,...). Checks that every name is an input (did you mean), that
 * every input has its array, once, of the input's dtype, with at least one sample and the
 * same sample count as the others, and that f32 data is finite; errors name the file.
 * Returns a malloc'd array of g->n_inputs views into f's data (free it), or NULL. */
PassTensor *pass_qcal_inputs(const Graph *g, const PassFile *f, const char *what, SrcLoc loc,
                             Diag *d);

/* Runs g over the samples of its inputs (in[j] for input j, from pass_qcal_inputs; the
 * leading dim is the sample count, run in batches), by the installed runner or the
 * reference evaluator, and fills stats[i] for the f32 values watch[i]: min/max first, and
 * histograms in a second sweep when with_hist. Errors (shape, NaN/Inf in a watched
 * activation, an empty set) go to d. */
bool pass_qcal_run(const Graph *g, const PassTensor *in, const ValueId *watch, int n_watch,
                   bool with_hist, QStats *stats, SrcLoc loc, Diag *d);

/* The model's first output (f32) over the samples of its inputs (as pass_qcal_run takes
 * them), in batches: *out (malloc'd) holds in[0].shape[0] rows of *per_sample values. For
 * the accuracy guard of quantize(..., max_drop=). */
bool pass_qcal_eval(const Graph *g, const PassTensor *in, float **out, int64_t *per_sample,
                    SrcLoc loc, Diag *d);

/* Whether node n's device runs int8 layers (quantize.c): the CPU, and CUDA where ops.def's
 * IR_BE_CUDA column has the int8 op (codegen/cuda/quant.c). quantize and qdq rewrite only
 * such nodes. */
bool pass_device_runs_int8(const Node *n);
/* Whether a conv2d input's height and width are fixed sizes (qconv2d's kernels need them). */
bool pass_conv_spatial_static(const Shape *s);

/* passes/quant_linear.c. Rewrites each matmul(x f32 [.., K], W) with W a constant f32
 * [K, N] (and, when the product's only use is an add of a constant bias of N elements, that
 * add) as linear(x, W^T [N, K], bias): how exporters write linear layers. With kn, the
 * linear reads W itself, [K, N] with w_transposed=1 (the layout pass's form for the f32
 * GEMM: no copy of the weight, which linearize would otherwise make on every start and
 * layout transpose back); quantize wants [N, K] (int8 kernels of transposed linears are
 * none). Returns how many; compacts g when any. */
int pass_quant_take_matmuls(Graph *g, bool kn);
/* passes/quant_linear.c. Static int8's choice: each conv2d / linear whose int8 kernel the
 * cost model (g->place.profile, else the built-in one; every symbol 1) predicts slower than
 * its float one gets quant_float = 2 with quant_int8_ms and quant_float_ms (for inspect
 * --quant), and quantize leaves it float. The quantize node in front is not counted (qchain
 * removes most). Returns how many. */
int pass_quant_mark_slower(Graph *g);
/* After a quantize pass of mode ("int8", "int8, dynamic", "int4", ...; linear_only when the
 * mode takes linears only): a warning when nothing was quantized, or when a layer with
 * constant weights stayed float, naming why for the three largest (by FLOPs); else a note
 * "N of M layers quantized". Layers the accuracy guard kept float are not reasons to warn. */
void pass_quant_report(const Graph *g, const PassArgs *args, const char *mode, bool linear_only,
                       Diag *d);

#endif
