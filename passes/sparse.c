/* sparse: density measured at compile time, and the CSR or N:M kernel for the linear and conv2d
 * layers where the cost model predicts it faster (passes/sparse.h; docs/pruning.md, "Sparse
 * kernels").
 *
 * For every live conv2d / linear whose weight is an f32 constant, the density is measured
 * from the data as it is (Value.sparsity, pass_prune_measure), whoever made the zeros. A
 * linear on the CPU with a static 2-D weight holding a zero is a candidate: its predicted
 * time on the dense GEMM (cost_linear_dense_ms) is set against the CSR kernel's
 * (cost_linear_sparse_ms: the nonzeros' FLOPs at the profile's sparse rate, the CSR bytes),
 * at every symbol 1 and, when the model has symbols, at 64 too; the CSR kernel is used only
 * where it wins at both by at least SPARSE_MIN_GAIN. A weight whose zeros leave at most n of
 * every m along K (1:4, 2:4, 4:8) is weighed on the N:M kernel too (cost_linear_nm_ms), and
 * the faster of the two sparse kernels (by its worst gain) is the one used. A one-group conv2d
 * on the CPU is weighed the same way, its dense conv (cost_conv_dense_ms) against the CSR conv
 * kernel (cost_conv_sparse_ms, the weight read as [O, C * KH * KW]) and, when N:M along C,
 * the N:M conv kernel (cost_conv_nm_ms, the blob [O, KH * KW * C]). An int8 qlinear or one-group
 * qconv2d (prune then quantize) is weighed on the int8 block-sparse kernel (blocks of 4 along K,
 * a conv's C KH KW: cost_qlinear_sparse_ms, cost_qconv_sparse_ms) and gets its blob as input 5
 * (w_sparse 3); so is a dynamic int8 dqlinear (its rows quantized at run time). The dense
 * weight
 * stays input 1 (the reference evaluator, the CUDA backend and `compress` read it); the CSR
 * or N:M blob, built here from it, is input 3 (w_sparse 1 or 2). */
#include "passes/sparse.h"

#include "passes/prune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The symbols' values a plan is costed at. */
static const int64_t plan_points[] = {1, 64};

/* A sparse kernel's predicted gain over the dense GEMM where it is smallest. */
typedef struct Worst {
    double gain, dense_ms, sparse_ms;
    int64_t at_batch;
} Worst;

/* The worst of kernel k's gains over plan_points (every symbol at 1, then at 64 when the
 * model has symbols), for stored nonzeros nnz in bytes. */
static Worst worst_point(const Graph *g, const Node *n, const CostProfile *p, SparseKernel k,
                         double nnz, double bytes)
{
    Worst w = {INFINITY, 0, 0, 1};
    const int n_points = g->n_syms ? 2 : 1;
    for (int i = 0; i < n_points; i++) {
        int64_t syms[IR_MAX_SYMS];
        for (int s = 0; s < IR_MAX_SYMS; s++)
            syms[s] = plan_points[i];
        const bool conv = n->op == IR_OP_CONV2D;
        double dense =
            conv ? cost_conv_dense_ms(p, g, n, syms) : cost_linear_dense_ms(p, g, n, syms);
        double sparse = conv && k == SPARSE_NM ? cost_conv_nm_ms(p, g, n, syms, nnz, bytes)
                        : conv                 ? cost_conv_sparse_ms(p, g, n, syms, nnz, bytes)
                        : k == SPARSE_NM       ? cost_linear_nm_ms(p, g, n, syms, nnz, bytes)
                                               : cost_linear_sparse_ms(p, g, n, syms, nnz, bytes);
        double gain = sparse > 0 ? dense / sparse : INFINITY;
        if (gain < w.gain)
            w = (Worst){gain, dense, sparse, plan_points[i]};
    }
    return w;
}

