/* Data movement and dtype-generic ops on the GPU: cast, the comparisons, where, permute and
 * expand, slice, pad, concat, index_select, embedding and resize. The semantics are the C
 * backend's (codegen/c/data_move.c, data.c, resize.c) and the reference's (ir/eval_more.c):
 * values are copied as their bits (f16 and bf16 as uint16_t) and converted only where a
 * value is needed, through the portability layer's slimc_h2f/f2h/b2f/f2b.
 *
 * Most kernels are one thread per output element in a grid-stride loop of 256-thread
 * blocks: consecutive threads write consecutive output elements (coalesced stores), and
 * each reads its source at an offset computed from its output coordinates, which the
 * compiler turns into multiplications because every static dim is a literal. Where the
 * source side would not be coalesced either (a permute that moves the last dim), a
 * shared-memory tile transposes 32 x 32 elements so both the loads and the stores are. */
#include "codegen/cuda/data_move.h"
#include "ir/dtype_ops.h"
#include "ir/resize_taps.h"

#include <math.h>
#include <string.h>

#define DM_THREADS 256
#define DM_MAX_IN  8 /* SLIMC_CU_MAX_IN: a kernel's inputs */

/* ---- helpers shared with elementwise_dtypes.c and index_ops.c ---- */

static bool shape_small(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i].syms || s->d[i].c < 0)
            return false;
        if (s->d[i].c && n > ((int64_t)1 << 30) / s->d[i].c)
            return false;
        n *= s->d[i].c;
    }
    return n < ((int64_t)1 << 30);
}

const char *cu_dm_index_type(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!shape_small(cg_shape(c, n->outputs[0])))
        return "int64_t";
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE && !shape_small(cg_shape(c, n->inputs[i])))
            return "int64_t";
    return "int";
}

int cu_dm_loop_begin(CgCtx *c, NodeId id, const char *const *names, int n_in, const char *total)
{
    const char *it = cu_dm_index_type(c, id);
    int k = cu_kernel_begin(c, id, NULL, DM_THREADS);
    for (int i = 0; i < n_in; i++)
        if (names[i])
            cu_in(c, id, i, names[i]);
    cu_out(c, id, "out");
    cg_printf(c, "    const %s n = %s;\n", it, total);
    cg_printf(c,
              "    for (%s f = (%s)blockIdx.x * %d + (%s)threadIdx.x; f < n;\n"
              "         f += (%s)gridDim.x * %d) {\n",
              it, it, DM_THREADS, it, it, DM_THREADS);
    return k;
}

void cu_dm_loop_end(CgCtx *c, NodeId id, int k, const char *total, const char *what)
{
    cg_printf(c, "    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, DM_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){DM_THREADS, 1, 1}, what);
}

const char *cu_dm_gather_index(CgCtx *c, const Shape *os, const char *const *st, const char *f)
{
    const char *e = NULL;
    for (int i = 0; i < os->rank; i++) {
        if (strcmp(st[i], "0") == 0)
            continue;
        const char *inner = cg_prod(c, os, i + 1, os->rank);
        const char *coord =
            strcmp(inner, "1") == 0 ? cg_strf(c, "%s", f) : cg_strf(c, "%s / %s", f, inner);
        if (i > 0)
            coord = cg_strf(c, "(%s) %% %s", coord, cg_dim(c, os->d[i]));
        const char *t = strcmp(st[i], "1") == 0 ? cg_strf(c, "(%s)", coord)
                                                : cg_strf(c, "(%s) * %s", coord, st[i]);
        e = e ? cg_strf(c, "%s + %s", e, t) : t;
    }
    return e ? e : "0";
}

void cu_dm_bcast_strides(CgCtx *c, const Shape *out, const Shape *in, const char **st)
{
    for (int i = 0; i < out->rank; i++) {
        int j = i - (out->rank - in->rank);
        bool present = j >= 0 && !(in->d[j].syms == 0 && in->d[j].c == 1);
        st[i] = present ? cg_prod(c, in, j + 1, in->rank) : "0";
    }
}

const char *cu_dm_float(CgCtx *c, double v)
{
    float f = (float)v;
    if (isnan(f))
        return "SLIMC_NAN";
    if (isinf(f))
        return f < 0 ? "(-SLIMC_INF)" : "SLIMC_INF";
    return cg_float(c, v);
}

const char *cu_dm_load(CgCtx *c, DType t, const char *expr)
{
    if (t == IR_F16)
        return cg_strf(c, "slimc_h2f(%s)", expr);
    if (t == IR_BF16)
        return cg_strf(c, "slimc_b2f(%s)", expr);
    return expr;
}

bool cu_dm_check_plain(CgCtx *c, NodeId id, int from)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    for (int i = from; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        if (v == IR_NONE)
            continue;
        const Type *t = &g->values[v].type;
        if (ir_dtype_bits(t->dtype) < 8 || t->quant || ir_dtype_is_f8(t->dtype)) {
            cg_error(c, n,
                     "the CUDA kernel of %s takes unpacked, unquantized tensors (input %d "
                     "is %s)",
                     ir_ops[n->op].name, i, ir_dtype_name(t->dtype));
            return false;
        }
    }
    const DType od = g->values[n->outputs[0]].type.dtype;
    if (ir_dtype_bits(od) < 8 || ir_dtype_is_f8(od)) {
        cg_error(c, n, "the CUDA kernel of %s has no %s output", ir_ops[n->op].name,
                 ir_dtype_name(od));
        return false;
    }
    if (n->n_epilogue) {
        cg_error(c, n, "a data-movement op cannot carry an epilogue");
        return false;
    }
    return true;
}

