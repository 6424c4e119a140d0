/* The index ops (argmax, argmin, gather_elements, scatter_elements, cumsum, reduce_prod,
 * mod) through the C backend against the reference evaluator at 1 and 3 threads, in
 * several dtypes, with ties, duplicates, negative indices and zero divisors; outputs agree
 * bitwise (both sides compute in the same order). Plus their shape errors, and an index
 * out of range as a run-time error on both sides. */
#include "support_cg.h"

#include "ir/eval.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static ValueId input(Graph *g, const char *name, int rank, const int64_t *dims, RtTensor *t)
{
    return sup_input(g, name, rank, dims, t, &seed);
}

static ValueId input_int(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                         int lo, int hi, RtTensor *t)
{
    return sup_input_int(g, name, dt, rank, dims, lo, hi, t, &seed);
}

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *ins, int n)
{
    return ir_node_new(g, op, name, (SrcLoc){0}, ins, n, 1);
}

static void output(Graph *g, NodeId n)
{
    ir_output_add(g, g->nodes[n].outputs[0]);
}

START_TEST(test_argmax_argmin)
{
    /* f32 with many ties (small integers), f32 random, i32 */
    for (int k = 0; k < 3; k++) {
        Graph *g = ir_graph_new("arg");
        RtTensor in[1];
        ValueId x = k == 1   ? input(g, "x", 3, D(3, 4, 5), &in[0])
                    : k == 0 ? input_int(g, "x", IR_F32, 3, D(3, 4, 5), 0, 3, &in[0])
                             : input_int(g, "x", IR_I32, 3, D(3, 4, 5), -4, 4, &in[0]);
        int outs = 0;
        for (int op = 0; op < 2; op++)
            for (int ax = -1; ax < 3; ax++)
                for (int last = 0; last < 2; last++) {
                    NodeId n = node(g, op ? IR_OP_ARGMIN : IR_OP_ARGMAX, "arg", &x, 1);
                    ir_node_set_int(g, n, "axis", ax);
                    ir_node_set_int(g, n, "keepdim", (ax + last) & 1);
                    ir_node_set_int(g, n, "select_last", last);
                    if (outs++ < 16)
                        output(g, n);
                }
        sup_run_check(g, in, 1, 0, "argmax/argmin");
    }
}
END_TEST

START_TEST(test_gather_elements)
{
    static const DType dts[] = {IR_F32, IR_I64, IR_I8};
    for (int ax = 0; ax < 3; ax++) {
        Graph *g = ir_graph_new("ge");
        RtTensor in[2];
        int64_t len = ax == 0 ? 4 : ax == 1 ? 5 : 6;
        ValueId x = ax == 0 ? input(g, "x", 3, D(4, 5, 6), &in[0])
                            : input_int(g, "x", dts[ax], 3, D(4, 5, 6), -100, 100, &in[0]);
        /* indices: smaller off the axis, longer along it; negatives count from the end */
        int64_t id[3] = {3, 4, 2};
        id[ax] = 7;
        ValueId idx =
            input_int(g, "idx", ax == 1 ? IR_I32 : IR_I64, 3, id, -(int)len, (int)len - 1, &in[1]);
        ValueId ins[2] = {x, idx};
        NodeId n = node(g, IR_OP_GATHER_ELEMENTS, "ge", ins, 2);
        ir_node_set_int(g, n, "axis", ax == 2 ? -1 : ax);
        output(g, n);
        sup_run_check(g, in, 2, 0, "gather_elements");
    }
}
END_TEST