bool pass_sparse_plan(const Graph *g, NodeId id, const CostProfile *p, SparsePlan *out)
{
    memset(out, 0, sizeof *out);
    PruneLayer l;
    if (!pass_prune_layer_of(g, id, &l))
        return false;
    const Node *n = &g->nodes[id];
    const float *stored = g->values[l.weight].data;
    /* NaN is a nonzero; the count needs no logical order */
    const int64_t nnz = l.numel - pass_prune_count_zeros(stored, l.numel);
    if (2 * nnz <= l.numel) { /* every N:M pattern (1:4, 2:4, 4:8) has half zeros or more */
        float *w = pass_prune_logical(g, &l);
        SLIMC_ASSERT(w);
        pass_prune_pattern(w, l.rank, l.shape, out->pattern, sizeof out->pattern);
        free(w);
    } else /* no N:M: what matters below; a weight mostly nonzero is not copied to learn it */
        snprintf(out->pattern, sizeof out->pattern, "%s",
                 nnz == l.numel ? "dense" : "unstructured");
    out->numel = l.numel;
    out->nnz = nnz;
    out->density = l.numel ? (double)nnz / (double)l.numel : 1.0;
    out->dense_bytes = (double)g->values[l.weight].data_bytes;
    int64_t oc, ov, okb;
    out->csr_bytes =
        n->op == IR_OP_CONV2D && l.shape[0] > 0
            ? (double)slimc_rt_spconv_layout(l.shape[0], l.numel / l.shape[0], nnz, &oc, &ov, &okb)
            : (double)slimc_rt_csr_layout(l.shape[0], nnz, &oc, &ov);
    const Value *x = &g->values[n->inputs[0]];
    const bool conv = n->op == IR_OP_CONV2D;
    const int64_t K = l.shape[0] > 0 ? l.numel / l.shape[0] : 0; /* the reduction: C KH KW */
    if (n->device != IR_DEVICE_CPU)
        out->why_not = "runs on the GPU: no sparse CUDA kernel";
    else if (!conv && (l.rank != 2 || x->type.dtype != IR_F32))
        out->why_not = "not an f32 linear with a 2-D weight";
    else if (conv && (l.rank != 4 || x->type.dtype != IR_F32 || x->type.quant))
        out->why_not = "not an f32 conv2d with a 4-D weight";
    else if (conv && ir_attr_groups(n) != 1)
        out->why_not = "grouped or depthwise: no sparse kernel";
    else if (l.shape[0] >= INT32_MAX || K >= INT32_MAX || nnz >= INT32_MAX)
        out->why_not = "too large for 32-bit CSR indices";
    if (out->why_not)
        return true;
    out->candidate = true;
    /* N:M groups run along dim 1 (a conv's input channels, for each tap) */
    if (sscanf(out->pattern, "n:m %d:%d", &out->nm_n, &out->nm_m) != 2 || out->nm_m <= 0 ||
        l.shape[1] % out->nm_m != 0)
        out->nm_n = out->nm_m = 0;
    if (out->nm_n)
        out->nm_bytes = (double)slimc_rt_nm_layout(l.shape[0], K, out->nm_n, out->nm_m, &ov);
    CostProfile dflt;
    if (!p) {
        cost_profile_default(&dflt);
        p = &dflt;
    }
    Worst csr = worst_point(g, n, p, SPARSE_CSR, (double)nnz, out->csr_bytes);
    out->csr_gain = csr.gain;
    Worst best = csr;
    out->kernel = SPARSE_CSR;
    if (out->nm_n) {
        const double kept = (double)l.shape[0] * (double)(K / out->nm_m * out->nm_n);
        Worst nm = worst_point(g, n, p, SPARSE_NM, kept, out->nm_bytes);
        out->nm_gain = nm.gain;
        if (nm.gain > csr.gain) {
            best = nm;
            out->kernel = SPARSE_NM;
        }
    }
    out->gain = best.gain;
    out->dense_ms = best.dense_ms;
    out->sparse_ms = best.sparse_ms;
    out->at_batch = best.at_batch;
    out->choose = out->gain >= SPARSE_MIN_GAIN;
    return true;
}

/* ---- int8: qlinear after prune then quantize ---- */

