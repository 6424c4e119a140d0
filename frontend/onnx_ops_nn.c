/* ONNX ops of networks, training graphs and signal processing, lowered to IR ops that
 * exist: Attention (opset 23/24), NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, Trilu,
 * RotaryEmbedding, CenterCropPad, Einsum, EyeLike, the Hann/Hamming/Blackman windows,
 * OneHot, Compress, Tile, LRN, DFT, STFT, AffineGrid, ReverseSequence, Col2Im, MaxUnpool,
 * Det (up to 3x3), MelWeightMatrix, and Range / ConstantOfShape
 * whose inputs are graph inputs. Each is a decomposition: one-hots by comparison with an
 * index constant, masks and transforms (causal mask, DFT matrices, gathers) built as
 * constants when the shapes are static, so no new IR op or kernel is needed. Reference
 * semantics: onnx/reference/ops of the pinned onnx package. Attention and RotaryEmbedding
 * are frontend/onnx_ops_attention.c's; RNN, GRU and LSTM frontend/onnx_ops_rnn.c's; If
 * frontend/onnx_ops_if.c's. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <string.h>

/* ---- helpers ---- */

/* A constant of dtype dt and static shape (rank dims) from c, added to the graph. */
ValueId ox_nn_const_value(OxImporter *im, const OxNode *n, const OxConst *c, const char *what)
{
    Type t = {c->dtype, {c->rank, {{0}}}, NULL};
    for (int i = 0; i < c->rank; i++)
        t.shape.d[i] = ir_dim(c->shape[i]);
    return ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.%s", n->ir_name, what), t, c->data,
                        c->nbytes, n->loc);
}

