/* A program linked against the libraries of tests/data/cuda/ew.slim that
 * tests/cli/cuda_build.sh builds with `slimc build --device cuda --lib` (as cuda_a and
 * cuda_b: two models' CUDA libraries link into one program). Without a GPU, cuda_a_init
 * fails: it prints cuda_a_error(NULL) and exits 1. With one, it runs ew on host pointers
 * and prints the outputs (x * y + x, relu, * 0.5 - y, sigmoid). With $MOCK_DEVICE_IS_HOST
 * set (tests/cli/cuda_mock_driver.c: device memory is host memory) it also runs cuda_b
 * through cuda_b_run_device on the same buffers and checks that it gives the same. */
#include "cuda_a.h"
#include "cuda_b.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (!getenv("MOCK_DEVICE_IS_HOST"))
        return 0;
    cuda_b *b = cuda_b_init(NULL);
    float out_b[2 * 8];
    void *outs_b[CUDA_B_N_OUTPUTS] = {out_b};
    if (!b || (rc = cuda_b_run_device(b, syms, in, outs_b)) != 0) {
        fprintf(stderr, "cuda_lib_main: error: cuda_b: %s\n", cuda_b_error(b));
        cuda_b_free(b);
        return 1;
    }
    cuda_b_free(b);
    if (memcmp(out, out_b, sizeof out) != 0) {
        fprintf(stderr, "cuda_lib_main: error: cuda_b_run_device differs from cuda_a_run\n");
        return 1;
    }
    printf("run_device: the same\n");
    return 0;
}
