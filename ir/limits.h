/* Resource limits on what one model may ask for: memory (weights, arena, outputs and
 * constants folded at compile time) and the size of the model's description (nodes,
 * nesting). A model file is untrusted input: a 100-byte file may ask for terabytes or a
 * million-deep expression, and the answer is a clear error, not an abort or a swap storm. */
#ifndef SLIMC_IR_LIMITS_H
#define SLIMC_IR_LIMITS_H

#include "ir/diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nodes of an ONNX graph (the .slim builder has its own, smaller FE_MAX_NODES). */
#define IR_MAX_NODES 1000000
/* Nesting of ONNX messages (subgraphs in attributes, types in types); .slim expressions
 * have FE_MAX_EXPR_DEPTH and blocks in blocks FE_MAX_NESTING. */
#define IR_MAX_DEPTH 200

/* Half of the machine's physical memory (the default of --max-memory); 4 GiB if unknown. */
uint64_t ir_default_max_memory(void);

/* Parses a size: plain bytes ("1048576") or a number with a binary suffix K, M, G or T
 * (optionally followed by "iB" or "B"; "512M", "1.5G", "4GiB"). False for anything else,
 * for zero and for sizes of 2^63 bytes or more. */
bool ir_parse_size(const char *s, uint64_t *out);

/* "8.0 TiB", "11.7 GiB", "512 B" into buf; returns buf. */
char *ir_bytes_str(double bytes, char *buf, size_t size);

/* True when bytes (a double, so that products of hostile dims cannot wrap) fit in limit;
 * otherwise reports "WHAT of SIZE exceeds the memory limit (LIMIT; --max-memory raises it)"
 * at loc and returns false. what names the thing ("node 'onehot': constant result"). */
bool ir_check_memory(double bytes, uint64_t limit, const char *what, SrcLoc loc, Diag *d);

/* What running g asks for, in bytes: its weights, its arena (after memplan; 0 before) and
 * its outputs, with the symbols set to sym_values (NULL: every symbol 1). In double, so
 * that hostile dims cannot wrap. */
struct Graph;
double ir_model_bytes(const struct Graph *g, const int64_t *sym_values);

#endif
