/* What ONNX (and ONNX Runtime) requires of a node, checked before the node is mapped: its
 * required inputs present and no variadic input omitted (an omitted input has an empty
 * name, and the mappings would read a missing value), the window attributes of Conv,
 * ConvTranspose and the pools positive, Range on constants with a nonzero delta and a
 * bounded count, Gather's constant indices inside the gathered dim. Each failure is an error
 * naming the node, as ORT refuses such a model. Only built with SLIMC_WITH_ONNX. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- inputs ---- */

/* For each op the importer maps and each opset where it changed: how many leading inputs
 * ONNX requires, and whether the op is variadic (Concat, Sum...: every input it is given
 * must be there). Made by scripts/onnx_required_inputs.py from ONNX's schemas. */
static const struct {
    const char *op;
    int since; /* opset version */
    int required;
    bool variadic;
} input_rows[] = {
    {"Abs", 1, 1, false},
    {"Acos", 7, 1, false},
    {"Acosh", 9, 1, false},
    {"Add", 1, 2, false},
    {"AffineGrid", 20, 2, false},
    {"And", 1, 2, false},
    {"ArgMax", 1, 1, false},
    {"ArgMin", 1, 1, false},
    {"Asin", 7, 1, false},
    {"Asinh", 9, 1, false},
    {"Atan", 7, 1, false},
    {"Atanh", 9, 1, false},
    {"Attention", 23, 3, false},
    {"AveragePool", 1, 1, false},
    {"BatchNormalization", 1, 5, false},
    {"BitShift", 11, 2, false},
    {"BitwiseAnd", 18, 2, false},
    {"BitwiseNot", 18, 1, false},
    {"BitwiseOr", 18, 2, false},
    {"BitwiseXor", 18, 2, false},
    {"BlackmanWindow", 17, 1, false},
    {"Cast", 1, 1, false},
    {"CastLike", 15, 2, false},
    {"Ceil", 1, 1, false},
    {"Celu", 12, 1, false},
    {"CenterCropPad", 18, 2, false},
    {"Clip", 1, 1, false},
    {"Col2Im", 18, 3, false},
    {"Compress", 9, 2, false},
    {"Concat", 1, 1, true},
    {"Constant", 1, 0, false},
    {"ConstantOfShape", 9, 1, false},
    {"Conv", 1, 2, false},
    {"ConvInteger", 10, 2, false},
    {"ConvTranspose", 1, 2, false},
    {"Cos", 7, 1, false},
    {"Cosh", 9, 1, false},
    {"CumSum", 11, 2, false},
    {"DFT", 17, 1, false},
    {"DepthToSpace", 1, 1, false},
    {"DequantizeLinear", 10, 2, false},
    {"Det", 11, 1, false},
    {"Div", 1, 2, false},
    {"Dropout", 1, 1, false},
    {"DynamicQuantizeLinear", 11, 1, false},
    {"Einsum", 12, 1, true},
    {"Elu", 1, 1, false},
    {"Equal", 1, 2, false},
    {"Erf", 9, 1, false},
    {"Exp", 1, 1, false},
    {"Expand", 8, 2, false},
    {"EyeLike", 9, 1, false},
    {"Flatten", 1, 1, false},
    {"Floor", 1, 1, false},
    {"GRU", 1, 3, false},
    {"Gather", 1, 2, false},
    {"GatherElements", 11, 2, false},
    {"GatherND", 11, 2, false},
    {"Gelu", 20, 1, false},
    {"Gemm", 1, 3, false},
    {"Gemm", 11, 2, false},
    {"GlobalAveragePool", 1, 1, false},
    {"GlobalMaxPool", 1, 1, false},
    {"Greater", 1, 2, false},
    {"GreaterOrEqual", 12, 2, false},
    {"GridSample", 16, 2, false},
    {"GroupNormalization", 18, 3, false},
    {"HammingWindow", 17, 1, false},
    {"HannWindow", 17, 1, false},
    {"HardSigmoid", 1, 1, false},
    {"HardSwish", 14, 1, false},
    {"Hardmax", 1, 1, false},
    {"Identity", 1, 1, false},
    {"If", 1, 1, false},
    {"InstanceNormalization", 1, 3, false},
    {"IsInf", 10, 1, false},
    {"IsNaN", 9, 1, false},
    {"LRN", 1, 1, false},
    {"LSTM", 1, 3, false},
    {"LayerNormalization", 17, 2, false},
    {"LeakyRelu", 1, 1, false},
    {"Less", 1, 2, false},
    {"LessOrEqual", 12, 2, false},
    {"Log", 1, 1, false},
    {"LogSoftmax", 1, 1, false},
    {"LpNormalization", 1, 1, false},
    {"LpPool", 1, 1, false},
    {"MatMul", 1, 2, false},
    {"MatMulInteger", 10, 2, false},
    {"Max", 1, 1, true},
    {"MaxPool", 1, 1, false},
    {"Mean", 1, 1, true},
    {"MeanVarianceNormalization", 9, 1, false},
    {"MelWeightMatrix", 17, 5, false},
    {"Min", 1, 1, true},
    {"Mish", 18, 1, false},
    {"Mod", 10, 2, false},
    {"Mul", 1, 2, false},
    {"Neg", 1, 1, false},
    {"NegativeLogLikelihoodLoss", 12, 2, false},
    {"Not", 1, 1, false},
    {"OneHot", 9, 3, false},
    {"Or", 1, 2, false},
    {"PRelu", 1, 2, false},
    {"Pad", 1, 1, false},
    {"Pad", 11, 2, false},
    {"Pow", 1, 2, false},
    {"QLinearConv", 10, 8, false},
    {"QLinearMatMul", 10, 8, false},
    {"QuantizeLinear", 10, 2, false},
    {"RMSNormalization", 23, 2, false},
    {"RNN", 1, 3, false},
    {"Range", 11, 3, false},
    {"Reciprocal", 1, 1, false},
    {"ReduceLogSum", 1, 1, false},
    {"ReduceLogSumExp", 1, 1, false},
    {"ReduceMax", 1, 1, false},
    {"ReduceMean", 1, 1, false},
    {"ReduceMin", 1, 1, false},
    {"ReduceProd", 1, 1, false},
    {"ReduceSum", 1, 1, false},
    {"ReduceSumSquare", 1, 1, false},
    {"Relu", 1, 1, false},
    {"Reshape", 1, 1, false},
    {"Reshape", 5, 2, false},
    {"Resize", 10, 2, false},
    {"Resize", 11, 3, false},
    {"Resize", 13, 1, false},
    {"ReverseSequence", 10, 2, false},
    {"RoiAlign", 10, 3, false},
    {"RotaryEmbedding", 23, 3, false},
    {"Round", 11, 1, false},
    {"Scatter", 9, 3, false},
    {"ScatterElements", 11, 3, false},
    {"ScatterND", 11, 3, false},
    {"Selu", 1, 1, false},
    {"Shape", 1, 1, false},
    {"Shrink", 9, 1, false},
    {"Sigmoid", 1, 1, false},
    {"Sign", 9, 1, false},
    {"Sin", 7, 1, false},
    {"Sinh", 9, 1, false},
    {"Size", 1, 1, false},
    {"Slice", 1, 1, false},
    {"Slice", 10, 3, false},
    {"Softmax", 1, 1, false},
    {"SoftmaxCrossEntropyLoss", 12, 2, false},
    {"Softplus", 1, 1, false},
    {"Softsign", 1, 1, false},
    {"SpaceToDepth", 1, 1, false},
    {"Split", 1, 1, false},
    {"Sqrt", 1, 1, false},
    {"Squeeze", 1, 1, false},
    {"Sub", 1, 2, false},
    {"Sum", 1, 1, true},
    {"Swish", 24, 1, false},
    {"Tan", 7, 1, false},
    {"Tanh", 1, 1, false},
    {"TensorScatter", 24, 2, false},
    {"ThresholdedRelu", 10, 1, false},
    {"Tile", 1, 3, false},
    {"Tile", 6, 2, false},
    {"TopK", 1, 1, false},
    {"TopK", 10, 2, false},
    {"Transpose", 1, 1, false},
    {"Trilu", 14, 1, false},
    {"Unsqueeze", 1, 1, false},
    {"Unsqueeze", 13, 2, false},
    {"Upsample", 1, 1, false},
    {"Upsample", 9, 2, false},
    {"Where", 9, 3, false},
    {"Xor", 1, 2, false},
};

