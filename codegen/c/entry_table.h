/* P_run as tables (codegen/c/entry_table.c): the JIT's entry of a large graph fills an
 * array with every value's pointer and runs the nodes from static tables of records
 * through one loop, instead of a statement block per node — the same calls, a small
 * fraction of the compile time. */
#ifndef SLIMC_CODEGEN_C_ENTRY_TABLE_H
#define SLIMC_CODEGEN_C_ENTRY_TABLE_H

#include "codegen/c/text.h"

/* Whether the entry is written as tables: JIT code (c->dedup), not profiled, one device,
 * more than 64 live nodes. */
bool cg_table_wanted(const CgCtx *c);
/* Before P_run: the record type and slimc_cg_exec, the loop that runs records. */
void cg_table_helper(CgCtx *c);
/* In P_run, after the checks: P_v (every value's pointer) and P_x (every distinct work,
 * item-count and element-count expression); sets c->table, and c->val_names to the slots
 * (`((float *)P_v[12])`) for the statements that follow. */
void cg_table_values(CgCtx *c);
/* Records node id's call for the next segment; false when it is not a call (a view, a
 * concat done in place): the caller flushes and writes its statements. */
bool cg_table_call(CgCtx *c, NodeId id);
/* Writes the recorded calls as one segment (a static table and one slimc_cg_exec). */
void cg_table_flush(CgCtx *c);

#endif
