/* Read-only user memory: an output struct in a read-only page faults at
 * copy-out, and the read-only bytes stay as they were. */
#include "common.h"
#include <sys/mman.h>

int main(void)
{
	int fd = open_iommu();
	struct iommu_option *o = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	o->size = sizeof(*o);
	o->option_id = IOMMU_OPTION_RLIMIT_MODE;
	o->op = IOMMU_OPTION_OP_GET;
	o->val64 = 0x1234;
	mprotect(o, 4096, PROT_READ);
	report("option get into read-only", ioctl(fd, IOMMU_OPTION, o));
	printf("val64 unchanged: %s\n", o->val64 == 0x1234 ? "yes" : "no");

	return 0;
}
