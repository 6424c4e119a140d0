/* ONNX RNN, GRU and LSTM, unrolled over a static sequence into IR ops that exist: per
 * direction (forward, reverse, or both) and step, a matmul with R^T and the gate equations
 * of the ONNX definitions (X W^T is one matmul over all steps). sequence_lens, when given,
 * is a constant: a batch entry past its length keeps its state and outputs zeros, as ONNX
 * Runtime does, through a where with a constant [B, 1] mask at the steps where some entry
 * has ended; the reverse direction of an entry then starts at its own last step. Outputs Y
 * [T, D, B, H], Y_h and Y_c [D, B, H] (layout 1: [B, T, D, H] and [B, D, H]). Activations
 * Sigmoid, Tanh and Relu; every other attribute value is refused by name. Dispatched from
 * frontend/onnx_ops_nn.c. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <stdio.h>
#include <string.h>

/* Joins vals along axis, in concat nodes of at most 8 inputs. */
static ValueId concat_many(OxImporter *im, const OxNode *n, const ValueId *vals, int k,
                           int64_t axis)
{
    ValueId acc = IR_NONE;
    for (int i = 0; i < k;) {
        ValueId ins[8];
        int j = 0;
        if (acc != IR_NONE)
            ins[j++] = acc;
        while (j < 8 && i < k)
            ins[j++] = vals[i++];
        acc = j == 1 ? ins[0] : ox_nn_concat(im, n, ins, j, axis);
    }
    return acc;
}

/* Columns [k*h, (k+1)*h) of v [B, G*h] (gate k). */
static ValueId gate(OxImporter *im, const OxNode *n, ValueId v, int64_t k, int64_t h)
{
    return ox_slice1(im, n, v, 1, k * h, (k + 1) * h, 1);
}

/* Direction d of p (its direction axis ax: [..., D, ...]) as [rows, cols]. */
static ValueId rnn_param(OxImporter *im, const OxNode *n, ValueId p, int64_t ax, int64_t d,
                         int64_t rows, int64_t cols)
{
    Dim dims[2] = {ir_dim(rows), ir_dim(cols)};
    return ox_nn_reshape(im, n, ox_slice1(im, n, p, ax, d, d + 1, 1), dims, 2);
}

/* The IR op of ONNX activation name s, NULL for one slimc does not take. */
static const char *activation_op(const char *s)
{
    static const char *const map[][2] = {
        {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}, {"Relu", "relu"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i][0]))
            return map[i][1];
    return NULL;
}

/* What one direction of the unrolled cell needs. */
typedef struct RnnDir {
    int kind;                   /* 0 RNN, 1 GRU, 2 LSTM */
    int64_t H;                  /* hidden size */
    bool lbr;                   /* GRU: linear_before_reset */
    const char *act[3];         /* f, g, h: IR ops */
    ValueId rt, rt_zr, rt_h;    /* R^T [H, G*H]; GRU: its z/r columns and h columns */
    ValueId rbias, rb_zr, rb_h; /* R's bias [G*H] (IR_NONE without B); GRU: split */
    ValueId p[3];               /* LSTM peepholes i, o, f [H] (IR_NONE without P) */
} RnnDir;

