/* qtaps: int8 convs without the im2col panel (runtime/kernels/qconv_taps.c).
 *
 * The VNNI block of a qconv2d (slimc_rt_qconv_block) gathers, for every 64 output pixels, a
 * panel of all K = CG KH KW taps, 4 taps to a word; for a 3x3 conv that is 9 copies of the
 * input, about a third of a 56x56 layer's time. The taps kernel instead reads its input as
 * 4-channel words in a padded copy made once per call (split into stride phases), tap by tap
 * with plain loads; that needs the weight rows with 4 channels of one tap in a word,
 * [O][CG4 / 4][KH][KW][4], where the graph holds [O][CG][KH][KW]. This pass gives such a
 * qconv2d a NEW constant with that order, shaped [O, CG4, KH, KW] (CG rounded up to a multiple
 * of 4; the channels past CG weigh 0: a stem conv of 3 channels reads its input as words of 4)
 * and w_taps=1; the sums are the same integers.
 *
 * Only where the C backend runs the VNNI block (AVX-512 VNNI here, SLIMC_NO_VNNI and
 * SLIMC_MAX_ISA respected: the AVX2 and portable kernels keep the panels and read the plain
 * order; an AMX CPU keeps its tile path), on the CPU (the CUDA kernels read [O, CG, KH, KW]),
 * for a constant i8 weight, one group and a kernel of more than one tap
 * (a 1x1 conv's panel is already the input itself; strided, its copy would hold phases it
 * never reads). It runs after sparse, so a conv the sparse pass takes keeps the plain order
 * it reads; a node already marked is left alone. */
#include "passes/cost_model.h"
#include "passes/pass.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* AMX-INT8 (CPUID.(7, 0):EDX[25]) not turned off by SLIMC_NO_AMX: the qconv2d block runs
 * on AMX tiles there (where Linux grants the tile state, runtime/kernels/cpu.c). */
static bool host_amx_int8(void)
{
#if defined(__x86_64__) || defined(__i386__)
    const char *off = getenv("SLIMC_NO_AMX");
    unsigned a = 0, b = 0, c = 0, d = 0;
    return !(off && *off && strcmp(off, "0") != 0) && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
           (d >> 25 & 1u);
#else
    return false;
#endif
}

/* Whether node n is a qconv2d the taps kernel runs; its sizes in *O, *CG, *T (taps). */
static bool taps_conv(const Graph *g, const Node *n, int64_t *O, int64_t *CG, int64_t *T)
{
    if (n->dead || n->op != IR_OP_QCONV2D || n->device == IR_DEVICE_CUDA ||
        ir_attr_w_taps(n) != 0 || ir_attr_groups(n) != 1 || n->n_inputs < 4 ||
        ir_node_attr_id(n, IR_A_w_sparse))
        return false;
    const Value *w = &g->values[n->inputs[1]];
    const Shape *s = &w->type.shape;
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_I8 || s->rank != 4 ||
        !ir_shape_static(s))
        return false;
    *O = s->d[0].c;
    *CG = s->d[1].c;
    *T = s->d[2].c * s->d[3].c;
    return *T > 1 && *T <= 256 && (size_t)(*O * *CG * *T) == w->data_bytes;
}

bool pass_qtaps(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    if (!cost_host_int8_vnni() || host_amx_int8())
        return true;
    const int n_orig = g->n_values;
    /* made[v]: the reordered copy already made of weight v (IR_NONE: none yet) */
    ValueId *made = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)(n_orig + 1));
    for (int v = 0; v < n_orig; v++)
        made[v] = IR_NONE;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        int64_t O, CG, T;
        if (!taps_conv(g, &g->nodes[i], &O, &CG, &T))
            continue;
        const ValueId wv = g->nodes[i].inputs[1];
        if (wv < n_orig && made[wv] == IR_NONE) {
            const Value *w = &g->values[wv];
            const int64_t CG4 = (CG + 3) / 4 * 4; /* channels past CG: zero weights */
            const size_t bytes = (size_t)(O * CG4 * T);
            const int8_t *src = w->data;                   /* [O][CG][T] */
            int8_t *dst = ir_arena_alloc(g->arena, bytes); /* [O][CG4 / 4][T][4] */
            memset(dst, 0, bytes);
            for (int64_t o = 0; o < O; o++)
                for (int64_t ci = 0; ci < CG; ci++)
                    for (int64_t t = 0; t < T; t++)
                        dst[((o * (CG4 / 4) + ci / 4) * T + t) * 4 + ci % 4] =
                            src[(o * CG + ci) * T + t];
            Type t = w->type;
            t.shape.d[1] = ir_dim(CG4);
            made[wv] = ir_const_new(g, ir_arena_printf(g->arena, "%s.taps", w->name), t, dst, bytes,
                                    w->loc); /* w is stale from here */
        }
        if (wv >= n_orig) /* a copy this pass made: not a plain weight */
            continue;
        g->nodes[i].inputs[1] = made[wv];
        ir_node_set_int(g, i, "w_taps", 1);
    }
    ir_compact(g);
    return true;
}
