/* Shared by fuzz_passes and fuzz_codegen: a graph from fuzz input bytes, a model file as
 * it is on disk. A first byte below 0x20 other than whitespace (a protobuf tag: ONNX files
 * start with 0x08, ir_version) means ONNX, when slimc has ONNX import; anything else is
 * .slim text. So the committed models and tests/data/hostile/ serve as seeds unchanged.
 * Paths inside the model (weights, external data) resolve from a folder that does not
 * exist, so a graph that parses has only inline constants. Returns NULL when the model does
 * not parse (d then holds errors) or is ONNX without the ONNX reader. */
#ifndef SLIMC_FUZZ_MODEL_H
#define SLIMC_FUZZ_MODEL_H

#include "frontend/slim.h"
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What a model may ask for in the harnesses (the CLI default is half of physical memory). */
#define FUZZ_MAX_MEMORY ((uint64_t)16 << 20)

static Graph *fuzz_graph(const uint8_t *data, size_t size, Diag *d)
{
    if (size == 0)
        return NULL;
    const bool onnx = data[0] < 0x20 && data[0] != '\t' && data[0] != '\n' && data[0] != '\r';
    /* a copy of exactly size bytes, so that ASan sees any read past the end */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return NULL;
    if (size)
        memcpy(buf, data, size);
    Graph *g = NULL;
    if (onnx) {
#ifdef SLIMC_WITH_ONNX
        /* A small memory limit (ir/limits.h): constants of a few hundred MB are legitimate
         * but take seconds each under the sanitizers, and would stall the fuzzer. */
        const FeOnnxOptions o = {.max_memory = FUZZ_MAX_MEMORY};
        g = fe_onnx_parse_ex("/nonexistent-slimc-fuzz/model.onnx", buf, size, &o, d);
#endif
    } else {
        g = fe_slim_parse("/nonexistent-slimc-fuzz/fuzz.slim", buf, size, d);
    }
    free(buf);
    if ((g != NULL) != (d->n_errors == 0) && (g || !onnx))
        __builtin_trap(); /* a result that disagrees with the diagnostics */
    if (g)
        g->max_memory = FUZZ_MAX_MEMORY; /* for what the passes fold */
    return g;
}

#endif
