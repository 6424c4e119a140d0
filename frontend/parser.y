/* The model language's grammar (docs/language.md has it in EBNF with the semantics).
 *
 * A file is a sequence of lines; a line ends at a newline (a backslash before the newline
 * continues it). Headers (`model`, `block`, `compress`) open sections that run to the next
 * header. Indentation is not significant. Each line is parsed on its own: a syntax error
 * is reported and the parser resynchronises at the end of the line (the `error NEWLINE`
 * rules), so that every syntax error of a file is reported in one run and the lines that
 * did parse still reach the elaborator. */
%define api.pure full
%define api.prefix {fe_yy}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {FeParse *p}
%expect 0

%code requires {
#include "frontend/ast.h"
}

%code provides {
int fe_yylex(FE_YYSTYPE *lval, FE_YYLTYPE *lloc, void *scanner);
int fe_yyparse(void *scanner, FeParse *p);
}

%code {
#include <stdio.h>
#include <string.h>

/* Deep enough for any sane line; the expression depth limit (ast.c) reports deep nesting
 * long before this, and the stack only overflows on absurd input ("memory exhausted"). */
#define YYMAXDEPTH 100000
#define YYINITDEPTH 256

static void fe_yyerror(FE_YYLTYPE *loc, void *scanner, FeParse *p, const char *msg);
static SrcLoc L(const FeParse *p, FE_YYLTYPE loc)
{
    return (SrcLoc){p->file, loc.first_line, loc.first_column};
}
/* A section whose header did not parse, named when the name itself was read. */
static AstSection *broken_section(FeParse *p, AstSectionKind kind, FE_YYLTYPE loc)
{
    AstSection *s = fe_ast_section(p, kind, L(p, loc));
    s->broken = true;
    if (p->header_name && p->header_name_loc.line == loc.first_line) {
        s->name = p->header_name;
        s->name_loc = p->header_name_loc;
    }
    return s;
}
static AstStmt *broken_line(FeParse *p, FE_YYLTYPE loc)
{
    return fe_ast_stmt(p, AST_STMT_BROKEN, L(p, loc));
}
}

%union {
    const char *str;
    struct {
        int64_t i;
        double f;
        const char *text;
        bool bad;
    } num;
    AstExpr *expr;
    AstList *list;
    AstStmt *stmt;
    AstParam *param;
    AstType *type;
    AstSection *section;
    AstArg *arg;
    int op;
}

%token <str> NAME "name"
%token <str> STRING "string"
%token <num> INT "integer"
%token <num> FLOAT "number"
%token NEWLINE "end of line"
%token MODEL "'model'" BLOCK "'block'" COMPRESS "'compress'" WEIGHTS "'weights'"
%token FORWARD "'forward'" RETURN "'return'" IF "'if'" ELSE "'else'"
%token AND "'and'" OR "'or'" NOT "'not'" TRUE "'true'" FALSE "'false'"
%token ARROW "'->'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='" FLOORDIV "'//'"
%token LEXERROR "invalid token"

%type <section> section model_header block_header compress_header
%type <list> body pass_lines model_params_opt model_params block_params_opt block_params
%type <list> names_opt names unpack_names outputs_opt outputs dims_opt dims args_opt args exprs
%type <list> pargs_opt pargs
%type <stmt> body_line stmt pass_line
%type <param> model_param block_param output
%type <type> type
%type <expr> expr or_expr and_expr not_expr cmp_expr arith term unary primary
%type <expr> pcall pvalue pnumber
%type <arg> arg parg
%type <op> cmp_op

%%

file
    : preamble sections
    ;

/* Lines before the first header: only blank lines belong there. */
preamble
    : %empty
    | preamble NEWLINE
    | preamble stmt NEWLINE         { p->ast->stray = fe_ast_list_push(p, p->ast->stray, $2); }
    | preamble error NEWLINE        { yyerrok; }
    ;

sections
    : %empty
    | sections section              { p->ast->sections = fe_ast_list_push(p, p->ast->sections, $2); }
    ;

