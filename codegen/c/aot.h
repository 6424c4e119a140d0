/* The AOT emitter (codegen/c/aot.c): the C that `slimc build` writes around the model's
 * own code, for executables and static libraries. */
#ifndef SLIMC_CG_AOT_H
#define SLIMC_CG_AOT_H

#include "ir/graph.h"

#include <stdio.h>

/* The model as the AOT output shows it: names and types as the user sees them. */
typedef struct CgAotModel {
    const Graph *g;
    const char *const *input_names; /* what --input NAME= matches */
    const char *const *input_types, *const *output_names, *const *output_types;
    const char *version; /* slimc's, for the header's comment */
    int format_version;  /* of the generated header's ABI */
} CgAotModel;

/* Every constant the graph reads, packed 64-byte aligned into one malloc'd blob;
 * offsets[v] is constant v's place in it (or -1); *len its size. */
unsigned char *cg_aot_pack_constants(const Graph *g, int64_t *offsets, size_t *len);
/* The model's descriptor `slimc_desc` (after runtime/model_desc.h and model_io.c): read by
 * an executable's runtime/slimc_main.c, with the constants table `slimc_consts` (offsets
 * of cg_aot_pack_constants), and by a library's NAME_run_checked (offsets NULL: no table). */
void cg_aot_put_metadata(FILE *f, const CgAotModel *m, const int64_t *offsets);
/* True for a C identifier. */
bool cg_aot_is_identifier(const char *s);
/* Whether s may name a library (NAME_init, NAME.h, the NAME type, NAME_ macros): an
 * identifier led by a letter (no reserved _X or __x names) that is not a C keyword. */
bool cg_aot_is_lib_name(const char *s);
/* The library's NAME.h, and the API appended to the model's code in NAME.c. */
/* The part of NAME.h every library flavour shares (codegen/cuda/aot.c too): the include
 * guard's opening, the includes, `extern "C" {`, NAME_FORMAT_VERSION, NAME_N_* and
 * NAME_WEIGHTS_BYTES, each input's and output's macros and NAME_ARENA_BYTES(...). */
void cg_aot_put_header_macros(FILE *f, const CgAotModel *m, const char *name, size_t blob_len,
                              bool weights_file);
void cg_aot_put_header(FILE *f, const CgAotModel *m, const char *name, size_t blob_len,
                       bool weights_file);
void cg_aot_put_wrapper(FILE *f, const CgAotModel *m, const char *name, const int64_t *offsets,
                        bool weights_file);

#endif
