/* The shim trusts its table of fd numbers on the ioctl path: every way a
 * number goes must clear it, or the next file given that number would have
 * its ioctls sent to the emulated file. A dup keeps the emulated file alive
 * throughout, so a stale entry would answer IOMMU_OPTION with 0. */
#include "common.h"

static void reuse(const char *what, int fd)
{
	int p[2];
	char step[64];
	if (pipe(p) != 0) {
		report("pipe", -1);
		return;
	}
	snprintf(step, sizeof(step), "%s same number", what);
	printf("%s: %s\n", step, p[0] == fd || p[1] == fd ? "yes" : "no");
	snprintf(step, sizeof(step), "%s ioctl on the pipe", what);
	report(step, option_get(p[0] == fd ? p[0] : p[1], NULL));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	int fd = open_iommu(), keep = dup(fd);
	FILE *f;

	report("option get", option_get(fd, NULL));
	f = fdopen(fd, "r+");
	report("fclose", f ? fclose(f) : -1);
	reuse("fclose", fd);

	fd = dup(keep);
	report("dup option get", option_get(fd, NULL));
	close(fd);
	reuse("close", fd);

	report("kept option get", option_get(keep, NULL));
	return 0;
}