section
    : model_header NEWLINE body     { $$ = $1; $$->stmts = $3; }
    | block_header NEWLINE body     { $$ = $1; $$->stmts = $3; }
    | compress_header NEWLINE pass_lines { $$ = $1; $$->stmts = $3; }
    /* A header that did not parse still owns the lines below it, so that they are not
     * mistaken for stray statements; the section is not elaborated. */
    | model_header error NEWLINE body { yyerrok; $$ = $1; $$->broken = true; $$->stmts = $4; }
    | block_header error NEWLINE body { yyerrok; $$ = $1; $$->broken = true; $$->stmts = $4; }
    | compress_header error NEWLINE pass_lines { yyerrok; $$ = $1; $$->broken = true; $$->stmts = $4; }
    | MODEL error NEWLINE body      { yyerrok; $$ = broken_section(p, AST_MODEL, @1); $$->stmts = $4; }
    | BLOCK error NEWLINE body      { yyerrok; $$ = broken_section(p, AST_BLOCK, @1); $$->stmts = $4; }
    | COMPRESS error NEWLINE pass_lines { yyerrok; $$ = broken_section(p, AST_COMPRESS, @1); $$->stmts = $4; }
    ;

/* model NAME(x: f32[N, 3, 32, 32], ...) -> outputs */
model_header
    : MODEL NAME '(' model_params_opt ')' outputs_opt {
            $$ = fe_ast_section(p, AST_MODEL, L(p, @1));
            $$->name = $2;
            $$->name_loc = L(p, @2);
            $$->params = $4;
            $$->outputs = $6;
        }
    ;

model_params_opt
    : %empty                        { $$ = fe_ast_list_new(p); }
    | model_params
    | model_params ','
    ;

model_params
    : model_param                   { $$ = fe_ast_list_push(p, NULL, $1); }
    | model_params ',' model_param  { $$ = fe_ast_list_push(p, $1, $3); }
    ;

model_param
    : NAME ':' type                 { $$ = fe_ast_param(p, L(p, @1), $1, $3, NULL); }
    ;

/* f32[N, 10] or a bare dtype (a 0-d tensor) */
type
    : NAME '[' dims_opt ']'         { $$ = fe_ast_type(p, L(p, @1), $1, $3); }
    | NAME                          { $$ = fe_ast_type(p, L(p, @1), $1, NULL); }
    ;

dims_opt
    : %empty                        { $$ = fe_ast_list_new(p); }
    | dims
    | dims ','
    ;

dims
    : expr                          { $$ = fe_ast_list_push(p, NULL, $1); }
    | dims ',' expr                 { $$ = fe_ast_list_push(p, $1, $3); }
    ;

/* -> f32[N, 10]  |  -> probs: f32[N, 4]  |  -> (a: f32[..], b: f32[..]) */
outputs_opt
    : %empty                        { $$ = NULL; }
    | ARROW output                  { $$ = fe_ast_list_push(p, NULL, $2); }
    | ARROW '(' outputs ')'         { $$ = $3; }
    ;

outputs
    : output                        { $$ = fe_ast_list_push(p, NULL, $1); }
    | outputs ',' output            { $$ = fe_ast_list_push(p, $1, $3); }
    ;

output
    : type                          { $$ = fe_ast_param(p, $1->loc, NULL, $1, NULL); }
    | NAME ':' type                 { $$ = fe_ast_param(p, L(p, @1), $1, $3, NULL); }
    ;

/* block NAME(a, b, c=1)  (the parentheses may be left out when there are no parameters) */
block_header
    : BLOCK NAME '(' block_params_opt ')' {
            $$ = fe_ast_section(p, AST_BLOCK, L(p, @1));
            $$->name = $2;
            $$->name_loc = L(p, @2);
            $$->params = $4;
        }
    | BLOCK NAME {
            $$ = fe_ast_section(p, AST_BLOCK, L(p, @1));
            $$->name = $2;
            $$->name_loc = L(p, @2);
        }
    ;

block_params_opt
    : %empty                        { $$ = fe_ast_list_new(p); }
    | block_params
    | block_params ','
    ;

block_params
    : block_param                   { $$ = fe_ast_list_push(p, NULL, $1); }
    | block_params ',' block_param  { $$ = fe_ast_list_push(p, $1, $3); }
    ;

block_param
    : NAME                          { $$ = fe_ast_param(p, L(p, @1), $1, NULL, NULL); }
    | NAME '=' expr                 { $$ = fe_ast_param(p, L(p, @1), $1, NULL, $3); }
    ;

compress_header
    : COMPRESS NAME {
            $$ = fe_ast_section(p, AST_COMPRESS, L(p, @1));
            $$->name = $2;
            $$->name_loc = L(p, @2);
        }
    ;