/* One step: xt [B, G*H] (X W^T + Wb at step t), *h and *c [B, H] updated. */
static void rnn_step(OxImporter *im, const OxNode *n, const RnnDir *r, ValueId xt, ValueId *h,
                     ValueId *c)
{
    int64_t H = r->H;
    if (r->kind == 0) {
        ValueId g = ox_bin(im, n, "add", xt, ox_bin(im, n, "matmul", *h, r->rt));
        *h = ox_un(im, n, r->act[0], r->rbias != IR_NONE ? ox_bin(im, n, "add", g, r->rbias) : g);
    } else if (r->kind == 1) {
        ValueId hr = ox_bin(im, n, "matmul", *h, r->rt_zr);
        if (r->rb_zr != IR_NONE)
            hr = ox_bin(im, n, "add", hr, r->rb_zr);
        ValueId zr =
            ox_un(im, n, r->act[0], ox_bin(im, n, "add", ox_slice1(im, n, xt, 1, 0, 2 * H, 1), hr));
        ValueId z = gate(im, n, zr, 0, H), rg = gate(im, n, zr, 1, H);
        ValueId hh = ox_bin(im, n, "matmul", r->lbr ? *h : ox_bin(im, n, "mul", rg, *h), r->rt_h);
        if (r->rb_h != IR_NONE)
            hh = ox_bin(im, n, "add", hh, r->rb_h);
        if (r->lbr)
            hh = ox_bin(im, n, "mul", rg, hh);
        hh = ox_un(im, n, r->act[1], ox_bin(im, n, "add", gate(im, n, xt, 2, H), hh));
        /* (1 - z) hh + z h */
        *h = ox_bin(im, n, "add", hh, ox_bin(im, n, "mul", z, ox_bin(im, n, "sub", *h, hh)));
    } else {
        ValueId g = ox_bin(im, n, "add", xt, ox_bin(im, n, "matmul", *h, r->rt));
        if (r->rbias != IR_NONE)
            g = ox_bin(im, n, "add", g, r->rbias);
        ValueId gi = gate(im, n, g, 0, H), go = gate(im, n, g, 1, H), gf = gate(im, n, g, 2, H);
        if (r->p[0] != IR_NONE) {
            gi = ox_bin(im, n, "add", gi, ox_bin(im, n, "mul", r->p[0], *c));
            gf = ox_bin(im, n, "add", gf, ox_bin(im, n, "mul", r->p[2], *c));
        }
        ValueId ig = ox_un(im, n, r->act[0], gi), fg = ox_un(im, n, r->act[0], gf);
        ValueId cc = ox_un(im, n, r->act[1], gate(im, n, g, 3, H));
        *c = ox_bin(im, n, "add", ox_bin(im, n, "mul", fg, *c), ox_bin(im, n, "mul", ig, cc));
        if (r->p[1] != IR_NONE)
            go = ox_bin(im, n, "add", go, ox_bin(im, n, "mul", r->p[1], *c));
        *h = ox_bin(im, n, "mul", ox_un(im, n, r->act[0], go), ox_un(im, n, r->act[2], *c));
    }
}

/* Checks the attributes; fills the activations of each direction (nd of them, na per
 * direction) in act. OX_OK, or the refusal naming the attribute and value. */