/* The row of op for opset (its latest version at or before it; the first when the op is
 * newer than the model's opset); NULL for an op not in the table. */
static int input_row(const char *op, int opset)
{
    int best = -1;
    for (int i = 0; i < (int)(sizeof input_rows / sizeof input_rows[0]); i++) {
        if (strcmp(input_rows[i].op, op) != 0)
            continue;
        if (best < 0 || input_rows[i].since <= opset)
            best = i;
    }
    return best;
}

static bool check_inputs(OxImporter *im, const OxNode *n)
{
    const char *op = n->p->op_type;
    int r = input_row(op, im->opset);
    int need = r < 0 ? 1 : input_rows[r].required;
    for (int i = 0; i < need; i++)
        if (!ox_has_in(n, i)) {
            ir_diag_error(im->d, n->loc, "node '%s' (%s): input %d is required but missing",
                          n->name, op, i);
            return false;
        }
    if (r >= 0 && input_rows[r].variadic)
        for (int i = need; i < n->n_in; i++)
            if (!ox_has_in(n, i)) {
                ir_diag_error(
                    im->d, n->loc,
                    "node '%s' (%s): input %d is omitted (an empty name), but %s takes no "
                    "omitted inputs",
                    n->name, op, i, op);
                return false;
            }
    return true;
}