/* ---- model and block bodies ---- */

body
    : %empty                        { $$ = fe_ast_list_new(p); }
    | body body_line                { $$ = $2 ? fe_ast_list_push(p, $1, $2) : $1; }
    ;

body_line
    : NEWLINE                       { $$ = NULL; }
    | stmt NEWLINE                  { $$ = $1; }
    /* The name of a broken assignment is still bound (to an error), so that its later
     * uses draw no "unknown name" errors. */
    | NAME '=' error NEWLINE {
            yyerrok;
            $$ = fe_ast_stmt(p, AST_STMT_ASSIGN, L(p, @1));
            $$->name = $1;
            $$->value = fe_ast_error(p, L(p, @3));
        }
    | error NEWLINE                 { yyerrok; $$ = broken_line(p, @1); }
    ;

stmt
    : NAME '=' expr {
            $$ = fe_ast_stmt(p, AST_STMT_ASSIGN, L(p, @1));
            $$->name = $1;
            $$->value = $3;
        }
    | unpack_names '=' expr {
            $$ = fe_ast_stmt(p, AST_STMT_UNPACK, L(p, @1));
            $$->params = $1;
            $$->value = $3;
        }
    | expr                          { $$ = fe_ast_stmt(p, AST_STMT_EXPR, L(p, @1)); $$->value = $1; }
    | RETURN exprs                  { $$ = fe_ast_stmt(p, AST_STMT_RETURN, L(p, @1)); $$->values = $2; }
    | WEIGHTS STRING {
            $$ = fe_ast_stmt(p, AST_STMT_WEIGHTS, L(p, @1));
            $$->text = $2;
            $$->value = fe_ast_string(p, L(p, @2), $2);
        }
    | FORWARD '(' names_opt ')'     { $$ = fe_ast_stmt(p, AST_STMT_FORWARD, L(p, @1)); $$->params = $3; }
    ;

exprs
    : expr                          { $$ = fe_ast_list_push(p, NULL, $1); }
    | exprs ',' expr                { $$ = fe_ast_list_push(p, $1, $3); }
    ;

/* a, b = ... (two names at least) */
unpack_names
    : NAME ',' NAME {
            $$ = fe_ast_list_push(p, NULL, fe_ast_param(p, L(p, @1), $1, NULL, NULL));
            $$ = fe_ast_list_push(p, $$, fe_ast_param(p, L(p, @3), $3, NULL, NULL));
        }
    | unpack_names ',' NAME         { $$ = fe_ast_list_push(p, $1, fe_ast_param(p, L(p, @3), $3, NULL, NULL)); }
    ;

names_opt
    : %empty                        { $$ = fe_ast_list_new(p); }
    | names
    | names ','
    ;

names
    : NAME                          { $$ = fe_ast_list_push(p, NULL, fe_ast_param(p, L(p, @1), $1, NULL, NULL)); }
    | names ',' NAME                { $$ = fe_ast_list_push(p, $1, fe_ast_param(p, L(p, @3), $3, NULL, NULL)); }
    ;

/* ---- expressions, loosest binding first ---- */

/* `a if c else b`; without `else` it is only meaningful as a conditional module
 * declaration (name = Module(...) if c), which the elaborator checks. */
expr
    : or_expr
    | or_expr IF or_expr            { $$ = fe_ast_cond(p, L(p, @2), $1, $3, NULL); }
    | or_expr IF or_expr ELSE expr  { $$ = fe_ast_cond(p, L(p, @2), $1, $3, $5); }
    ;

or_expr
    : and_expr
    | or_expr OR and_expr           { $$ = fe_ast_binary(p, L(p, @2), AST_OP_OR, $1, $3); }
    ;

and_expr
    : not_expr
    | and_expr AND not_expr         { $$ = fe_ast_binary(p, L(p, @2), AST_OP_AND, $1, $3); }
    ;

not_expr
    : cmp_expr
    | NOT not_expr                  { $$ = fe_ast_unary(p, L(p, @1), AST_OP_NOT, $2); }
    ;

/* Comparisons do not chain: `a < b < c` is a syntax error. */
cmp_expr
    : arith
    | arith cmp_op arith            { $$ = fe_ast_binary(p, L(p, @2), (AstOp)$2, $1, $3); }
    ;

