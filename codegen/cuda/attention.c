/* Attention as one kernel: the chain
 *     S = matmul(q, kt) [* or / scalars]  ->  P = softmax(S, last axis)  ->  O = matmul(P, v)
 * found in the graph (the transformer sample's self-attention: kt is K already transposed
 * by a permute, the scale a fused epilogue of the first matmul or a node of its own) and
 * computed flash-attention style: per (batch, head) and block of 16 queries, the keys go by
 * in tiles of 32 with a running maximum and sum per query row, so S and P never reach
 * memory. f32 throughout.
 *
 * Group conditions (otherwise each node runs its own kernels): every member live, on CUDA,
 * f32 and unquantized; S, the scaled S and P each used once and not graph outputs; q
 * [..., Sq, D], kt [..., D, Sk], v [..., Sk, Dv] of one rank with the same leading dims (no
 * broadcasting); D and Dv static, 1..128; Sk not a static 0; the scale steps mul (either
 * operand) or div (by the scalar) with one-element f32 operands, at most 5; the softmax
 * without an epilogue (the last matmul may carry one: it is applied to O).
 *
 * The kernel runs at the last member's place in the order but reads q, kt and the scale
 * operands, whose lives (for the memory plan, passes/memplan.c) end at an earlier member:
 * the group is formed only when no node between (nor the group's output) is placed where
 * they lie, as proved with the plan's own offsets.
 *
 * The group's kernel belongs to its last node (the second matmul, whose output is the
 * group's): emit.c calls cu_emit_attention for it and, on the host side, cu_attention_inputs
 * for its kernel's inputs (q, kt, v, the scale operands), skipping the other members. */
#include "codegen/cuda/attention.h"
#include "codegen/c/entry.h"
#include "codegen/cuda/data_move.h"
#include "ir/checked.h"

#include <string.h>

#define ATT_ROWS      4                      /* query rows per warp */
#define ATT_WARPS     4                      /* warps per block */
#define ATT_BQ        (ATT_ROWS * ATT_WARPS) /* query rows per block */
#define ATT_BK        32                     /* keys per tile: one per lane */
#define ATT_THREADS   (32 * ATT_WARPS)
#define ATT_MAX_D     128 /* the shared tiles stay under 48 KB */
#define ATT_MAX_SCALE 5   /* a.in[3..7] */

typedef struct AttChain {
    NodeId mm1, scale, softmax, mm2; /* scale: the separate scale node (IR_NONE: none) */
    ValueId q, kt, v;
    int n_steps;
    Epilogue steps[ATT_MAX_SCALE]; /* the scale steps in order (operand: the scalar) */
} AttChain;

static bool f32_plain(const Graph *g, ValueId v)
{
    const Type *t = &g->values[v].type;
    return t->dtype == IR_F32 && !t->quant;
}

static bool scalar_f32(const Graph *g, ValueId v)
{
    Dim ne;
    return v != IR_NONE && f32_plain(g, v) && ir_shape_numel(&g->values[v].type.shape, &ne) &&
           ir_dim_static(ne) && ne.c == 1;
}

static bool member_ok(const Graph *g, NodeId id, OpKind op)
{
    const Node *n = &g->nodes[id];
    return !n->dead && n->op == op && n->device == IR_DEVICE_CUDA && n->n_outputs == 1 &&
           f32_plain(g, n->outputs[0]);
}

/* Value v's producer when v feeds only `user` (once) and is no graph output; else IR_NONE. */
static NodeId sole_producer(const Graph *g, ValueId v, NodeId user)
{
    if (v == IR_NONE || g->values[v].producer == IR_NONE || ir_sole_consumer(g, v) != user)
        return IR_NONE;
    return g->values[v].producer;
}

/* Appends a scale step (a mul or div by a scalar); false if it is not one. */
static bool add_step(const Graph *g, AttChain *ch, Epilogue e)
{
    if (ch->n_steps == ATT_MAX_SCALE || !scalar_f32(g, e.operand) ||
        !(e.op == IR_OP_MUL || (e.op == IR_OP_DIV && !e.operand_first)))
        return false;
    ch->steps[ch->n_steps++] = e;
    return true;
}