/* Whether qlinear or dqlinear n has a constant i8 weight the q8 plan can read, [O, K] or packed
 * by layout, or qconv2d n one [O, C, kh, kw] (K = C kh kw); its sizes into *O, *K. */
static bool q8_shape(const Graph *g, const Node *n, int64_t *O, int64_t *K)
{
    const Value *w = &g->values[n->inputs[1]];
    const Value *x = &g->values[n->inputs[0]];
    if (n->op == IR_OP_QCONV2D) {
        const Shape *s = &w->type.shape;
        if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_I8 || s->rank != 4 ||
            !ir_shape_static(s))
            return false;
        *O = s->d[0].c;
        *K = s->d[1].c * s->d[2].c * s->d[3].c;
        return *O >= 1 && *K >= 1 && w->data_bytes == (size_t)(*O * *K);
    }
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_I8 ||
        !ir_shape_static(&w->type.shape) || x->type.shape.rank < 1 ||
        !ir_dim_static(x->type.shape.d[x->type.shape.rank - 1]))
        return false;
    const bool packed = ir_attr_w_packed(n) != 0; /* qlinear or dqlinear */
    *O = packed ? ir_attr_out_features(n) : w->type.shape.d[0].c;
    *K = x->type.shape.d[x->type.shape.rank - 1].c;
    if (*O < 1 || *K < 1 || (!packed && (w->type.shape.rank != 2 || w->type.shape.d[1].c != *K)))
        return false;
    return !packed || (size_t)(slimc_rt_pack_blocks(*O) * ir_qpack_rows(*K) * 64) == w->data_bytes;
}

int8_t *pass_sparse_q8_weight(const Graph *g, const Node *n, int64_t *O, int64_t *K)
{
    if (!q8_shape(g, n, O, K))
        return NULL;
    const bool packed = n->op != IR_OP_QCONV2D && ir_attr_w_packed(n) != 0;
    const int64_t KB = ir_qpack_rows(*K);
    const Value *w = &g->values[n->inputs[1]];
    int8_t *out = malloc((size_t)(*O * *K));
    SLIMC_ASSERT(out);
    const int8_t *d = w->data;
    for (int64_t o = 0; o < *O; o++)
        for (int64_t k = 0; k < *K; k++)
            out[o * *K + k] =
                packed ? d[slimc_rt_pack_index(o, k, KB, SLIMC_RT_QPACK_K)] : d[o * *K + k];
    return out;
}