bool cu_dm_check_f32(CgCtx *c, NodeId id, int from)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    for (int i = from; i < n->n_inputs; i++) {
        ValueId v = n->inputs[i];
        if (v != IR_NONE && (g->values[v].type.dtype != IR_F32 || g->values[v].type.quant)) {
            cg_error(c, n, "the CUDA kernel of %s computes in f32 only (input %d is %s)",
                     ir_ops[n->op].name, i, ir_dtype_name(g->values[v].type.dtype));
            return false;
        }
    }
    if (g->values[n->outputs[0]].type.dtype != IR_F32) {
        cg_error(c, n, "the CUDA kernel of %s has an f32 output only", ir_ops[n->op].name);
        return false;
    }
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE &&
            g->values[n->epilogue[j].operand].type.dtype != IR_F32) {
            cg_error(c, n, "epilogue operand '%s' must be f32",
                     cg_text(c, g->values[n->epilogue[j].operand].name));
            return false;
        }
    return true;
}

/* ---- file-local helpers ---- */

static const char *ctype_of(CgCtx *c, ValueId v)
{
    return ir_dtype_ctype(c->g->values[v].type.dtype);
}

static DType dtype_of(CgCtx *c, ValueId v)
{
    return c->g->values[v].type.dtype;
}

static bool is_float(DType t)
{
    return t == IR_F64 || t == IR_F32 || t == IR_F16 || t == IR_BF16;
}

/* The device helpers of the data-movement and typed kernels, once per file. */
static const char dm_helpers[] =
    "#ifndef SLIMC_CU_DM_HELPERS\n"
    "#define SLIMC_CU_DM_HELPERS\n"
    "/* (int64_t)v as the CPU (x86-64's cvttsd2si) converts it, so that a cast agrees with the\n"
    " * C backend bit for bit: NaN and values out of int64's range give INT64_MIN (the GPU's\n"
    " * own conversion saturates instead). */\n"
    "SLIMC_DEV int64_t slimc_cu_f2i64(double v)\n"
    "{\n"
    "    return v == v && v >= -9223372036854775808.0 && v < 9223372036854775808.0\n"
    "               ? (int64_t)v\n"
    "               : (int64_t)(-9223372036854775807LL - 1);\n"
    "}\n"
    "/* float to f16 and bf16 bits as the CPU rounds them (slimc's ir/types.c): nearest even\n"
    " * as the GPU, but a NaN keeps its sign (and bf16 the top of its payload), where the\n"
    " * GPU gives 0x7fff for every NaN. */\n"
    "SLIMC_DEV uint32_t slimc_cu_fbits(float f)\n"
    "{\n"
    "    union {\n        float f;\n        uint32_t u;\n    } b;\n"
    "    b.f = f;\n"
    "    return b.u;\n"
    "}\n"
    "SLIMC_DEV uint16_t slimc_cu_f2h(float f)\n"
    "{\n"
    "    return f != f ? (uint16_t)(((slimc_cu_fbits(f) >> 16) & 0x8000u) | 0x7e00u) : "
    "slimc_f2h(f);\n"
    "}\n"
    "SLIMC_DEV uint16_t slimc_cu_f2b(float f)\n"
    "{\n"
    "    return f != f ? (uint16_t)((slimc_cu_fbits(f) >> 16) | 0x40u) : slimc_f2b(f);\n"
    "}\n"
    "#endif\n\n";

void cu_dm_helpers(CgCtx *c)
{
    cg_puts(c, dm_helpers, sizeof dm_helpers - 1);
}