START_TEST(test_scatter_elements)
{
    for (int red = 0; red < 5; red++)
        for (int ax = 0; ax < 3; ax++) {
            Graph *g = ir_graph_new("se");
            RtTensor in[3];
            bool ints = ax == 2;
            int64_t len = ax == 0 ? 4 : ax == 1 ? 5 : 6;
            ValueId x = ints ? input_int(g, "x", IR_I32, 3, D(4, 5, 6), -9, 9, &in[0])
                             : input(g, "x", 3, D(4, 5, 6), &in[0]);
            int64_t id[3] = {3, 4, 2};
            id[ax] = 9; /* more updates than positions: duplicates */
            ValueId idx = input_int(g, "idx", IR_I64, 3, id, -(int)len, (int)len - 1, &in[1]);
            ValueId up = ints ? input_int(g, "up", IR_I32, 3, id, -9, 9, &in[2])
                              : input(g, "up", 3, id, &in[2]);
            ValueId ins[3] = {x, idx, up};
            NodeId n = node(g, IR_OP_SCATTER_ELEMENTS, "se", ins, 3);
            ir_node_set_int(g, n, "axis", ax);
            ir_node_set_int(g, n, "reduction", red);
            output(g, n);
            sup_run_check(g, in, 3, 0, "scatter_elements");
        }
}
END_TEST

START_TEST(test_cumsum)
{
    static const DType dts[] = {IR_F32, IR_F64, IR_I32, IR_I8};
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("cs");
        RtTensor in[1];
        ValueId x = k == 0 ? input(g, "x", 3, D(3, 4, 5), &in[0])
                           : input_int(g, "x", dts[k], 3, D(3, 4, 5), -100, 100, &in[0]);
        for (int ax = 0; ax < 3; ax++)
            for (int mode = 0; mode < 4; mode++) {
                if ((ax + mode) % 3 && mode != 3)
                    continue; /* a spread of the 12 cases, at most 16 outputs */
                NodeId n = node(g, IR_OP_CUMSUM, "cs", &x, 1);
                ir_node_set_int(g, n, "axis", ax - 3 * (mode == 1));
                ir_node_set_int(g, n, "exclusive", mode & 1);
                ir_node_set_int(g, n, "reverse", mode >> 1);
                output(g, n);
            }
        sup_run_check(g, in, 1, 0, "cumsum");
    }
}
END_TEST

START_TEST(test_reduce_prod)
{
    Graph *g = ir_graph_new("rp");
    RtTensor in[1];
    ValueId x = input(g, "x", 3, D(3, 4, 5), &in[0]);
    static const int64_t axes[][3] = {{0}, {1}, {-1}, {0, 2}, {1, 2}};
    static const int n_axes[] = {1, 1, 1, 2, 2};
    for (int k = 0; k < 6; k++) {
        NodeId n = node(g, IR_OP_REDUCE_PROD, "rp", &x, 1);
        if (k < 5)
            ir_node_set_ints(g, n, "axes", axes[k], n_axes[k]);
        ir_node_set_int(g, n, "keepdim", k & 1);
        output(g, n);
    }
    sup_run_check(g, in, 1, 0, "reduce_prod");
}
END_TEST

START_TEST(test_mod)
{
    static const DType dts[] = {IR_I32, IR_I64, IR_I8, IR_U8, IR_F32, IR_F64, IR_I16};
    for (int k = 0; k < 7; k++) {
        Graph *g = ir_graph_new("mod");
        RtTensor in[2];
        bool u = dts[k] == IR_U8;
        ValueId a = input_int(g, "a", dts[k], 3, D(3, 4, 5), u ? 0 : -50, 50, &in[0]);
        /* b broadcast, with zeros (integers give 0) and both signs */
        ValueId b = input_int(g, "b", dts[k], 2, D(1, 5), u ? 0 : -7, 7, &in[1]);
        if (dts[k] == IR_F32 || dts[k] == IR_F64) /* no zero divisor: NaN either way */
            for (int i = 0; i < 5; i++) {
                if (dts[k] == IR_F32 && ((float *)in[1].data)[i] == 0)
                    ((float *)in[1].data)[i] = 2.5f;
                if (dts[k] == IR_F64 && ((double *)in[1].data)[i] == 0)
                    ((double *)in[1].data)[i] = -1.5;
            }
        for (int fm = 0; fm < 2; fm++) {
            ValueId ins[2] = {fm ? b : a, fm ? a : b}; /* both broadcast directions */
            NodeId n = node(g, IR_OP_MOD, "mod", ins, 2);
            ir_node_set_int(g, n, "fmod", fm);
            output(g, n);
        }
        sup_run_check(g, in, 2, 0, "mod");
    }
}
END_TEST

