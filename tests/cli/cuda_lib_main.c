/* A program linked against the libraries of tests/data/cuda/ew.slim that
 * tests/cli/cuda_build.sh builds with `slimc build --device cuda --lib` (as cuda_a and
 * cuda_b: two models' CUDA libraries link into one program). Without a GPU, cuda_a_init
 * fails: it prints cuda_a_error(NULL) and exits 1. With one, it runs ew on host pointers
 * and prints the outputs (x * y + x, relu, * 0.5 - y, sigmoid). */
#include "cuda_a.h"
#include "cuda_b.h"

#include <stdio.h>

int main(void)
{
    cuda_a *a = cuda_a_init(NULL);
    if (!a) {
        fprintf(stderr, "cuda_lib_main: error: %s\n", cuda_a_error(NULL));
        return 1;
    }
    float x[2 * 8], y[2 * 8], out[2 * 8];
    for (int i = 0; i < 16; i++) {
        x[i] = (float)i / 8 - 1;
        y[i] = (float)(i % 5) / 4;
    }
    const int64_t syms[CUDA_A_N_SYMS + 1] = {2};
    const void *in[CUDA_A_N_INPUTS] = {x, y};
    void *outs[CUDA_A_N_OUTPUTS] = {out};
    int rc = cuda_a_run(a, syms, in, outs, 1);
    if (rc != 0) {
        fprintf(stderr, "cuda_lib_main: error: cuda_a_run: %d (%s)\n", rc, cuda_a_error(a));
        cuda_a_free(a);
        return 1;
    }
    for (int i = 0; i < 16; i++)
        printf("%.6f\n", (double)out[i]);
    cuda_a_free(a);
    cuda_b_free(NULL);
    return 0;
}
