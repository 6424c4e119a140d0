/* The index ops on the GPU: argmax/argmin, gather_elements, scatter_elements and cumsum
 * (semantics in ir/ops.def, reference ir/eval_index.c, the C backend's codegen/c/
 * index_ops.c). They take the plain dtypes (ir/index_ops.h) in the element's own C type
 * (f16 and bf16 compared as values); an index out of range writes 0 and sets *a.err, so
 * the host half returns 3. Every result is the CPU's bit for bit: the sums run in the
 * reference's order. */
#include "codegen/cuda/data_move.h"
#include "ir/dtype_ops.h"
#include "ir/index_ops.h"

#include <string.h>

#define IX_THREADS 256

/* The plain-dtype check of the index ops (the C backend's cg_index_supported). */
static bool index_check(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    for (int i = 0; i < n->n_inputs; i++) {
        const Type *t = &c->g->values[n->inputs[i]].type;
        if (!ir_index_dtype_plain(t->dtype) || t->quant) {
            cg_error(c, n,
                     "input %d is packed, 8-bit float or quantized; this kernel takes plain dtypes",
                     i);
            return false;
        }
    }
    if (n->n_epilogue) {
        cg_error(c, n, "this op cannot carry an epilogue");
        return false;
    }
    return true;
}

static int axis_of(const Node *n, int rank)
{
    int64_t a = ir_attr_axis(n);
    return (int)(a < 0 ? a + rank : a);
}

/* The comparison type of dtype t's values: f16 and bf16 as float, the rest as themselves. */
static const char *value_type(DType t)
{
    return t == IR_F16 || t == IR_BF16 ? "float" : ir_dtype_ctype(t);
}

/* argmax/argmin. Lines of `len` elements along the axis, `inner` apart. When a line is
 * long (static len >= 256) and its elements contiguous (inner 1: the usual argmax over
 * classes), a block of 256 threads takes a line: each thread scans every 256th element
 * (coalesced), then the block combines the 256 candidates in shared memory by a tree of
 * 8 halvings. Otherwise one thread takes a line, consecutive threads consecutive inner
 * positions (coalesced when inner > 1). Either way the winner is the scan's: the first
 * (select_last: the last) extreme, NaN never picked, index 0 when all are NaN. */
