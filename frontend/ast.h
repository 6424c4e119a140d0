/* The syntax tree of a .slim file, as the parser (parser.y) builds it and the elaborator
 * (builder.c) reads it. Everything lives in one Arena owned by the FeParse that made it;
 * every node carries the SrcLoc of its first token. */
#ifndef SLIMC_FE_AST_H
#define SLIMC_FE_AST_H

#include "ir/arena.h"
#include "ir/diag.h"

#include <stdbool.h>
#include <stdint.h>

/* Deepest expression tree the parser accepts; deeper ones are reported and replaced by an
 * AST_ERROR node, so that no later recursive walk can overflow the stack. */
#define FE_MAX_EXPR_DEPTH 200

/* A growable array of pointers (arena-allocated). */
typedef struct AstList {
    void **items;
    int n, cap;
} AstList;

typedef enum AstKind {
    AST_ERROR,  /* part of a line that did not parse, or nested too deep: evaluates to an
                   error silently (its error was reported where it was made) */
    AST_INT,    /* ival; text as written; bad when it overflowed (already reported) */
    AST_FLOAT,  /* fval; text as written */
    AST_STRING, /* text: the contents, escapes resolved */
    AST_BOOL,   /* ival 0 or 1 */
    AST_NAME,   /* text: the name (may be dotted: layer1.0.conv1) */
    AST_CALL,   /* text(args): args are AstArg */
    AST_LIST,   /* [args]: args are AstArg without keys */
    AST_UNARY,  /* op a */
    AST_BINARY, /* a op b */
    AST_COND,   /* a if b else c; c is NULL when there is no else */
} AstKind;

typedef enum AstOp {
    AST_OP_ADD,
    AST_OP_SUB,
    AST_OP_MUL,
    AST_OP_DIV,
    AST_OP_FLOORDIV,
    AST_OP_MOD,
    AST_OP_EQ,
    AST_OP_NE,
    AST_OP_LT,
    AST_OP_LE,
    AST_OP_GT,
    AST_OP_GE,
    AST_OP_AND,
    AST_OP_OR,
    AST_OP_NOT,
    AST_OP_NEG,
    AST_OP_POS,
} AstOp;

typedef struct AstExpr AstExpr;

/* One argument of a call: key = value, or a positional value (key NULL). */
typedef struct AstArg {
    const char *key;
    SrcLoc loc; /* of the key, or of the value when positional */
    AstExpr *value;
} AstArg;

struct AstExpr {
    AstKind kind;
    SrcLoc loc;
    int depth; /* height of the tree below and including this node */
    int64_t ival;
    double fval;
    bool bad;      /* AST_INT: the literal overflowed */
    bool percent;  /* numbers in a compress block: written with a trailing % */
    bool negative; /* numbers in a compress block: written with a leading - */
    const char *text;
    AstOp op;
    AstExpr *a, *b, *c;
    AstList *args; /* AST_CALL, AST_LIST: AstArg * */
};

/* `dtype[dim, ...]` (dims NULL for a bare dtype, a 0-d tensor). */
typedef struct AstType {
    const char *dtype;
    SrcLoc loc;
    AstList *dims; /* AstExpr * */
} AstType;

/* A parameter of a model (name: type), a declared output ([name:] type), a block
 * parameter (name [= default]) or a forward parameter (name). */
typedef struct AstParam {
    const char *name; /* NULL for an unnamed output */
    SrcLoc loc;
    AstType *type;
    AstExpr *dflt;
} AstParam;

typedef enum AstStmtKind {
    AST_STMT_ASSIGN,  /* name = value; value may be AST_ERROR when the right side broke */
    AST_STMT_UNPACK,  /* a, b, ... = value (params: the names, AstParam *) */
    AST_STMT_EXPR,    /* a bare expression (an error: its value would be lost) */
    AST_STMT_RETURN,  /* return values... */
    AST_STMT_WEIGHTS, /* weights "text" */
    AST_STMT_FORWARD, /* forward(params): starts a block's forward section */
    AST_STMT_PASS,    /* one line of a compress block: value is AST_NAME or AST_CALL */
    AST_STMT_BROKEN,  /* a line with a syntax error (already reported) */
} AstStmtKind;

