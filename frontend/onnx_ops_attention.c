/* ONNX's Attention (opset 23/24) and RotaryEmbedding, lowered to IR ops that exist: heads
 * split and repeated with reshapes, the causal mask and biases built as constants when the
 * shapes are static. Dispatched from frontend/onnx_ops_nn.c, whose helpers (ox_nn_*) these
 * use. Reference semantics: onnx/reference/ops of the pinned onnx package. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <string.h>

/* ---- Attention ---- */

/* [B, L, H*D] -> [B, H, L, D]. */
static ValueId heads_split(OxImporter *im, const OxNode *n, ValueId x, int64_t h)
{
    const Shape *s = &ox_ty(im, x)->shape;
    if (s->rank != 3 || h < 1 || !ir_dim_static(s->d[2]) || s->d[2].c % h)
        return IR_NONE;
    Dim d4[4] = {s->d[0], s->d[1], ir_dim(h), ir_dim(s->d[2].c / h)};
    int64_t perm[4] = {0, 2, 1, 3};
    return ox_permute(im, n, ox_nn_reshape(im, n, x, d4, 4), perm, 4);
}

/* x [B, Hkv, S, D] with each head repeated reps times in place: [B, Hkv*reps, S, D]. */
static ValueId heads_repeat(OxImporter *im, const OxNode *n, ValueId x, int64_t reps)
{
    const Shape *s = &ox_ty(im, x)->shape;
    if (reps == 1 || s->rank != 4)
        return x;
    Dim d5[5] = {s->d[0], s->d[1], ir_dim(1), s->d[2], s->d[3]};
    ValueId v = ox_nn_reshape(im, n, x, d5, 5);
    NodeId id = ox_mk(im, n, "expand", &v, 1);
    if (id == IR_NONE || v == IR_NONE)
        return IR_NONE;
    int64_t shape[5] = {-1, -1, reps, -1, -1};
    ir_node_set_ints(im->g, id, "shape", shape, 5);
    v = ox_done(im, id);
    Dim d4[4] = {s->d[0], ir_dim(s->d[1].c * reps), s->d[2], s->d[3]};
    return ox_nn_reshape(im, n, v, d4, 4);
}

/* The additive bias [.., L, S] of Attention: attn_mask (bool: 0 / -inf; shorter than S:
 * padded with -inf), the causal mask (-inf where j > i + past), the padding mask of
 * nonpad_kv_seqlen. IR_NONE in *bias when there is none; false when unsupported. */
static bool attention_bias(OxImporter *im, OxNode *n, int64_t L, int64_t S, int64_t past, Dim batch,
                           ValueId *bias)
{
    *bias = IR_NONE;
    if (ox_has_in(n, 3)) {
        ValueId m = ox_in(im, n, 3);
        const Type *mt = ox_ty(im, m);
        if (mt->dtype == IR_BOOL)
            m = ox_nn_where(im, n, m, ox_scalar(im, n, IR_F32, 0.0),
                            ox_scalar(im, n, IR_F32, -INFINITY));
        else
            m = ox_nn_cast(im, n, m, IR_F32);
        const Shape *ms = &ox_ty(im, m)->shape;
        if (ms->rank < 1 || !ir_dim_static(ms->d[ms->rank - 1]))
            return false;
        int64_t have = ms->d[ms->rank - 1].c;
        if (have < S) {
            NodeId id = ox_mk(im, n, "pad", &m, 1);
            int64_t pads[2 * IR_MAX_RANK] = {0, S - have};
            ir_node_set_ints(im->g, id, "pads", pads, 2 * ms->rank);
            ir_node_set_int(im->g, id, "mode", 0);
            ir_node_set_float(im->g, id, "value", -INFINITY);
            m = ox_done(im, id);
        } else if (have > S)
            return false;
        *bias = m;
    }
    if (ox_attr_int(n, "is_causal", 0)) {
        int64_t shape[2] = {L, S};
        OxConst c;
        if (!ox_const_make(im, &c, IR_F32, 2, shape))
            return false;
        for (int64_t i = 0; S > 0 && i < L; i++) /* [L, 0]: no rows to visit */
            for (int64_t j = 0; j < S; j++)
                ox_const_set(&c, i * S + j, j > i + past ? -INFINITY : 0.0);
        ValueId cv = ox_nn_const_value(im, n, &c, "causal");
        *bias = *bias == IR_NONE ? cv : ox_bin(im, n, "add", *bias, cv);
    }
    if (ox_has_in(n, 6)) {
        /* key j of batch b is padding when j >= nonpad_kv_seqlen[b] */
        ValueId len = ox_in(im, n, 6);
        DType dt = ox_ty(im, len)->dtype;
        int64_t rshape[4] = {1, 1, 1, S};
        OxConst pos;
        if (!ox_const_make(im, &pos, dt, 4, rshape))
            return false;
        for (int64_t j = 0; j < S; j++)
            ox_const_set(&pos, j, (double)j);
        Dim d4[4] = {batch, ir_dim(1), ir_dim(1), ir_dim(1)};
        ValueId keep = ox_bin(im, n, "lt", ox_nn_const_value(im, n, &pos, "pos"),
                              ox_nn_reshape(im, n, len, d4, 4));
        ValueId pm = ox_nn_where(im, n, keep, ox_scalar(im, n, IR_F32, 0.0),
                                 ox_scalar(im, n, IR_F32, -INFINITY)); /* [B, 1, 1, S] */
        *bias = *bias == IR_NONE ? pm : ox_bin(im, n, "add", *bias, pm);
    }
    return true;
}