bool pass_sparse_plan_q8(const Graph *g, NodeId id, const CostProfile *p, SparsePlan *out)
{
    memset(out, 0, sizeof *out);
    const Node *n = &g->nodes[id];
    if (n->op != IR_OP_QLINEAR && n->op != IR_OP_QCONV2D && n->op != IR_OP_DQLINEAR)
        return false;
    const bool conv = n->op == IR_OP_QCONV2D;
    int64_t O, K, nnz = 0, kept = 0;
    if (!q8_shape(g, n, &O, &K))
        return false;
    const int64_t K4 = (K + 3) / 4;
    const int8_t *d = g->values[n->inputs[1]].data;
    if (!conv && ir_attr_w_packed(n)) {
        /* layout's VNNI packing keeps each block of 4 (a row o, k in [4q, 4q + 4)) as one
         * 4-byte group and zero-fills the padding: the blocks are counted where they lie,
         * without unpacking every layer on every start */
        const size_t groups = g->values[n->inputs[1]].data_bytes / 4;
        for (size_t i = 0; i < groups; i++) {
            const int nz =
                (d[4 * i] != 0) + (d[4 * i + 1] != 0) + (d[4 * i + 2] != 0) + (d[4 * i + 3] != 0);
            nnz += nz;
            kept += nz > 0;
        }
    } else {
        for (int64_t o = 0; o < O; o++)
            for (int64_t b = 0; b < K4; b++) {
                int nz = 0;
                for (int64_t k = 4 * b; k < 4 * b + 4 && k < K; k++)
                    nz += d[o * K + k] != 0;
                nnz += nz;
                kept += nz > 0;
            }
    }
    out->q8 = true;
    out->numel = O * K;
    out->nnz = nnz;
    out->density = out->numel ? (double)nnz / (double)out->numel : 1.0;
    snprintf(out->pattern, sizeof out->pattern, "%s",
             nnz == out->numel ? "dense" : "int8 blocks of 4");
    out->q8_blocks = O * K4;
    out->q8_kept = kept;
    out->dense_bytes = (double)(O * K);
    int64_t ob, ov;
    out->q8_bytes = (double)slimc_rt_q8sp_layout(O, kept, &ob, &ov);
    out->kernel = SPARSE_Q8;
    if (n->device != IR_DEVICE_CPU)
        out->why_not = "runs on the GPU: no sparse CUDA kernel";
    else if (conv && ir_attr_groups(n) != 1)
        out->why_not = "grouped or depthwise: no sparse int8 kernel";
    else if (O >= INT32_MAX || K4 >= INT32_MAX || kept >= INT32_MAX)
        out->why_not = "too large for 32-bit block indices";
    else if (ir_node_attr_id(n, IR_A_y_scale) && n->n_epilogue)
        out->why_not = "writes u8 with an epilogue";
    if (out->why_not)
        return true;
    out->candidate = true;
    CostProfile dflt;
    if (!p) {
        cost_profile_default(&dflt);
        p = &dflt;
    }
    Worst worst = {INFINITY, 0, 0, 1};
    for (int i = 0; i < (g->n_syms ? 2 : 1); i++) {
        int64_t syms[IR_MAX_SYMS];
        for (int s = 0; s < IR_MAX_SYMS; s++)
            syms[s] = plan_points[i];
        const double dense =
            conv ? cost_qconv_dense_ms(p, g, n, syms) : cost_qlinear_dense_ms(p, g, n, syms, O, K);
        const double sparse = conv ? cost_qconv_sparse_ms(p, g, n, syms, (double)kept)
                                   : cost_qlinear_sparse_ms(p, g, n, syms, O, K, (double)kept);
        const double gain = sparse > 0 ? dense / sparse : INFINITY;
        if (gain < worst.gain)
            worst = (Worst){gain, dense, sparse, plan_points[i]};
    }
    out->gain = worst.gain;
    out->dense_ms = worst.dense_ms;
    out->sparse_ms = worst.sparse_ms;
    out->at_batch = worst.at_batch;
    out->choose = out->gain >= SPARSE_MIN_GAIN;
    return true;
}

/* Gives qlinear or qconv2d node id the block-CSR copy of its i8 weight (runtime/slimc_abi.h) as
 * input 5 and w_sparse=3. */
static void attach_q8(Graph *g, NodeId id, const SparsePlan *pl)
{
    int64_t O, K;
    int8_t *w = pass_sparse_q8_weight(g, &g->nodes[id], &O, &K);
    SLIMC_ASSERT(w);
    const int64_t K4 = (K + 3) / 4;
    int64_t off_blk, off_val;
    const int64_t total = slimc_rt_q8sp_layout(O, pl->q8_kept, &off_blk, &off_val);
    unsigned char *b = ir_arena_alloc(g->arena, (size_t)total);
    memset(b, 0, (size_t)total); /* the padding too: the bytes are hashed */
    int64_t *h = (int64_t *)(void *)b;
    h[0] = SLIMC_RT_Q8SP_MAGIC;
    h[1] = O;
    h[2] = K;
    h[3] = pl->q8_kept;
    h[4] = off_blk;
    h[5] = off_val;
    int32_t *rowptr = (int32_t *)(void *)(b + SLIMC_RT_CSR_HEAD);
    int32_t *blk = (int32_t *)(void *)(b + off_blk);
    int8_t *val = (int8_t *)(b + off_val);
    int32_t j = 0;
    for (int64_t o = 0; o < O; o++) {
        rowptr[o] = j;
        for (int64_t q = 0; q < K4; q++) {
            bool any = false;
            for (int64_t k = 4 * q; k < 4 * q + 4 && k < K; k++)
                any |= w[o * K + k] != 0;
            if (!any)
                continue;
            SLIMC_ASSERT(j < pl->q8_kept);
            blk[j] = (int32_t)q;
            for (int64_t k = 4 * q; k < 4 * q + 4 && k < K; k++)
                val[4 * (int64_t)j + (k - 4 * q)] = w[o * K + k];
            j++;
        }
    }
    rowptr[O] = j;
    SLIMC_ASSERT(j == pl->q8_kept);
    free(w);
    const Value *wv = &g->values[g->nodes[id].inputs[1]];
    Type t = {0};
    t.dtype = IR_U8;
    t.shape.rank = 1;
    t.shape.d[0] = ir_dim(total);
    ValueId c = ir_const_new(g, ir_arena_printf(g->arena, "%s.q8sp", wv->name ? wv->name : "w"), t,
                             b, (size_t)total, wv->loc);
    Node *n = &g->nodes[id];
    ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * 6);
    for (int i = 0; i < 6; i++)
        in[i] = i < n->n_inputs ? n->inputs[i] : IR_NONE;
    in[5] = c;
    n->inputs = in;
    n->n_inputs = 6;
    ir_node_set_int(g, id, "w_sparse", SPARSE_Q8);
}

