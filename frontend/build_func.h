/* What the built-in functions' files share (frontend/build_func.c holds the table and the
 * generic path, frontend/build_func_shape.c the shape functions): the signature type and
 * the argument helpers. */
#ifndef SLIMC_FRONTEND_BUILD_FUNC_H
#define SLIMC_FRONTEND_BUILD_FUNC_H

#include "frontend/builder.h"

/* A function's signature: parameter names (aliases after '|'), how many are required,
 * and how many of the first ones are the op's tensor inputs. */
typedef struct FuncSig FuncSig;
/* A function with its own elaboration: a holds the bound arguments (or, for a variadic
 * function with n_params 0, nothing: it reads e's arguments itself). */
typedef Val (*FuncCall)(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);

struct FuncSig {
    const char *name;
    OpKind op;
    int n_params, n_required, n_tensors;
    const char *params[8];
    FuncCall call; /* NULL: the generic path of fe_call_builtin */
};

/* The argument helpers (frontend/build_func.c). What a message calls argument i of f
 * ("'kernel' of max_pool2d"); f's tensor arguments into in (numbers become 0-d f32
 * constants, as fe_to_tensor); a string argument among choices, *out its index; an int or a
 * list of ints into out (at most IR_MAX_RANK), *n their count. */
const char *fe_func_arg_name(Builder *b, const FuncSig *f, int i);
bool fe_func_tensor_args(Builder *b, const FuncSig *f, const Val *a, ValueId *in);
bool fe_choice_arg(Builder *b, const FuncSig *f, const Val *a, int i, const char *const *choices,
                   int n, int *out);
bool fe_int_list(Builder *b, const Val *v, const char *what, int64_t *out, int *n);

/* The shape functions (frontend/build_func_shape.c): reshape(x, ...) is elaborated from
 * its call e; the others are the `call` of their rows in build_func.c's table. */
Val fe_call_reshape(Builder *b, Scope *s, const AstExpr *e);
Val fe_call_transpose(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_dims(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_squeeze(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_slice(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_pad(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_concat(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_index_select(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);
Val fe_call_split(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a);

#endif