void cu_emit_argreduce(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!index_check(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const int ax = axis_of(n, xs->rank);
    const DType t = cg_dtype_of(c, n->inputs[0]);
    const char *vt = value_type(t);
    const bool last = ir_attr_select_last(n) != 0, is_max = n->op == IR_OP_ARGMAX;
    const bool fl = cg_dtype_is_float(t);
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank), *len = cg_dim(c, xs->d[ax]);
    const char *lines = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), inner);
    /* "a beats b": the better value, or the same value at the index the scan keeps */
    const char *cmp = is_max ? ">" : "<";
    const char *tie = last ? ">" : "<";
    const bool block_per_line =
        strcmp(inner, "1") == 0 && xs->d[ax].syms == 0 && xs->d[ax].c >= IX_THREADS;
    if (!block_per_line) {
        static const char *const names[] = {"x"};
        int k = cu_dm_loop_begin(c, id, names, 1, lines);
        cg_printf(c, "        const %s *__restrict__ xr = x + (f / %s) * %s * %s + f %% %s;\n",
                  ir_dtype_ctype(t), inner, len, inner, inner);
        cg_printf(c, "        int64_t best = 0;\n        %s bv = 0;\n        int have = 0;\n", vt);
        cg_printf(c, "        for (int64_t r = 0; r < %s; r++) {\n", len);
        cg_printf(c, "            const %s v = %s;\n", vt,
                  cu_dm_load(c, t, cg_strf(c, "xr[r * %s]", inner)));
        if (fl)
            cg_printf(c, "            if (v != v)\n                continue; /* NaN: never "
                         "picked */\n");
        cg_printf(c, "            if (!have || v %s%s bv) {\n", cmp, last ? "=" : "");
        cg_printf(c, "                best = r;\n                bv = v;\n                have = "
                     "1;\n            }\n        }\n");
        cg_printf(c, "        out[f] = best;\n");
        cu_dm_loop_end(c, id, k, lines, "one thread per line along the axis, grid-stride");
        return;
    }
    int k = cu_kernel_begin(c, id, NULL, IX_THREADS);
    cg_printf(c, "    __shared__ %s sv[%d];\n    __shared__ int64_t si[%d];\n", vt, IX_THREADS,
              IX_THREADS);
    cg_printf(c, "    __shared__ int sh[%d];\n", IX_THREADS);
    cu_in(c, id, 0, "x");
    cu_out(c, id, "out");
    cg_printf(c, "    const int tid = (int)threadIdx.x;\n");
    cg_printf(c, "    const int64_t lines = %s, len = %s;\n", lines, len);
    cg_printf(c, "    for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) {\n");
    cg_printf(c, "        const %s *__restrict__ xr = x + line * len;\n", ir_dtype_ctype(t));
    cg_printf(c, "        int64_t best = 0;\n        %s bv = 0;\n        int have = 0;\n", vt);
    cg_printf(c, "        for (int64_t r = tid; r < len; r += %d) {\n", IX_THREADS);
    cg_printf(c, "            const %s v = %s;\n", vt, cu_dm_load(c, t, "xr[r]"));
    if (fl)
        cg_printf(c, "            if (v != v)\n                continue;\n");
    cg_printf(c, "            if (!have || v %s%s bv) {\n", cmp, last ? "=" : "");
    cg_printf(c, "                best = r;\n                bv = v;\n                have = 1;\n"
                 "            }\n        }\n");
    cg_printf(c, "        sv[tid] = bv;\n        si[tid] = best;\n        sh[tid] = have;\n");
    cg_printf(c, "        __syncthreads();\n");
    cg_printf(c, "        for (int s = %d; s > 0; s >>= 1) {\n", IX_THREADS / 2);
    cg_printf(c, "            if (tid < s && sh[tid + s]) {\n");
    cg_printf(c, "                const %s ov = sv[tid + s];\n", vt);
    cg_printf(c, "                const int64_t oi = si[tid + s];\n");
    cg_printf(c,
              "                if (!sh[tid] || ov %s sv[tid] || (ov == sv[tid] && oi %s si[tid])) "
              "{\n",
              cmp, tie);
    cg_printf(c, "                    sv[tid] = ov;\n                    si[tid] = oi;\n"
                 "                    sh[tid] = 1;\n                }\n            }\n");
    cg_printf(c, "            __syncthreads();\n        }\n");
    cg_printf(c, "        if (tid == 0)\n            out[line] = sh[0] ? si[0] : 0;\n");
    cg_printf(c, "        __syncthreads(); /* the shared arrays are reused for the next line */\n");
    cg_printf(c, "    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", lines), "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){IX_THREADS, 1, 1},
              "one block per line: strided scans, then a tree in shared memory");
}

/* The statements that read the index at flat position expr of idx into r (non-negative)
 * and, on a bad one, set the error flag and run `bad`. */
static void read_index(CgCtx *c, int indent, const char *expr, const char *len, const char *bad)
{
    cg_printf(c, "%*sint64_t r = (int64_t)idx[%s];\n", indent, "", expr);
    cg_printf(c, "%*sif (r < 0)\n%*s    r += %s;\n", indent, "", indent, "", len);
    cg_printf(c, "%*sif (r < 0 || r >= %s) {\n", indent, "", len);
    cg_printf(c, "%*s    *a.err = 1; /* out of range: P_run returns 3 */\n", indent, "");
    cg_printf(c, "%*s    %s\n%*s}\n", indent, "", bad, indent, "");
}

