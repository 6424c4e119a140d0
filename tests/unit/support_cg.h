/* Shared helpers of the C-backend tests: build small graphs, run them through memplan,
 * the C emitter, the JIT and rt_exec, and compare with the reference evaluator. */
#ifndef SLIMC_TESTS_SUPPORT_CG_H
#define SLIMC_TESTS_SUPPORT_CG_H

#include "ir/graph.h"
#include "codegen/c/desc.h"
#include "runtime/jit.h"

/* Shape from a list of static dims. */
Shape sup_shape(int rank, const int64_t *dims);
Type sup_f32(int rank, const int64_t *dims);
/* A constant f32 tensor of the given shape with uniform random values in [-1, 1). */
ValueId sup_const_rand(Graph *g, const char *name, int rank, const int64_t *dims, unsigned *seed);
float sup_rand(unsigned *seed);

/* Emits g (already shaped) to C after memplan; returns malloc'd source or NULL (message
 * in msg). */
char *sup_emit(Graph *g, size_t *len, char *msg, size_t msg_size);
/* shared_kernels: JIT code linked against libslimc_kernels (what sup_emit makes), else a
 * self-contained file as AOT builds compile. */
char *sup_emit_as(Graph *g, bool shared_kernels, size_t *len, char *msg, size_t msg_size);

/* Runs g through memplan, the emitter, rt_compile and rt_exec with the given inputs
 * (input data in graph input order, with the given concrete shapes) at each thread count
 * in threads[0..n_threads), and compares each output with ir_eval_graph:
 * max|a - b| <= tol * max|b| (tol 0: bitwise equal values, NaN equal to NaN).
 * Returns true on agreement; else false with a message in msg. */
bool sup_check(Graph *g, const RtTensor *inputs, const int *threads, int n_threads, double tol,
               char *msg, size_t msg_size);

/* The symbol values the inputs bind (1 for the others), as rt_bind_inputs would. */
void sup_bind_syms(const Graph *g, const RtTensor *in, int64_t *syms);
/* max|a - b| over the finite values (NaN and infinities must match), into *err; the largest
 * finite |b| into *scale; true when *err <= tol * *scale (tol 0: equal). */
bool sup_compare(const float *a, const float *b, size_t n, double tol, double *err, double *scale);

/* Random f32 input tensor (malloc'd data). */
RtTensor sup_input_rand(int rank, const int64_t *dims, unsigned *seed);
/* A graph input f32[dims] and its random data in *t. */
ValueId sup_input(Graph *g, const char *name, int rank, const int64_t *dims, RtTensor *t,
                  unsigned *seed);
/* A graph input of dtype dt (integers or floats) and its data in *t: random integers in
 * [lo, hi], stored in that dtype. */
ValueId sup_input_int(Graph *g, const char *name, DType dt, int rank, const int64_t *dims, int lo,
                      int hi, RtTensor *t, unsigned *seed);
/* Infers g's shapes, runs sup_check at 1 and 3 threads, frees the inputs' data and g, and
 * fails the test (naming what) on any disagreement. */
void sup_run_check(Graph *g, RtTensor *in, int n_in, double tol, const char *what);

/* Compiles src (emitted from g), runs it on the n_in inputs at 1, 2 and 3 threads, and
 * fails the test (naming what) unless every output agrees with ref (ny floats) to tol and
 * the thread counts agree bit for bit. Frees src; returns the output (malloc'd). */
float *sup_run_threads_vs(Graph *g, char *src, size_t len, const RtTensor *in, int n_in,
                          const float *ref, size_t ny, double tol, const char *what);

#endif