/* The slots of a one-row part of R rows x KC columns (runtime/slimc_abi.h) for the weight
 * w [N, K]: len[G][C] (malloc'd into *len) and their sum. */
static int64_t g1_slots(const float *w, int64_t N, int64_t K, int64_t R, int64_t KC, uint8_t **len)
{
    const int64_t G = (N + R - 1) / R, C = (K + KC - 1) / KC;
    *len = calloc((size_t)(G * C), 1);
    uint8_t *row = malloc((size_t)C);
    SLIMC_ASSERT(*len && row);
    for (int64_t r = 0; r < N; r++) {
        memset(row, 0, (size_t)C);
        for (int64_t k = 0; k < K; k++)
            if (w[r * K + k] != 0)
                row[k / KC]++;
        uint8_t *l = *len + r / R * C;
        for (int64_t c = 0; c < C; c++)
            l[c] = row[c] > l[c] ? row[c] : l[c];
    }
    free(row);
    int64_t slots = 0;
    for (int64_t i = 0; i < G * C; i++)
        slots += (*len)[i];
    return slots;
}

/* Writes the one-row part of R rows x KC columns at b + off_g (slots slots, len[G][C] from
 * g1_slots) from the CSR part of blob b. */
static void g1_fill(unsigned char *b, int64_t R, int64_t KC, int64_t off_g, int64_t slots,
                    const uint8_t *len)
{
    const int64_t *h = (const int64_t *)(const void *)b;
    const int64_t N = h[1], K = h[2], G = (N + R - 1) / R, C = (K + KC - 1) / KC;
    int64_t off_gs, off_gv, off_gi;
    slimc_rt_csr_g1_layout(N, K, R, KC, slots, off_g, &off_gs, &off_gv, &off_gi);
    const int32_t *rowptr = (const int32_t *)(const void *)(b + SLIMC_RT_CSR_HEAD);
    const int32_t *col = (const int32_t *)(const void *)(b + h[4]);
    const float *val = (const float *)(const void *)(b + h[5]);
    memcpy(b + off_g, len, (size_t)(G * C));
    int32_t *first = (int32_t *)(void *)(b + off_gs);
    float *gval = (float *)(void *)(b + off_gv);
    uint8_t *gidx = b + off_gi;
    int64_t slot = 0;
    for (int64_t g = 0; g < G; g++) {
        first[g] = (int32_t)slot;
        const int64_t r0 = g * R, rows = N - r0 < R ? N - r0 : R;
        int32_t at[16]; /* each row's next nonzero: its columns ascend, chunk by chunk */
        SLIMC_ASSERT(R <= 16);
        for (int64_t i = 0; i < rows; i++)
            at[i] = rowptr[r0 + i];
        for (int64_t c = 0; c < C; c++) {
            for (int64_t i = 0; i < rows; i++)
                for (int64_t s = slot; at[i] < rowptr[r0 + i + 1] && col[at[i]] < (c + 1) * KC;
                     s++, at[i]++) {
                    SLIMC_ASSERT(s < slot + len[g * C + c]);
                    gval[s * R + i] = val[at[i]];
                    gidx[s * R + i] = (uint8_t)(col[at[i]] - c * KC);
                }
            slot += len[g * C + c];
        }
    }
    first[G] = (int32_t)slot;
    SLIMC_ASSERT(slot == slots);
}