cmp_op
    : EQ                            { $$ = AST_OP_EQ; }
    | NE                            { $$ = AST_OP_NE; }
    | '<'                           { $$ = AST_OP_LT; }
    | LE                            { $$ = AST_OP_LE; }
    | '>'                           { $$ = AST_OP_GT; }
    | GE                            { $$ = AST_OP_GE; }
    ;

arith
    : term
    | arith '+' term                { $$ = fe_ast_binary(p, L(p, @2), AST_OP_ADD, $1, $3); }
    | arith '-' term                { $$ = fe_ast_binary(p, L(p, @2), AST_OP_SUB, $1, $3); }
    ;

term
    : unary
    | term '*' unary                { $$ = fe_ast_binary(p, L(p, @2), AST_OP_MUL, $1, $3); }
    | term '/' unary                { $$ = fe_ast_binary(p, L(p, @2), AST_OP_DIV, $1, $3); }
    | term FLOORDIV unary           { $$ = fe_ast_binary(p, L(p, @2), AST_OP_FLOORDIV, $1, $3); }
    | term '%' unary                { $$ = fe_ast_binary(p, L(p, @2), AST_OP_MOD, $1, $3); }
    ;

unary
    : primary
    | '-' unary                     { $$ = fe_ast_unary(p, L(p, @1), AST_OP_NEG, $2); }
    | '+' unary                     { $$ = fe_ast_unary(p, L(p, @1), AST_OP_POS, $2); }
    ;

primary
    : INT                           { $$ = fe_ast_int(p, L(p, @1), $1.i, $1.text, $1.bad); }
    | FLOAT {
            $$ = $1.bad ? fe_ast_error(p, L(p, @1)) : fe_ast_float(p, L(p, @1), $1.f, $1.text);
        }
    | STRING                        { $$ = fe_ast_string(p, L(p, @1), $1); }
    | TRUE                          { $$ = fe_ast_bool(p, L(p, @1), true); }
    | FALSE                         { $$ = fe_ast_bool(p, L(p, @1), false); }
    | NAME                          { $$ = fe_ast_name(p, L(p, @1), $1); }
    | NAME '(' args_opt ')'         { $$ = fe_ast_call(p, L(p, @1), $1, $3); }
    | '(' expr ')'                  { $$ = $2; }
    | '[' args_opt ']'              { $$ = fe_ast_list(p, L(p, @1), $2); }
    ;

args_opt
    : %empty                        { $$ = fe_ast_list_new(p); }
    | args
    | args ','
    ;

args
    : arg                           { $$ = fe_ast_list_push(p, NULL, $1); }
    | args ',' arg                  { $$ = fe_ast_list_push(p, $1, $3); }
    ;

arg
    : expr                          { $$ = fe_ast_arg(p, $1->loc, NULL, $1); }
    | NAME '=' expr                 { $$ = fe_ast_arg(p, L(p, @1), $1, $3); }
    ;

/* ---- compress blocks: one pass call a line, the pipeline syntax of passes/pass.h ---- */

pass_lines
    : %empty                        { $$ = fe_ast_list_new(p); }
    | pass_lines pass_line          { $$ = $2 ? fe_ast_list_push(p, $1, $2) : $1; }
    ;

pass_line
    : NEWLINE                       { $$ = NULL; }
    | pcall NEWLINE                 { $$ = fe_ast_stmt(p, AST_STMT_PASS, L(p, @1)); $$->value = $1; }
    | error NEWLINE                 { yyerrok; $$ = broken_line(p, @1); }
    ;

pcall
    : NAME                          { $$ = fe_ast_name(p, L(p, @1), $1); }
    | NAME '(' pargs_opt ')'        { $$ = fe_ast_call(p, L(p, @1), $1, $3); }
    ;

pargs_opt
    : %empty                        { $$ = fe_ast_list_new(p); }
    | pargs
    | pargs ','
    ;

pargs
    : parg                          { $$ = fe_ast_list_push(p, NULL, $1); }
    | pargs ',' parg                { $$ = fe_ast_list_push(p, $1, $3); }
    ;

parg
    : pvalue                        { $$ = fe_ast_arg(p, $1->loc, NULL, $1); }
    | NAME '=' pvalue               { $$ = fe_ast_arg(p, L(p, @1), $1, $3); }
    ;

