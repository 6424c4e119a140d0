/* The pipeline structure (passes/pass.h: PassPipeline) that `--passes` strings and compress
 * blocks both produce: parsing strings into steps with typed arguments and their places,
 * checking pass names of a pipeline built elsewhere, running one, and the API layer that
 * reads file arguments for the passes (api/pipeline.c: passes do no I/O). */
#include "api/pipeline.h"
#include "frontend/npy.h"
#include "frontend/slim.h"
#include "passes/pass.h"

#include "support_fs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char relu_model[] = "model m(x: f32[N, 4]) -> f32[N, 4]\n"
                                 "    return relu(x)\n";

START_TEST(parse_steps_and_places)
{
    Graph *g = ir_graph_new("t");
    Diag d;
    ir_diag_init(&d);
    PassPipeline p;
    const char *text = "fold, quantize(int8, calibrate=\"c.npy\", method=percentile(99.99),"
                       " max_drop=0.5%) ,dce";
    ck_assert_msg(pass_pipeline_parse(g, text, (SrcLoc){0}, &p, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(d.n_errors, 0);
    ck_assert_int_eq(p.n, 3);
    ck_assert_str_eq(p.steps[0].name, "fold");
    ck_assert_str_eq(p.steps[2].name, "dce");
    ck_assert_int_eq(p.steps[2].loc.col, (int)(strstr(text, "dce") - text) + 1);
    const PassArgs *q = &p.steps[1];
    ck_assert_str_eq(q->name, "quantize");
    ck_assert_str_eq(q->loc.file, "--passes");
    ck_assert_int_eq(q->loc.line, 1);
    ck_assert_int_eq(q->loc.col, 7);
    ck_assert_int_eq(q->n, 4);
    /* every argument has its own place: the key's, or the value's when positional */
    ck_assert_int_eq(q->args[0].kind, PASS_ARG_NAME);
    ck_assert_int_eq(q->args[0].loc.col, 16);
    ck_assert_str_eq(q->args[1].key, "calibrate");
    ck_assert_int_eq(q->args[1].kind, PASS_ARG_STRING);
    ck_assert_str_eq(q->args[1].text, "c.npy");
    ck_assert_int_eq(q->args[1].loc.col, (int)(strstr(text, "calibrate") - text) + 1);
    ck_assert_ptr_null(q->args[1].file); /* parsing reads no file */
    ck_assert_int_eq(q->args[2].kind, PASS_ARG_CALL);
    ck_assert_str_eq(q->args[2].call->name, "percentile");
    ck_assert_int_eq(q->args[2].call->args[0].loc.col, (int)(strstr(text, "99.99") - text) + 1);
    ck_assert_double_eq_tol(q->args[2].call->args[0].number, 99.99, 1e-12);
    ck_assert_int_eq(q->args[3].kind, PASS_ARG_NUMBER);
    ck_assert_str_eq(q->args[3].text, "0.5%");
    ck_assert_double_eq_tol(q->args[3].number, 0.005, 1e-15);
    /* which arguments name files the API reads */
    ck_assert(pass_file_arg("quantize", "calibrate"));
    ck_assert(pass_file_arg("quantize", "validate"));
    ck_assert(pass_file_arg("quantize", "labels"));
    ck_assert(!pass_file_arg("quantize", "method"));
    ck_assert(!pass_file_arg("quantize", NULL));
    ck_assert(!pass_file_arg("fold", "calibrate"));
    ck_assert(!pass_file_arg("nope", "calibrate"));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* pass_pipeline_parse fails on text with exactly the message want, and leaves no steps. */
static void expect_bad(const char *text, const char *want)
{
    Graph *g = ir_graph_new("t");
    Diag d;
    ir_diag_init(&d);
    PassPipeline p = {.n = 99};
    ck_assert_msg(!pass_pipeline_parse(g, text, (SrcLoc){0}, &p, &d), "%s parsed", text);
    ck_assert_int_eq(p.n, 0);
    ck_assert_ptr_null(p.steps);
    ck_assert_int_eq(d.n_errors, 1);
    ck_assert_str_eq(ir_diag_text(&d), want);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

START_TEST(parse_bad)
{
    expect_bad("fold,dce,", "--passes:1:10: error: expected a pass name after ','\n"
                            "  fold,dce,\n"
                            "           ^\n");
    expect_bad("quantize(int8 calibrate=1)",
               "--passes:1:15: error: expected ',' or ')' in the arguments, found 'c'\n"
               "  quantize(int8 calibrate=1)\n"
               "                ^\n");
    expect_bad("quantize(method=percentile(99.9x))", "--passes:1:32: error: malformed number\n"
                                                     "  quantize(method=percentile(99.9x))\n"
                                                     "                                 ^\n");
    expect_bad("quantize(x=\"a\\n\")",
               "--passes:1:14: error: unknown escape in string (only \\\" and \\\\ are allowed)\n"
               "  quantize(x=\"a\\n\")\n"
               "               ^\n");
    expect_bad("fold(=1)",
               "--passes:1:6: error: expected an argument (a name, number, string or call), "
               "found '='\n"
               "  fold(=1)\n"
               "       ^\n");
}
END_TEST

/* A pipeline built elsewhere (as the front end builds a compress block) is checked and run
 * like a parsed one. */
START_TEST(check_and_exec)
{
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_slim_parse("m.slim", relu_model, strlen(relu_model), &d);
    ck_assert_msg(g, "%s", ir_diag_text(&d));
    PassArgs steps[2] = {{.name = "fold", .loc = {"m.slim", 7, 5}},
                         {.name = "fsue", .loc = {"m.slim", 8, 5}}};
    PassPipeline p = {2, steps};
    ck_assert(!pass_pipeline_check(&p, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "m.slim:8:5: error: unknown pass 'fsue' (known "
                                                   "passes: fold, dce,"));
    ck_assert_int_eq(d.n_errors, 1);
    /* exec checks too: nothing runs */
    ck_assert(!pass_pipeline_exec(g, &p, NULL, &d));
    ck_assert(!g->planned);
    ir_diag_fini(&d);
    ir_diag_init(&d);
    steps[1].name = "memplan";
    PassRunOptions o = {.verify = true};
    ck_assert_msg(pass_pipeline_exec(g, &p, &o, &d), "%s", ir_diag_text(&d));
    ck_assert(g->planned);
    /* an argument error points at the argument */
    PassArg bad = {.key = "limit", .loc = {"m.slim", 7, 10}, .kind = PASS_ARG_NUMBER, .text = "3"};
    steps[0].n = 1;
    steps[0].args = &bad;
    ck_assert(!pass_pipeline_exec(g, &p, &o, &d));
    ck_assert_ptr_nonnull(
        strstr(ir_diag_text(&d), "m.slim:7:10: error: pass 'fold' has no argument 'limit'"));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* The API reads file arguments: relative to the model file for a compress block, to the
 * working directory for --passes; an error names the file; release frees the data. */
START_TEST(api_loads_files)
{
    char *dir = strdup(fs_make_tmp());
    char model[512], calib[512], text[1200];
    snprintf(model, sizeof model, "%s/m.slim", dir);
    snprintf(calib, sizeof calib, "%s/calib.npy", dir);
    snprintf(text, sizeof text, "%s\ncompress m\n    quantize(int8, calibrate=\"calib.npy\")\n",
             relu_model);
    Diag d;
    ir_diag_init(&d);
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert(fe_npy_write(calib, IR_F32, 2, (const int64_t[]){2, 4}, x, &d));
    Graph *g = fe_slim_parse(model, text, strlen(text), &d);
    ck_assert_msg(g, "%s", ir_diag_text(&d));
    ck_assert_ptr_nonnull(g->compress);
    ck_assert_int_eq(g->compress->n, 1);
    ck_assert_int_eq(g->compress->steps[0].args[1].loc.line, 5);
    ck_assert_int_eq(g->compress->steps[0].args[1].loc.col, 20);
    PassPipeline run;
    api_pipeline_load(g, g->compress, &run);
    const PassFile *f = run.steps[0].args[1].file;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(f->error);
    ck_assert_str_eq(f->path, calib);
    ck_assert_int_eq(f->dtype, IR_F32);
    ck_assert_int_eq(f->ndim, 2);
    ck_assert_int_eq(f->shape[0], 2);
    ck_assert_int_eq(f->shape[1], 4);
    ck_assert_uint_eq(f->nbytes, sizeof x);
    ck_assert(memcmp(f->data, x, sizeof x) == 0);
    ck_assert_ptr_null(g->compress->steps[0].args[1].file); /* the model's block is untouched */
    ck_assert_ptr_null(run.steps[0].args[0].file);          /* int8 is not a file */
    api_pipeline_release(&run);
    ck_assert_ptr_null(run.steps[0].args[1].file);
    /* --passes: relative to the working directory, so the model's folder is not searched;
     * the failure is kept for the pass, which reports it if it needs the data */
    PassPipeline cli;
    ck_assert(
        pass_pipeline_parse(g, "quantize(int8, calibrate=\"calib.npy\")", (SrcLoc){0}, &cli, &d));
    api_pipeline_load(g, &cli, &run);
    f = run.steps[0].args[1].file;
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(f->data);
    ck_assert_ptr_nonnull(f->error);
    ck_assert_int_eq(f->error->n_errors, 1);
    ck_assert_msg(strstr(ir_diag_text(f->error), "calib.npy: error:"), "%s",
                  ir_diag_text(f->error));
    ck_assert_msg(!strstr(ir_diag_text(f->error), dir), "%s", ir_diag_text(f->error));
    ck_assert_int_eq(d.n_errors, 0); /* nothing reported yet */
    ck_assert_ptr_null(pass_file(&run.steps[0].args[1], &d));
    ck_assert_int_eq(d.n_errors, 1);
    ck_assert_msg(strstr(ir_diag_text(&d), "calib.npy: error:"), "%s", ir_diag_text(&d));
    api_pipeline_release(&run);
    ir_diag_fini(&d);
    ir_diag_init(&d);
    /* relu has nothing to quantize: a warning, and a file it never needed is no error */
    ck_assert_msg(api_pipeline_run_text(g, "quantize(int8, calibrate=\"no/such.npy\")", NULL, &d),
                  "%s", ir_diag_text(&d));
    ck_assert_int_eq(d.n_warnings, 1);
    ck_assert_int_eq(d.n_errors, 0);
    ir_diag_fini(&d);
    ir_diag_init(&d);
    /* the whole run through the API */
    ck_assert_msg(api_pipeline_run(g, g->compress, NULL, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(d.n_warnings, 1);
    ir_diag_fini(&d);
    ir_graph_free(g);
    fs_rm_tree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipeline");
    TCase *t = tcase_create("pipeline");
    tcase_add_test(t, parse_steps_and_places);
    tcase_add_test(t, parse_bad);
    tcase_add_test(t, check_and_exec);
    tcase_add_test(t, api_loads_files);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