/* ---- shapes of inputs ---- */

/* The dims of input i (-1 for a symbolic one) into dims; its rank, or -1 when unknown. */
static int input_dims(OxImporter *im, const OxNode *n, int i, int64_t *dims)
{
    if (!ox_has_in(n, i))
        return -1;
    const OxEntry *e = n->in[i];
    if (e->is_const) {
        memcpy(dims, e->c.shape, sizeof(int64_t) * (size_t)e->c.rank);
        return e->c.rank;
    }
    if (e->v == IR_NONE)
        return -1;
    const Shape *s = &ox_ty(im, e->v)->shape;
    for (int k = 0; k < s->rank; k++)
        dims[k] = ir_dim_static(s->d[k]) ? s->d[k].c : -1;
    return s->rank;
}

/* ---- window attributes ---- */

/* "[1, 0]" into buf. */
static const char *ints_str(const int64_t *v, int k, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < k && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

/* Attribute name of n (ints), when given, has every value >= lo. */
static bool attr_at_least(OxImporter *im, const OxNode *n, const char *name, int64_t lo,
                          const char *must)
{
    int64_t v[2 * IR_MAX_RANK + 2];
    int k = ox_attr_ints(n, name, v, (int)(sizeof v / sizeof v[0]));
    int kk = k < (int)(sizeof v / sizeof v[0]) ? k : (int)(sizeof v / sizeof v[0]);
    for (int i = 0; i < kk; i++)
        if (v[i] < lo) {
            char b[256];
            ir_diag_error(im->d, n->loc, "node '%s' (%s): %s %s, got %s", n->name, n->p->op_type,
                          name, must, ints_str(v, kk, b, sizeof b));
            return false;
        }
    return true;
}

/* Conv, ConvTranspose, ConvInteger, QLinearConv and the pools: kernel_shape (or the weight's
 * spatial dims), strides and dilations positive, pads not negative; as ORT's checks. */
static bool check_window(OxImporter *im, const OxNode *n)
{
    const char *op = n->p->op_type;
    int weight = !strcmp(op, "QLinearConv") ? 3
                 : !strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "ConvInteger")
                     ? 1
                     : -1;
    bool pool = !strcmp(op, "MaxPool") || !strcmp(op, "AveragePool") || !strcmp(op, "LpPool");
    if (weight < 0 && !pool)
        return true;
    if (!attr_at_least(im, n, "kernel_shape", 1, "must be positive") ||
        !attr_at_least(im, n, "strides", 1, "must be positive") ||
        !attr_at_least(im, n, "dilations", 1, "must be positive") ||
        !attr_at_least(im, n, "pads", 0, "must not be negative"))
        return false;
    if (pool && !ox_attr(n, "kernel_shape")) {
        ir_diag_error(im->d, n->loc, "node '%s' (%s): the kernel_shape attribute is required",
                      n->name, op);
        return false;
    }
    int64_t dims[IR_MAX_RANK];
    int r = weight < 0 || ox_attr(n, "kernel_shape") ? -1 : input_dims(im, n, weight, dims);
    for (int i = 2; i < r; i++)
        if (dims[i] == 0) {
            char b[256];
            ir_diag_error(im->d, n->loc,
                          "node '%s' (%s): kernel_shape must be positive, got %s (the weight's "
                          "spatial dims)",
                          n->name, op, ints_str(dims + 2, r - 2, b, sizeof b));
            return false;
        }
    return true;
}