static bool same_lead(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank - 2; i++)
        if (!ir_dim_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

/* Whether node mm2 ends an attention chain; fills ch. */
static bool match_chain(const Graph *g, NodeId mm2, AttChain *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->scale = IR_NONE;
    if (!member_ok(g, mm2, IR_OP_MATMUL))
        return false;
    const Node *pv = &g->nodes[mm2];
    ch->mm2 = mm2;
    ch->softmax = sole_producer(g, pv->inputs[0], mm2);
    if (ch->softmax == IR_NONE || !member_ok(g, ch->softmax, IR_OP_SOFTMAX))
        return false;
    const Node *sm = &g->nodes[ch->softmax];
    const Shape *ps = &g->values[sm->outputs[0]].type.shape;
    if (sm->n_epilogue ||
        (ir_attr_axis_or(sm, -1) != -1 && ir_attr_axis_or(sm, -1) != ps->rank - 1))
        return false;
    NodeId p = sole_producer(g, sm->inputs[0], ch->softmax);
    if (p == IR_NONE)
        return false;
    if (member_ok(g, p, IR_OP_MUL) || member_ok(g, p, IR_OP_DIV)) { /* a scale node */
        const Node *sn = &g->nodes[p];
        ch->scale = p;
        /* the chain's operand: whichever is produced by a matmul with one use */
        const int which = g->values[sn->inputs[0]].producer != IR_NONE &&
                                  g->nodes[g->values[sn->inputs[0]].producer].op == IR_OP_MATMUL
                              ? 0
                              : 1;
        p = sole_producer(g, sn->inputs[which], ch->scale);
        if (p == IR_NONE || !member_ok(g, p, IR_OP_MATMUL))
            return false;
        ch->mm1 = p;
        for (int j = 0; j < g->nodes[p].n_epilogue; j++)
            if (!add_step(g, ch, g->nodes[p].epilogue[j]))
                return false;
        if (!add_step(g, ch,
                      (Epilogue){sn->op, sn->inputs[1 - which], which == 1 && sn->op == IR_OP_DIV}))
            return false;
        for (int j = 0; j < sn->n_epilogue; j++)
            if (!add_step(g, ch, sn->epilogue[j]))
                return false;
    } else {
        if (!member_ok(g, p, IR_OP_MATMUL))
            return false;
        ch->mm1 = p;
        for (int j = 0; j < g->nodes[p].n_epilogue; j++)
            if (!add_step(g, ch, g->nodes[p].epilogue[j]))
                return false;
    }
    const Node *qk = &g->nodes[ch->mm1];
    ch->q = qk->inputs[0];
    ch->kt = qk->inputs[1];
    ch->v = pv->inputs[1];
    if (!f32_plain(g, ch->q) || !f32_plain(g, ch->kt) || !f32_plain(g, ch->v))
        return false;
    for (int j = 0; j < pv->n_epilogue; j++)
        if (pv->epilogue[j].operand != IR_NONE && !f32_plain(g, pv->epilogue[j].operand))
            return false;
    const Shape *qs = &g->values[ch->q].type.shape, *ks = &g->values[ch->kt].type.shape;
    const Shape *vs = &g->values[ch->v].type.shape, *os = &g->values[pv->outputs[0]].type.shape;
    const int r = qs->rank;
    if (r < 2 || !same_lead(qs, ks) || !same_lead(qs, vs) || !same_lead(qs, os))
        return false;
    const Dim D = qs->d[r - 1], Dv = vs->d[r - 1], Sk = ks->d[r - 1];
    return ir_dim_static(D) && D.c >= 1 && D.c <= ATT_MAX_D && ir_dim_static(Dv) && Dv.c >= 1 &&
           Dv.c <= ATT_MAX_D && ir_dim_eq(ks->d[r - 2], D) && ir_dim_eq(vs->d[r - 2], Sk) &&
           !(ir_dim_static(Sk) && Sk.c == 0) && ir_dim_eq(os->d[r - 2], qs->d[r - 2]) &&
           ir_dim_eq(os->d[r - 1], Dv);
}

/* The arena bytes [*lo, *hi) that value v's storage may cover; false when v is not in the
 * arena (an input, a constant, a graph output: never overwritten by the run). */
static bool arena_range(const Graph *g, ValueId v, Poly *lo, Poly *hi)
{
    const ValueId root = cg_storage_of(g, v);
    const Value *rv = &g->values[root];
    if (rv->kind != IR_VALUE_TEMP || cg_output_index(g, root) >= 0)
        return false;
    Dim n;
    size_t bytes;
    *lo = rv->offset;
    *hi = rv->offset;
    if (!rv->planned || !ir_shape_numel(&rv->type.shape, &n) ||
        !ir_ckd_bytes(rv->type.dtype, n.c, &bytes) ||
        !ir_poly_add(hi, ir_poly_from_dim((Dim){(int64_t)bytes, n.syms}))) {
        *hi = ir_poly_const(INT64_MAX / 4); /* unknown: overlaps everything */
        *lo = ir_poly_const(0);
    }
    return true;
}

/* Whether writing value w cannot touch value r's storage (provably disjoint ranges). */
static bool disjoint(const Graph *g, ValueId w, ValueId r)
{
    Poly wl, wh, rl, rh;
    if (!arena_range(g, w, &wl, &wh) || !arena_range(g, r, &rl, &rh))
        return true;
    return ir_poly_le(&wh, &rl) || ir_poly_le(&rh, &wl);
}

/* Whether what the kernel reads late (q, kt, the scale operands) survives until the last
 * member: no value written by a node after the first matmul (the group's output included;
 * the other members write nothing) lies on it. */
static bool storage_safe(const Graph *g, const AttChain *ch)
{
    ValueId read[2 + ATT_MAX_SCALE];
    int nr = 0;
    read[nr++] = ch->q;
    read[nr++] = ch->kt;
    for (int j = 0; j < ch->n_steps; j++)
        read[nr++] = ch->steps[j].operand;
    for (NodeId i = ch->mm1 + 1; i <= ch->mm2; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || i == ch->scale || i == ch->softmax || (ir_ops[n->op].flags & IR_F_VIEW))
            continue;
        for (int o = 0; o < n->n_outputs; o++)
            for (int j = 0; j < nr; j++)
                if (!disjoint(g, n->outputs[o], read[j]))
                    return false;
    }
    return true;
}