START_TEST(test_resize_axis)
{
    /* axis, size, mode, coord, nearest, scale, antialias */
    static const double cases[][7] = {
        {2, 9, 2, 0, 0, 9.0 / 5, 0}, {3, 2, 1, 0, 0, 0.6, 1}, {3, 3, 2, 2, 0, 0.8, 1},
        {2, 10, 0, 1, 1, 2.0, 0},    {1, 7, 0, 5, 3, 2.3, 0}, {-1, 6, 1, 3, 0, 1.5, 0},
        {2, 3, 1, 4, 0, 0.6, 0},     {0, 1, 1, 3, 0, 0.5, 0},
    };
    Graph *g = ir_graph_new("rs");
    RtTensor in[1];
    ValueId x = input(g, "x", 4, D(2, 3, 5, 4), &in[0]);
    for (int k = 0; k < 8; k++) {
        NodeId n = node(g, IR_OP_RESIZE_AXIS, "rs", &x, 1);
        ir_node_set_int(g, n, "axis", (int64_t)cases[k][0]);
        ir_node_set_int(g, n, "size", (int64_t)cases[k][1]);
        ir_node_set_int(g, n, "mode", (int64_t)cases[k][2]);
        ir_node_set_int(g, n, "coord", (int64_t)cases[k][3]);
        ir_node_set_int(g, n, "nearest", (int64_t)cases[k][4]);
        ir_node_set_float(g, n, "scale", cases[k][5]);
        ir_node_set_int(g, n, "antialias", (int64_t)cases[k][6]);
        ir_node_set_int(g, n, "exclude_outside", k == 0);
        if (cases[k][3] == 4) { /* tf_crop_and_resize partly outside: extrapolated */
            ir_node_set_float(g, n, "roi_start", 0.5);
            ir_node_set_float(g, n, "roi_end", 1.4);
            ir_node_set_float(g, n, "extrapolation", 10.0);
        }
        output(g, n);
    }
    sup_run_check(g, in, 1, 1e-5, "resize_axis");
}
END_TEST

START_TEST(test_grid_sample)
{
    /* spatial rank, mode, padding, align_corners */
    static const int cases[][4] = {
        {2, 1, 0, 0}, {2, 1, 1, 1}, {2, 2, 2, 0}, {2, 0, 2, 1}, {2, 2, 1, 1},
        {3, 1, 2, 0}, {3, 0, 0, 1}, {1, 2, 0, 0}, {2, 0, 0, 0},
    };
    for (int k = 0; k < 9; k++) {
        int s = cases[k][0];
        Graph *g = ir_graph_new("gs");
        RtTensor in[2];
        int64_t xd[5] = {2, 3, 4, 5, 3}, gd[5] = {2, 3, 2, 4, s};
        gd[s + 1] = s;
        ValueId x = input(g, "x", s + 2, xd, &in[0]);
        ValueId grid = input(g, "grid", s + 2, gd, &in[1]);
        int64_t n = 1;
        for (int i = 0; i < s + 2; i++)
            n *= gd[i];
        for (int64_t i = 0; i < n; i++) /* coordinates beyond [-1, 1] too */
            ((float *)in[1].data)[i] *= 1.7f;
        ValueId ins[2] = {x, grid};
        NodeId nd = node(g, IR_OP_GRID_SAMPLE, "gs", ins, 2);
        ir_node_set_int(g, nd, "mode", cases[k][1]);
        ir_node_set_int(g, nd, "padding", cases[k][2]);
        ir_node_set_int(g, nd, "align_corners", cases[k][3]);
        output(g, nd);
        sup_run_check(g, in, 2, 1e-5, "grid_sample");
    }
}
END_TEST

