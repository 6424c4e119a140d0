/* Resource limits: the default memory limit, size strings, the check itself. */
#include "ir/limits.h"

#include "ir/graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

uint64_t ir_default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0)
        return (uint64_t)4 << 30;
    return (uint64_t)pages * (uint64_t)page / 2;
}

bool ir_parse_size(const char *s, uint64_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return false;
    char *end;
    double v = strtod(s, &end);
    double unit = 1;
    switch (*end) {
    case 'k':
    case 'K': unit = 0x1p10; break;
    case 'm':
    case 'M': unit = 0x1p20; break;
    case 'g':
    case 'G': unit = 0x1p30; break;
    case 't':
    case 'T': unit = 0x1p40; break;
    default: break;
    }
    if (unit > 1) {
        end++;
        if (end[0] == 'i' && end[1] == 'B')
            end += 2;
        else if (end[0] == 'B')
            end++;
    } else if (*end == 'B') {
        end++;
    }
    v *= unit;
    if (*end || !(v >= 1) || v >= 0x1p63 || (unit == 1 && v != floor(v)))
        return false;
    *out = (uint64_t)v;
    return true;
}

char *ir_bytes_str(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) {
        bytes /= 1024;
        u++;
    }
    if (u == 0 || bytes >= 1e6)
        snprintf(buf, size, "%.0f %s", bytes, units[u]);
    else
        snprintf(buf, size, "%.1f %s", bytes, units[u]);
    return buf;
}

bool ir_check_memory(double bytes, uint64_t limit, const char *what, SrcLoc loc, Diag *d)
{
    if (limit == 0 || bytes <= (double)limit)
        return true;
    char b[32], l[32];
    ir_diag_error(d, loc, "%s of %s exceeds the memory limit (%s; --max-memory raises it)", what,
                  ir_bytes_str(bytes, b, sizeof b), ir_bytes_str((double)limit, l, sizeof l));
    return false;
}

/* d with the symbols set, in double. */
static double dim_value(int64_t c, uint32_t mask, const int64_t *syms)
{
    double v = (double)c;
    for (int s = 0; s < IR_MAX_SYMS; s++)
        if (mask & (1u << s))
            v *= syms ? (double)syms[s] : 1.0;
    return v;
}

double ir_model_bytes(const Graph *g, const int64_t *sym_values)
{
    double total = (double)ir_weight_bytes(g);
    if (g->planned) {
        for (int i = 0; i < g->arena_bytes.n; i++)
            total += dim_value(g->arena_bytes.t[i].c, g->arena_bytes.t[i].mask, sym_values);
        for (int i = 0; i < g->host_arena_bytes.n; i++) /* a mixed graph's CPU arena */
            total +=
                dim_value(g->host_arena_bytes.t[i].c, g->host_arena_bytes.t[i].mask, sym_values);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        const Type *t = &g->values[g->outputs[i]].type;
        double count = 1;
        for (int k = 0; k < t->shape.rank; k++)
            count *= dim_value(t->shape.d[k].c, t->shape.d[k].syms, sym_values);
        total += count * (double)ir_dtype_bits(t->dtype) / 8;
    }
    return total;
}
