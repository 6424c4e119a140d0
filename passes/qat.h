/* Quantization-aware training (docs/training.md): before `finetune(..., qat=1)` trains a
 * graph, every conv2d and linear that quantize(int8) would make int8 reads its weight and
 * its input through fake_quant nodes (ir/ops.def): the weight on the per-channel symmetric
 * int8 grid of passes/quantize.c, recomputed from the weight at each step; the input on a
 * u8 grid whose scale and zero point come from a minmax calibration of the fp32 graph on
 * the training data (pass_qcal_*). Their gradients are straight-through (fake_quant_grad),
 * so the weights learn to sit well on the grid; the graph the loop trains is a copy, and
 * the trained weights go back into the original, which quantize then converts as usual. */
#ifndef SLIMC_PASSES_QAT_H
#define SLIMC_PASSES_QAT_H

#include "passes/pass.h"

/* Inserts the fake_quant nodes into g (in topological order; g verified after), calibrating
 * the inputs' grids on data (f32 or f64 [N, ...] of g's one input). *n_layers: the layers
 * that got them (0 is no error: nothing to quantize). False with errors in d. */
bool pass_qat_insert(Graph *g, const PassFile *data, int *n_layers, Diag *d);

#endif