/* The CSR blob of layer l (runtime/slimc_abi.h), in g's arena; *bytes its size. A conv's
 * weight [O, C, KH, KW] is read as [O, C * KH * KW]. one_row: a linear whose x may have one
 * row, whose blob gets the two one-row parts too. */
static void *build_csr(Graph *g, const PruneLayer *l, int64_t nnz, bool one_row, size_t *bytes)
{
    const int64_t N = l->shape[0], K = N > 0 ? l->numel / N : 0;
    const bool conv = l->rank == 4; /* a conv's blob has the k-block table too */
    float *w = pass_prune_logical(g, l);
    SLIMC_ASSERT(w);
    /* the one-row parts: AVX-512's (16 x 32), then AVX2's (8 x 8) */
    uint8_t *len16 = NULL, *len8 = NULL;
    const bool parts = !conv && one_row && N > 0;
    const int64_t slots16 = parts ? g1_slots(w, N, K, 16, 32, &len16) : 0;
    const int64_t slots8 = parts ? g1_slots(w, N, K, 8, 8, &len8) : 0;
    int64_t off_col, off_val, off_kb = 0, off_g = 0, off_g8 = 0, off_gs, off_gv, off_gi;
    int64_t total = conv ? slimc_rt_spconv_layout(N, K, nnz, &off_col, &off_val, &off_kb)
                         : slimc_rt_csr_layout(N, nnz, &off_col, &off_val);
    if (parts) {
        off_g = total;
        off_g8 = slimc_rt_csr_g1_layout(N, K, 16, 32, slots16, off_g, &off_gs, &off_gv, &off_gi);
        total = slimc_rt_csr_g1_layout(N, K, 8, 8, slots8, off_g8, &off_gs, &off_gv, &off_gi);
    }
    unsigned char *b = ir_arena_alloc(g->arena, (size_t)total);
    memset(b, 0, (size_t)total); /* the padding between the parts too: the bytes are hashed */
    int64_t *h = (int64_t *)(void *)b;
    h[0] = SLIMC_RT_CSR_MAGIC;
    h[1] = N;
    h[2] = K;
    h[3] = nnz;
    h[4] = off_col;
    h[5] = off_val;
    h[6] = conv ? off_kb : off_g;
    h[7] = conv ? SLIMC_RT_SPCONV_KC : slots16;
    int32_t *rowptr = (int32_t *)(void *)(b + SLIMC_RT_CSR_HEAD);
    int32_t *col = (int32_t *)(void *)(b + off_col);
    float *val = (float *)(void *)(b + off_val);
    int32_t j = 0;
    for (int64_t r = 0; r < N; r++) {
        rowptr[r] = j;
        for (int64_t k = 0; k < K; k++)
            if (w[r * K + k] != 0) {
                SLIMC_ASSERT(j < nnz);
                col[j] = (int32_t)k;
                val[j] = w[r * K + k];
                j++;
            }
    }
    rowptr[N] = j;
    SLIMC_ASSERT(j == nnz);
    if (conv) { /* kb[r][b]: row r's first nonzero at or after column b * KC */
        const int64_t nkb = slimc_rt_spconv_nkb(K);
        int32_t *kb = (int32_t *)(void *)(b + off_kb);
        for (int64_t r = 0; r < N; r++) {
            int32_t q = rowptr[r];
            for (int64_t blk = 0; blk <= nkb; blk++) {
                while (q < rowptr[r + 1] && col[q] < blk * SLIMC_RT_SPCONV_KC)
                    q++;
                kb[r * (nkb + 1) + blk] = blk == nkb ? rowptr[r + 1] : q;
            }
        }
    }
    if (parts) {
        g1_fill(b, 16, 32, off_g, slots16, len16);
        g1_fill(b, 8, 8, off_g8, slots8, len8);
    }
    free(len16);
    free(len8);
    free(w);
    *bytes = (size_t)total;
    return b;
}

