/* Classifies handwritten digits with the lenet model that slimc_add_model() compiled into
 * this project: reads a .npy of 28x28 images (f32 [N, 1, 28, 28]), prints one digit each.
 *   usage: classify IMAGES.npy */
#include "lenet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LENET_THREADS
#define LENET_THREADS 1
#endif

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY\x01", 7) != 0) {
        fprintf(stderr, "usage: classify IMAGES.npy (a version-1 .npy of f32 [N, 1, 28, 28])\n");
        return 1;
    }
    long header = pre[8] | pre[9] << 8;
    fseek(f, 0, SEEK_END);
    int64_t n = (ftell(f) - 10 - header) / (long)(sizeof(float) * LENET_INPUT0_ELEMS(1));
    fseek(f, 10 + header, SEEK_SET);
    float *images = malloc(sizeof(float) * LENET_INPUT0_ELEMS(n));
    float *scores = malloc(sizeof(float) * LENET_OUTPUT0_ELEMS(n)); /* [N, 10] log-probabilities */
    if (n < 1 || !images || !scores ||
        fread(images, sizeof(float), LENET_INPUT0_ELEMS(n), f) != LENET_INPUT0_ELEMS(n)) {
        fprintf(stderr, "%s: cannot read the images\n", argv[1]);
        return 1;
    }
    fclose(f);

    lenet *model = lenet_init(NULL); /* weights are linked into liblenet.a */
    int64_t syms[LENET_N_SYMS] = {n};
    const void *inputs[LENET_N_INPUTS] = {images};
    void *outputs[LENET_N_OUTPUTS] = {scores};
    if (!model || lenet_run(model, syms, inputs, outputs, LENET_THREADS) != 0) {
        fprintf(stderr, "lenet failed\n");
        return 1;
    }
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (scores[i * 10 + k] > scores[i * 10 + best])
                best = k;
        printf("image %lld: digit %d\n", (long long)i, best);
    }
    lenet_free(model);
    free(images);
    free(scores);
    return 0;
}