START_TEST(test_topk)
{
    for (int k = 0; k < 3; k++) {
        Graph *g = ir_graph_new("topk");
        RtTensor in[1];
        ValueId x = k == 0   ? input(g, "x", 3, D(3, 6, 5), &in[0])
                    : k == 1 ? input_int(g, "x", IR_F32, 3, D(3, 6, 5), 0, 3, &in[0])
                             : input_int(g, "x", IR_I64, 3, D(3, 6, 5), -2, 2, &in[0]);
        for (int ax = 0; ax < 3; ax++)
            for (int m = 0; m < 4; m++) {
                NodeId n = node(g, IR_OP_TOPK, "tk", &x, 1);
                ir_node_set_int(g, n, "axis", ax == 2 ? -1 : ax);
                ir_node_set_int(g, n, "k", ax == 0 ? 2 : ax + m);
                ir_node_set_int(g, n, "largest", m & 1);
                ir_node_set_int(g, n, "indices", m >> 1);
                output(g, n);
            }
        sup_run_check(g, in, 1, 0, "topk");
    }
}
END_TEST

START_TEST(test_pool_nd)
{
    Graph *g = ir_graph_new("lp");
    RtTensor in[3];
    ValueId x1 = input(g, "x1", 3, D(2, 3, 11), &in[0]);
    ValueId x2 = input(g, "x2", 4, D(1, 2, 9, 8), &in[1]);
    ValueId x3 = input(g, "x3", 5, D(1, 2, 5, 4, 6), &in[2]);
    NodeId a = node(g, IR_OP_POOL_ND, "lp1", &x1, 1);
    ir_node_set_ints(g, a, "kernel", D(3), 1);
    ir_node_set_ints(g, a, "stride", D(2), 1);
    ir_node_set_ints(g, a, "pads", D(1, 2), 2);
    ir_node_set_int(g, a, "p", 3);
    ir_node_set_int(g, a, "ceil_mode", 1);
    output(g, a);
    NodeId b = node(g, IR_OP_POOL_ND, "lp2", &x2, 1);
    ir_node_set_ints(g, b, "kernel", D(2, 3), 2);
    ir_node_set_ints(g, b, "dilation", D(2, 1), 2);
    ir_node_set_ints(g, b, "pads", D(1, 0, 1, 2), 4);
    output(g, b);
    NodeId c = node(g, IR_OP_POOL_ND, "lp3", &x3, 1);
    ir_node_set_ints(g, c, "kernel", D(2, 2, 3), 3);
    ir_node_set_ints(g, c, "stride", D(1, 2, 2), 3);
    ir_node_set_int(g, c, "p", 1);
    output(g, c);
    for (int mode = 1; mode < 4; mode++) /* max, average (with/without the padding), argmax */
        for (int cip = 0; cip < 2; cip++) {
            NodeId m = node(g, IR_OP_POOL_ND, "pool", cip ? &x3 : &x2, 1);
            ir_node_set_int(g, m, "mode", mode);
            ir_node_set_int(g, m, "count_include_pad", cip);
            ir_node_set_int(g, m, "ceil_mode", 1);
            ir_node_set_ints(g, m, "kernel", D(3, 2, 3), cip ? 3 : 2);
            ir_node_set_ints(g, m, "stride", D(2, 2, 2), cip ? 3 : 2);
            ir_node_set_ints(g, m, "dilation", D(1, 2, 1), cip ? 3 : 2);
            ir_node_set_ints(g, m, "pads", D(1, 2, 0, 2, 1, 1), cip ? 6 : 4);
            ir_node_set_int(g, m, "storage_order", cip);
            output(g, m);
        }
    sup_run_check(g, in, 3, 1e-5, "pool_nd");
}
END_TEST