/* ---- Range ---- */

/* The most elements a Range may make: slimc folds it into a constant at import. */
#define RANGE_MAX ((int64_t)1 << 20)

/* Range(start, limit, delta) on constants: delta not 0, the count ceil((limit - start) /
 * delta) finite and at most RANGE_MAX. Inputs computed at run time are left to the
 * mapping (which asks for them as constants). */
static bool check_range(OxImporter *im, const OxNode *n)
{
    const OxConst *c[3];
    for (int i = 0; i < 3; i++)
        if (!(c[i] = ox_const_in(n, i)) || ox_const_numel(c[i]) != 1)
            return true;
    double start = ox_const_get(c[0], 0), limit = ox_const_get(c[1], 0),
           delta = ox_const_get(c[2], 0);
    const char *fault = NULL;
    double count = 0;
    if (delta == 0)
        fault = "delta is 0";
    else if (!isfinite(count = ceil((limit - start) / delta)))
        fault = "the element count is not finite";
    else if (count > (double)RANGE_MAX) {
        ir_diag_error(im->d, n->loc,
                      "node '%s' (Range): the element count %.0f is too large (slimc makes a Range "
                      "a constant of at most %lld elements)",
                      n->name, count, (long long)RANGE_MAX);
        return false;
    }
    if (fault) {
        ir_diag_error(im->d, n->loc, "node '%s' (Range): %s (start %g, limit %g, delta %g)",
                      n->name, fault, start, limit, delta);
        return false;
    }
    return true;
}

/* ---- Gather ---- */

/* Gather's constant indices inside [-len, len) of the gathered dim (ORT fails the run on
 * one outside; the importer folds constant indices). */
static bool check_gather(OxImporter *im, const OxNode *n)
{
    const OxConst *idx = ox_const_in(n, 1);
    int64_t dims[IR_MAX_RANK];
    int r = input_dims(im, n, 0, dims);
    int64_t ax = ox_attr_int(n, "axis", 0);
    if (!idx || r < 1 || ax < -r || ax >= r)
        return true;
    int64_t len = dims[ax < 0 ? ax + r : ax];
    if (len < 0)
        return true;
    for (int64_t i = 0; i < ox_const_numel(idx); i++) {
        int64_t v = ox_const_get_i(idx, i);
        if (v < -len || v >= len) {
            ir_diag_error(im->d, n->loc,
                          "node '%s' (Gather): index %lld is out of range for dim %lld (%lld)",
                          n->name, (long long)v, (long long)(ax < 0 ? ax + r : ax), (long long)len);
            return false;
        }
    }
    return true;
}

bool ox_check_node(OxImporter *im, const OxNode *n)
{
    const char *op = n->p->op_type;
    if (!check_inputs(im, n) || !check_window(im, n))
        return false;
    if (!strcmp(op, "Range"))
        return check_range(im, n);
    if (!strcmp(op, "Gather"))
        return check_gather(im, n);
    return true;
}

#endif
