/* The finetune pass (passes/finetune.h): its arguments, and the data checked against the
 * graph at the pass's place in the pipeline, before the API's trainer runs. */
#include "passes/finetune.h"

#include <math.h>
#include <string.h>

static PassTrainFn trainer;
static void *trainer_user;

void pass_set_trainer(PassTrainFn fn, void *user)
{
    trainer = fn;
    trainer_user = user;
}

/* A number argument in [lo, hi] (whole when whole), or dflt when absent. */
static bool number_arg(const PassArgs *args, const char *key, double lo, double hi, bool whole,
                       double dflt, double *out, Diag *d)
{
    const PassArg *a = pass_arg(args, key);
    *out = dflt;
    if (!a)
        return true;
    if (a->kind != PASS_ARG_NUMBER || !(a->number >= lo && a->number <= hi) ||
        (whole && a->number != floor(a->number))) {
        ir_diag_error(d, a->loc, "finetune: %s is %s in [%g, %g], not '%s'", key,
                      whole ? "a whole number" : "a number", lo, hi, a->text);
        return false;
    }
    *out = a->number;
    return true;
}

static bool read_opts(const PassArgs *args, PassFinetune *f, Diag *d)
{
    if (!pass_args_check(args,
                         "epochs data labels lr batch optimizer seed momentum weight_decay "
                         "keep_zeros qat",
                         d))
        return false;
    double epochs, batch, seed, keep, qat;
    bool ok = number_arg(args, "epochs", 1, 1e6, true, 3, &epochs, d);
    ok &= number_arg(args, "batch", 1, 1e6, true, 64, &batch, d);
    ok &= number_arg(args, "lr", 0, 1e6, false, 1e-3, &f->lr, d);
    ok &= number_arg(args, "seed", 0, 9.0e15, true, 0, &seed, d);
    ok &= number_arg(args, "momentum", 0, 1e6, false, 0, &f->momentum, d);
    ok &= number_arg(args, "weight_decay", 0, 1e6, false, -1, &f->weight_decay, d);
    ok &= number_arg(args, "keep_zeros", 0, 1, true, 1, &keep, d);
    ok &= number_arg(args, "qat", 0, 1, true, 0, &qat, d);
    f->qat = qat != 0;
    f->epochs = (int)epochs;
    f->batch = (int)batch;
    f->seed = (uint64_t)seed;
    f->keep_zeros = keep != 0;
    f->optimizer = 1;
    const PassArg *a = pass_arg(args, "optimizer");
    if (a) {
        static const char *const names[] = {"sgd", "adam", "adamw"};
        int k = 0;
        while (k < 3 && !((a->kind == PASS_ARG_NAME || a->kind == PASS_ARG_STRING) &&
                          strcmp(a->text, names[k]) == 0))
            k++;
        if (k == 3) {
            ir_diag_error(d, a->loc, "finetune: optimizer is sgd, adam or adamw, not '%s'",
                          a->text);
            ok = false;
        }
        f->optimizer = k;
    }
    for (int i = 0; i < 2; i++) {
        const char *key = i ? "labels" : "data";
        a = pass_arg(args, key);
        if (!a) {
            ir_diag_error(d, args->loc,
                          "finetune: give %s=\"FILE.npy\" (the training %s: finetune(epochs=3, "
                          "data=\"x.npy\", labels=\"y.npy\"))",
                          key, i ? "labels" : "samples");
            ok = false;
        } else if (a->kind != PASS_ARG_STRING && a->kind != PASS_ARG_NAME) {
            ir_diag_error(d, a->loc, "finetune: %s is a .npy file: %s=\"FILE.npy\"", key, key);
            ok = false;
        }
    }
    return ok;
}

/* The data against the graph's one input and [N, classes] output, the labels against the
 * data; errors at the argument's place, naming the file. */
static bool check_data(const Graph *g, const PassArgs *args, PassFinetune *f, Diag *d)
{
    const PassArg *da = pass_arg(args, "data"), *la = pass_arg(args, "labels");
    f->data = pass_file(da, d);
    if (!f->data)
        ir_diag_note(d, da->loc, "finetune's data file (the training samples)");
    f->labels = pass_file(la, d);
    if (!f->labels)
        ir_diag_note(d, la->loc, "finetune's labels file");
    if (!f->data || !f->labels)
        return false;
    if (g->n_inputs != 1 || g->n_outputs < 1) {
        ir_diag_error(d, args->loc, "finetune: trains a model with one input (this one has %d)",
                      g->n_inputs);
        return false;
    }
    const Shape *in = &g->values[g->inputs[0]].type.shape;
    const Shape *out = &g->values[g->outputs[0]].type.shape;
    const PassFile *x = f->data, *y = f->labels;
    if (x->dtype != IR_F32 && x->dtype != IR_F64) {
        ir_diag_error(d, da->loc, "finetune: the samples in '%s' are %s; they must be f32", x->path,
                      ir_dtype_name(x->dtype));
        return false;
    }
    bool shape_ok = x->ndim == in->rank && x->ndim >= 1 && x->shape[0] >= 1;
    for (int i = 1; shape_ok && i < in->rank; i++)
        shape_ok = !ir_dim_static(in->d[i]) || in->d[i].c == x->shape[i];
    if (!shape_ok) {
        char want[256];
        ir_type_str(g, &g->values[g->inputs[0]].type, want, sizeof want);
        ir_diag_error(d, da->loc,
                      "finetune: the samples in '%s' do not fit the model's input %s: they must "
                      "be [samples, ...] with the input's shape after the batch dimension",
                      x->path, want);
        return false;
    }
    if ((y->dtype != IR_I64 && y->dtype != IR_I32) || y->ndim != 1 || y->shape[0] != x->shape[0]) {
        ir_diag_error(d, la->loc,
                      "finetune: the labels in '%s' must be i64 or i32 [%lld], one per sample of "
                      "'%s'",
                      y->path, (long long)x->shape[0], x->path);
        return false;
    }
    if (out->rank < 2 || !ir_dim_static(out->d[out->rank - 1])) {
        ir_diag_error(d, args->loc,
                      "finetune: trains a classifier ([batch, classes] output, cross entropy)");
        return false;
    }
    int64_t classes = out->d[out->rank - 1].c;
    for (int64_t i = 0; i < y->shape[0]; i++) {
        int64_t v = (int64_t)ir_dtype_get(y->dtype, y->data, i);
        if (v != -100 && (v < 0 || v >= classes)) {
            ir_diag_error(d, la->loc,
                          "finetune: label %lld (sample %lld) of '%s' is out of range: the model "
                          "has %lld classes (0 to %lld; -100 marks a sample without a label)",
                          (long long)v, (long long)i, y->path, (long long)classes,
                          (long long)classes - 1);
            return false;
        }
    }
    return true;
}

bool pass_finetune(Graph *g, const PassArgs *args, Diag *d)
{
    PassFinetune f;
    memset(&f, 0, sizeof f);
    f.at = args->loc;
    if (!read_opts(args, &f, d))
        return false;
    if (!trainer) {
        ir_diag_error(d, args->loc,
                      "finetune trains the model, which happens once, in `slimc compress` "
                      "(slimc_model_compress), not each time a model is compiled to run: "
                      "compress it (slimc compress MODEL -o OUT.slim) and run what it writes");
        return false;
    }
    if (!check_data(g, args, &f, d))
        return false;
    return trainer(trainer_user, g, &f, d);
}
