#include <stdio.h>
#include "stochopt/stochopt.h"
int main(void) { printf("stochopt %s\n", so_version()); return 0; }
