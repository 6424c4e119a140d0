/* For tests/cli/lib_checked.sh: runs mlp_run_checked (a `slimc build --lib` library) on a
 * raw f32 file of shape [n, k] given as dtype dt, writes the raw f32 output, or prints the
 * library's message for a refused input and exits with its code. */
#include "mlp.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s X.bin N K DTYPE Y.bin\n", argv[0]);
        return 64;
    }
    int64_t shape[2] = {atoll(argv[2]), atoll(argv[3])};
    size_t count = (size_t)(shape[0] * shape[1]);
    float *x = calloc(count + 1, sizeof *x), *y = calloc((size_t)shape[0] * 10 + 1, sizeof *y);
    FILE *f = fopen(argv[1], "rb");
    if (!x || !y || !f || fread(x, sizeof *x, count, f) != count)
        return 65;
    fclose(f);
    mlp_tensor in = {atoi(argv[4]), 2, shape, x, count * sizeof *x};
    void *out[1] = {y};
    char err[512] = "";
    mlp *m = mlp_init(NULL);
    int rc = m ? mlp_run_checked(m, &in, out, 1, err, sizeof err) : 66;
    if (rc == 0) {
        f = fopen(argv[5], "wb");
        if (!f || fwrite(y, sizeof *y, (size_t)shape[0] * 10, f) != (size_t)shape[0] * 10)
            rc = 67;
        if (f)
            fclose(f);
    } else
        fprintf(stderr, "error: %s\n", err);
    mlp_free(m);
    free(x);
    free(y);
    return rc;
}