/* Whether linear node n's x may have one row (its leading dims static with product 1, or
 * symbolic): its CSR blob then gets the one-row part. */
static bool may_have_one_row(const Graph *g, const Node *n)
{
    const Shape *s = &g->values[n->inputs[0]].type.shape;
    int64_t rows = 1;
    for (int i = 0; i + 1 < s->rank; i++) {
        if (!ir_dim_static(s->d[i]))
            return true;
        rows *= s->d[i].c;
    }
    return rows == 1;
}

/* The N:M blob of layer l (runtime/slimc_abi.h) at n:m, in g's arena; *bytes its size. Every
 * group of l has at most n nonzeros (pass_prune_pattern said so); one with fewer keeps zeros
 * at its lowest unused positions, so each group's positions stay distinct and ascending. A
 * conv's weight [O, C, KH, KW] is laid out as [O, KH * KW * C] (K in (kh, kw, c) order, so a
 * group is m consecutive input channels of one tap: runtime/kernels/sparse_nm.c's im2col
 * order), header slot 6 the taps; a linear's [N, K] as it is (slot 6 zero). */
static void *build_nm(Graph *g, const PruneLayer *l, int n, int m, size_t *bytes)
{
    const int64_t N = l->shape[0], C = l->shape[1], T = l->rank == 4 ? l->numel / N / C : 1;
    const int64_t K = C * T, G = K / m;
    int64_t off_val;
    const int64_t total = slimc_rt_nm_layout(N, K, n, m, &off_val);
    unsigned char *b = ir_arena_alloc(g->arena, (size_t)total);
    memset(b, 0, (size_t)total);
    int64_t *h = (int64_t *)(void *)b;
    h[0] = SLIMC_RT_NM_MAGIC;
    h[1] = N;
    h[2] = K;
    h[3] = n;
    h[4] = m;
    h[5] = off_val;
    h[6] = l->rank == 4 ? T : 0;
    uint8_t *idx = b + SLIMC_RT_CSR_HEAD;
    float *val = (float *)(void *)(b + off_val);
    float *w = pass_prune_logical(g, l);
    SLIMC_ASSERT(w);
    float wg[256];
    for (int64_t r = 0; r < N; r++)
        for (int64_t grp = 0; grp < G; grp++) {
            const int64_t t = grp * m / C, c0 = grp * m % C; /* K index grp * m = t * C + c0 */
            for (int k = 0; k < m; k++)
                wg[k] = w[(r * C + c0 + k) * T + t];
            uint8_t *ig = idx + (r * G + grp) * n;
            float *vg = val + (r * G + grp) * n;
            int nz = 0;
            for (int k = 0; k < m; k++)
                nz += wg[k] != 0;
            SLIMC_ASSERT(nz <= n);
            int pad = n - nz, s = 0; /* zeros to keep, lowest positions first */
            for (int k = 0; k < m; k++) {
                const bool keep = wg[k] != 0 || (pad > 0 && wg[k] == 0);
                if (!keep)
                    continue;
                if (wg[k] == 0)
                    pad--;
                ig[s] = (uint8_t)k;
                vg[s] = wg[k];
                s++;
            }
            SLIMC_ASSERT(s == n);
        }
    free(w);
    *bytes = (size_t)total;
    return b;
}

/* Gives linear or conv2d node id its weight in sparse format k (CSR or N:M at pl's n:m) as
 * input 3 and w_sparse=k. */