/* Attention: softmax(Q K^T * scale + bias, softcapped) V over heads, with GQA (each KV
 * head serves q_num_heads / kv_num_heads query heads), past keys/values concatenated
 * (present_key / present_value outputs) and the qk_matmul_output output. 3-D inputs
 * [B, L, H*D] are split into heads and joined back. f16 is computed in f32. */
OxResult ox_op_attention(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1) || !ox_has_in(n, 2))
        return ox_unsupported(im, n, "needs Q, K and V");
    ValueId q = ox_in(im, n, 0), k = ox_in(im, n, 1), v = ox_in(im, n, 2);
    DType dt = ox_ty(im, q)->dtype;
    if (dt != IR_F32 && dt != IR_F16)
        return ox_unsupported(im, n, "only f32 and f16 inputs");
    int rank = ox_ty(im, q)->shape.rank;
    if ((rank != 3 && rank != 4) || ox_ty(im, k)->shape.rank != rank ||
        ox_ty(im, v)->shape.rank != rank)
        return ox_unsupported(im, n, "Q, K and V must all be 3-D or all 4-D");
    q = ox_nn_cast(im, n, q, IR_F32);
    k = ox_nn_cast(im, n, k, IR_F32);
    v = ox_nn_cast(im, n, v, IR_F32);
    if (rank == 3) {
        int64_t qh = ox_attr_int(n, "q_num_heads", 0), kvh = ox_attr_int(n, "kv_num_heads", 0);
        q = heads_split(im, n, q, qh);
        k = heads_split(im, n, k, kvh);
        v = heads_split(im, n, v, kvh);
        if (q == IR_NONE || k == IR_NONE || v == IR_NONE)
            return ox_unsupported(im, n,
                                  "3-D inputs need q_num_heads/kv_num_heads dividing a "
                                  "static hidden size");
    }
    /* q [B, Hq, L, D], k [B, Hkv, Sk, D], v [B, Hkv, Sk, Dv] */
    int64_t past = 0;
    if (ox_has_in(n, 4) != ox_has_in(n, 5))
        return ox_unsupported(im, n, "past_key and past_value must be given together");
    if (ox_has_in(n, 4)) {
        ValueId pk = ox_nn_cast(im, n, ox_in(im, n, 4), IR_F32);
        ValueId pv = ox_nn_cast(im, n, ox_in(im, n, 5), IR_F32);
        const Shape *ps = &ox_ty(im, pk)->shape;
        if (ps->rank != 4 || !ir_dim_static(ps->d[2]))
            return ox_unsupported(im, n, "past_key must be 4-D with a static length");
        past = ps->d[2].c;
        ValueId ck[2] = {pk, k}, cv[2] = {pv, v};
        k = ox_nn_concat(im, n, ck, 2, 2);
        v = ox_nn_concat(im, n, cv, 2, 2);
    }
    const Shape *qs = &ox_ty(im, q)->shape, *ks = &ox_ty(im, k)->shape;
    if (qs->rank != 4 || ks->rank != 4 || !ir_dim_static(qs->d[1]) || !ir_dim_static(qs->d[2]) ||
        !ir_dim_static(qs->d[3]) || !ir_dim_static(ks->d[1]) || !ir_dim_static(ks->d[2]))
        return ox_unsupported(im, n, "needs static head counts, sequence lengths and head size");
    int64_t hq = qs->d[1].c, hkv = ks->d[1].c, L = qs->d[2].c, S = ks->d[2].c, D = qs->d[3].c;
    if (hkv < 1 || hq % hkv)
        return ox_unsupported(im, n, "q heads (%lld) must be a multiple of kv heads (%lld)",
                              (long long)hq, (long long)hkv);
    Dim batch = qs->d[0];
    ValueId present_k = k, present_v = v;

    const Onnx__AttributeProto *sa = ox_attr(n, "scale");
    double scale = sa && sa->has_f ? sa->f : 1.0 / sqrt((double)D);
    float softcap = ox_attr_float(n, "softcap", 0.0f);
    int64_t mode = ox_attr_int(n, "qk_matmul_output_mode", 0);
    int64_t kt_perm[4] = {0, 1, 3, 2};
    ValueId kt = heads_repeat(im, n, ox_permute(im, n, k, kt_perm, 4), hq / hkv);
    ValueId vr = heads_repeat(im, n, v, hq / hkv);
    ValueId qk =
        ox_bin(im, n, "matmul", ox_bin(im, n, "mul", q, ox_scalar(im, n, IR_F32, scale)), kt);
    ValueId qk_out = qk; /* [B, Hq, L, S] */
    ValueId bias;
    if (!attention_bias(im, n, L, S, past, batch, &bias))
        return ox_unsupported(im, n, "attn_mask longer than the keys or with a symbolic length");
    if (bias != IR_NONE)
        qk = ox_bin(im, n, "add", qk, bias);
    if (mode == 1)
        qk_out = qk;
    if (softcap > 0.0f) {
        ValueId c = ox_scalar(im, n, IR_F32, softcap);
        qk = ox_bin(im, n, "mul", ox_un(im, n, "tanh", ox_bin(im, n, "div", qk, c)), c);
        if (mode == 2)
            qk_out = qk;
    }
    NodeId sid = ox_mk(im, n, "softmax", &qk, 1);
    if (sid == IR_NONE || qk == IR_NONE)
        return ox_no_ir_op(im, n, "softmax");
    ir_node_set_int(im->g, sid, "axis", 3);
    ValueId p = ox_done(im, sid);
    if (mode == 3)
        qk_out = p;
    ValueId y = ox_bin(im, n, "matmul", p, vr); /* [B, Hq, L, Dv] */
    if (rank == 3 && y != IR_NONE) {
        const Shape *ys = &ox_ty(im, y)->shape;
        if (ys->rank != 4 || !ir_dim_static(ys->d[3]))
            return OX_ERROR;
        int64_t perm[4] = {0, 2, 1, 3};
        Dim d3[3] = {batch, ir_dim(L), ir_dim(hq * ys->d[3].c)};
        y = ox_nn_reshape(im, n, ox_permute(im, n, y, perm, 4), d3, 3);
    }
    if (y == IR_NONE)
        return ox_unsupported(im, n, "a needed IR op is missing");
    ValueId outs[4] = {y, present_k, present_v, qk_out};
    for (int i = 0; i < 4 && i < n->n_out; i++)
        if (ox_wants(n, i))
            ox_bind_value(im, n->out[i], ox_nn_cast(im, n, ox_nn_copy(im, n, outs[i]), dt));
    return OX_OK;
}