static OxResult rnn_attrs(OxImporter *im, const OxNode *n, int kind, int nd, const char *act[2][3])
{
    static const char *const defaults[3][3] = {
        {"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    int na = kind + 1;
    const Onnx__AttributeProto *a = ox_attr(n, "activations");
    if (a && (int)a->n_strings != na * nd)
        return ox_unsupported(im, n, "activations: %d given, %d expected (%d per direction)",
                              (int)a->n_strings, na * nd, na);
    for (int d = 0; d < nd; d++)
        for (int k = 0; k < na; k++) {
            char name[64] = "";
            if (a) {
                const ProtobufCBinaryData *s = &a->strings[d * na + k];
                size_t len = s->len < sizeof name - 1 ? s->len : sizeof name - 1;
                memcpy(name, s->data, len);
                name[len] = 0;
            } else {
                strcpy(name, defaults[kind][k]);
            }
            act[d][k] = activation_op(name);
            if (!act[d][k])
                return ox_unsupported(
                    im, n, "activation '%.40s' (slimc takes Sigmoid, Tanh and Relu)", name);
        }
    if (ox_attr(n, "clip"))
        return ox_unsupported(im, n, "the clip attribute (a cell clip threshold)");
    if (ox_attr_int(n, "input_forget", 0) != 0)
        return ox_unsupported(im, n, "input_forget=%lld (coupled input and forget gates)",
                              (long long)ox_attr_int(n, "input_forget", 0));
    int64_t layout = ox_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1)
        return ox_unsupported(im, n, "layout=%lld (ONNX defines 0 and 1)", (long long)layout);
    return OX_OK;
}

/* The constant [B, 1] mask of the batch entries still in their sequence at step t (lens
 * from sequence_lens), or IR_NONE when all are. */
static ValueId step_mask(OxImporter *im, const OxNode *n, const OxConst *lens, int64_t B, int64_t t)
{
    bool all = true;
    for (int64_t b = 0; lens && b < B; b++)
        all = all && ox_const_get_i(lens, b) > t;
    if (all)
        return IR_NONE;
    int64_t shape[2] = {B, 1};
    OxConst m;
    if (!ox_const_make(im, &m, IR_BOOL, 2, shape))
        return IR_NONE;
    for (int64_t b = 0; b < B; b++)
        ox_const_set(&m, b, ox_const_get_i(lens, b) > t ? 1.0 : 0.0);
    return ox_nn_const_value(im, n, &m, ir_arena_printf(im->g->arena, "mask%lld", (long long)t));
}

/* Whether input i of n, when present, has the static shape want (rank dims); reports the
 * mismatch naming the input (what) otherwise. */
static bool input_shape_is(OxImporter *im, const OxNode *n, int i, const char *what,
                           const int64_t *want, int rank)
{
    if (!ox_has_in(n, i))
        return true;
    const Shape *s = &ox_ty(im, ox_in(im, n, i))->shape;
    bool same = s->rank == rank;
    for (int k = 0; same && k < rank; k++)
        same = ir_dim_static(s->d[k]) && s->d[k].c == want[k];
    if (!same) {
        char buf[128];
        int len = 0;
        for (int k = 0; k < rank && len < 100; k++)
            len += snprintf(buf + len, sizeof buf - (size_t)len, k ? ", %lld" : "%lld",
                            (long long)want[k]);
        ir_diag_error(im->d, n->loc, "node '%s' (%s): %s is not of shape [%s]", n->name,
                      n->p->op_type, what, buf);
    }
    return same;
}

OxResult ox_op_recurrent(OxImporter *im, OxNode *n, int kind)
{
    int64_t G = kind == 0 ? 1 : kind == 1 ? 3 : 4;
    if (!ox_has_in(n, 1) || !ox_has_in(n, 2))
        return ox_unsupported(im, n, "needs W and R");
    const char *dir = ox_attr_string(im, n, "direction", "forward");
    int nd = !strcmp(dir, "bidirectional") ? 2 : 1;
    bool reverse_only = !strcmp(dir, "reverse");
    if (nd == 1 && !reverse_only && strcmp(dir, "forward") != 0)
        return ox_unsupported(im, n,
                              "direction '%.40s' (ONNX defines forward, reverse and "
                              "bidirectional)",
                              dir);
    const char *act[2][3];
    OxResult ar = rnn_attrs(im, n, kind, nd, act);
    if (ar != OX_OK)
        return ar;
    bool batch_first = ox_attr_int(n, "layout", 0) != 0;
    ValueId x = ox_in(im, n, 0), w = ox_in(im, n, 1), rr = ox_in(im, n, 2);
    const Shape *xs = &ox_ty(im, x)->shape, *rs = &ox_ty(im, rr)->shape;
    if (xs->rank == 3 && ox_ty(im, x)->dtype == IR_F32 && !ir_shape_static(xs))
        return ox_unsupported_symbolic(im, n, "X (the steps are unrolled)");
    if (xs->rank != 3 || ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "X must be f32 [T, B, I] (layout 1: [B, T, I])");
    int64_t H = ox_attr_int(n, "hidden_size", rs->rank == 3 ? rs->d[2].c : 0);
    int64_t T = xs->d[batch_first ? 1 : 0].c, B = xs->d[batch_first ? 0 : 1].c, I = xs->d[2].c;
    if (H < 1 || rs->rank != 3 || rs->d[0].c != nd || rs->d[1].c != G * H || rs->d[2].c != H)
        return ox_unsupported(im, n,
                              "R is not [%d, %lld, %lld] (num_directions, %lld*hidden_size, "
                              "hidden_size)",
                              nd, (long long)(G * H), (long long)H, (long long)G);
    if (T < 1 || T > 512)
        return ox_unsupported(im, n, "sequence length %lld (unrolled: 1 to 512)", (long long)T);
    const OxConst *lens = ox_need_const(im, n, 4);
    if (ox_has_in(n, 4) && !lens)
        return ox_unsupported(im, n, "sequence_lens computed at run time");
    if (lens && ox_const_numel(lens) != B)
        return ox_unsupported(im, n, "sequence_lens has %lld entries for a batch of %lld",
                              (long long)ox_const_numel(lens), (long long)B);
    for (int64_t b = 0; lens && b < B; b++) {
        int64_t l = ox_const_get_i(lens, b);
        if (l < 1 || l > T)
            return ox_unsupported(im, n, "sequence_lens[%lld] = %lld (slimc takes 1 to %lld)",
                                  (long long)b, (long long)l, (long long)T);
    }
    int64_t ws[3] = {nd, G * H, I}, bs[2] = {nd, 2 * G * H}, ps[2] = {nd, 3 * H};
    int64_t hs[3] = {batch_first ? B : nd, batch_first ? nd : B, H};
    bool shapes_ok = input_shape_is(im, n, 1, "W", ws, 3);
    shapes_ok = input_shape_is(im, n, 3, "B", bs, 2) && shapes_ok;
    shapes_ok = input_shape_is(im, n, 5, "initial_h", hs, 3) && shapes_ok;
    shapes_ok = (kind != 2 || input_shape_is(im, n, 6, "initial_c", hs, 3)) && shapes_ok;
    shapes_ok = (kind != 2 || input_shape_is(im, n, 7, "P", ps, 2)) && shapes_ok;
    if (!shapes_ok)
        return OX_ERROR;
    int64_t tperm[3] = {1, 0, 2}, t2[2] = {1, 0};
    if (batch_first)
        x = ox_permute(im, n, x, tperm, 3); /* [T, B, I] */
    Dim bg[2] = {ir_dim(B), ir_dim(G * H)};
    Dim y4[4] = {ir_dim(1), ir_dim(1), ir_dim(B), ir_dim(H)},
        d3[3] = {ir_dim(1), ir_dim(B), ir_dim(H)};
    int64_t zshape[2] = {B, H};
    OxConst zc;
    if (!ox_const_make(im, &zc, IR_F32, 2, zshape))
        return OX_ERROR;
    ValueId zero = ox_nn_const_value(im, n, &zc, "zero");
    ValueId *masks = ir_arena_alloc(im->g->arena, sizeof(ValueId) * (size_t)T);
    for (int64_t t = 0; t < T; t++)
        masks[t] = step_mask(im, n, lens, B, t);
    ValueId ydir[2], hdir[2], cdir[2];
    ValueId *ys = ir_arena_alloc(im->g->arena, sizeof(ValueId) * (size_t)T);
    int64_t hax = batch_first ? 1 : 0; /* the direction axis of initial_h/c */
    for (int d = 0; d < nd; d++) {
        bool rev = reverse_only || d == 1;
        RnnDir r = {kind,
                    H,
                    ox_attr_int(n, "linear_before_reset", 0) != 0,
                    {act[d][0], act[d][kind >= 1 ? 1 : 0], act[d][kind == 2 ? 2 : 0]},
                    IR_NONE,
                    IR_NONE,
                    IR_NONE,
                    IR_NONE,
                    IR_NONE,
                    IR_NONE,
                    {IR_NONE, IR_NONE, IR_NONE}};
        ValueId wt = ox_permute(im, n, rnn_param(im, n, w, 0, d, G * H, I), t2, 2); /* [I, GH] */
        r.rt = ox_permute(im, n, rnn_param(im, n, rr, 0, d, G * H, H), t2, 2);      /* [H, GH] */
        ValueId xw = ox_bin(im, n, "matmul", x, wt);                                /* [T, B, GH] */
        if (ox_has_in(n, 3)) {
            ValueId bb = rnn_param(im, n, ox_in(im, n, 3), 0, d, 1, 2 * G * H);
            Dim d1 = ir_dim(G * H);
            xw = ox_bin(im, n, "add", xw,
                        ox_nn_reshape(im, n, ox_slice1(im, n, bb, 1, 0, G * H, 1), &d1, 1));
            r.rbias = ox_nn_reshape(im, n, ox_slice1(im, n, bb, 1, G * H, 2 * G * H, 1), &d1, 1);
        }
        ValueId h = ox_has_in(n, 5) ? rnn_param(im, n, ox_in(im, n, 5), hax, d, B, H) : zero;
        ValueId c = ox_has_in(n, 6) ? rnn_param(im, n, ox_in(im, n, 6), hax, d, B, H) : zero;
        if (kind == 2 && ox_has_in(n, 7)) {
            ValueId pp = rnn_param(im, n, ox_in(im, n, 7), 0, d, 1, 3 * H);
            for (int k = 0; k < 3; k++)
                r.p[k] = gate(im, n, pp, k, H);
        }
        if (kind == 1) { /* R's z/r columns and h columns apart: r multiplies before or after */
            r.rt_zr = ox_slice1(im, n, r.rt, 1, 0, 2 * H, 1);
            r.rt_h = ox_slice1(im, n, r.rt, 1, 2 * H, 3 * H, 1);
            if (r.rbias != IR_NONE) {
                r.rb_zr = ox_slice1(im, n, r.rbias, 0, 0, 2 * H, 1);
                r.rb_h = ox_slice1(im, n, r.rbias, 0, 2 * H, 3 * H, 1);
            }
        }
        for (int64_t s = 0; s < T; s++) {
            int64_t t = rev ? T - 1 - s : s;
            ValueId xt =
                ox_nn_reshape(im, n, ox_slice1(im, n, xw, 0, t, t + 1, 1), bg, 2); /* [B, GH] */
            ValueId h1 = h, c1 = c;
            rnn_step(im, n, &r, xt, &h1, &c1);
            if (h1 == IR_NONE || c1 == IR_NONE)
                return ox_unsupported(im, n, "a needed IR op is missing");
            ValueId yt = h1;
            if (masks[t] != IR_NONE) { /* entries past their length keep h and c, output 0 */
                yt = ox_nn_where(im, n, masks[t], h1, zero);
                h1 = ox_nn_where(im, n, masks[t], h1, h);
                if (kind == 2)
                    c1 = ox_nn_where(im, n, masks[t], c1, c);
            }
            h = h1;
            c = c1;
            ys[t] = ox_wants(n, 0) ? ox_nn_reshape(im, n, yt, y4, 4) : IR_NONE;
        }
        ydir[d] = ox_wants(n, 0) ? concat_many(im, n, ys, (int)T, 0) : IR_NONE; /* [T,1,B,H] */
        hdir[d] = ox_nn_reshape(im, n, h, d3, 3);                               /* [1, B, H] */
        cdir[d] = ox_nn_reshape(im, n, c, d3, 3);
    }
    int64_t yperm[4] = {2, 0, 1, 3}, sperm[3] = {1, 0, 2};
    if (ox_wants(n, 0)) {
        ValueId y = concat_many(im, n, ydir, nd, 1); /* [T, D, B, H] */
        if (batch_first)
            y = ox_permute(im, n, y, yperm, 4); /* [B, T, D, H] */
        ox_bind_value(im, n->out[0], ox_nn_copy(im, n, y));
    }
    for (int k = 1; k <= (kind == 2 ? 2 : 1); k++) {
        if (n->n_out <= k || !ox_wants(n, k))
            continue;
        ValueId s = concat_many(im, n, k == 1 ? hdir : cdir, nd, 0); /* [D, B, H] */
        if (batch_first)
            s = ox_permute(im, n, s, sperm, 3); /* [B, D, H] */
        ox_bind_value(im, n->out[k], ox_nn_copy(im, n, s));
    }
    return OX_OK;
}

#endif