/* The expression converting x, element text of dtype `from`, to dtype `to` as the
 * reference's store_cast does (ir/eval_more.c): floats through double (f16 and bf16
 * through float), integers through int64 with wrapping. */
static const char *cast_expr(CgCtx *c, DType to, DType from, const char *x)
{
    const bool ff = is_float(from);
    /* the source as a double (exact for every integer but large i64/u64, as the reference) */
    const char *d =
        ff ? cg_strf(c, "(double)%s", cu_dm_load(c, from, x)) : cg_strf(c, "(double)%s", x);
    if (to == IR_BOOL)
        return ff ? cg_strf(c, "(uint8_t)(%s != 0.0)", d) : cg_strf(c, "(uint8_t)(%s != 0)", x);
    if (to == IR_F64)
        return d;
    if (to == IR_F32)
        return cg_strf(c, "(float)%s", d);
    if (to == IR_F16)
        return cg_strf(c, "slimc_cu_f2h((float)%s)", d);
    if (to == IR_BF16)
        return cg_strf(c, "slimc_cu_f2b((float)%s)", d);
    /* an integer: through int64 (wrapping), as the reference */
    const char *i64 = ff ? cg_strf(c, "slimc_cu_f2i64(%s)", d) : cg_strf(c, "(int64_t)%s", x);
    return cg_strf(c, "(%s)(uint64_t)%s", ir_dtype_ctype(to), i64);
}

static bool castable(DType t)
{
    return ir_dtype_bits(t) >= 8 && !ir_dtype_is_f8(t) && t != IR_NUM_DTYPES;
}

/* cast: one thread per element. The float8 and packed dtypes have no CUDA kernel. */
void cu_emit_cast(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const DType from = dtype_of(c, n->inputs[0]), to = dtype_of(c, n->outputs[0]);
    if (ir_node_is_typed_elementwise(c->g, n)) { /* float8, i4, u4: elementwise_dtypes.c */
        cu_emit_elementwise_typed(c, id);
        return;
    }
    if (!castable(from) || !castable(to) || c->g->values[n->inputs[0]].type.quant ||
        n->n_epilogue) {
        cg_error(c, n, "the CUDA backend has no cast from %s to %s", ir_dtype_name(from),
                 ir_dtype_name(to));
        return;
    }
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    const char *total = cg_dim(c, ne);
    cu_dm_helpers(c);
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, total);
    cg_printf(c, "        out[f] = %s;\n", cast_expr(c, to, from, "x[f]"));
    cu_dm_loop_end(c, id, k, total, "one thread per element, grid-stride");
}

static const char *out_total(CgCtx *c, NodeId id)
{
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, c->g->nodes[id].outputs[0]), &ne))
        return NULL;
    return cg_dim(c, ne);
}