void cu_find_groups(CgCtx *c)
{
    const Graph *g = c->g;
    CuCtx *cu = cu_ctx(c);
    for (NodeId i = 0; i < g->n_nodes; i++) {
        AttChain ch;
        if (!match_chain(g, i, &ch) || !storage_safe(g, &ch))
            continue;
        const NodeId members[] = {ch.mm1, ch.scale, ch.softmax, ch.mm2};
        bool free_ = true; /* no member already in another group */
        for (size_t j = 0; j < sizeof members / sizeof members[0]; j++)
            free_ = free_ && (members[j] == IR_NONE || cu->group_head[members[j]] == IR_NONE);
        if (!free_)
            continue;
        for (size_t j = 0; j < sizeof members / sizeof members[0]; j++)
            if (members[j] != IR_NONE)
                cu->group_head[members[j]] = i;
    }
}

void cu_attention_inputs(CgCtx *c, NodeId head)
{
    AttChain ch;
    const bool found = match_chain(c->g, head, &ch);
    SLIMC_ASSERT(found); /* cu_find_groups matched it */
    cg_printf(c, "    a.in[0] = %s; /* q */\n", c->val_names[ch.q]);
    cg_printf(c, "    a.in[1] = %s; /* k transposed */\n", c->val_names[ch.kt]);
    cg_printf(c, "    a.in[2] = %s; /* v */\n", c->val_names[ch.v]);
    for (int j = 0; j < ch.n_steps; j++)
        cg_printf(c, "    a.in[%d] = %s; /* scale step %d */\n", 3 + j,
                  c->val_names[ch.steps[j].operand], j);
}

/* Prints `for (int NAME = 0; NAME < N; NAME++)` at indent. */
static void loop(CgCtx *c, int indent, const char *name, int n)
{
    cg_printf(c, "%*sfor (int %s = 0; %s < %d; %s++)\n", indent, "", name, name, n, name);
}

