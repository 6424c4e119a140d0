/* libFuzzer harness for the device profile's JSON reader (passes/cost_model.c): any input
 * must parse or fail cleanly with a diagnostic, never crash, hang or read out of bounds;
 * a profile that parses must be written back as text that parses again and writes the
 * same text (the numbers at %.6g are a fixed point after one round). */
#include "passes/cost_model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* p written (without its source, which grows with each round) into a malloc'd string */
static char *written(CostProfile *p, size_t *len)
{
    p->source[0] = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        __builtin_trap();
    cost_profile_write(p, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    ir_diag_init(&d);
    CostProfile p;
    bool ok = cost_profile_parse((const char *)data, size, "fuzz.json", &p, &d);
    if (ok != (d.n_errors == 0))
        __builtin_trap(); /* a result that disagrees with the diagnostics */
    if (ok) {
        if (!p.dev[IR_DEVICE_CPU].present || p.hash != cost_profile_hash(&p))
            __builtin_trap();
        for (int k = 0; k < COST_NUM_DEVICES; k++)
            for (int c = 0; c < COST_NUM_CLASSES && p.dev[k].present; c++)
                if (!(p.dev[k].gflops[c] > 0))
                    __builtin_trap();
        size_t n1, n2;
        char *t1 = written(&p, &n1);
        CostProfile q;
        if (!cost_profile_parse(t1, n1, "fuzz.json", &q, &d))
            __builtin_trap(); /* what slimc writes it must read */
        char *t2 = written(&q, &n2);
        if (n1 != n2 || memcmp(t1, t2, n1))
            __builtin_trap();
        free(t1);
        free(t2);
    }
    ir_diag_fini(&d);
    return 0;
}