/* eq ne lt le gt ge: bool (u8) out; NaN compares unequal and unordered, as C's operators. */
void cu_emit_compare(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!cu_dm_check_plain(c, id, 0))
        return;
    static const char *const syms[IR_NUM_OPS] = {
        [IR_OP_EQ] = "==", [IR_OP_NE] = "!=", [IR_OP_LT] = "<",
        [IR_OP_LE] = "<=", [IR_OP_GT] = ">",  [IR_OP_GE] = ">=",
    };
    const char *sym = syms[n->op];
    SLIMC_ASSERT(sym); /* the op table sends only comparisons here */
    const DType t = dtype_of(c, n->inputs[0]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    const char *total = out_total(c, id);
    if (!total)
        return;
    const char *st0[IR_MAX_RANK], *st1[IR_MAX_RANK];
    cu_dm_bcast_strides(c, os, cg_shape(c, n->inputs[0]), st0);
    cu_dm_bcast_strides(c, os, cg_shape(c, n->inputs[1]), st1);
    static const char *const names[] = {"x0", "x1"};
    int k = cu_dm_loop_begin(c, id, names, 2, total);
    const char *a0 = cg_strf(c, "x0[%s]", cu_dm_gather_index(c, os, st0, "f"));
    const char *a1 = cg_strf(c, "x1[%s]", cu_dm_gather_index(c, os, st1, "f"));
    cg_printf(c, "        out[f] = (uint8_t)(%s %s %s);\n", cu_dm_load(c, t, a0), sym,
              cu_dm_load(c, t, a1));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* where(cond, a, b): each element copied from a or b (any dtype, as its bits). */
void cu_emit_where(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    const char *total = out_total(c, id);
    if (!total)
        return;
    const char *st[3][IR_MAX_RANK];
    for (int i = 0; i < 3; i++)
        cu_dm_bcast_strides(c, os, cg_shape(c, n->inputs[i]), st[i]);
    static const char *const names[] = {"cond", "xa", "xb"};
    int k = cu_dm_loop_begin(c, id, names, 3, total);
    cg_printf(c, "        out[f] = cond[%s] ? xa[%s] : xb[%s];\n",
              cu_dm_gather_index(c, os, st[0], "f"), cu_dm_gather_index(c, os, st[1], "f"),
              cu_dm_gather_index(c, os, st[2], "f"));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* A permute that is a batched transpose: perm = [0..p-1, k..r-1, p..k-1] (p < k < r), so
 * that x viewed as [B, X, Y] becomes [B, Y, X] (B = prod(x[0:p]), X = prod(x[p:k]),
 * Y = prod(x[k:r])). NCHW -> NHWC and the swap of the last two dims are such. */
static bool transpose_view(const Node *n, const Shape *xs, int *p_out, int *k_out)
{
    const Attr *perm = ir_node_attr_id(n, IR_A_perm);
    const int r = xs->rank;
    int pm[IR_MAX_RANK];
    for (int i = 0; i < r; i++)
        pm[i] = (int)(perm->ints[i] < 0 ? perm->ints[i] + r : perm->ints[i]);
    int p = 0;
    while (p < r && pm[p] == p)
        p++;
    if (p >= r - 1)
        return false;
    const int k = pm[p];
    if (k <= p)
        return false;
    for (int i = p; i < r; i++) {
        const int want = i - p < r - k ? k + (i - p) : p + (i - p - (r - k));
        if (pm[i] != want)
            return false;
    }
    *p_out = p;
    *k_out = k;
    return true;
}

#define TILE      32
#define TILE_ROWS 8

/* The transposing permute: a 32 x 32 tile of x[b] is read by 32 x 8 threads with
 * consecutive threads on consecutive elements of a row of x (coalesced), kept in shared
 * memory (33 columns: a column read hits 32 different banks), and written out as a row of
 * the output, again coalesced. Block (32, 8): each thread moves 4 elements of a tile.
 * Grid: x over the tiles of one batch matrix, y over the batch (grid-stride past 65535). */
static void emit_transpose(CgCtx *c, NodeId id, int p, int kk)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const char *B = cg_prod(c, xs, 0, p), *X = cg_prod(c, xs, p, kk),
               *Y = cg_prod(c, xs, kk, xs->rank);
    const char *it = cu_dm_index_type(c, id);
    const char *ct = ctype_of(c, n->outputs[0]);
    int k = cu_kernel_begin(c, id, NULL, TILE * TILE_ROWS);
    cg_printf(c, "    __shared__ %s tile[%d][%d];\n", ct, TILE, TILE + 1);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    const %s B = %s, X = %s, Y = %s; /* x: [B, X, Y], out: [B, Y, X] */\n", it, B,
              X, Y);
    cg_printf(c, "    const %s tiles_y = (Y + %d) / %d;\n", it, TILE - 1, TILE);
    cg_printf(c,
              "    const %s y0 = ((%s)blockIdx.x %% tiles_y) * %d, x0 = ((%s)blockIdx.x / "
              "tiles_y) * %d;\n",
              it, it, TILE, it, TILE);
    cg_printf(c, "    const int tx = (int)threadIdx.x, ty = (int)threadIdx.y;\n");
    cg_printf(c, "    for (%s b = (%s)blockIdx.y; b < B; b += (%s)gridDim.y) {\n", it, it, it);
    cg_printf(c, "        const %s *__restrict__ xb = x + b * X * Y;\n", ct);
    cg_printf(c, "        %s *__restrict__ ob = out + b * X * Y;\n", ct);
    cg_printf(c, "        for (int i = ty; i < %d; i += %d)\n", TILE, TILE_ROWS);
    cg_printf(c, "            if (x0 + i < X && y0 + tx < Y)\n");
    cg_printf(c, "                tile[i][tx] = xb[(x0 + i) * Y + y0 + tx];\n");
    cg_printf(c, "        __syncthreads();\n");
    cg_printf(c, "        for (int i = ty; i < %d; i += %d)\n", TILE, TILE_ROWS);
    cg_printf(c, "            if (y0 + i < Y && x0 + tx < X)\n");
    cg_printf(c, "                ob[(y0 + i) * X + x0 + tx] = tile[tx][i];\n");
    cg_printf(c, "        __syncthreads(); /* the tile is reused for the next b */\n");
    cg_printf(c, "    }\n");
    cu_kernel_end(c);
    const char *tiles = cg_strf(c, "(%s) * (%s)", cu_ceil_div(c, Y, TILE), cu_ceil_div(c, X, TILE));
    const char *grid[3] = {cg_strf(c, "(%s)", tiles),
                           cg_strf(c, "((%s) < 65535 ? (%s) : 65535)", B, B), "1"};
    cu_launch(c, id, k, grid, (const int[3]){TILE, TILE_ROWS, 1},
              "a block moves one 32 x 32 tile through shared memory for each batch matrix");
}