/* The kernel's loop over the key tiles: load K^T and V tiles, score, update each row's
 * running maximum, sum and accumulators, add the tile's p x V. */
static void att_tiles(CgCtx *c, const AttChain *ch, int D, int DV)
{
    const int NC = (DV + 31) / 32;
    cg_printf(c, "    for (int64_t k0 = 0; k0 < Sk; k0 += %d) {\n", ATT_BK);
    cg_printf(c, "        __syncthreads(); /* the last tile's readers are done */\n");
    cg_printf(c, "        for (int e = tid; e < %d; e += %d) {\n", D * ATT_BK, ATT_THREADS);
    cg_printf(c, "            const int d = e / %d, j = e %% %d;\n", ATT_BK, ATT_BK);
    cg_printf(c, "            ks[d][j] = k0 + j < Sk ? kb[d * Sk + k0 + j] : 0.0f;\n        }\n");
    cg_printf(c, "        for (int e = tid; e < %d; e += %d) {\n", ATT_BK * DV, ATT_THREADS);
    cg_printf(c, "            const int j = e / %d, cc = e %% %d;\n", DV, DV);
    cg_printf(
        c, "            vs[j][cc] = k0 + j < Sk ? vb[(k0 + j) * %d + cc] : 0.0f;\n        }\n", DV);
    cg_printf(c, "        __syncthreads();\n");
    cg_printf(c, "        float s[%d]; /* lane's key against the warp's rows */\n", ATT_ROWS);
    loop(c, 8, "i", ATT_ROWS);
    cg_printf(c, "            s[i] = 0.0f;\n");
    loop(c, 8, "d", D);
    cg_printf(c, "        {\n            const float kv = ks[d][lane];\n");
    loop(c, 12, "i", ATT_ROWS);
    cg_printf(c, "                s[i] += qs[w * %d + i][d] * kv;\n        }\n", ATT_ROWS);
    cg_printf(c, "        const bool valid = k0 + lane < Sk;\n");
    cg_printf(c, "        for (int i = 0; i < %d; i++) {\n", ATT_ROWS);
    cg_printf(c, "            float x = s[i];\n");
    for (int j = 0; j < ch->n_steps; j++)
        cg_printf(c, "            x = x %c sc%d; /* %s */\n",
                  ch->steps[j].op == IR_OP_DIV ? '/' : '*', j, ir_ops[ch->steps[j].op].name);
    cg_printf(
        c, "            float mn = valid ? x : -SLIMC_INF; /* the tile's maximum; NaN wins */\n");
    cg_printf(c, "            for (int o_ = 16; o_ > 0; o_ >>= 1) {\n");
    cg_printf(c, "                const float t_ = slimc_shfl_xor_f(mn, o_);\n");
    cg_printf(c, "                if ((t_ > mn || t_ != t_) && mn == mn)\n");
    cg_printf(c, "                    mn = t_;\n            }\n");
    cg_printf(c, "            if ((m[i] > mn || m[i] != m[i]) && mn == mn)\n");
    cg_printf(c, "                mn = m[i];\n");
    cg_printf(c, "            /* a row with no finite score yet subtracts 0, not -inf */\n");
    cg_printf(c, "            const float base = mn == -SLIMC_INF ? 0.0f : mn;\n");
    cg_printf(c, "            const float corr = expf(m[i] - base);\n");
    cg_printf(c, "            const float p = valid ? expf(x - base) : 0.0f;\n");
    cg_printf(c, "            l[i] = l[i] * corr + p;\n");
    loop(c, 12, "cc", NC);
    cg_printf(c, "                acc[i][cc] *= corr;\n");
    cg_printf(c, "            ps[w * %d + i][lane] = p;\n", ATT_ROWS);
    cg_printf(c, "            m[i] = mn;\n        }\n");
    cg_printf(c, "        __syncthreads(); /* ps holds the warp's probabilities */\n");
    cg_printf(c, "        const int jn = Sk - k0 < %d ? (int)(Sk - k0) : %d;\n", ATT_BK, ATT_BK);
    cg_printf(c, "        for (int j = 0; j < jn; j++) {\n");
    cg_printf(c, "            float vv[%d];\n", NC);
    loop(c, 12, "cc", NC);
    if (DV % 32)
        cg_printf(c,
                  "                vv[cc] = lane + 32 * cc < %d ? vs[j][lane + 32 * cc] : 0.0f;\n",
                  DV);
    else
        cg_printf(c, "                vv[cc] = vs[j][lane + 32 * cc];\n");
    cg_printf(c, "            for (int i = 0; i < %d; i++) {\n", ATT_ROWS);
    cg_printf(c, "                const float p = ps[w * %d + i][j];\n", ATT_ROWS);
    loop(c, 16, "cc", NC);
    cg_printf(c,
              "                    acc[i][cc] += p * vv[cc];\n            }\n        }\n    }\n");
}

