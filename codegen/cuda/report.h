/* What the CUDA backend emitted, for people (`slimc inspect --device cuda`): each kernel
 * and each launch a run makes, with its grid (C expressions over the symbols, as the host
 * half computes them) and block. Read from the backend's own records (CuCtx: kernel_names,
 * launches), copied out when cg_emit ends; nothing is parsed back from the text. */
#ifndef SLIMC_CODEGEN_CUDA_REPORT_H
#define SLIMC_CODEGEN_CUDA_REPORT_H

#include "codegen/backend.h"

typedef struct CuReportLaunch {
    NodeId node;
    int kernel;          /* index into kernels */
    const char *grid[3]; /* C expressions (int64) over the symbols' C names (sym_names) */
    int block[3];
    const char *what; /* what a block and a thread do */
} CuReportLaunch;

typedef struct CuReport {
    Arena *arena; /* owns everything below */
    int n_kernels;
    const char **kernels; /* names, in the order of P_cuda_kernels */
    int n_launches;
    CuReportLaunch *launches; /* in the order a run makes them */
    int n_syms;
    const char **sym_names; /* the symbols' C names in the expressions ("sym_N") */
} CuReport;

/* Emits g (verified, planned, placed on IR_DEVICE_CUDA) with the CUDA backend and fills
 * r; the source goes to out (NULL: discarded). false after errors (r empty). Free r with
 * cg_cuda_report_free either way. */
bool cg_cuda_report(const Graph *g, const CgOptions *o, FILE *out, CuReport *r, Diag *d);
void cg_cuda_report_free(CuReport *r);

/* The hook of codegen/cuda/emit.c: called by its last stage with the backend's state,
 * copies the kernels and launches out when a report is being made on this thread. */
struct CuCtx;
void cu_report_capture(const struct CuCtx *cu);

#endif