pvalue
    : pcall
    | STRING                        { $$ = fe_ast_string(p, L(p, @1), $1); }
    | TRUE                          { $$ = fe_ast_name(p, L(p, @1), "true"); }
    | FALSE                         { $$ = fe_ast_name(p, L(p, @1), "false"); }
    | pnumber
    | pnumber '%'                   { $$ = $1; $$->percent = true; }
    | '-' pnumber                   { $$ = $2; $$->negative = true; $$->loc = L(p, @1); }
    | '-' pnumber '%'               { $$ = $2; $$->negative = true; $$->percent = true; $$->loc = L(p, @1); }
    ;

pnumber
    : INT                           { $$ = fe_ast_int(p, L(p, @1), $1.i, $1.text, $1.bad); }
    | FLOAT                         { $$ = fe_ast_float(p, L(p, @1), $1.f, $1.text); }
    ;

%%

/* A token as the user wrote it, for "unexpected ..." in messages. */
static void describe_token(const FeParse *p, yysymbol_kind_t kind, char *buf, size_t size)
{
    switch (kind) {
    case YYSYMBOL_YYEOF:
        snprintf(buf, size, "end of file");
        break;
    case YYSYMBOL_NEWLINE:
        snprintf(buf, size, "end of line");
        break;
    case YYSYMBOL_NAME:
        snprintf(buf, size, "name '%s'", p->tok_text);
        break;
    case YYSYMBOL_INT:
    case YYSYMBOL_FLOAT:
        snprintf(buf, size, "number %s", p->tok_text);
        break;
    case YYSYMBOL_STRING:
        snprintf(buf, size, "string %s", p->tok_text);
        break;
    default:
        snprintf(buf, size, "'%s'", p->tok_text);
        break;
    }
}

/* A symbol's name from the grammar without bison's quoting ("name", "')'"). */
static const char *symbol_text(yysymbol_kind_t kind)
{
    const char *s = yysymbol_name(kind);
    static char buf[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"' && n - 2 < sizeof buf) {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = 0;
        return buf;
    }
    return s;
}

/* Reports a syntax error as "unexpected X (expected A, B or C)"; the lexer has already
 * reported the invalid tokens it returns. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, FeParse *p)
{
    (void)scanner;
    p->n_syntax_errors++;
    yysymbol_kind_t tok = yypcontext_token(ctx);
    if (tok == YYSYMBOL_LEXERROR && p->lex_error) {
        p->lex_error = false;
        return 0;
    }
    enum { MAX_SHOWN = 6 };
    yysymbol_kind_t expected[MAX_SHOWN];
    int n = yypcontext_expected_tokens(ctx, expected, MAX_SHOWN);
    if (n < 0)
        n = 0;
    char what[96], msg[512];
    describe_token(p, tok, what, sizeof what);
    size_t len = (size_t)snprintf(msg, sizeof msg, "syntax error: unexpected %s", what);
    /* With more than MAX_SHOWN choices, say whether an expression (or, in a compress
     * block, a value) would do: both can start with a number; only an expression with '['. */
    bool number = false, bracket = false;
    if (n == 0) {
        yysymbol_kind_t all[YYNTOKENS];
        int count = yypcontext_expected_tokens(ctx, all, YYNTOKENS);
        for (int i = 0; i < count; i++) {
            number |= all[i] == YYSYMBOL_INT;
            bracket |= strcmp(yysymbol_name(all[i]), "'['") == 0;
        }
    }
    if (number) {
        len += (size_t)snprintf(msg + len, sizeof msg - len, ", expected %s",
                                bracket ? "an expression" : "a value");
    } else if (n > 0 && n < MAX_SHOWN) {
        for (int i = 0; i < n && len < sizeof msg; i++) {
            const char *sep = i == 0 ? ", expected " : i == n - 1 ? " or " : ", ";
            char sym[80];
            snprintf(sym, sizeof sym, "%s", symbol_text(expected[i]));
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", sep, sym);
        }
    }
    ir_diag_error(p->d, L(p, *yypcontext_location(ctx)), "%s", msg);
    return 0;
}

/* Only reached when the parser's stack is exhausted (absurdly nested input). */
static void fe_yyerror(FE_YYLTYPE *loc, void *scanner, FeParse *p, const char *msg)
{
    (void)scanner;
    p->n_syntax_errors++;
    if (strcmp(msg, "memory exhausted") == 0)
        ir_diag_error(p->d, L(p, *loc), "input is nested too deeply; giving up on this file");
    else
        ir_diag_error(p->d, L(p, *loc), "%s", msg);
}