/* gather_elements: one thread per output element (the index tensor's shape). */
void cu_emit_gather_elements(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!index_check(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    const int ax = axis_of(n, xs->rank), r = xs->rank;
    Dim ne;
    if (!cg_numel(c, id, is, &ne))
        return;
    const char *total = cg_dim(c, ne);
    /* the element of x at the output's coordinates, but along the axis: strides of x over
     * the index tensor's dims, the axis's left out */
    const char *st[IR_MAX_RANK];
    for (int d = 0; d < r; d++)
        st[d] = d == ax ? "0" : cg_prod(c, xs, d + 1, r);
    static const char *const names[] = {"x", "idx"};
    int k = cu_dm_loop_begin(c, id, names, 2, total);
    cg_printf(c, "        const int64_t off = %s;\n", cu_dm_gather_index(c, is, st, "f"));
    read_index(c, 8, "f", cg_dim(c, xs->d[ax]), "out[f] = 0;\n            continue;");
    cg_printf(c, "        out[f] = x[off + r * %s];\n", cg_prod(c, xs, ax + 1, r));
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* scatter's reduction (none, add, mul, max, min) of u into *d, in the element's type. */
static const char *scatter_stmt(CgCtx *c, DType t, int64_t red)
{
    const char *ct = ir_dtype_ctype(t);
    const bool fl = cg_dtype_is_float(t), half = t == IR_F16 || t == IR_BF16;
    const char *ld = t == IR_F16 ? "slimc_h2f" : "slimc_b2f";
    const char *st = t == IR_F16 ? "slimc_cu_f2h" : "slimc_cu_f2b";
    if (red == 1 || red == 2) {
        const char *op = red == 1 ? "+" : "*";
        if (half)
            return cg_strf(c, "*d = %s((float)((double)%s(*d) %s (double)%s(u)));", st, ld, op, ld);
        return fl ? cg_strf(c, "*d = *d %s u;", op)
                  : cg_strf(c, "*d = (%s)((uint64_t)*d %s (uint64_t)u);", ct, op);
    }
    if (red == 3 || red == 4) {
        const char *cmp = red == 3 ? ">" : "<";
        if (half)
            return cg_strf(c, "if (%s(u) %s %s(*d))\n                *d = u;", ld, cmp, ld);
        return cg_strf(c, "if (u %s *d)\n                *d = u;", cmp);
    }
    return "*d = u;";
}

/* scatter_elements: one thread per line of the data along the axis: it copies the line,
 * then applies the updates that land on it in order (the last duplicate wins), so no two
 * threads write one element and the result is the CPU's. */
void cu_emit_scatter_elements(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!index_check(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    const int ax = axis_of(n, xs->rank), r = xs->rank;
    const DType t = cg_dtype_of(c, n->inputs[0]);
    const char *lines = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), cg_prod(c, xs, ax + 1, r));
    cu_dm_helpers(c);
    static const char *const names[] = {"x", "idx", "upd"};
    int k = cu_dm_loop_begin(c, id, names, 3, lines);
    cg_printf(c, "        int64_t q = f, xo = 0, io = 0, cc;\n        bool inside = true;\n");
    for (int d = r - 1; d >= 0; d--) {
        if (d == ax)
            continue;
        cg_printf(c, "        cc = q %% %s;\n        q /= %s;\n", cg_dim(c, xs->d[d]),
                  cg_dim(c, xs->d[d]));
        cg_printf(c, "        xo += cc * %s;\n        io += cc * %s;\n", cg_prod(c, xs, d + 1, r),
                  cg_prod(c, is, d + 1, r));
        cg_printf(c, "        inside = inside && cc < %s;\n", cg_dim(c, is->d[d]));
    }
    const char *xst = cg_prod(c, xs, ax + 1, r), *ist = cg_prod(c, is, ax + 1, r);
    const char *len = cg_dim(c, xs->d[ax]);
    cg_printf(c, "        (void)q;\n");
    cg_printf(c, "        for (int64_t j = 0; j < %s; j++)\n", len);
    cg_printf(c, "            out[xo + j * %s] = x[xo + j * %s];\n", xst, xst);
    cg_printf(c, "        if (!inside)\n            continue;\n");
    cg_printf(c, "        for (int64_t j = 0; j < %s; j++) {\n", cg_dim(c, is->d[ax]));
    read_index(c, 12, cg_strf(c, "io + j * %s", ist), len, "continue;");
    cg_printf(c, "            %s *d = &out[xo + r * %s];\n", ir_dtype_ctype(t), xst);
    cg_printf(c, "            const %s u = upd[io + j * %s];\n", ir_dtype_ctype(t), ist);
    cg_printf(c, "            %s\n        }\n", scatter_stmt(c, t, ir_attr_reduction(n)));
    cu_dm_loop_end(c, id, k, lines, "one thread per line along the axis, grid-stride");
}

/* cumsum: one thread per line along the axis, summed in the reference's order (so the
 * result is the CPU's bit for bit); consecutive threads take consecutive inner positions,
 * so the loads are coalesced when inner > 1. f32 sums in float, f64, f16 and bf16 in
 * double (as the reference), integers in uint64_t (wrapping). */
void cu_emit_cumsum(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!index_check(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]);
    const int ax = axis_of(n, xs->rank);
    const DType t = cg_dtype_of(c, n->inputs[0]);
    const char *ct = ir_dtype_ctype(t);
    const bool half = t == IR_F16 || t == IR_BF16;
    const char *acc = t == IR_F32 ? "float" : t == IR_F64 || half ? "double" : "uint64_t";
    const bool excl = ir_attr_exclusive(n) != 0, rev = ir_attr_reverse(n) != 0;
    const char *inner = cg_prod(c, xs, ax + 1, xs->rank), *len = cg_dim(c, xs->d[ax]);
    const char *lines = cg_strf(c, "%s * %s", cg_prod(c, xs, 0, ax), inner);
    cu_dm_helpers(c);
    static const char *const names[] = {"x"};
    int k = cu_dm_loop_begin(c, id, names, 1, lines);
    cg_printf(c, "        const int64_t base = (f / %s) * %s * %s + f %% %s;\n", inner, len, inner,
              inner);
    cg_printf(c, "        %s acc = 0;\n", acc);
    cg_printf(c, "        for (int64_t s = 0; s < %s; s++) {\n", len);
    cg_printf(c, "            const int64_t p = base + (%s) * %s;\n",
              rev ? cg_strf(c, "%s - 1 - s", len) : "s", inner);
    cg_printf(c, "            const %s v = (%s)%s;\n", acc, acc, cu_dm_load(c, t, "x[p]"));
    const char *sum = excl ? "acc" : "acc + v";
    if (t == IR_F16)
        cg_printf(c, "            out[p] = slimc_cu_f2h((float)(%s));\n", sum);
    else if (t == IR_BF16)
        cg_printf(c, "            out[p] = slimc_cu_f2b((float)(%s));\n", sum);
    else
        cg_printf(c, "            out[p] = (%s)(%s);\n", ct, sum);
    cg_printf(c, "            acc += v;\n        }\n");
    cu_dm_loop_end(c, id, k, lines, "one thread per line along the axis, grid-stride");
}

