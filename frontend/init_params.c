/* PyTorch's default initialisation for a model without a weights line (training only:
 * `slimc train` / `slimc distill`; fe_slim_load_ex's init_missing_weights). The
 * distributions are those of each module's reset_parameters; the values come from slimc's
 * generator (ir/rng.h), not torch's, so they differ from torch's for the same seed.
 *
 *   Conv2d, Linear   weight, bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)): kaiming_uniform_
 *                    with a = sqrt(5) gives that bound for the weight, and the bias uses it
 *                    too; fan_in = in_channels / groups * kh * kw (Conv2d), in_features
 *   ConvTranspose2d  the same with fan_in = weight.size(1) * kh * kw (torch's rule)
 *   BatchNorm2d      weight 1, bias 0, running_mean 0, running_var 1
 *   LayerNorm, GroupNorm  weight 1, bias 0
 *   Embedding        weight ~ N(0, 1)
 *   MultiheadAttention  in_proj_weight xavier_uniform_ (bound sqrt(6 / (E + 3E))),
 *                    in_proj_bias 0, out_proj.weight U(+-1/sqrt(E)), out_proj.bias 0
 *   Parameter(...)   zeros (torch.empty leaves it undefined)
 *
 * One generator, seeded with the seed, draws every tensor in declaration order, each in C
 * order: a uniform value is -bound + 2 * bound * u for one draw u (ir_rng_uniform), a
 * normal one takes two draws (ir_rng_normal). */
#include "frontend/builder.h"
#include "ir/rng.h"

#include <math.h>
#include <string.h>

static size_t param_count(const Param *p)
{
    size_t n = 1;
    for (int i = 0; i < p->shape.rank; i++)
        n *= (size_t)p->shape.d[i].c;
    return n;
}

/* The fan_in torch's _calculate_fan_in_and_fan_out gives the module's first parameter (the
 * weight): size(1) times the receptive field. */
static double weight_fan_in(const Module *m)
{
    const Param *w = &m->params[0];
    double fan = w->shape.rank > 1 ? (double)w->shape.d[1].c : 1.0;
    for (int i = 2; i < w->shape.rank; i++)
        fan *= (double)w->shape.d[i].c;
    return fan;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void fe_param_init(Builder *b, Module *m, Param *p)
{
    enum { ZERO, ONE, UNIFORM, NORMAL } how = ZERO;
    double bound = 0;
    int index = (int)(p - m->params);
    switch (m->kind) {
    case MOD_CONV2D:
    case MOD_LINEAR:
    case MOD_CONVT:
        how = UNIFORM;
        bound = 1.0 / sqrt(weight_fan_in(m));
        break;
    case MOD_BATCHNORM2D: how = index == 0 || index == 3 ? ONE : ZERO; break;
    case MOD_LAYERNORM:
    case MOD_GROUPNORM: how = index == 0 ? ONE : ZERO; break;
    case MOD_EMBEDDING: how = NORMAL; break;
    case MOD_MHA: {
        double E = (double)p->shape.d[p->shape.rank - 1].c;
        if (ends_with(p->name, ".in_proj_weight")) {
            how = UNIFORM;
            bound = sqrt(6.0 / (E + 3 * E));
        } else if (ends_with(p->name, ".out_proj.weight")) {
            how = UNIFORM;
            bound = 1.0 / sqrt(E);
        }
        break;
    }
    case MOD_PARAMETER: how = ZERO; break;
    case MOD_QCONV2D:
    case MOD_QLINEAR:
    case MOD_WLINEAR:
    case MOD_DQLINEAR:
        if (!b->no_weights_reported)
            fe_error(b, m->loc,
                     "'%s' (%s) has no default initialisation: a quantized model needs its "
                     "weights line",
                     m->path, m->type_name);
        b->no_weights_reported = true;
        return;
    case MOD_SEQUENTIAL:
    case MOD_BLOCK:
    case MOD_ACT:
    case MOD_IDENTITY:
    case MOD_FLATTEN:
    case MOD_POOL:
    case MOD_ADAPTIVE_POOL: SLIMC_ASSERT(0 && "a module without parameters has a parameter");
    }
    size_t n = param_count(p);
    if (p->dtype != IR_F32) { /* an integer Parameter: zeros */
        SLIMC_ASSERT(how == ZERO);
        size_t bytes = ir_dtype_bytes(p->dtype, (int64_t)n);
        void *zeros = ir_arena_alloc(b->g->arena, bytes + 1);
        memset(zeros, 0, bytes + 1);
        p->data = zeros;
        p->bytes = bytes;
        return;
    }
    float *data = ir_arena_alloc(b->g->arena, n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) {
        switch (how) {
        case ZERO: data[i] = 0.0f; break;
        case ONE: data[i] = 1.0f; break;
        case UNIFORM: data[i] = (float)(-bound + 2 * bound * ir_rng_uniform(&b->init_rng)); break;
        case NORMAL: data[i] = (float)ir_rng_normal(&b->init_rng); break;
        }
    }
    p->data = data;
    p->bytes = n * sizeof(float);
}
