/* The CUDA backend's tests: a graph placed on CUDA, emitted by the CUDA backend, compiled by
 * NVRTC for the GPUs slimc targets (the PTX checked by ptxas where it is installed), run
 * under the CPU emulation (runtime/cuda_emu.h) and compared with the reference evaluator.
 * With SLIMC_TEST_DEVICE=cuda in the environment, support_cg.c's sup_check (and so every op
 * suite built on it) runs through here instead of the C backend. With SLIMC_TEST_GPU=1
 * as well, the graphs run on the GPU instead of the emulation (scripts/gpu_check.sh). */
#ifndef SLIMC_TESTS_SUPPORT_CUDA_H
#define SLIMC_TESTS_SUPPORT_CUDA_H

#include "codegen/backend.h"
#include "runtime/exec.h"

/* $SLIMC_TEST_DEVICE is "cuda". */
bool sup_test_device_cuda(void);

/* Emits g (shapes inferred) with the CUDA backend after placing every node on CUDA and
 * planning memory; o may be NULL (defaults). Returns malloc'd source or NULL (msg says why). */
char *sup_cuda_emit(Graph *g, const CgOptions *o, size_t *len, char *msg, size_t msg_size);

/* Compiles src with NVRTC to PTX for compute_75 and compute_80 and runs ptxas on each PTX
 * where ptxas is installed. NVRTC missing is a failure (the project's install script puts
 * it on every machine that runs the tests). */
bool sup_cuda_nvrtc(const char *src, size_t len, char *msg, size_t msg_size);

/* sup_cuda_emit, sup_cuda_nvrtc, then runs the file under the emulation with the inputs
 * and compares each output with ir_eval_graph: floats within tol * max|ref| (tol 0: equal),
 * other dtypes bit for bit. On a failure the file is kept as failed_model.cu. */
bool sup_cuda_check(Graph *g, const RtTensor *inputs, const CgOptions *o, double tol, char *msg,
                    size_t msg_size);

#endif
