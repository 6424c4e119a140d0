/* Fused attention (attention.c): cu_find_groups and cu_emit_attention are declared in cu.h;
 * this header adds what the host half of emit.c needs for a group's head. The lead folds it
 * into cu.h. */
#ifndef SLIMC_CODEGEN_CUDA_ATTENTION_H
#define SLIMC_CODEGEN_CUDA_ATTENTION_H

#include "codegen/cuda/cu.h"

/* Prints the `a.in[i] = ...;` statements of group head `head`'s launch (its kernel's
 * inputs are the group's: q, k transposed, v, the scale operands), in place of the head
 * node's own inputs. */
void cu_attention_inputs(CgCtx *c, NodeId head);

/* The attention op itself (not a group): one thread per query row (f32). */
void cu_emit_attention_op(CgCtx *c, NodeId id);

#endif