/* permute and expand: a gather copy, one thread per output element (coalesced stores;
 * the loads are coalesced too whenever the last dim stays last). */
void cu_emit_gather_copy(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]), *xs = cg_shape(c, n->inputs[0]);
    const char *total = out_total(c, id);
    if (!total)
        return;
    const char *st[IR_MAX_RANK];
    if (n->op == IR_OP_PERMUTE) {
        int p, kk;
        if (transpose_view(n, xs, &p, &kk)) {
            emit_transpose(c, id, p, kk);
            return;
        }
        const Attr *perm = ir_node_attr_id(n, IR_A_perm);
        for (int i = 0; i < os->rank; i++) {
            int64_t pi = perm->ints[i] < 0 ? perm->ints[i] + xs->rank : perm->ints[i];
            st[i] = cg_prod(c, xs, (int)pi + 1, xs->rank);
        }
    } else {
        cu_dm_bcast_strides(c, os, xs, st);
    }
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, total);
    cg_printf(c, "        out[f] = x[%s];\n", cu_dm_gather_index(c, os, st, "f"));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

static int axis_of(const Node *n, int rank)
{
    int64_t ax = ir_attr_axis(n);
    return (int)(ax < 0 ? ax + rank : ax);
}

/* slice along one axis with a step (negative too): output element (o, kk, i) reads
 * x[o, start + kk * step, i]; start is clamped as the reference does. */
void cu_emit_slice(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    int ax = axis_of(n, xs->rank);
    if (xs->d[ax].syms || os->d[ax].syms) {
        cg_error(c, n, "the CUDA backend slices along static dims only");
        return;
    }
    const char *total = out_total(c, id);
    if (!total)
        return;
    int64_t len = xs->d[ax].c, step = ir_attr_step(n);
    int64_t start = ir_slice_first(ir_attr_start(n), len, step);
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, total);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "        const int64_t i = f %% %s, kk = (f / %s) %% %lld, o = f / (%s * %lld);\n",
              inner, inner, (long long)os->d[ax].c, inner, (long long)os->d[ax].c);
    cg_printf(c, "        out[f] = x[(o * %lld + %lld + kk * %lld) * %s + i];\n", (long long)len,
              (long long)start, (long long)step, inner);
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* pad (constant, reflect, replicate): each output element finds its source position dim
 * by dim (literal dims and pads), or takes the fill value. */
void cu_emit_pad(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    const Attr *pads = ir_node_attr_id(n, IR_A_pads);
    const int64_t mode = ir_attr_mode(n);
    const int r = xs->rank;
    const DType t = dtype_of(c, n->outputs[0]);
    if (r < 1 || ir_dtype_is_f8(t)) {
        cg_error(c, n, r < 1 ? "padding a scalar" : "the CUDA backend pads no float8 tensor");
        return;
    }
    const char *total = out_total(c, id);
    if (!total)
        return;
    int64_t lo[IR_MAX_RANK] = {0};
    for (int i = 0; i < pads->n_ints / 2 && i < r; i++)
        lo[r - 1 - i] = pads->ints[2 * i];
    const char *it = cu_dm_index_type(c, id);
    cu_dm_helpers(c);
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, total);
    cg_printf(c, "        %s q = f, src = 0, s;\n        bool inside = true;\n", it);
    for (int dd = r - 1; dd >= 0; dd--) {
        const char *od = cg_dim(c, os->d[dd]), *xd = cg_dim(c, xs->d[dd]);
        if (dd > 0)
            cg_printf(c, "        s = q %% %s - %lld;\n        q /= %s;\n", od, (long long)lo[dd],
                      od);
        else
            cg_printf(c, "        s = q - %lld;\n", (long long)lo[dd]);
        if (mode == 1)
            cg_printf(c, "        s = s < 0 ? -s : s >= %s ? 2 * (%s - 1) - s : s; /* reflect */\n",
                      xd, xd);
        else if (mode == 2)
            cg_printf(c, "        s = s < 0 ? 0 : s >= %s ? %s - 1 : s; /* replicate */\n", xd, xd);
        else
            cg_printf(c, "        inside = inside && s >= 0 && s < %s;\n", xd);
        const char *stride = cg_prod(c, xs, dd + 1, r);
        if (strcmp(stride, "1") == 0)
            cg_printf(c, "        src += s;\n");
        else
            cg_printf(c, "        src += s * %s;\n", stride);
    }
    cg_printf(c, "        (void)q;\n");
    cg_printf(c, "        out[f] = inside ? x[src] : %s;\n",
              cast_expr(c, t, IR_F32, cu_dm_float(c, ir_attr_value(n))));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* concat: blockIdx.y picks the input, whose elements the x blocks copy into their place in
 * the output (consecutive threads, consecutive elements on both sides). */
