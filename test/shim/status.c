/* Exit status propagation: "status N" exits N, "signal N" raises N. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "signal"))
		raise(atoi(argv[2]));
	return argc > 2 ? atoi(argv[2]) : 0;
}