static void attach_sparse(Graph *g, NodeId id, const SparsePlan *pl, SparseKernel k)
{
    PruneLayer l;
    SLIMC_ASSERT(pass_prune_layer_of(g, id, &l));
    size_t bytes;
    void *blob = k == SPARSE_NM ? build_nm(g, &l, pl->nm_n, pl->nm_m, &bytes)
                                : build_csr(g, &l, pl->nnz,
                                            g->nodes[id].op == IR_OP_LINEAR &&
                                                may_have_one_row(g, &g->nodes[id]),
                                            &bytes);
    const Value *w = &g->values[l.weight];
    Type t = {0};
    t.dtype = IR_U8;
    t.shape.rank = 1;
    t.shape.d[0] = ir_dim((int64_t)bytes);
    ValueId c = ir_const_new(
        g,
        ir_arena_printf(g->arena, "%s.%s", w->name ? w->name : "w", k == SPARSE_NM ? "nm" : "csr"),
        t, blob, bytes, w->loc);
    Node *n = &g->nodes[id];
    ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * 4);
    for (int j = 0; j < 4; j++)
        in[j] = j < n->n_inputs ? n->inputs[j] : IR_NONE;
    in[3] = c;
    n->inputs = in;
    n->n_inputs = 4;
    ir_node_set_int(g, id, "w_sparse", (int64_t)k);
}

bool pass_sparse(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, "mode", d))
        return false;
    enum { AUTO, CSR, NM, Q8, DENSE } mode = AUTO;
    const PassArg *m = pass_arg(args, "mode");
    if (m) {
        if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "auto"))
            mode = AUTO;
        else if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "csr"))
            mode = CSR;
        else if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "nm"))
            mode = NM;
        else if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "q8"))
            mode = Q8;
        else if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "dense"))
            mode = DENSE;
        else {
            ir_diag_error(d, m->loc, "sparse: mode must be auto, csr, nm, q8 or dense, got '%s'",
                          m->text ? m->text : "?");
            return false;
        }
    }
    pass_prune_measure(g); /* Value.sparsity of every conv2d / linear weight */
    const int n_nodes = g->n_nodes;
    for (NodeId i = 0; i < n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (!n->dead &&
            (n->op == IR_OP_QLINEAR || n->op == IR_OP_QCONV2D || n->op == IR_OP_DQLINEAR) &&
            ir_attr_w_sparse(n) == 0) {
            /* int8 (prune then quantize): the zeros measured in the i8 weight, whoever made
             * them; a block of 4 all zero is what the kernel skips */
            SparsePlan pl;
            if (!pass_sparse_plan_q8(g, i, g->place.profile, &pl) || !pl.candidate ||
                pl.q8_kept == pl.q8_blocks)
                continue;
            ir_node_set_float(g, i, "sparse_gain", isfinite(pl.gain) ? pl.gain : 1e9);
            if (mode == Q8 || (mode == AUTO && pl.choose)) {
                attach_q8(g, i, &pl);
                if (!ir_infer_node(g, i, d))
                    return false;
            }
            continue;
        }
        if (n->dead || (n->op != IR_OP_LINEAR && n->op != IR_OP_CONV2D) || ir_attr_w_sparse(n) != 0)
            continue;
        /* No zero in the weight (pass_prune_measure just counted them): nothing to weigh,
         * and no logical copy of a dense weight on every start. */
        PruneLayer wl;
        if (pass_prune_layer_of(g, i, &wl) && g->values[wl.weight].sparsity == 0)
            continue;
        SparsePlan pl;
        if (!pass_sparse_plan(g, i, g->place.profile, &pl) || !pl.candidate ||
            pl.nnz == pl.numel) /* no zero: nothing to weigh (and nothing recorded) */
            continue;
        ir_node_set_float(g, i, "sparse_gain", isfinite(pl.gain) ? pl.gain : 1e9);
        SparseKernel use = SPARSE_DENSE;
        if (mode == CSR)
            use = SPARSE_CSR;
        else if (mode == NM && pl.nm_n)
            use = SPARSE_NM;
        else if (mode == AUTO && pl.choose)
            use = pl.kernel;
        if (use != SPARSE_DENSE) {
            attach_sparse(g, i, &pl, use);
            if (!ir_infer_node(g, i, d))
                return false;
        }
    }
    return true;
}