void cu_emit_concat(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    const int ax = axis_of(n, os->rank);
    if (n->n_inputs > DM_MAX_IN) {
        cg_error(c, n, "the CUDA backend concatenates at most %d tensors at once", DM_MAX_IN);
        return;
    }
    const char *it = cu_dm_index_type(c, id);
    const char *ct = ctype_of(c, n->outputs[0]);
    int k = cu_kernel_begin(c, id, NULL, DM_THREADS);
    cu_out(c, id, "out");
    cg_printf(c, "    const %s orow = %s;\n", it, cg_prod(c, os, ax, os->rank));
    cg_printf(c, "    const %s *__restrict__ x = 0;\n    %s row = 1, at = 0, n = 0;\n", ct, it);
    const char *at = "0";
    int64_t biggest = 0; /* the largest input's element count, when all are static */
    bool all_static = true;
    for (int i = 0; i < n->n_inputs; i++) {
        const Shape *is = cg_shape(c, n->inputs[i]);
        const char *row = cg_prod(c, is, ax, is->rank);
        Dim ne;
        if (!cg_numel(c, id, is, &ne))
            return;
        cg_printf(c, "    %sif (blockIdx.y == %d) { /* %s */\n", i ? "else " : "", i,
                  cg_type_text(c, &c->g->values[n->inputs[i]].type));
        cg_printf(c, "        x = (const %s *)a.in[%d];\n", ct, i);
        cg_printf(c, "        row = %s;\n        at = %s;\n        n = %s;\n    }\n", row, at,
                  cg_dim(c, ne));
        at = cg_strf(c, "%s + %s", at, row);
        all_static = all_static && !ne.syms;
        biggest = ne.c > biggest ? ne.c : biggest;
    }
    cg_printf(c, "    else\n        return;\n");
    cg_printf(c,
              "    for (%s f = (%s)blockIdx.x * %d + (%s)threadIdx.x; f < n;\n"
              "         f += (%s)gridDim.x * %d)\n",
              it, it, DM_THREADS, it, it, DM_THREADS);
    cg_printf(c, "        out[(f / row) * orow + at + f %% row] = x[f];\n");
    cu_kernel_end(c);
    /* blocks for the largest input (the whole output's count when a symbol is in it) */
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *most = all_static ? cg_strf(c, "%lld", (long long)biggest) : cg_dim(c, ne);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, most, DM_THREADS)),
                           cg_strf(c, "%d", n->n_inputs), "1"};
    cu_launch(c, id, k, grid, (const int[3]){DM_THREADS, 1, 1},
              "y: one input each; x: one thread per element of that input, grid-stride");
}

/* index_select: output element (o, kk, i) reads x[o, idx[kk], i]; a negative index counts
 * from the end (ONNX's Gather); one out of [-len, len) writes zero and sets *a.err (the
 * host half then returns 3). */
void cu_emit_index_select(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    const DType itd = dtype_of(c, n->inputs[1]);
    if (!ir_dtype_is_int(itd)) {
        cg_error(c, n, "the indices must be integers, not %s", ir_dtype_name(itd));
        return;
    }
    const int ax = axis_of(n, xs->rank);
    const char *total = out_total(c, id);
    if (!total)
        return;
    static const char *const names[] = {"x", "idx"};
    int k = cu_dm_loop_begin(c, id, names, 2, total);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank), *K = cg_prod(c, is, 0, is->rank);
    const char *len = cg_dim(c, xs->d[ax]);
    cg_printf(c, "        const int64_t i = f %% %s, kk = (f / %s) %% %s, o = f / (%s * %s);\n",
              inner, inner, K, inner, K);
    cg_printf(c, "        const int64_t r0 = (int64_t)idx[kk], r = r0 < 0 ? r0 + %s : r0;\n", len);
    cg_printf(c, "        if (r < 0 || r >= %s) {\n", len);
    cg_printf(c, "            *a.err = 1; /* out of range: P_run returns 3 */\n");
    cg_printf(c, "            out[f] = 0;\n            continue;\n        }\n");
    cg_printf(c, "        out[f] = x[(o * %s + r) * %s + i];\n", len, inner);
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* embedding(idx, table): output element (t, j) is table[idx[t], j], with the node's
 * epilogue; an index out of [0, V) writes zero and sets *a.err. */
