/* PLACEHOLDER (i16-place): the lead's real file replaces it at merge */
#include "passes/place.h"

bool place_insert_transfers(Graph *g, Diag *d)
{
    (void)g;
    (void)d;
    return true;
}
