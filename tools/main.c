#include "slimc/slimc.h"
int main(void) { return 0; }