START_TEST(test_gather_scatter_nd)
{
    /* gather_nd: k = 2 into [4, 5, 3]; batch_dims 1 with k = 1 */
    for (int k = 0; k < 2; k++) {
        Graph *g = ir_graph_new("gnd");
        RtTensor in[2];
        ValueId x = k ? input_int(g, "x", IR_I32, 3, D(4, 5, 3), -9, 9, &in[0])
                      : input(g, "x", 3, D(4, 5, 3), &in[0]);
        ValueId idx = k ? input_int(g, "idx", IR_I64, 3, D(4, 2, 1), -5, 4, &in[1])
                        : input_int(g, "idx", IR_I32, 3, D(2, 3, 2), -4, 3, &in[1]);
        ValueId ins[2] = {x, idx};
        NodeId n = node(g, IR_OP_GATHER_ND, "gnd", ins, 2);
        ir_node_set_int(g, n, "batch_dims", k);
        output(g, n);
        sup_run_check(g, in, 2, 0, "gather_nd");
    }
    /* scatter_nd: 7 tuples (duplicates) of k = 1 into [4, 3, 2], each reduction */
    for (int red = 0; red < 5; red++) {
        Graph *g = ir_graph_new("snd");
        RtTensor in[3];
        ValueId x = input(g, "x", 3, D(4, 3, 2), &in[0]);
        ValueId idx = input_int(g, "idx", IR_I64, 2, D(7, 1), -4, 3, &in[1]);
        ValueId up = input(g, "up", 3, D(7, 3, 2), &in[2]);
        ValueId ins[3] = {x, idx, up};
        NodeId n = node(g, IR_OP_SCATTER_ND, "snd", ins, 3);
        ir_node_set_int(g, n, "reduction", red);
        output(g, n);
        sup_run_check(g, in, 3, 0, "scatter_nd");
    }
}
END_TEST

START_TEST(test_roi_align)
{
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("roi");
        RtTensor in[3];
        ValueId x = input(g, "x", 4, D(2, 3, 7, 6), &in[0]);
        ValueId rois = input(g, "rois", 2, D(5, 4), &in[1]);
        for (int i = 0; i < 20; i++) /* boxes from -2 to 8, some inverted or outside */
            ((float *)in[1].data)[i] = 3.0f + 5.0f * ((float *)in[1].data)[i];
        ValueId bi = input_int(g, "bi", k & 1 ? IR_I32 : IR_I64, 1, D(5), 0, 1, &in[2]);
        ValueId ins[3] = {x, rois, bi};
        NodeId n = node(g, IR_OP_ROI_ALIGN, "roi", ins, 3);
        ir_node_set_int(g, n, "out_h", 3);
        ir_node_set_int(g, n, "out_w", 2);
        ir_node_set_int(g, n, "sampling_ratio", k == 2 ? 2 : 0);
        ir_node_set_float(g, n, "spatial_scale", k == 3 ? 0.5 : 1.0);
        ir_node_set_int(g, n, "mode", k & 1);
        ir_node_set_int(g, n, "half_pixel", k < 2);
        output(g, n);
        sup_run_check(g, in, 3, 1e-5, "roi_align");
    }
}
END_TEST