/* Prints the statements computing the element offset `off` (in slices) of tuple `tup` of
 * the k indices (dims b.. of x), each made non-negative; okay is 0 when one is out of range. */
static void nd_offset_code(CgCtx *c, int indent, const Shape *xs, int b, int64_t k, const char *tup)
{
    cg_printf(c, "%*sint64_t off = 0;\n%*sbool okay = true;\n", indent, "", indent, "");
    for (int64_t m = 0; m < k; m++) {
        const char *len = cg_dim(c, xs->d[b + m]);
        cg_printf(c, "%*s{\n", indent, "");
        cg_printf(c, "%*s    int64_t r = (int64_t)idx[(%s) * %lld + %lld];\n", indent, "", tup,
                  (long long)k, (long long)m);
        cg_printf(c, "%*s    r = r < 0 ? r + %s : r;\n", indent, "", len);
        cg_printf(c, "%*s    okay = okay && r >= 0 && r < %s;\n", indent, "", len);
        cg_printf(c, "%*s    off = off * %s + (r >= 0 && r < %s ? r : 0);\n%*s}\n", indent, "", len,
                  len, indent, "");
    }
}

static bool nd_static_k(CgCtx *c, NodeId id, const Shape *is)
{
    if (is->rank < 1 || is->d[is->rank - 1].syms) {
        cg_error(c, &c->g->nodes[id], "the index tuples' length must be static");
        return false;
    }
    return true;
}