/* ---- RotaryEmbedding ---- */

/* x [..., R] rotated by cos/sin [..., R/2] (broadcast): halves (x1, x2) or, interleaved,
 * even/odd entries: (x1 cos - x2 sin, x1 sin + x2 cos) put back the same way. */
static ValueId rotate(OxImporter *im, const OxNode *n, ValueId x, ValueId cs, ValueId sn,
                      int64_t rot, bool interleaved)
{
    const Shape *s = &ox_ty(im, x)->shape;
    int r = s->rank;
    int64_t half = rot / 2;
    ValueId x1 = interleaved ? ox_slice1(im, n, x, r - 1, 0, rot, 2)
                             : ox_slice1(im, n, x, r - 1, 0, half, 1);
    ValueId x2 = interleaved ? ox_slice1(im, n, x, r - 1, 1, rot, 2)
                             : ox_slice1(im, n, x, r - 1, half, rot, 1);
    ValueId re = ox_bin(im, n, "sub", ox_bin(im, n, "mul", cs, x1), ox_bin(im, n, "mul", sn, x2));
    ValueId imv = ox_bin(im, n, "add", ox_bin(im, n, "mul", sn, x1), ox_bin(im, n, "mul", cs, x2));
    if (re == IR_NONE || imv == IR_NONE)
        return IR_NONE;
    if (!interleaved) {
        ValueId parts[2] = {re, imv};
        return ox_nn_concat(im, n, parts, 2, r - 1);
    }
    Dim d[IR_MAX_RANK];
    const Shape *hs = &ox_ty(im, re)->shape;
    if (hs->rank + 1 > IR_MAX_RANK)
        return IR_NONE;
    for (int i = 0; i < hs->rank; i++)
        d[i] = hs->d[i];
    d[hs->rank] = ir_dim(1);
    ValueId parts[2] = {ox_nn_reshape(im, n, re, d, hs->rank + 1),
                        ox_nn_reshape(im, n, imv, d, hs->rank + 1)};
    ValueId pair = ox_nn_concat(im, n, parts, 2, hs->rank); /* [..., half, 2] */
    d[hs->rank - 1] = ir_dim(rot);
    return ox_nn_reshape(im, n, pair, d, hs->rank);
}

