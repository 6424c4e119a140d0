/* Uses the lenet library that `slimc build --lib` writes, as a project would: reads
 * input.npy (f32 [N, 1, 28, 28]), runs lenet_run and lenet_run_arena (the caller's arena,
 * sized by LENET_ARENA_BYTES), checks both agree and writes OUT.npy. With a third
 * argument, the weights file for a --weights-file build. */
#include "lenet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *read_npy(const char *path, int64_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY\x01", 7) != 0)
        return NULL;
    long hlen = pre[8] | pre[9] << 8;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f) - 10 - hlen;
    fseek(f, 10 + hlen, SEEK_SET);
    *n = bytes / (long)(sizeof(float) * 28 * 28);
    float *x = malloc((size_t)bytes);
    if (!x || fread(x, 1, (size_t)bytes, f) != (size_t)bytes)
        return NULL;
    fclose(f);
    return x;
}

static int write_npy(const char *path, const float *y, int64_t n)
{
    char hdr[128];
    int len =
        snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, 10), }",
                 (long long)n);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 255, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(y, sizeof(float), (size_t)(n * 10), f);
    return fclose(f) == 0;
}

static unsigned char arena_space[LENET_ARENA_BYTES(8) + 64] __attribute__((aligned(64)));

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int64_t n = 0;
    float *x = read_npy(argv[1], &n);
    if (!x || n < 1 || n > 8) {
        fprintf(stderr, "bad input %s\n", argv[1]);
        return 1;
    }
    lenet *m = lenet_init(argc > 3 ? argv[3] : NULL);
    if (!m) {
        fprintf(stderr, "lenet_init failed\n");
        return 1;
    }
    int64_t syms[LENET_N_SYMS] = {n};
    if (lenet_arena_bytes(syms) != LENET_ARENA_BYTES(n)) {
        fprintf(stderr, "LENET_ARENA_BYTES disagrees with lenet_arena_bytes\n");
        return 1;
    }
    int64_t shape[LENET_INPUT0_RANK] = LENET_INPUT0_SHAPE(n);
    float *y = malloc(sizeof(float) * LENET_OUTPUT0_ELEMS(n)),
          *y2 = malloc(sizeof(float) * LENET_OUTPUT0_ELEMS(n));
    const void *in[LENET_N_INPUTS] = {x};
    void *out[LENET_N_OUTPUTS] = {y}, *out2[LENET_N_OUTPUTS] = {y2};
    if (shape[0] != n || lenet_run(m, syms, in, out, 2) != 0 ||
        lenet_run_arena(m, syms, in, out2, arena_space, 1) != 0) {
        fprintf(stderr, "run failed\n");
        return 1;
    }
    if (memcmp(y, y2, sizeof(float) * LENET_OUTPUT0_ELEMS(n)) != 0) {
        fprintf(stderr, "lenet_run and lenet_run_arena disagree\n");
        return 1;
    }
    lenet_free(m);
    int ok = write_npy(argv[2], y, n);
    free(x);
    free(y);
    free(y2);
    printf("format %d, arena %zu bytes\n", LENET_FORMAT_VERSION, (size_t)LENET_ARENA_BYTES(n));
    return ok ? 0 : 1;
}
