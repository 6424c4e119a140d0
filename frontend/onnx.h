/* The ONNX front end: a ModelProto (.onnx file) to a shape-checked Graph, and the
 * TensorProto files (.pb) of the ONNX test suite. docs/onnx.md has the whole contract. */
#ifndef SLIMC_FE_ONNX_H
#define SLIMC_FE_ONNX_H

#include "frontend/npy.h"
#include "ir/graph.h"

/* Newest default-domain opset this importer knows; older than 7 is refused. */
#define FE_ONNX_MIN_OPSET 7
#define FE_ONNX_MAX_OPSET 25

/* Reads path (mmapped) and imports its main graph: initializers become constants (their
 * raw_data is referred to, not copied again), dim_params become symbolic dims, shape
 * subgraphs (Shape → Gather → Concat → Reshape) are folded at import, each node is mapped
 * to IR ops with its opset's attribute defaults, and shapes are inferred. Every error is
 * reported to d naming the file and node (bad protobuf, opsets, cycles, dangling names,
 * bad initializers, external data outside the model's folder), and every unsupported op
 * in one message; returns NULL after any error. */
Graph *fe_onnx_load(const char *path, Diag *d);
/* Same from an in-memory image; path names it in messages and locates external data
 * (relative to its folder). buf need not outlive the call. */
Graph *fe_onnx_parse(const char *path, const void *buf, size_t len, Diag *d);

/* Options for tools that know some graph inputs ahead of time (the conformance runner,
 * whose test models pass shape-like tensors — axes, pads, scales — as graph inputs). */
typedef struct FeOnnxBinding {
    const char *name;      /* a graph input */
    const NpyArray *value; /* its value, fixed at import (copied) */
} FeOnnxBinding;
typedef struct FeOnnxOptions {
    const FeOnnxBinding *constants;
    int n_constants;
    /* Called for each graph input the importer needed as a constant (and did not have). */
    void (*needs_constant)(void *arg, const char *input_name);
    void *arg;
    /* The graph's max_memory (ir/limits.h), checked by constants made at import; 0: the
     * default. */
    uint64_t max_memory;
    /* Input shapes and symbolic dims the user fixed (--shape, --dim); NULL: none. */
    const struct FeFixes *fixes;
} FeOnnxOptions;
Graph *fe_onnx_load_ex(const char *path, const FeOnnxOptions *o, Diag *d);
Graph *fe_onnx_parse_ex(const char *path, const void *buf, size_t len, const FeOnnxOptions *o,
                        Diag *d);

/* Reads a serialized TensorProto (the input_N.pb / output_N.pb files of the ONNX test
 * suite): its dtype, shape and data into out (malloc'd; free with fe_npy_free). *name,
 * when name is not NULL, receives the tensor's name (malloc'd, may be empty). */
bool fe_onnx_tensor_read(const char *path, NpyArray *out, char **name, Diag *d);
bool fe_onnx_tensor_parse(const char *path, const void *buf, size_t len, NpyArray *out, char **name,
                          Diag *d);

#endif