ValueId ox_nn_cast(OxImporter *im, const OxNode *n, ValueId v, DType dt)
{
    if (v == IR_NONE || ox_ty(im, v)->dtype == dt)
        return v;
    NodeId id = ox_mk(im, n, "cast", &v, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_int(im->g, id, "dtype", dt);
    return ox_done(im, id);
}

ValueId ox_nn_where(OxImporter *im, const OxNode *n, ValueId c, ValueId a, ValueId b)
{
    ValueId ins[3] = {c, a, b};
    if (c == IR_NONE || a == IR_NONE || b == IR_NONE)
        return IR_NONE;
    NodeId id = ox_mk(im, n, "where", ins, 3);
    return id == IR_NONE ? IR_NONE : ox_done(im, id);
}

static ValueId nn_reduce(OxImporter *im, const OxNode *n, const char *op, ValueId v,
                         const int64_t *axes, int k, bool keep)
{
    if (v == IR_NONE)
        return IR_NONE;
    NodeId id = ox_mk(im, n, op, &v, 1);
    if (id == IR_NONE)
        return IR_NONE;
    if (k > 0)
        ir_node_set_ints(im->g, id, "axes", axes, k);
    ir_node_set_int(im->g, id, "keepdim", keep);
    return ox_done(im, id);
}

ValueId ox_nn_concat(OxImporter *im, const OxNode *n, const ValueId *ins, int k, int64_t axis)
{
    for (int i = 0; i < k; i++)
        if (ins[i] == IR_NONE)
            return IR_NONE;
    NodeId id = ox_mk(im, n, "concat", ins, k);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_int(im->g, id, "axis", axis);
    return ox_done(im, id);
}

/* v reshaped to the rank dims in d. */
ValueId ox_nn_reshape(OxImporter *im, const OxNode *n, ValueId v, const Dim *d, int rank)
{
    if (v == IR_NONE)
        return IR_NONE;
    Shape s = {rank, {{0}}};
    for (int i = 0; i < rank; i++)
        s.d[i] = d[i];
    return ox_reshape_to(im, n, v, &s);
}

/* A computed copy of v (an output may not be a graph input or a constant). */
ValueId ox_nn_copy(OxImporter *im, const OxNode *n, ValueId v)
{
    if (v == IR_NONE || im->g->values[v].kind == IR_VALUE_TEMP)
        return v;
    if (ox_ty(im, v)->shape.rank > 0)
        return ox_slice1(im, n, v, 0, 0, INT64_MAX, 1);
    Dim one = ir_dim(1); /* a 0-d value: sliced as [1] */
    return ox_nn_reshape(im, n, ox_slice1(im, n, ox_nn_reshape(im, n, v, &one, 1), 0, 0, 1, 1),
                         NULL, 0);
}

/* ---- Trilu ---- */

/* The Trilu mask of symbolic R x C: (j - i >= k) for upper, (j - i <= k) for lower, from
 * iotas i [R, 1] and j [1, C] (PyTorch's causal mask torch.triu(full((T, T), -inf), 1) over
 * a symbolic sequence); IR_NONE when a dim is not one an iota can take. */
static ValueId trilu_mask_sym(OxImporter *im, const OxNode *n, Dim R, Dim C, int64_t k, bool upper)
{
    ValueId i = ox_sym_iota(im, n, R, IR_I64), j = ox_sym_iota(im, n, C, IR_I64);
    Dim rc;
    if (i == IR_NONE || j == IR_NONE ||
        (!ir_dim_mul(R, C, &rc) && !ir_dim_mul_any(im->g, R, C, &rc)))
        return IR_NONE; /* R * C (T * T) interned as a derived dim: the mask's size */
    Dim rs[2] = {R, ir_dim(1)}, cs[2] = {ir_dim(1), C};
    ValueId diff = ox_bin(im, n, "sub", ox_nn_reshape(im, n, j, cs, 2),
                          ox_nn_reshape(im, n, i, rs, 2)); /* [R, C]: j - i */
    return ox_bin(im, n, upper ? "ge" : "le", diff, ox_scalar(im, n, IR_I64, (double)k));
}

/* Trilu(x [..., R, C], k): where(mask, x, 0) with the mask a bool constant [R, C] (computed
 * from iotas when R or C is symbolic). */
static OxResult op_trilu(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Type *t = ox_ty(im, x);
    int r = t->shape.rank;
    if (r < 2)
        return ox_unsupported(im, n, "needs rank >= 2");
    int64_t k = 0;
    if (ox_has_in(n, 1)) {
        const OxConst *ck = ox_need_const(im, n, 1);
        if (!ck)
            return ox_unsupported(im, n, "k computed at run time");
        k = ox_const_get_i(ck, 0);
    }
    bool upper = ox_attr_int(n, "upper", 1) != 0;
    if (!ir_dim_static(t->shape.d[r - 2]) || !ir_dim_static(t->shape.d[r - 1])) {
        ValueId mask = trilu_mask_sym(im, n, t->shape.d[r - 2], t->shape.d[r - 1], k, upper);
        if (mask == IR_NONE)
            return ox_unsupported_symbolic(im, n, "a Trilu of these symbolic sizes");
        ValueId y = ox_nn_where(im, n, mask, x, ox_scalar(im, n, t->dtype, 0));
        return y == IR_NONE ? ox_no_ir_op(im, n, "where") : ox_out(im, n, y);
    }
    int64_t shape[2] = {t->shape.d[r - 2].c, t->shape.d[r - 1].c};
    OxConst m;
    if (!ox_const_make(im, &m, IR_BOOL, 2, shape))
        return OX_ERROR;
    for (int64_t i = 0; shape[1] > 0 && i < shape[0]; i++) /* [2^40, 0]: no rows to visit */
        for (int64_t j = 0; j < shape[1]; j++)
            ox_const_set(&m, i * shape[1] + j, upper ? j - i >= k : j - i <= k);
    ValueId y =
        ox_nn_where(im, n, ox_nn_const_value(im, n, &m, "mask"), x, ox_scalar(im, n, t->dtype, 0));
    return y == IR_NONE ? ox_no_ir_op(im, n, "where") : ox_out(im, n, y);
}

/* ---- NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss ---- */

/* The loss of logp [N, C, d...] (log-probabilities) at target [N, d...] (integer):
 * loss = -logp[n, t, d...] * w[t], with w the weight (ones when absent) and w[ignore_index]
 * = 0. The gather is a one-hot (target == class index constant) times logp, summed over C;
 * a target outside [0, C) (only ignore_index may be) selects nothing. reduction: none, sum,
 * or mean = sum(loss) / sum(w[t]). Binds output 0. */
static OxResult nll_loss(OxImporter *im, OxNode *n, ValueId logp, ValueId target, ValueId weight)
{
    const Shape *xs = &ox_ty(im, logp)->shape, *ts = &ox_ty(im, target)->shape;
    int r = xs->rank;
    if (ox_ty(im, logp)->dtype != IR_F32)
        return ox_unsupported(im, n, "only f32 inputs");
    if (r < 2 || ts->rank != r - 1 || !ir_dim_static(xs->d[1]))
        return ox_unsupported(im, n, "needs input [N, C, ...] with a static C and target [N, ...]");
    DType tdt = ox_ty(im, target)->dtype;
    if (tdt != IR_I64 && tdt != IR_I32)
        return ox_unsupported(im, n, "the target must be int64 or int32");
    int64_t C = xs->d[1].c;
    const char *red = ox_attr_string(im, n, "reduction", "mean");
    if (strcmp(red, "none") != 0 && strcmp(red, "sum") != 0 && strcmp(red, "mean") != 0)
        return ox_unsupported(im, n, "reduction '%s'", red);
    bool has_ii = ox_attr(n, "ignore_index") != NULL;
    int64_t ii = ox_attr_int(n, "ignore_index", 0);

    /* classes [1, C, 1, ...] and the target as [N, 1, d...] */
    int64_t cshape[IR_MAX_RANK];
    for (int i = 0; i < r; i++)
        cshape[i] = i == 1 ? C : 1;
    OxConst cls;
    if (!ox_const_make(im, &cls, tdt, r, cshape))
        return OX_ERROR;
    for (int64_t c = 0; c < C; c++)
        ox_const_set(&cls, c, (double)c);
    Dim td[IR_MAX_RANK];
    td[0] = ts->d[0];
    td[1] = ir_dim(1);
    for (int i = 1; i < ts->rank; i++)
        td[i + 1] = ts->d[i];
    ValueId t1 = ox_nn_reshape(im, n, target, td, r);
    ValueId onehot =
        ox_nn_cast(im, n, ox_bin(im, n, "eq", t1, ox_nn_const_value(im, n, &cls, "classes")),
                   IR_F32); /* [N, C, d...] */

    /* the class weights [1, C, 1, ...], ignore_index's zeroed */
    bool weighted = weight != IR_NONE || (has_ii && ii >= 0 && ii < C);
    ValueId w = IR_NONE;
    if (weighted) {
        OxConst keep;
        if (!ox_const_make(im, &keep, IR_F32, r, cshape))
            return OX_ERROR;
        for (int64_t c = 0; c < C; c++)
            ox_const_set(&keep, c, has_ii && c == ii ? 0.0 : 1.0);
        w = ox_nn_const_value(im, n, &keep, "keep");
        if (weight != IR_NONE) {
            if (ox_ty(im, weight)->shape.rank != 1)
                return ox_unsupported(im, n, "the weight must be 1-D");
            Dim wd[IR_MAX_RANK];
            for (int i = 0; i < r; i++)
                wd[i] = ir_dim(cshape[i]);
            w = ox_bin(im, n, "mul", w,
                       ox_nn_reshape(im, n, ox_nn_cast(im, n, weight, IR_F32), wd, r));
        }
        onehot = ox_bin(im, n, "mul", onehot, w);
    }
    int64_t ax1 = 1;
    ValueId loss = ox_un(im, n, "neg",
                         nn_reduce(im, n, "reduce_sum", ox_bin(im, n, "mul", onehot, logp), &ax1, 1,
                                   false)); /* [N, d...] */
    if (!strcmp(red, "sum"))
        loss = nn_reduce(im, n, "reduce_sum", loss, NULL, 0, false);
    else if (!strcmp(red, "mean")) {
        ValueId total = nn_reduce(im, n, "reduce_sum", loss, NULL, 0, false);
        /* without weights every target counts once (ignored targets select nothing and
         * are not counted: the one-hot row is zero) */
        ValueId count =
            weighted || has_ii ? nn_reduce(im, n, "reduce_sum", onehot, NULL, 0, false) : IR_NONE;
        loss = count != IR_NONE ? ox_bin(im, n, "div", total, count)
                                : nn_reduce(im, n, "reduce_mean", loss, NULL, 0, false);
    }
    return loss == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing")
                           : ox_out(im, n, loss);
}

static OxResult op_nll(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs the target input");
    return nll_loss(im, n, ox_in(im, n, 0), ox_in(im, n, 1), ox_in(im, n, 2));
}

static OxResult op_sce(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs the labels input");
    ValueId x = ox_in(im, n, 0);
    if (ox_ty(im, x)->shape.rank < 2)
        return ox_unsupported(im, n, "the scores must have rank >= 2");
    NodeId id = ox_mk(im, n, "log_softmax", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "log_softmax");
    ir_node_set_int(im->g, id, "axis", 1);
    ValueId logp = ox_done(im, id);
    OxResult res = nll_loss(im, n, logp, ox_in(im, n, 1), ox_in(im, n, 2));
    if (res == OX_OK && ox_wants(n, 1))
        ox_bind_value(im, n->out[1], logp);
    return res;
}

/* ---- CenterCropPad ---- */

/* ---- Einsum ---- */

/* Index codes of an einsum term: letters 0..51, the dims of "..." 52 and up (aligned to the
 * right across operands: an operand with fewer of them broadcasts). */
enum { EIN_ELL = 52, EIN_MAX = EIN_ELL + IR_MAX_RANK };

static int ein_letter(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* Parses term [b, e) for an operand of rank (-1 for the output, whose "..." has ell dims);
 * codes out, returns the count or -1. *ell_n gets the operand's "..." dim count. */
static int ein_term(const char *b, const char *e, int rank, int ell, int *codes, int *ell_n)
{
    int letters = 0;
    bool has_ell = false;
    for (const char *p = b; p < e; p++) {
        if (ein_letter(*p) >= 0)
            letters++;
        else if (!has_ell && p + 3 <= e && !strncmp(p, "...", 3)) {
            has_ell = true;
            p += 2;
        } else
            return -1;
    }
    int en = rank >= 0 ? rank - letters : (has_ell ? ell : 0);
    if (en < 0 || (!has_ell && en != 0) || letters + en > IR_MAX_RANK)
        return -1;
    *ell_n = en;
    int k = 0;
    for (const char *p = b; p < e; p++) {
        if (*p == '.') {
            for (int j = 0; j < en; j++)
                codes[k++] = EIN_ELL + (ell - en) + j;
            p += 2;
        } else
            codes[k++] = ein_letter(*p);
    }
    return k;
}

/* Reshapes v to [d[0..nb), the product of d[nb..nb+k0), the product of the next k1] (one
 * group dropped when its count is -1); false when a product cannot be a Dim. */
static bool ein_group(OxImporter *im, const OxNode *n, ValueId *v, const Dim *d, int nb, int k0,
                      int k1)
{
    Dim t[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < nb; i++)
        t[r++] = d[i];
    int at = nb;
    for (int g = 0; g < 2; g++) {
        int k = g ? k1 : k0;
        if (k < 0)
            continue;
        Dim p = ir_dim(1);
        for (int i = 0; i < k; i++)
            if (!ir_dim_mul(p, d[at + i], &p))
                return false;
        at += k;
        t[r++] = p;
    }
    if (r != ox_ty(im, *v)->shape.rank)
        *v = ox_nn_reshape(im, n, *v, t, r);
    else
        for (int i = 0; i < r; i++)
            if (!ir_dim_eq(t[i], ox_ty(im, *v)->shape.d[i])) {
                *v = ox_nn_reshape(im, n, *v, t, r);
                break;
            }
    return *v != IR_NONE;
}

/* Einsum of two f32 operands as one batched matmul (attention's "bhid,bhjd->bhij", a
 * projection "bsd,dk->bsk"): indices in both operands and the output are the batch, in
 * both and not the output contracted, in one operand and the output its free indices.
 * Each operand is permuted to [batch, free, contracted] ([batch, contracted, free] for the
 * second) and reshaped to 3 groups, so symbolic dims stay symbolic. IR_NONE when the
 * equation is not of that form (an index repeated in an operand, summed in one operand
 * only, of different sizes in the two): the general lowering below takes it. */
static ValueId ein_matmul(OxImporter *im, OxNode *n, ValueId x0, ValueId x1, const char *eq,
                          size_t len)
{
    const char *arrow = strstr(eq, "->");
    const char *comma = arrow ? memchr(eq, ',', (size_t)(arrow - eq)) : NULL;
    if (!comma || x0 == IR_NONE || x1 == IR_NONE)
        return IR_NONE;
    ValueId x[2] = {x0, x1};
    const Shape *s[2];
    int codes[3][IR_MAX_RANK], nc[3], en[3];
    const char *tb[3] = {eq, comma + 1, arrow + 2}, *te[3] = {comma, arrow, eq + len};
    for (int i = 0; i < 2; i++) {
        const Type *t = ox_ty(im, x[i]);
        if (t->dtype != IR_F32 || t->shape.rank < 1)
            return IR_NONE;
        s[i] = &t->shape;
        int tmp[IR_MAX_RANK];
        if (ein_term(tb[i], te[i], s[i]->rank, 0, tmp, &en[i]) < 0)
            return IR_NONE;
    }
    const int ell = en[0];
    if (en[1] != ell)
        return IR_NONE; /* "..." of different ranks broadcast: the general way */
    for (int i = 0; i < 3; i++) {
        nc[i] = ein_term(tb[i], te[i], i < 2 ? s[i]->rank : -1, ell, codes[i], &en[i]);
        if (nc[i] < 0)
            return IR_NONE;
    }
    int where[3][EIN_MAX]; /* position of each index in each term, -1 absent */
    for (int i = 0; i < 3; i++) {
        for (int c = 0; c < EIN_MAX; c++)
            where[i][c] = -1;
        for (int j = 0; j < nc[i]; j++) {
            if (where[i][codes[i][j]] >= 0)
                return IR_NONE; /* a diagonal */
            where[i][codes[i][j]] = j;
        }
    }
    /* the groups, in the output's order (contracted ones in the first operand's) */
    int bat[IR_MAX_RANK], fa[IR_MAX_RANK], fb[IR_MAX_RANK], con[IR_MAX_RANK];
    int nb = 0, na = 0, nfb = 0, nk = 0;
    for (int j = 0; j < nc[2]; j++) {
        int c = codes[2][j], ia = where[0][c], ib = where[1][c];
        if (ia < 0 && ib < 0)
            return IR_NONE;
        if (ia >= 0 && ib >= 0) {
            if (!ir_dim_eq(s[0]->d[ia], s[1]->d[ib]))
                return IR_NONE;
            bat[nb++] = c;
        } else if (ia >= 0)
            fa[na++] = c;
        else
            fb[nfb++] = c;
    }
    for (int j = 0; j < nc[0]; j++) {
        int c = codes[0][j];
        if (where[2][c] >= 0)
            continue;
        if (where[1][c] < 0 || !ir_dim_eq(s[0]->d[j], s[1]->d[where[1][c]]))
            return IR_NONE; /* summed in one operand only */
        con[nk++] = c;
    }
    for (int j = 0; j < nc[1]; j++)
        if (where[2][codes[1][j]] < 0 && where[0][codes[1][j]] < 0)
            return IR_NONE;
    /* operand permutations and their dims */
    int64_t pa[IR_MAX_RANK], pb[IR_MAX_RANK];
    Dim da[IR_MAX_RANK], db[IR_MAX_RANK], dout[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < nb; i++)
        pa[k++] = where[0][bat[i]];
    for (int i = 0; i < na; i++)
        pa[k++] = where[0][fa[i]];
    for (int i = 0; i < nk; i++)
        pa[k++] = where[0][con[i]];
    k = 0;
    for (int i = 0; i < nb; i++)
        pb[k++] = where[1][bat[i]];
    for (int i = 0; i < nk; i++)
        pb[k++] = where[1][con[i]];
    for (int i = 0; i < nfb; i++)
        pb[k++] = where[1][fb[i]];
    for (int i = 0; i < nc[0]; i++)
        da[i] = s[0]->d[pa[i]];
    for (int i = 0; i < nc[1]; i++)
        db[i] = s[1]->d[pb[i]];
    for (int i = 0; i < 2; i++) {
        const int64_t *p = i ? pb : pa;
        bool identity = true;
        for (int j = 0; j < nc[i]; j++)
            identity = identity && p[j] == j;
        if (!identity && (x[i] = ox_permute(im, n, x[i], p, nc[i])) == IR_NONE)
            return IR_NONE;
    }
    /* [batch, M, K] @ [batch, K, N] (a group of no index is 1) */
    if (!ein_group(im, n, &x[0], da, nb, na, nk) || !ein_group(im, n, &x[1], db, nb, nk, nfb))
        return IR_NONE;
    ValueId y = ox_bin(im, n, "matmul", x[0], x[1]);
    /* back to [batch, free a, free b], then the output's order */
    for (int i = 0; i < nb; i++)
        dout[i] = da[i];
    for (int i = 0; i < na; i++)
        dout[nb + i] = da[nb + i];
    for (int i = 0; i < nfb; i++)
        dout[nb + na + i] = db[nb + nk + i];
    const int r = nb + na + nfb;
    if (y == IR_NONE || !ein_group(im, n, &y, dout, r, -1, -1))
        return IR_NONE;
    int64_t po[IR_MAX_RANK];
    int order[IR_MAX_RANK];
    for (int i = 0; i < nb; i++)
        order[i] = bat[i];
    for (int i = 0; i < na; i++)
        order[nb + i] = fa[i];
    for (int i = 0; i < nfb; i++)
        order[nb + na + i] = fb[i];
    bool identity = true;
    for (int j = 0; j < r; j++) {
        for (int i = 0; i < r; i++)
            if (order[i] == codes[2][j])
                po[j] = i;
        identity = identity && po[j] == j;
    }
    return identity || r < 2 ? y : ox_permute(im, n, y, po, r);
}

/* Einsum of three or more f32 operands ("bij,bjk,bkl->bil") as a chain of two-operand
 * matmuls from the left: each product keeps the indices the output or a later operand
 * still needs, so symbolic dims stay symbolic. No "..." and no diagonals; IR_NONE when a
 * step is not a matmul (the general lowering takes the whole equation then). */
static ValueId ein_chain(OxImporter *im, OxNode *n, const char *eq)
{
    const char *arrow = strstr(eq, "->");
    if (n->n_in < 3 || !arrow || strchr(eq, '.'))
        return IR_NONE;
    const char *term[8], *end[8];
    const char *b = eq;
    for (int i = 0; i < n->n_in; i++) {
        const char *e = memchr(b, ',', (size_t)(arrow - b));
        if (!e)
            e = arrow;
        if ((i + 1 < n->n_in) != (e < arrow) || !ox_has_in(n, i))
            return IR_NONE;
        term[i] = b;
        end[i] = e;
        b = e + 1;
    }
    char acc[64]; /* the running product's indices */
    snprintf(acc, sizeof acc, "%.*s", (int)(end[0] - term[0]), term[0]);
    ValueId y = ox_in(im, n, 0);
    for (int i = 1; i < n->n_in && y != IR_NONE; i++) {
        char out[64], step[200];
        int k = 0;
        if (i + 1 == n->n_in)
            k = snprintf(out, sizeof out, "%s", arrow + 2);
        else { /* acc's and operand i's indices still needed later, each once */
            char both[128];
            snprintf(both, sizeof both, "%s%.*s", acc, (int)(end[i] - term[i]), term[i]);
            for (const char *p = both; *p; p++) {
                bool later = memchr(arrow + 2, *p, strlen(arrow + 2)) != NULL;
                for (int j = i + 1; j < n->n_in && !later; j++)
                    later = memchr(term[j], *p, (size_t)(end[j] - term[j])) != NULL;
                if (later && !memchr(out, *p, (size_t)k) && k + 1 < (int)sizeof out)
                    out[k++] = *p;
            }
            out[k] = 0;
        }
        int sl =
            snprintf(step, sizeof step, "%s,%.*s->%s", acc, (int)(end[i] - term[i]), term[i], out);
        if (sl < 0 || (size_t)sl >= sizeof step)
            return IR_NONE;
        y = ein_matmul(im, n, y, ox_in(im, n, i), step, (size_t)sl);
        snprintf(acc, sizeof acc, "%s", out);
    }
    return y;
}

/* Einsum as broadcast products and sums: repeated indices of an operand take its diagonal
 * (times an identity mask, summed), each operand is permuted and reshaped onto the union of
 * the indices (output indices first), the operands are multiplied and the indices not in
 * the output summed. Computed in f32. Static shapes only (ein_matmul takes the two-operand
 * products symbolically). */
static OxResult op_einsum(OxImporter *im, OxNode *n)
{
    const char *eq0 = ox_attr_string(im, n, "equation", NULL);
    if (!eq0)
        return ox_unsupported(im, n, "needs an equation");
    char eq[256];
    size_t len = 0;
    for (const char *p = eq0; *p && len + 1 < sizeof eq; p++)
        if (*p != ' ')
            eq[len++] = *p;
    eq[len] = 0;
    int nin = n->n_in;
    if (nin < 1 || nin > 8)
        return ox_unsupported(im, n, "1 to 8 operands");
    ValueId mm = n->n_in == 2 ? ein_matmul(im, n, ox_has_in(n, 0) ? ox_in(im, n, 0) : IR_NONE,
                                           ox_has_in(n, 1) ? ox_in(im, n, 1) : IR_NONE, eq, len)
                              : ein_chain(im, n, eq);
    if (mm != IR_NONE)
        return ox_out(im, n, ox_nn_copy(im, n, mm));
    const char *arrow = strstr(eq, "->");
    const char *lhs_end = arrow ? arrow : eq + len;
    ValueId xs[8];
    int codes[8][IR_MAX_RANK], nc[8], ell_n[8], ell = 0;
    int64_t size[EIN_MAX];
    for (int i = 0; i < EIN_MAX; i++)
        size[i] = -1;
    DType dt = IR_F32;
    /* first pass: ranks and the widest "..." */
    const char *b = eq;
    for (int i = 0; i < nin; i++) {
        if (!ox_has_in(n, i))
            return ox_unsupported(im, n, "a missing operand");
        xs[i] = ox_in(im, n, i);
        const Type *t = ox_ty(im, xs[i]);
        if (!ir_shape_static(&t->shape))
            return ox_unsupported(im, n, "symbolic shapes");
        if (t->dtype != IR_F32 && t->dtype != IR_F64 && t->dtype != IR_F16)
            return ox_unsupported(im, n, "only float operands");
        dt = t->dtype;
        const char *e = memchr(b, ',', (size_t)(lhs_end - b));
        if (!e)
            e = lhs_end;
        if ((i + 1 < nin) != (e < lhs_end))
            return ox_unsupported(im, n, "the equation has another operand count");
        int tmp[IR_MAX_RANK];
        if (ein_term(b, e, t->shape.rank, 0, tmp, &ell_n[i]) < 0)
            return ox_unsupported(im, n, "cannot parse equation '%s'", eq0);
        if (ell_n[i] > ell)
            ell = ell_n[i];
        b = e + 1;
    }
    b = eq;
    bool used[EIN_MAX] = {false};
    int count[EIN_MAX] = {0};
    for (int i = 0; i < nin; i++) {
        const Type *t = ox_ty(im, xs[i]);
        const char *e = memchr(b, ',', (size_t)(lhs_end - b));
        if (!e)
            e = lhs_end;
        nc[i] = ein_term(b, e, t->shape.rank, ell, codes[i], &ell_n[i]);
        for (int j = 0; j < nc[i]; j++) {
            int c = codes[i][j];
            int64_t d = t->shape.d[j].c;
            if (size[c] >= 0 && size[c] != d && d != 1 && size[c] != 1)
                return ox_unsupported(im, n, "index sizes differ");
            if (size[c] < 0 || size[c] == 1)
                size[c] = d;
            used[c] = true;
            count[c]++;
        }
        b = e + 1;
        if (dt != IR_F32)
            xs[i] = ox_nn_cast(im, n, xs[i], IR_F32);
    }
    int oc[IR_MAX_RANK], no = 0, en;
    if (arrow) {
        no = ein_term(arrow + 2, eq + len, -1, ell, oc, &en);
        if (no < 0)
            return ox_unsupported(im, n, "cannot parse equation '%s'", eq0);
        for (int j = 0; j < no; j++)
            if (!used[oc[j]])
                return ox_unsupported(im, n, "an output index no operand has");
    } else {
        for (int c = EIN_ELL; c < EIN_ELL + ell; c++)
            oc[no++] = c;
        for (int c = 0; c < EIN_ELL; c++)
            if (count[c] == 1) {
                if (no == IR_MAX_RANK)
                    return ox_unsupported(im, n, "more than %d output indices", IR_MAX_RANK);
                oc[no++] = c;
            }
    }
    /* every index: the output's first, then the summed ones */
    int all[EIN_MAX], na = 0;
    bool in_out[EIN_MAX] = {false};
    for (int j = 0; j < no; j++) {
        all[na++] = oc[j];
        in_out[oc[j]] = true;
    }
    for (int c = 0; c < EIN_MAX; c++)
        if (used[c] && !in_out[c])
            all[na++] = c;
    if (na > IR_MAX_RANK)
        return ox_unsupported(im, n, "more than %d distinct indices", IR_MAX_RANK);
    ValueId prod = IR_NONE;
    for (int i = 0; i < nin; i++) {
        ValueId v = xs[i];
        /* diagonals: codes repeated within the operand */
        for (int p = 0; p < nc[i]; p++)
            for (int q = p + 1; q < nc[i]; q++) {
                if (codes[i][p] != codes[i][q])
                    continue;
                int64_t d = size[codes[i][p]], eshape[IR_MAX_RANK];
                for (int j = 0; j < nc[i]; j++)
                    eshape[j] = j == p || j == q ? d : 1;
                OxConst eye;
                if (!ox_const_make(im, &eye, IR_F32, nc[i], eshape))
                    return OX_ERROR;
                for (int64_t j = 0; j < d; j++)
                    ox_const_set(&eye, j * d + j, 1.0);
                int64_t ax = q;
                v = nn_reduce(im, n, "reduce_sum",
                              ox_bin(im, n, "mul", v, ox_nn_const_value(im, n, &eye, "eye")), &ax,
                              1, false);
                for (int j = q; j + 1 < nc[i]; j++)
                    codes[i][j] = codes[i][j + 1];
                nc[i]--;
                q--;
            }
        /* onto the order of all[], absent indices as 1 */
        int64_t perm[IR_MAX_RANK];
        int np = 0;
        Dim d[IR_MAX_RANK];
        for (int a = 0; a < na; a++) {
            d[a] = ir_dim(1);
            for (int j = 0; j < nc[i]; j++)
                if (codes[i][j] == all[a]) {
                    perm[np++] = j;
                    d[a] = ir_dim(-1); /* the operand's size, set below */
                }
        }
        bool identity = true;
        for (int j = 0; j < np; j++)
            identity = identity && perm[j] == j;
        if (!identity && np > 1)
            v = ox_permute(im, n, v, perm, np);
        if (v == IR_NONE)
            return ox_unsupported(im, n, "a needed IR op is missing");
        const Shape *vs = &ox_ty(im, v)->shape;
        for (int a = 0, j = 0; a < na; a++)
            if (d[a].c == -1)
                d[a] = vs->d[j++];
        if (na != vs->rank)
            v = ox_nn_reshape(im, n, v, d, na);
        prod = prod == IR_NONE ? v : ox_bin(im, n, "mul", prod, v);
    }
    if (na > no) {
        int64_t axes[IR_MAX_RANK];
        for (int a = no; a < na; a++)
            axes[a - no] = a;
        prod = nn_reduce(im, n, "reduce_sum", prod, axes, na - no, false);
    }
    prod = dt != IR_F32 ? ox_nn_cast(im, n, prod, dt) : ox_nn_copy(im, n, prod);
    return prod == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing")
                           : ox_out(im, n, prod);
}

/* ---- constants and masks: EyeLike, the windows, OneHot, Compress, Tile ---- */

/* An ONNX TensorProto data type as a DType; false for one slimc lacks. */
static bool nn_onnx_dtype(int64_t t, DType *dt)
{
    switch (t) {
    case 1: *dt = IR_F32; return true;
    case 2: *dt = IR_U8; return true;
    case 3: *dt = IR_I8; return true;
    case 5: *dt = IR_I16; return true;
    case 6: *dt = IR_I32; return true;
    case 7: *dt = IR_I64; return true;
    case 9: *dt = IR_BOOL; return true;
    case 10: *dt = IR_F16; return true;
    case 11: *dt = IR_F64; return true;
    case 16: *dt = IR_BF16; return true;
    default: return false;
    }
}

/* ---- LRN ---- */

/* LRN: x / (bias + alpha / size * sum of x^2 over the channel window)^beta, the window sum
 * an average pool of [N, 1, C, rest] padded along C, times size. */
static OxResult op_lrn(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t size = ox_attr_int(n, "size", 0);
    if (s->rank < 3 || size < 1 || ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "needs an f32 input [N, C, ...] and size >= 1");
    double alpha = ox_attr_float(n, "alpha", 1e-4f), beta = ox_attr_float(n, "beta", 0.75f),
           bias = ox_attr_float(n, "bias", 1.0f);
    Dim rest = ir_dim(1);
    for (int i = 2; i < s->rank; i++)
        if (!ir_dim_mul(rest, s->d[i], &rest))
            return ox_unsupported(im, n, "symbolic shape");
    Dim d4[4] = {s->d[0], ir_dim(1), s->d[1], rest};
    ValueId sq = ox_nn_reshape(im, n, ox_bin(im, n, "mul", x, x), d4, 4);
    int64_t before = (size - 1) / 2, after = size - 1 - before;
    NodeId pid = ox_mk(im, n, "pad", &sq, 1);
    if (pid == IR_NONE || sq == IR_NONE)
        return ox_no_ir_op(im, n, "pad");
    int64_t pads[8] = {0, 0, before, after, 0, 0, 0, 0};
    ir_node_set_ints(im->g, pid, "pads", pads, 8);
    ir_node_set_int(im->g, pid, "mode", 0);
    ir_node_set_float(im->g, pid, "value", 0.0);
    ValueId padded = ox_done(im, pid);
    NodeId aid = ox_mk(im, n, "avg_pool2d", &padded, 1);
    int64_t kernel[2] = {size, 1}, one[2] = {1, 1}, zero[2] = {0, 0};
    ir_node_set_ints(im->g, aid, "kernel", kernel, 2);
    ir_node_set_ints(im->g, aid, "stride", one, 2);
    ir_node_set_ints(im->g, aid, "padding", zero, 2);
    ir_node_set_int(im->g, aid, "ceil_mode", 0);
    ir_node_set_int(im->g, aid, "count_include_pad", 1);
    ValueId mean = ox_nn_reshape(im, n, ox_done(im, aid), s->d, s->rank); /* sum / size */
    ValueId base = ox_bin(im, n, "add", ox_bin(im, n, "mul", mean, ox_scalar(im, n, IR_F32, alpha)),
                          ox_scalar(im, n, IR_F32, bias));
    ValueId y = ox_bin(im, n, "div", x, ox_bin(im, n, "pow", base, ox_scalar(im, n, IR_F32, beta)));
    return y == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing") : ox_out(im, n, y);
}

/* ---- DFT, AffineGrid, ReverseSequence ---- */

/* ---- STFT, Col2Im, MaxUnpool, Det ---- */

/* STFT with constant frame_step / frame_length: the frames gathered by a constant index
 * (index_select), weighted by the window, then the onesided DFT as matmuls. */
static OxResult op_stft(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    const OxConst *cstep = ox_has_in(n, 1) ? ox_need_const(im, n, 1) : NULL;
    const OxConst *clen = ox_has_in(n, 3) ? ox_need_const(im, n, 3) : NULL;
    if (!cstep || (ox_has_in(n, 3) && !clen))
        return ox_unsupported(im, n, "frame_step/frame_length computed at run time");
    ValueId win = ox_in(im, n, 2);
    int64_t L = clen ? ox_const_get_i(clen, 0) : -1, step = ox_const_get_i(cstep, 0);
    if (win != IR_NONE) {
        const Shape *ws = &ox_ty(im, win)->shape;
        if (ws->rank != 1 || !ir_dim_static(ws->d[0]) || (L >= 0 && L != ws->d[0].c))
            return ox_unsupported(im, n, "the window must be 1-D of frame_length");
        L = ws->d[0].c;
    }
    if (s->rank != 3 || !ir_dim_static(s->d[1]) || !ir_dim_eq(s->d[2], ir_dim(1)) || L < 1 ||
        step < 1 || L > s->d[1].c || ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "needs a real f32 signal [B, S, 1] and a frame length");
    int64_t S = s->d[1].c, nf = 1 + (S - L) / step;
    int64_t K = ox_attr_int(n, "onesided", 1) ? L / 2 + 1 : L, cnt, lk;
    if (!ir_ckd_mul_i64(nf, L, &cnt) || !ir_ckd_mul_i64(L, K, &lk) || cnt > (1 << 24) ||
        lk > (1 << 24))
        return ox_unsupported(im, n, "too large");
    OxConst idx, cm, sm;
    if (!ox_const_make(im, &idx, IR_I64, 1, &cnt))
        return OX_ERROR;
    for (int64_t f = 0; L > 0 && f < nf; f++) /* no frames to visit when L is 0 */
        for (int64_t j = 0; j < L; j++)
            ox_const_set(&idx, f * L + j, (double)(f * step + j));
    int64_t mshape[2] = {L, K};
    if (!ox_const_make(im, &cm, IR_F32, 2, mshape))
        return OX_ERROR;
    if (!ox_const_make(im, &sm, IR_F32, 2, mshape))
        return OX_ERROR;
    for (int64_t i = 0; K > 0 && i < L; i++)
        for (int64_t k = 0; k < K; k++) {
            double th = 2.0 * M_PI * (double)((i * k) % L) / (double)L;
            ox_const_set(&cm, i * K + k, cos(th));
            ox_const_set(&sm, i * K + k, -sin(th));
        }
    Dim d2[2] = {s->d[0], ir_dim(S)};
    ValueId ins[2] = {ox_nn_reshape(im, n, x, d2, 2), ox_nn_const_value(im, n, &idx, "idx")};
    NodeId id = ox_mk(im, n, "index_select", ins, 2);
    if (id == IR_NONE || ins[0] == IR_NONE)
        return ox_no_ir_op(im, n, "index_select");
    ir_node_set_int(im->g, id, "axis", 1);
    Dim d3[3] = {s->d[0], ir_dim(nf), ir_dim(L)};
    ValueId frames = ox_nn_reshape(im, n, ox_done(im, id), d3, 3); /* [B, nf, L] */
    if (win != IR_NONE)
        frames = ox_bin(im, n, "mul", frames, win);
    ValueId ys[2] = {ox_bin(im, n, "matmul", frames, ox_nn_const_value(im, n, &cm, "cos")),
                     ox_bin(im, n, "matmul", frames, ox_nn_const_value(im, n, &sm, "sin"))};
    Dim d4[4] = {s->d[0], ir_dim(nf), ir_dim(K), ir_dim(1)};
    for (int c = 0; c < 2; c++)
        ys[c] = ox_nn_reshape(im, n, ys[c], d4, 4);
    ValueId y = ox_nn_concat(im, n, ys, 2, 3);
    return y == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing") : ox_out(im, n, y);
}

/* MaxUnpool: each output element takes the input whose index (flat over the whole output)
 * names it: a comparison of the indices [N, C, I, 1] with the output positions
 * [N, C, 1, O] (constant), times the values, summed over I. */
static OxResult op_max_unpool(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs the indices");
    ValueId x = ox_in(im, n, 0), ind = ox_in(im, n, 1);
    const Shape *s = &ox_ty(im, x)->shape;
    int r = s->rank, sd = r - 2;
    if (r < 3 || !ir_shape_static(s) || ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "needs a static f32 input [N, C, ...]");
    int64_t kern[IR_MAX_RANK], st[IR_MAX_RANK], pads[2 * IR_MAX_RANK] = {0}, oshape[IR_MAX_RANK];
    if (ox_attr_ints(n, "kernel_shape", kern, IR_MAX_RANK) != sd)
        return ox_unsupported(im, n, "kernel_shape");
    for (int i = 0; i < sd; i++)
        st[i] = 1;
    if (ox_attr(n, "strides"))
        ox_attr_ints(n, "strides", st, IR_MAX_RANK);
    if (ox_attr(n, "pads"))
        ox_attr_ints(n, "pads", pads, 2 * IR_MAX_RANK);
    /* the indices address the inferred shape; a given output_shape pads it at the end */
    int64_t want[IR_MAX_RANK];
    if (ox_has_in(n, 2) && ox_ints_input(im, n, 2, want, IR_MAX_RANK) != r)
        return ox_unsupported(im, n, "output_shape computed at run time");
    oshape[0] = s->d[0].c;
    oshape[1] = s->d[1].c;
    bool fits = true; /* (in - 1) * stride - pad_begin - pad_end + kernel, checked */
    for (int i = 0; i < sd; i++)
        fits = fits && ir_ckd_mul_i64(s->d[2 + i].c - 1, st[i], &oshape[2 + i]) &&
               ir_ckd_sub_i64(oshape[2 + i], pads[i], &oshape[2 + i]) &&
               ir_ckd_sub_i64(oshape[2 + i], pads[sd + i], &oshape[2 + i]) &&
               ir_ckd_add_i64(oshape[2 + i], kern[i], &oshape[2 + i]) && oshape[2 + i] >= 1;
    if (!fits)
        return ox_unsupported(im, n, "bad kernel_shape, strides or pads");
    if (!ox_has_in(n, 2))
        memcpy(want, oshape, sizeof want);
    int64_t N = s->d[0].c, C = s->d[1].c, I = 1, O = 1, all;
    for (int i = 0; i < sd; i++)
        if (!ir_ckd_mul_i64(I, s->d[2 + i].c, &I) || !ir_ckd_mul_i64(O, oshape[2 + i], &O))
            return ox_unsupported(im, n, "bad output_shape (or too large)");
    int64_t nci[4] = {N, C, I, O};
    if (!ir_ckd_numel(nci, 4, &all))
        all = INT64_MAX;
    if (oshape[0] != N || oshape[1] != C || O < 1 || all > (1 << 24))
        return ox_unsupported(im, n, "bad output_shape (or too large)");
    int64_t pshape[4] = {N, C, 1, O};
    DType idt = ox_ty(im, ind)->dtype;
    OxConst pos;
    if (!ox_const_make(im, &pos, idt, 4, pshape))
        return OX_ERROR;
    for (int64_t i = 0; i < N * C * O; i++)
        ox_const_set(&pos, i, (double)i);
    Dim din[4] = {ir_dim(N), ir_dim(C), ir_dim(I), ir_dim(1)};
    ValueId hit = ox_nn_cast(im, n,
                             ox_bin(im, n, "eq", ox_nn_reshape(im, n, ind, din, 4),
                                    ox_nn_const_value(im, n, &pos, "pos")),
                             IR_F32); /* [N, C, I, O] */
    int64_t ax = 2;
    ValueId y =
        nn_reduce(im, n, "reduce_sum", ox_bin(im, n, "mul", hit, ox_nn_reshape(im, n, x, din, 4)),
                  &ax, 1, false);
    Dim dout[IR_MAX_RANK];
    int64_t extra[2 * IR_MAX_RANK] = {0};
    bool grow = false;
    for (int i = 0; i < r; i++) {
        dout[i] = ir_dim(oshape[i]);
        if (want[i] < oshape[i])
            return ox_unsupported(im, n, "an output_shape smaller than the inferred one");
        extra[2 * (r - 1 - i) + 1] = want[i] - oshape[i];
        grow = grow || want[i] > oshape[i];
    }
    y = ox_nn_reshape(im, n, y, dout, r);
    if (grow && y != IR_NONE) {
        NodeId id = ox_mk(im, n, "pad", &y, 1);
        ir_node_set_ints(im->g, id, "pads", extra, 2 * r);
        ir_node_set_int(im->g, id, "mode", 0);
        ir_node_set_float(im->g, id, "value", 0.0);
        y = ox_done(im, id);
    }
    return y == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing") : ox_out(im, n, y);
}

/* Det of [..., M, M] for M <= 3, by cofactor expansion on slices. */
static OxResult op_det(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int r = s->rank;
    if (r < 2 || !ir_dim_static(s->d[r - 1]) || !ir_dim_eq(s->d[r - 1], s->d[r - 2]) ||
        s->d[r - 1].c > 3 || ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "only f32 matrices of size 1 to 3");
    int64_t m = s->d[r - 1].c;
    ValueId e[3][3];
    for (int i = 0; i < m; i++) {
        ValueId row = ox_slice1(im, n, x, r - 2, i, i + 1, 1);
        for (int j = 0; j < m; j++)
            e[i][j] = ox_slice1(im, n, row, r - 1, j, j + 1, 1);
    }
#define MUL(a, b) ox_bin(im, n, "mul", (a), (b))
#define SUB(a, b) ox_bin(im, n, "sub", (a), (b))
    ValueId det;
    if (m == 1)
        det = e[0][0];
    else if (m == 2)
        det = SUB(MUL(e[0][0], e[1][1]), MUL(e[0][1], e[1][0]));
    else
        det = ox_bin(im, n, "add",
                     SUB(MUL(e[0][0], SUB(MUL(e[1][1], e[2][2]), MUL(e[1][2], e[2][1]))),
                         MUL(e[0][1], SUB(MUL(e[1][0], e[2][2]), MUL(e[1][2], e[2][0])))),
                     MUL(e[0][2], SUB(MUL(e[1][0], e[2][1]), MUL(e[1][1], e[2][0]))));
#undef MUL
#undef SUB
    det = ox_nn_reshape(im, n, det, s->d, r - 2);
    return det == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing") : ox_out(im, n, det);
}

/* MelWeightMatrix of constant inputs: a constant [dft_length / 2 + 1, num_mel_bins] of
 * triangular filters between mel-spaced bins, as the ONNX reference builds it. */
static OxResult op_mel_weight_matrix(OxImporter *im, OxNode *n)
{
    const OxConst *c[5];
    bool all = true;
    for (int i = 0; i < 5; i++)
        all = (c[i] = ox_need_const(im, n, i)) != NULL && all;
    if (!all)
        return ox_unsupported(im, n, "inputs computed at run time");
    int64_t bins = ox_const_get_i(c[0], 0), dft = ox_const_get_i(c[1], 0),
            rate = ox_const_get_i(c[2], 0);
    double lo = ox_const_get(c[3], 0), hi = ox_const_get(c[4], 0);
    DType dt = IR_F32;
    if (bins < 1 || bins > 4096 || dft < 1 || dft > (1 << 16) || rate < 1 ||
        !nn_onnx_dtype(ox_attr_int(n, "output_datatype", 1), &dt))
        return ox_unsupported(im, n, "bad sizes or output_datatype");
    int64_t spec = dft / 2 + 1, fb[4098];
    double lm = 2595.0 * log10(1.0 + lo / 700.0), hm = 2595.0 * log10(1.0 + hi / 700.0);
    double step = (hm - lm) / (double)(bins + 2);
    for (int64_t i = 0; i < bins + 2; i++) {
        double hz = 700.0 * (pow(10.0, ((double)i * step + lm) / 2595.0) - 1.0);
        double bin = floor((double)(dft + 1) * hz / (double)rate);
        fb[i] = bin >= 0 && bin <= (double)spec ? (int64_t)bin : -1; /* NaN too: refused below */
    }
    int64_t shape[2] = {spec, bins};
    OxConst m;
    if (!ox_const_make(im, &m, dt, 2, shape))
        return OX_ERROR;
    for (int64_t i = 0; i < bins; i++) {
        int64_t l = fb[i], ce = fb[i + 1], h = fb[i + 2];
        if (l < 0 || h >= spec || l > ce || ce > h)
            return ox_unsupported(im, n, "filter bins outside the spectrum");
        if (ce == l)
            ox_const_set(&m, ce * bins + i, 1.0);
        else
            for (int64_t j = l; j <= ce; j++)
                ox_const_set(&m, j * bins + i, (double)(j - l) / (double)(ce - l));
        for (int64_t j = ce; j < h; j++)
            ox_const_set(&m, j * bins + i, (double)(h - j) / (double)(h - ce));
    }
    ox_bind_const(im, n->out[0], &m);
    return OX_OK;
}

/* ---- Range ---- */

/* Range and ConstantOfShape on constants are folded at import (onnx_fold.c); inputs that
 * are graph inputs are asked for as constants (the caller may bind them): the IR has no op
 * that makes a tensor of a run-time size. */
static OxResult op_needs_constants(OxImporter *im, OxNode *n)
{
    for (int i = 0; i < n->n_in; i++)
        ox_need_const(im, n, i);
    return ox_unsupported(im, n, "inputs computed at run time (the output size would be)");
}

/* ---- dispatch ---- */

static const char *const nn_ops[] = {
    "Attention",
    "NegativeLogLikelihoodLoss",
    "SoftmaxCrossEntropyLoss",
    "Trilu",
    "RotaryEmbedding",
    "Einsum",
    "LRN",
    "Det",
    "MelWeightMatrix",
    "RNN",
    "GRU",
    "LSTM",
    "Range",
    "If",
};

bool ox_op_known_nn(const char *op)
{
    for (size_t i = 0; i < sizeof nn_ops / sizeof nn_ops[0]; i++)
        if (!strcmp(nn_ops[i], op))
            return true;
    return false;
}

bool ox_import_nn(OxImporter *im, OxNode *n, OxResult *r)
{
    const char *op = n->p->op_type;
    if (!strcmp(op, "Attention"))
        *r = ox_op_attention(im, n);
    else if (!strcmp(op, "NegativeLogLikelihoodLoss"))
        *r = op_nll(im, n);
    else if (!strcmp(op, "SoftmaxCrossEntropyLoss"))
        *r = op_sce(im, n);
    else if (!strcmp(op, "Trilu"))
        *r = op_trilu(im, n);
    else if (!strcmp(op, "RotaryEmbedding"))
        *r = ox_op_rotary(im, n);
    else if (!strcmp(op, "Einsum"))
        *r = op_einsum(im, n);
    else if (!strcmp(op, "LRN"))
        *r = op_lrn(im, n);
    else if (!strcmp(op, "Det"))
        *r = op_det(im, n);
    else if (!strcmp(op, "MelWeightMatrix"))
        *r = op_mel_weight_matrix(im, n);
    else if (!strcmp(op, "RNN"))
        *r = ox_op_recurrent(im, n, 0);
    else if (!strcmp(op, "GRU"))
        *r = ox_op_recurrent(im, n, 1);
    else if (!strcmp(op, "LSTM"))
        *r = ox_op_recurrent(im, n, 2);
    else if (!strcmp(op, "STFT"))
        *r = op_stft(im, n);
    else if (!strcmp(op, "MaxUnpool"))
        *r = op_max_unpool(im, n);
    else if (!strcmp(op, "Range"))
        *r = op_needs_constants(im, n);
    else if (!strcmp(op, "If"))
        *r = ox_op_if(im, n);
    else
        return false;
    return true;
}

#endif