void cu_emit_embedding(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *ws = cg_shape(c, n->inputs[1]);
    const DType itd = dtype_of(c, n->inputs[0]);
    if (!ir_dtype_is_int(itd) || c->g->values[n->inputs[0]].type.quant) {
        cg_error(c, n, "the indices must be integers, not %s", ir_dtype_name(itd));
        return;
    }
    if (!cu_dm_check_f32(c, id, 1))
        return;
    if (ws->rank != 2) {
        cg_error(c, n, "the table must be 2-D");
        return;
    }
    const char *total = out_total(c, id);
    if (!total)
        return;
    static const char *const names[] = {"idx", "table"};
    int k = cu_dm_loop_begin(c, id, names, 2, total);
    const char *V = cg_dim(c, ws->d[0]), *D = cg_dim(c, ws->d[1]);
    cg_printf(c, "        const int64_t r = (int64_t)idx[f / %s];\n", D);
    cg_printf(c, "        float v = 0.0f;\n");
    cg_printf(c, "        if (r < 0 || r >= %s)\n", V);
    cg_printf(c, "            *a.err = 1; /* out of range: P_run returns 3 */\n");
    cg_printf(c, "        else\n            v = table[r * %s + f %% %s];\n", D, D);
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n");
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* The scale of a resize along one dim as a float literal (ir/eval_more.c). */
static const char *resize_scale(CgCtx *c, int64_t in, int64_t out, bool align, double sf)
{
    float s;
    if (align)
        s = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    else
        s = sf > 0 ? (float)(1.0 / sf) : (float)in / (float)out;
    return cu_dm_float(c, (double)s);
}

/* resize (nearest, bilinear) over the two last dims of [N, C, H, W], f32, with the node's
 * epilogue: one thread per output element. The source coordinates are computed with
 * slimc_fmul_rn and friends (no FMA contraction), so they are the CPU's exactly and the
 * nearest mode is bit-exact; bilinear's blend may differ in the last bit. */
void cu_emit_resize(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *os = cg_shape(c, n->outputs[0]);
    if (xs->rank != 4 || xs->d[2].syms || xs->d[3].syms) {
        cg_error(c, n, "the CUDA backend resizes [N, C, H, W] with static H and W only");
        return;
    }
    const char *total = out_total(c, id);
    if (!total)
        return;
    const int64_t H = xs->d[2].c, W = xs->d[3].c, OH = os->d[2].c, OW = os->d[3].c;
    const bool bilinear = ir_attr_mode(n) == 1;
    const bool align = bilinear && ir_attr_align_corners(n) != 0;
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, total);
    cg_printf(c, "        const int64_t H = %lld, W = %lld, OH = %lld, OW = %lld;\n", (long long)H,
              (long long)W, (long long)OH, (long long)OW);
    cg_printf(c, "        const float sh = %s, sw = %s;\n",
              resize_scale(c, H, OH, align, ir_attr_scale_h(n)),
              resize_scale(c, W, OW, align, ir_attr_scale_w(n)));
    cg_printf(c, "        const int64_t ow = f %% OW, oh = (f / OW) %% OH, pl = f / (OH * OW);\n");
    cg_printf(c, "        const float *__restrict__ xp = x + pl * (H * W);\n");
    if (!bilinear) {
        cg_printf(c, "        int64_t ih = (int64_t)floorf(slimc_fmul_rn((float)oh, sh));\n");
        cg_printf(c, "        int64_t iw = (int64_t)floorf(slimc_fmul_rn((float)ow, sw));\n");
        cg_printf(c,
                  "        ih = ih < H - 1 ? ih : H - 1;\n        iw = iw < W - 1 ? iw : W - 1;\n");
        cg_printf(c, "        float v = xp[ih * W + iw];\n");
    } else {
        if (align)
            cg_printf(c, "        float fh = slimc_fmul_rn(sh, (float)oh), fw = slimc_fmul_rn(sw, "
                         "(float)ow);\n");
        else
            cg_printf(c,
                      "        float fh = slimc_fsub_rn(slimc_fmul_rn(sh, slimc_fadd_rn((float)oh, "
                      "0.5f)), 0.5f);\n"
                      "        float fw = slimc_fsub_rn(slimc_fmul_rn(sw, slimc_fadd_rn((float)ow, "
                      "0.5f)), 0.5f);\n");
        cg_printf(c, "        fh = fh < 0 ? 0 : fh;\n        fw = fw < 0 ? 0 : fw;\n");
        cg_printf(c, "        const int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;\n");
        cg_printf(c, "        const int64_t h1 = h0 + (h0 < H - 1), w1 = w0 + (w0 < W - 1);\n");
        cg_printf(c, "        const float lh = fh - (float)h0, lw = fw - (float)w0;\n");
        cg_printf(c,
                  "        float v = (1.0f - lh) * ((1.0f - lw) * xp[h0 * W + w0] + lw * xp[h0 * "
                  "W + w1]) +\n"
                  "                  lh * ((1.0f - lw) * xp[h1 * W + w0] + lw * xp[h1 * W + "
                  "w1]);\n");
    }
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n");
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* resize_axis (ONNX Resize along one axis, f32): the taps of ir/resize_taps.c as device
 * tables (`__device__ const`: the constant-cache path on a GPU, plain arrays under the
 * emulation), then one thread per output element (outer, position, inner), inner
 * fastest, so a warp reads consecutive elements of each tap's row. Weights and sums in
 * float as the C backend (the reference sums in double: within 1e-6 relative). */
void cu_emit_resize_axis(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!cu_dm_check_f32(c, id, 0))
        return;
    if (n->n_epilogue) {
        cg_error(c, n, "resize_axis cannot carry an epilogue");
        return;
    }
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const int ax = axis_of(n, xs->rank);
    const char *total = out_total(c, id);
    if (!total)
        return;
    if (!ir_dim_static(xs->d[ax]) || !ir_dim_static(cg_shape(c, n->outputs[0])->d[ax])) {
        cg_error(c, n, "the CUDA backend resizes static lengths only");
        return;
    }
    ResizeTaps t;
    if (!ir_resize_taps(n, xs->d[ax].c, &t)) {
        cg_error(c, n, "out of memory");
        return;
    }
    const char *fn = c->fn_names[id];
    cg_printf(c, "/* %s: %d taps per output position: input index and weight */\n",
              cg_text(c, n->name), t.k);
    cg_printf(c, "__device__ const int %s_idx[%lld] = {", fn, (long long)(t.out_len * t.k));
    for (int64_t i = 0; i < t.out_len * t.k; i++)
        cg_printf(c, "%s%d", i % 16 ? ", " : i ? ",\n    " : "\n    ", (int)t.idx[i]);
    cg_printf(c, "\n};\n__device__ const float %s_w[%lld] = {", fn, (long long)(t.out_len * t.k));
    for (int64_t i = 0; i < t.out_len * t.k; i++)
        cg_printf(c, "%s%s", i % 8 ? ", " : i ? ",\n    " : "\n    ", cu_dm_float(c, t.w[i]));
    cg_printf(c, "\n};\n");
    bool any_extrap = false;
    for (int64_t i = 0; i < t.out_len; i++)
        any_extrap |= t.extrap[i] != 0;
    if (any_extrap) {
        cg_printf(c, "__device__ const unsigned char %s_ext[%lld] = {", fn, (long long)t.out_len);
        for (int64_t i = 0; i < t.out_len; i++)
            cg_printf(c, "%s%d", i % 16 ? ", " : i ? ",\n    " : "\n    ", t.extrap[i]);
        cg_printf(c, "\n};\n");
    }
    cg_printf(c, "\n");
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, total);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank);
    cg_printf(c, "        const int64_t i = f %% %s, j = (f / %s) %% %lld, o = f / (%s * %lld);\n",
              inner, inner, (long long)t.out_len, inner, (long long)t.out_len);
    if (any_extrap)
        cg_printf(c,
                  "        if (%s_ext[j]) {\n            out[f] = %s;\n            continue;\n"
                  "        }\n",
                  fn, cu_dm_float(c, ir_attr_extrapolation(n)));
    cg_printf(c, "        float y = 0.0f;\n");
    cg_printf(c, "        for (int t = 0; t < %d; t++)\n", t.k);
    cg_printf(c, "            y += %s_w[j * %d + t] * x[(o * %s + %s_idx[j * %d + t]) * %s + i];\n",
              fn, t.k, cg_dim(c, xs->d[ax]), fn, t.k, inner);
    cg_printf(c, "        out[f] = y;\n");
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
    ir_resize_taps_free(&t);
}