/* A gather index out of range: the reference and the generated code both fail. */
START_TEST(test_index_out_of_range)
{
    for (int op = 0; op < 2; op++) {
        Graph *g = ir_graph_new("bad");
        RtTensor in[3];
        ValueId x = input(g, "x", 2, D(3, 4), &in[0]);
        ValueId idx = input_int(g, "idx", IR_I64, 2, D(3, 2), 0, 3, &in[1]);
        ((int64_t *)in[1].data)[3] = op ? -5 : 4; /* out of [-4, 4) */
        ValueId up = input(g, "up", 2, D(3, 2), &in[2]);
        ValueId ins[3] = {x, idx, up};
        NodeId n = node(g, op ? IR_OP_SCATTER_ELEMENTS : IR_OP_GATHER_ELEMENTS, "g", ins, 2 + op);
        ir_node_set_int(g, n, "axis", 1);
        output(g, n);
        Diag d;
        ir_diag_init(&d);
        ck_assert(ir_infer_shapes(g, &d));
        const void *ins_data[3] = {in[0].data, in[1].data, in[2].data};
        void *outs[1] = {0};
        int64_t syms[IR_MAX_SYMS] = {0};
        ck_assert(!ir_eval_graph(g, ins_data, outs, syms, &d));
        ck_assert_msg(strstr(ir_diag_text(&d), "out of range"), "%s", ir_diag_text(&d));
        free(outs[0]);
        char msg[1024];
        size_t len;
        char *src = sup_emit(g, &len, msg, sizeof msg);
        ck_assert_msg(src, "%s", msg);
        RtOptions ro;
        rt_options_default(&ro);
        RtModule *m = rt_compile(src, len, &ro, &d);
        ck_assert_msg(m, "%s", ir_diag_text(&d));
        RtExec *e = cg_exec_new(g, m, NULL, &d);
        ck_assert(e);
        RtTensor res[1];
        ck_assert(!rt_exec_run(e, in, 3, res, 1, 3, &d));
        rt_exec_free(e);
        rt_module_free(m);
        free(src);
        ir_diag_fini(&d);
        for (int i = 0; i < 3; i++)
            free(in[i].data);
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(test_shape_errors)
{
    Graph *g = ir_graph_new("bad");
    RtTensor in[3];
    ValueId x = input(g, "x", 2, D(3, 4), &in[0]);
    ValueId idx = input_int(g, "idx", IR_I64, 3, D(3, 4, 1), 0, 1, &in[1]);
    ValueId fidx = input(g, "fidx", 2, D(3, 4), &in[2]);
    ValueId ins[2] = {x, idx};
    node(g, IR_OP_GATHER_ELEMENTS, "ge_rank", ins, 2);
    ValueId ins2[2] = {x, fidx};
    node(g, IR_OP_GATHER_ELEMENTS, "ge_float", ins2, 2);
    NodeId am = node(g, IR_OP_ARGMAX, "am_axis", &x, 1);
    ir_node_set_int(g, am, "axis", 2);
    ValueId ins3[2] = {x, idx};
    node(g, IR_OP_MOD, "mod_dtype", ins3, 2);
    ValueId big = ir_input_new(g, "big", (Type){IR_I64, sup_shape(2, D(5, 4)), NULL}, (SrcLoc){0});
    ValueId ins4[2] = {x, big};
    NodeId gb = node(g, IR_OP_GATHER_ELEMENTS, "ge_big", ins4, 2);
    ir_node_set_int(g, gb, "axis", 1);
    Diag d;
    ir_diag_init(&d);
    ck_assert(!ir_infer_shapes(g, &d));
    const char *text = ir_diag_text(&d);
    ck_assert_msg(strstr(text, "gather_elements 'ge_rank'") && strstr(text, "i64[3, 4, 1]"), "%s",
                  text);
    ck_assert_msg(strstr(text, "gather_elements 'ge_float': indices must be i64 or i32"), "%s",
                  text);
    ck_assert_msg(strstr(text, "argmax 'am_axis': axis 2 is out of range") &&
                      strstr(text, "f32[3, 4]"),
                  "%s", text);
    ck_assert_msg(strstr(text, "mod 'mod_dtype'"), "%s", text);
    ck_assert_msg(strstr(text, "gather_elements 'ge_big': the indices must be no larger"), "%s",
                  text);
    ir_diag_fini(&d);
    for (int i = 0; i < 3; i++)
        free(in[i].data);
    ir_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops_index");
    TCase *t = tcase_create("ops");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_argmax_argmin);
    tcase_add_test(t, test_gather_elements);
    tcase_add_test(t, test_scatter_elements);
    tcase_add_test(t, test_cumsum);
    tcase_add_test(t, test_reduce_prod);
    tcase_add_test(t, test_mod);
    tcase_add_test(t, test_resize_axis);
    tcase_add_test(t, test_grid_sample);
    tcase_add_test(t, test_topk);
    tcase_add_test(t, test_pool_nd);
    tcase_add_test(t, test_gather_scatter_nd);
    tcase_add_test(t, test_roi_align);
    tcase_add_test(t, test_index_out_of_range);
    tcase_add_test(t, test_shape_errors);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