/* gather_nd: one thread per output element (batch, tuple, j): the tuple's k indices (read
 * by every thread of the slice: the loads broadcast) give the slice, j its element. */
void cu_emit_gather_nd(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!index_check(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    if (!nd_static_k(c, id, is))
        return;
    const int b = (int)ir_attr_batch_dims(n);
    const int64_t kk = is->d[is->rank - 1].c;
    Dim ne;
    if (!cg_numel(c, id, cg_shape(c, n->outputs[0]), &ne))
        return;
    const char *total = cg_dim(c, ne);
    const char *ntup = cg_prod(c, is, b, is->rank - 1),
               *slice = cg_prod(c, xs, b + (int)kk, xs->rank);
    static const char *const names[] = {"x", "idx"};
    int k = cu_dm_loop_begin(c, id, names, 2, total);
    cg_printf(c, "        const int64_t it = f / %s, j = f %% %s; /* (batch, tuple), element */\n",
              slice, slice);
    nd_offset_code(c, 8, xs, b, kk, "it");
    cg_printf(c, "        if (!okay) {\n");
    cg_printf(c, "            *a.err = 1; /* out of range: P_run returns 3 */\n");
    cg_printf(c, "            out[f] = 0;\n            continue;\n        }\n");
    cg_printf(c, "        out[f] = x[(it / %s) * %s + off * %s + j];\n", ntup,
              cg_prod(c, xs, b, xs->rank), slice);
    cu_dm_loop_end(c, id, k, total, "one thread per output element, grid-stride");
}

/* scatter_nd: a copy of the data (one thread per element), then the updates: one thread
 * per element j of a slice walks the tuples in order, so duplicates resolve as on the CPU
 * (the last wins, reductions in order) and no two threads write one element. The second
 * kernel's parallelism is the slice's length (1 when the tuples index single elements). */
void cu_emit_scatter_nd(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    if (!index_check(c, id))
        return;
    const Shape *xs = cg_shape(c, n->inputs[0]), *is = cg_shape(c, n->inputs[1]);
    if (!nd_static_k(c, id, is))
        return;
    const int64_t kk = is->d[is->rank - 1].c;
    const DType t = cg_dtype_of(c, n->inputs[0]);
    Dim ne;
    if (!cg_numel(c, id, xs, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const char *ntup = cg_prod(c, is, 0, is->rank - 1), *slice = cg_prod(c, xs, (int)kk, xs->rank);
    cu_dm_helpers(c);
    static const char *const copy_names[] = {"x"};
    int k0 = cu_dm_loop_begin(c, id, copy_names, 1, total);
    cg_printf(c, "        out[f] = x[f];\n");
    cu_dm_loop_end(c, id, k0, total, "the copy: one thread per element, grid-stride");
    static const char *const names[] = {NULL, "idx", "upd"};
    int k1 = cu_kernel_begin(c, id, "_updates", 256);
    for (int i = 1; i < 3; i++)
        cu_in(c, id, i, names[i]);
    cu_out(c, id, "out");
    cg_printf(c, "    const int64_t ntup = %s, slice = %s;\n", ntup, slice);
    cg_printf(c, "    for (int64_t j = (int64_t)blockIdx.x * 256 + threadIdx.x; j < slice;\n"
                 "         j += (int64_t)gridDim.x * 256) {\n");
    cg_printf(c, "        for (int64_t tp = 0; tp < ntup; tp++) { /* in order */\n");
    nd_offset_code(c, 12, xs, 0, kk, "tp");
    cg_printf(c, "            if (!okay) {\n                *a.err = 1;\n                "
                 "continue;\n            }\n");
    cg_printf(c, "            %s *d = &out[off * slice + j];\n", ir_dtype_ctype(t));
    cg_printf(c, "            const %s u = upd[tp * slice + j];\n", ir_dtype_ctype(t));
    cg_printf(c, "            %s\n        }\n    }\n", scatter_stmt(c, t, ir_attr_reduction(n)));
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, slice, 256)), "1", "1"};
    cu_launch(c, id, k1, grid, (const int[3]){256, 1, 1},
              "the updates: one thread per element of a slice, the tuples in order");
}
