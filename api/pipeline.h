/* Pipelines at the API layer: where a pipeline's file arguments are read (passes do no
 * I/O, see passes/pass.h), and the one way the API runs a `--passes` string or a model's
 * compress block. */
#ifndef SLIMC_API_PIPELINE_H
#define SLIMC_API_PIPELINE_H

#include "passes/pass.h"

/* Copies src into *out (steps and their argument arrays in g's arena) and reads every file
 * argument (pass_file_arg) given as a string or name: a .npy, by the checked reader of
 * frontend/npy.c (quantize's calibrate= and validate= also take a .npz, frontend/npz.c, or
 * "NAME=FILE.npy,NAME=FILE.npy": PassFile.parts, one array per model input), its path relative to
 * the model file's folder when the step comes from the model's compress block, else to the working
 * directory. A file that cannot be read keeps the reader's messages (naming the file) on the
 * argument, for the pass to report when it asks for the data (pass_file). Release with
 * api_pipeline_release after running *out. */
void api_pipeline_load(Graph *g, const PassPipeline *src, PassPipeline *out);
/* Frees what api_pipeline_load read for p (data and kept messages). */
void api_pipeline_release(PassPipeline *p);
/* Runs p (a pipeline with file arguments: loaded first, released after). */
bool api_pipeline_run(Graph *g, const PassPipeline *p, const PassRunOptions *o, Diag *d);
/* Parses the `--passes` string text (messages quote it as the pseudo-file "--passes") and
 * runs it as api_pipeline_run does. */
bool api_pipeline_run_text(Graph *g, const char *text, const PassRunOptions *o, Diag *d);

#endif