void cu_emit_attention(CgCtx *c, NodeId head)
{
    const Graph *g = c->g;
    AttChain ch;
    const bool found = match_chain(g, head, &ch);
    SLIMC_ASSERT(found); /* cu_find_groups matched it */
    const Shape *qs = cg_shape(c, ch.q), *ks = cg_shape(c, ch.kt), *vs = cg_shape(c, ch.v);
    const int r = qs->rank;
    const int D = (int)qs->d[r - 1].c, DV = (int)vs->d[r - 1].c, NC = (DV + 31) / 32;
    const char *Sq = cg_dim(c, qs->d[r - 2]), *Sk = cg_dim(c, ks->d[r - 1]);
    const char *B = cg_prod(c, qs, 0, r - 2);
    cg_printf(c,
              "/* Fused attention: %s = softmax(%s x %s%s) x %s, computed by one kernel\n"
              " * (members: %s, %s%s%s, %s; scores and probabilities are never stored).\n"
              " * A block: one (batch, head) and %d query rows, %d warps of %d rows; the keys go\n"
              " * by in tiles of %d (K^T and V tiles in shared memory, loaded coalesced), a lane\n"
              " * scoring one key for its warp's rows, with a running maximum m and sum l per row\n"
              " * (online softmax); lane t accumulates output columns t, t + 32, ... */\n",
              c->val_names[g->nodes[head].outputs[0]], c->val_names[ch.q], c->val_names[ch.kt],
              ch.n_steps ? " (scaled)" : "", c->val_names[ch.v], c->fn_names[ch.mm1],
              ch.scale != IR_NONE ? c->fn_names[ch.scale] : "", ch.scale != IR_NONE ? ", " : "",
              c->fn_names[ch.softmax], c->fn_names[ch.mm2], ATT_BQ, ATT_WARPS, ATT_ROWS, ATT_BK);
    int k = cu_kernel_begin(c, head, NULL, ATT_THREADS);
    cg_printf(c, "    __shared__ float qs[%d][%d]; /* the block's query rows */\n", ATT_BQ, D);
    cg_printf(c, "    __shared__ float ks[%d][%d]; /* K^T tile: %d keys */\n", D, ATT_BK, ATT_BK);
    cg_printf(c, "    __shared__ float vs[%d][%d]; /* V tile */\n", ATT_BK, DV);
    cg_printf(c, "    __shared__ float ps[%d][%d]; /* the tile's exp(s - m) per query row */\n",
              ATT_BQ, ATT_BK);
    cg_printf(c, "    const float *__restrict__ q = (const float *)a.in[0]; /* %s */\n",
              cg_type_text(c, &g->values[ch.q].type));
    cg_printf(c, "    const float *__restrict__ kt = (const float *)a.in[1]; /* %s */\n",
              cg_type_text(c, &g->values[ch.kt].type));
    cg_printf(c, "    const float *__restrict__ v = (const float *)a.in[2]; /* %s */\n",
              cg_type_text(c, &g->values[ch.v].type));
    cu_out(c, head, "out");
    for (int j = 0; j < ch.n_steps; j++)
        cg_printf(c, "    const float sc%d = ((const float *)a.in[%d])[0];\n", j, 3 + j);
    cg_printf(c, "    const int64_t Sq = %s, Sk = %s;\n", Sq, Sk);
    cg_printf(c, "    const int64_t bh = blockIdx.x; /* (batch, head), of %s */\n", B);
    cg_printf(c, "    const int64_t q0 = (int64_t)blockIdx.y * %d;\n", ATT_BQ);
    cg_printf(c, "    const int tid = (int)threadIdx.x, lane = SLIMC_LANE, w = SLIMC_WARP;\n");
    cg_printf(c, "    const float *__restrict__ qb = q + bh * Sq * %d;\n", D);
    cg_printf(c, "    const float *__restrict__ kb = kt + bh * %d * Sk;\n", D);
    cg_printf(c, "    const float *__restrict__ vb = v + bh * Sk * %d;\n", DV);
    cg_printf(c, "    for (int e = tid; e < %d; e += %d) {\n", ATT_BQ * D, ATT_THREADS);
    cg_printf(c, "        const int i = e / %d, d = e %% %d;\n", D, D);
    cg_printf(c, "        qs[i][d] = q0 + i < Sq ? qb[(q0 + i) * %d + d] : 0.0f;\n    }\n", D);
    cg_printf(c, "    float m[%d], l[%d], acc[%d][%d];\n", ATT_ROWS, ATT_ROWS, ATT_ROWS, NC);
    cg_printf(c, "    for (int i = 0; i < %d; i++) {\n", ATT_ROWS);
    cg_printf(c, "        m[i] = -SLIMC_INF; /* the running maximum of the row's scores */\n");
    cg_printf(c, "        l[i] = 0.0f;       /* this lane's part of the sum of exp(s - m) */\n");
    loop(c, 8, "cc", NC);
    cg_printf(c, "            acc[i][cc] = 0.0f;\n    }\n");
    att_tiles(c, &ch, D, DV);
    cg_printf(c, "    for (int i = 0; i < %d; i++) {\n", ATT_ROWS);
    cg_printf(c, "        float sum = l[i];\n");
    cg_printf(c, "        for (int o_ = 16; o_ > 0; o_ >>= 1)\n");
    cg_printf(c, "            sum += slimc_shfl_xor_f(sum, o_);\n");
    cg_printf(c, "        const int64_t qi = q0 + w * %d + i;\n", ATT_ROWS);
    cg_printf(c, "        if (qi >= Sq)\n            continue;\n");
    cg_printf(c, "        for (int cc = 0; cc < %d; cc++) {\n", NC);
    cg_printf(c, "            const int col = lane + 32 * cc;\n");
    if (DV % 32)
        cg_printf(c, "            if (col >= %d)\n                continue;\n", DV);
    cg_printf(c, "            const int64_t f = (bh * Sq + qi) * %d + col;\n", DV);
    cg_printf(c, "            float o = acc[i][cc] / sum;\n");
    cu_ep_apply(c, head, 12, "o", "f");
    cg_printf(c, "            out[f] = o;\n        }\n    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {B, cu_ceil_div(c, Sq, ATT_BQ), "1"};
    cu_launch(c, head, k, grid, (const int[3]){ATT_THREADS, 1, 1},
              cg_strf(c, "a block per (batch, head) and %d queries; keys in tiles of %d", ATT_BQ,
                      ATT_BK));
}

/* ---- the attention op (ir/attention.c), where the pattern pass made one ----
 *
 * One thread per query row, three passes over the keys (the maximum, the sum of exps, the
 * weighted sum of v into the output row), each recomputing the scores: correct at any
 * size, not fast (the chains the attention pass leaves on CUDA take the fused kernel
 * above; an attention op reaches this only from the language or a CPU-placed rewrite). */
static bool sa_present(const Node *n)
{
    return ir_node_attr_id(n, IR_A_scale) != NULL;
}

static const char *att_mask_stride(CgCtx *c, const Shape *ms, int r, int i)
{
    const int j = i - (r - ms->rank);
    if (j < 0 || (ir_dim_static(ms->d[j]) && ms->d[j].c == 1))
        return "0";
    return cg_prod(c, ms, j + 1, ms->rank);
}

void cu_emit_attention_op(CgCtx *c, NodeId id)
{
    const Node *n = &c->g->nodes[id];
    const Shape *qs = cg_shape(c, n->inputs[0]), *ks = cg_shape(c, n->inputs[1]),
                *vs = cg_shape(c, n->inputs[2]);
    const bool has_mask = n->n_inputs > 3 && n->inputs[3] != IR_NONE;
    const int r = qs->rank;
    static const char *const names[] = {"q", "k", "v", "mask"};
    const char *rows = cg_prod(c, qs, 0, r - 1);
    int k = cu_dm_loop_begin(c, id, names, has_mask ? 4 : 3, rows);
    cg_printf(c, "        const int64_t Sq = %s, Sk = %s, D = %s, Dv = %s;\n",
              cg_dim(c, qs->d[r - 2]), cg_dim(c, ks->d[r - 2]), cg_dim(c, qs->d[r - 1]),
              cg_dim(c, vs->d[r - 1]));
    cg_printf(c, "        const int64_t b = (int64_t)f / Sq, i = (int64_t)f %% Sq;\n");
    cg_printf(c, "        (void)i;\n");
    cg_printf(c, "        const float *__restrict__ qr = q + (int64_t)f * D;\n");
    cg_printf(c, "        const float *__restrict__ kb = k + b * Sk * D;\n");
    cg_printf(c, "        const float *__restrict__ vb = v + b * Sk * Dv;\n");
    cg_printf(c, "        float *__restrict__ o = out + (int64_t)f * Dv;\n");
    if (sa_present(n))
        cg_printf(c, "        const float scale = %s;\n", cg_float(c, ir_attr_scale(n)));
    else
        cg_printf(c, "        const float scale = 1.0f / sqrtf((float)(D > 0 ? D : 1));\n");
    if (has_mask) {
        const Shape *ms = cg_shape(c, n->inputs[3]);
        cg_printf(c, "        int64_t rem = b, moff = 0; /* the mask's offset for b */\n");
        for (int d = r - 3; d >= 0; d--) {
            cg_printf(c, "        moff += (rem %% %s) * %s;\n", cg_dim(c, qs->d[d]),
                      att_mask_stride(c, ms, r, d));
            cg_printf(c, "        rem /= %s;\n", cg_dim(c, qs->d[d]));
        }
        cg_printf(c, "        (void)rem;\n");
        cg_printf(c, "        const float *__restrict__ mr = mask + moff + i * %s;\n",
                  att_mask_stride(c, ms, r, r - 2));
        cg_printf(c, "        const int64_t mcs = %s;\n", att_mask_stride(c, ms, r, r - 1));
    }
    /* the score of key j into s */
    const char *score = cg_strf(
        c,
        "            float s = 0.0f;\n"
        "            for (int64_t t = 0; t < D; t++)\n"
        "                s += qr[t] * kb[j * D + t];\n"
        "            s *= scale;\n%s%s",
        has_mask ? "            s += mr[j * mcs];\n" : "",
        ir_attr_causal(n) ? "            if (j > i)\n                s = -SLIMC_INF;\n" : "");
    cg_printf(c, "        float m = -SLIMC_INF;\n");
    cg_printf(c, "        for (int64_t j = 0; j < Sk; j++) {\n%s", score);
    cg_printf(c, "            if (s > m || s != s)\n                m = s;\n        }\n");
    cg_printf(c, "        float sum = 0.0f;\n");
    cg_printf(c, "        for (int64_t j = 0; j < Sk; j++) {\n%s", score);
    cg_printf(c, "            sum += expf(s - m);\n        }\n");
    cg_printf(c, "        for (int64_t t = 0; t < Dv; t++)\n            o[t] = 0.0f;\n");
    cg_printf(c, "        for (int64_t j = 0; j < Sk; j++) {\n%s", score);
    cg_printf(c, "            const float p = expf(s - m) / sum;\n");
    cg_printf(c, "            for (int64_t t = 0; t < Dv; t++)\n");
    cg_printf(c, "                o[t] += p * vb[j * Dv + t];\n        }\n");
    cu_dm_loop_end(c, id, k, rows, "attention: one thread per query row");
}
