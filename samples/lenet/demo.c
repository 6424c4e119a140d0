/* The LeNet demo: compiles samples/lenet/lenet.slim through the public API, classifies
 * the 450 held-out handwritten digits and prints the predictions, the accuracy and the
 * time per image.   usage: slimc_demo_lenet [SAMPLES_DIR] [--threads N] */
#include "slimc/slimc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(SlimcContext *ctx)
{
    fputs(slimc_error(ctx), stderr);
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = "samples/lenet";
    SlimcOptions opt;
    slimc_options_default(&opt);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            opt.threads = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else
            dir = argv[i];
    }
    char model_path[1024], x_path[1024], y_path[1024];
    snprintf(model_path, sizeof model_path, "%s/lenet.slim", dir);
    snprintf(x_path, sizeof x_path, "%s/test_x.npy", dir);
    snprintf(y_path, sizeof y_path, "%s/test_y.npy", dir);

    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e;
    SlimcTensor x, y;
    double t0 = now_ms();
    if (slimc_model_load(ctx, model_path, &m) != SLIMC_OK ||
        slimc_compile(ctx, m, &opt, &e) != SLIMC_OK)
        return fail(ctx);
    double t_compile = now_ms() - t0;
    if (slimc_npy_load(ctx, x_path, &x) != SLIMC_OK || slimc_npy_load(ctx, y_path, &y) != SLIMC_OK)
        return fail(ctx);
    if (y.dtype != SLIMC_I64 || y.ndim != 1 || x.ndim != 4 || x.shape[0] != y.shape[0]) {
        fprintf(stderr, "%s: error: expected digits [N,1,28,28] and int64 labels [N]\n", dir);
        return 1;
    }
    int64_t n = x.shape[0];
    printf("slimc %s: compiled %s in %.1f ms (%d thread%s)\n", slimc_version(), model_path,
           t_compile, opt.threads, opt.threads == 1 ? "" : "s");

    /* One image at a time (batch 1, the latency case), then the whole set as one batch. */
    SlimcTensor img = x, out;
    img.shape[0] = 1;
    size_t img_bytes = x.nbytes / (size_t)n;
    img.nbytes = img_bytes;
    int64_t *pred = calloc((size_t)n, sizeof *pred);
    double *ms = calloc((size_t)n, sizeof *ms);
    int correct = 0;
    for (int64_t i = 0; i < n; i++) {
        img.data = (char *)x.data + (size_t)i * img_bytes;
        double s = now_ms();
        if (slimc_exec_run(ctx, e, &img, 1, &out, 1) != SLIMC_OK)
            return fail(ctx);
        ms[i] = now_ms() - s;
        const float *logp = out.data;
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (logp[k] > logp[best])
                best = k;
        pred[i] = best;
        correct += best == ((const int64_t *)y.data)[i];
        slimc_tensor_free(&out);
    }
    printf("predictions (first 40, label in brackets where wrong):\n ");
    for (int64_t i = 0; i < n && i < 40; i++) {
        int64_t label = ((const int64_t *)y.data)[i];
        if (pred[i] == label)
            printf(" %lld", (long long)pred[i]);
        else
            printf(" %lld[%lld]", (long long)pred[i], (long long)label);
    }
    double total = 0;
    for (int64_t i = 0; i < n; i++)
        total += ms[i];
    printf("\naccuracy: %d/%lld = %.2f%% on held-out digits\n", correct, (long long)n,
           100.0 * correct / (double)n);
    printf("time per image (batch 1): %.4f ms mean\n", total / (double)n);
    double s = now_ms();
    if (slimc_exec_run(ctx, e, &x, 1, &out, 1) != SLIMC_OK)
        return fail(ctx);
    double batch_ms = now_ms() - s;
    int agree = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *logp = (const float *)out.data + i * 10;
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (logp[k] > logp[best])
                best = k;
        agree += best == pred[i];
    }
    printf("time per image (batch %lld): %.4f ms; batch predictions agree on %d/%lld\n",
           (long long)n, batch_ms / (double)n, agree, (long long)n);
    slimc_tensor_free(&out);
    free(pred);
    free(ms);
    slimc_tensor_free(&x);
    slimc_tensor_free(&y);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return agree == n ? 0 : 1;
}