OxResult ox_op_rotary(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1) || !ox_has_in(n, 2))
        return ox_unsupported(im, n, "needs cos_cache and sin_cache");
    ValueId x = ox_in(im, n, 0), cs = ox_in(im, n, 1), sn = ox_in(im, n, 2);
    const Shape xs0 = ox_ty(im, x)->shape;
    if (ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "only f32 inputs");
    /* work on [B, H, S, D] (4-D input) or [B, S, H, D] (3-D input) */
    bool three = xs0.rank == 3;
    if (three) {
        int64_t h = ox_attr_int(n, "num_heads", 0);
        if (h < 1 || !ir_dim_static(xs0.d[2]) || xs0.d[2].c % h)
            return ox_unsupported(im, n, "3-D input needs num_heads dividing the hidden size");
        Dim d4[4] = {xs0.d[0], xs0.d[1], ir_dim(h), ir_dim(xs0.d[2].c / h)};
        x = ox_nn_reshape(im, n, x, d4, 4);
    } else if (xs0.rank != 4)
        return ox_unsupported(im, n, "the input must be 3-D or 4-D");
    const Shape *xs = &ox_ty(im, x)->shape;
    if (!ir_dim_static(xs->d[3]))
        return ox_unsupported(im, n, "symbolic head size");
    int64_t D = xs->d[3].c, rot = ox_attr_int(n, "rotary_embedding_dim", 0);
    if (rot == 0)
        rot = D;
    if (rot < 2 || rot > D || rot % 2)
        return ox_unsupported(im, n, "rotary_embedding_dim %lld", (long long)rot);
    bool interleaved = ox_attr_int(n, "interleaved", 0) != 0;
    /* cos/sin as [B, S, R/2] */
    if (ox_has_in(n, 3)) {
        ValueId pos = ox_in(im, n, 3);
        const Shape *ps = &ox_ty(im, pos)->shape;
        Dim total;
        if (ps->rank != 2 || !ir_shape_numel(ps, &total))
            return ox_unsupported(im, n, "position_ids must be [B, S]");
        ValueId flat = ox_nn_reshape(im, n, pos, &total, 1);
        ValueId *caches[2] = {&cs, &sn};
        for (int i = 0; i < 2; i++) {
            const Shape *c = &ox_ty(im, *caches[i])->shape;
            if (c->rank != 2)
                return ox_unsupported(im, n, "with position_ids the caches must be 2-D");
            ValueId ins[2] = {*caches[i], flat};
            NodeId id = ox_mk(im, n, "index_select", ins, 2);
            if (id == IR_NONE || flat == IR_NONE)
                return ox_no_ir_op(im, n, "index_select");
            ir_node_set_int(im->g, id, "axis", 0);
            Dim d3[3] = {ps->d[0], ps->d[1], c->d[1]};
            *caches[i] = ox_nn_reshape(im, n, ox_done(im, id), d3, 3);
        }
    }
    const Shape *cshape = &ox_ty(im, cs)->shape;
    if (cshape->rank != 3 || !ir_dim_eq(cshape->d[2], ir_dim(rot / 2)))
        return ox_unsupported(im, n, "the caches must be [B, S, rotary_dim / 2]");
    /* broadcast over heads: [B, 1, S, R/2] (4-D) or [B, S, 1, R/2] (3-D) */
    Dim d4[4] = {cshape->d[0], cshape->d[1], cshape->d[1], cshape->d[2]};
    d4[three ? 2 : 1] = ir_dim(1);
    cs = ox_nn_reshape(im, n, cs, d4, 4);
    sn = ox_nn_reshape(im, n, sn, d4, 4);
    ValueId xr = rot < D ? ox_slice1(im, n, x, 3, 0, rot, 1) : x;
    ValueId y = rotate(im, n, xr, cs, sn, rot, interleaved);
    if (rot < D) {
        ValueId parts[2] = {y, ox_slice1(im, n, x, 3, rot, D, 1)};
        y = ox_nn_concat(im, n, parts, 2, 3);
    }
    if (three)
        y = ox_nn_reshape(im, n, y, xs0.d, 3);
    return y == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing") : ox_out(im, n, y);
}

#endif