typedef struct AstStmt {
    AstStmtKind kind;
    SrcLoc loc;
    const char *name; /* ASSIGN */
    const char *text; /* WEIGHTS */
    AstExpr *value;   /* ASSIGN, EXPR, PASS */
    AstList *values;  /* RETURN: AstExpr * */
    AstList *params;  /* FORWARD: AstParam * */
} AstStmt;

typedef enum AstSectionKind { AST_MODEL, AST_BLOCK, AST_COMPRESS } AstSectionKind;

typedef struct AstSection {
    AstSectionKind kind;
    const char *name; /* NULL when the header did not parse */
    SrcLoc loc;       /* the header keyword */
    SrcLoc name_loc;
    bool broken;      /* its header did not parse: not elaborated (a named broken block
                         instantiates silently to an error) */
    AstList *params;  /* AstParam *: model inputs or block parameters */
    AstList *outputs; /* AstParam *: declared outputs; NULL when no `->` */
    AstList *stmts;   /* AstStmt * */
} AstSection;

typedef struct AstFile {
    AstList *sections; /* AstSection *, in file order */
    AstList *stray;    /* AstStmt *: statements before the first header */
} AstFile;

/* Parser state shared by the lexer (lexer.l) and the grammar (parser.y). */
typedef struct FeParse {
    Arena *arena; /* the tree's memory */
    Diag *d;
    const char *file; /* name in messages (a copy in arena) */
    AstFile *ast;
    /* Lexer position (1-based) and what the last token was, for syntax messages. */
    int line, col;
    char tok_text[48];
    bool at_eof;             /* the final end of line was produced */
    bool last_newline;       /* the last token was an end of line */
    bool lex_error;          /* the lexer already reported the current invalid token */
    int prev_token;          /* the token returned before the current one */
    const char *header_name; /* the name after the last model/block/compress keyword */
    SrcLoc header_name_loc;
    int n_syntax_errors;
} FeParse;

/* Parses text (len bytes, need not be NUL-terminated) into p->ast, reporting every syntax
 * error to p->d. p->arena, p->d and p->file must be set. Returns false if there was any
 * syntax error; p->ast holds what parsed either way (broken lines as AST_STMT_BROKEN).
 * Implemented in lexer.l, which sees both the scanner and the parser. */
bool fe_parse_text(FeParse *p, const char *text, size_t len);

/* ---- tree construction (ast.c) ---- */
AstList *fe_ast_list_new(FeParse *p);
AstList *fe_ast_list_push(FeParse *p, AstList *l, void *item); /* l may be NULL */
static inline int ast_len(const AstList *l)
{
    return l ? l->n : 0;
}
static inline void *ast_at(const AstList *l, int i)
{
    return l->items[i];
}

AstExpr *fe_ast_error(FeParse *p, SrcLoc loc);
AstExpr *fe_ast_int(FeParse *p, SrcLoc loc, int64_t v, const char *text, bool bad);
AstExpr *fe_ast_float(FeParse *p, SrcLoc loc, double v, const char *text);
AstExpr *fe_ast_string(FeParse *p, SrcLoc loc, const char *text);
AstExpr *fe_ast_bool(FeParse *p, SrcLoc loc, bool v);
AstExpr *fe_ast_name(FeParse *p, SrcLoc loc, const char *name);
AstExpr *fe_ast_call(FeParse *p, SrcLoc loc, const char *callee, AstList *args);
AstExpr *fe_ast_list(FeParse *p, SrcLoc loc, AstList *items);
AstExpr *fe_ast_unary(FeParse *p, SrcLoc loc, AstOp op, AstExpr *a);
AstExpr *fe_ast_binary(FeParse *p, SrcLoc loc, AstOp op, AstExpr *a, AstExpr *b);
AstExpr *fe_ast_cond(FeParse *p, SrcLoc loc, AstExpr *then, AstExpr *cond, AstExpr *otherwise);
AstArg *fe_ast_arg(FeParse *p, SrcLoc loc, const char *key, AstExpr *value);

AstStmt *fe_ast_stmt(FeParse *p, AstStmtKind kind, SrcLoc loc);
AstParam *fe_ast_param(FeParse *p, SrcLoc loc, const char *name, AstType *type, AstExpr *dflt);
AstType *fe_ast_type(FeParse *p, SrcLoc loc, const char *dtype, AstList *dims);
AstSection *fe_ast_section(FeParse *p, AstSectionKind kind, SrcLoc loc);

/* The operator as written ("+", "//", "and"...). */
const char *fe_ast_op_str(AstOp op);

#endif
