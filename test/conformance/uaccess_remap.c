// User memory as it is at the moment of the call: a page the program has
// since freed (mmap PROT_NONE over it, munmap) or made read-only (mprotect)
// faults, for what a call writes and for what it reads, and a call stops at
// its first fault:
//  - IOVA_RANGES into a page that became unwritable: EFAULT, and the struct
//    is not written back (num_iovas, out_iova_alignment keep their values);
//  - ALLOW_IOVAS from a page that became PROT_NONE: EFAULT, nothing allowed;
//  - IOAS_ALLOC whose struct page became read-only: EFAULT and the IOAS is
//    destroyed again (the next IOAS_ALLOC gets its id);
//  - the same pages made accessible again work again.
// Found by the random differential generator (test/fuzz/gen.c, v2 amd-vi
// seed 201: data pages freed, then IOVA_RANGES into them).
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 4096

int main(void)
{
	int fd = iofd_open();
	unsigned char *area = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_iova_ranges *r;
	struct iommu_ioas_allow_iovas *al;
	struct iommu_ioas_alloc *ia;
	struct iommu_iova_range *q;
	unsigned char *p;
	__u32 ioas = 0, first, again;
	int rc;

	if (area == MAP_FAILED)
		return 1;
	r = (void *)area;                 /* page 0: the structs */
	al = (void *)(area + 256);
	p = area + 2 * PG;                /* page 2: IOVA_RANGES's output */
	q = (void *)(area + 4 * PG);      /* page 4: ALLOW_IOVAS's input */
	ia = (void *)(area + 6 * PG);     /* page 6: an IOAS_ALLOC struct alone */

	step("ioas", ioas_alloc(fd, &ioas), NULL);

#define RANGES(label)                                                              \
	do {                                                                           \
		memset(r, 0, sizeof(*r));                                              \
		r->size = sizeof(*r);                                                  \
		r->ioas_id = ioas;                                                     \
		r->num_iovas = 4;                                                      \
		r->allowed_iovas = (__u64)(uintptr_t)p;                                \
		r->out_iova_alignment = 0x77;                                          \
		rc = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, r);                            \
		step(label, rc, "num_iovas=%u out_iova_alignment=%#llx", r->num_iovas, \
		     (unsigned long long)r->out_iova_alignment);                       \
	} while (0)

	note("IOVA_RANGES writes into a page that changes");
	RANGES("ranges, page rw");
	mmap(p, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	RANGES("ranges, page now PROT_NONE (mmap MAP_FIXED)");
	mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	RANGES("ranges, page mapped rw again");
	mprotect(p, PG, PROT_READ);
	RANGES("ranges, page now read-only (mprotect)");
	mprotect(p, PG, PROT_READ | PROT_WRITE);
	RANGES("ranges, page rw again (mprotect)");
	munmap(p, PG);
	RANGES("ranges, page unmapped (munmap)");
	mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	RANGES("ranges, page mapped again");

	note("ALLOW_IOVAS reads from a page that changes");
	q[0].start = 0x100000;
	q[0].last = 0x1fffff;
	memset(al, 0, sizeof(*al));
	al->size = sizeof(*al);
	al->ioas_id = ioas;
	al->num_iovas = 1;
	al->allowed_iovas = (__u64)(uintptr_t)q;
	step("allow 1 range, page rw", xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, al), NULL);
	RANGES("ranges");
	mprotect(q, PG, PROT_NONE);
	al->num_iovas = 1;
	step("allow 1 range, page now PROT_NONE", xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, al), NULL);
	RANGES("ranges (still the one allowed)");
	mprotect(q, PG, PROT_READ);
	step("allow 1 range, page readable again", xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, al), NULL);
	al->num_iovas = 0;
	step("allow none", xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, al), NULL);

	note("IOAS_ALLOC whose struct page becomes read-only");
	memset(ia, 0, sizeof(*ia));
	ia->size = sizeof(*ia);
	step("ioas_alloc, page rw", xioctl(fd, IOMMU_IOAS_ALLOC, ia), NULL);
	first = ia->out_ioas_id;
	printf("  id - first ioas: %d\n", (int)(first - ioas));
	mprotect(ia, PG, PROT_READ);
	step("ioas_alloc, page now read-only", xioctl(fd, IOMMU_IOAS_ALLOC, ia), NULL);
	mprotect(ia, PG, PROT_READ | PROT_WRITE);
	ia->out_ioas_id = 0;
	step("ioas_alloc, page rw again", xioctl(fd, IOMMU_IOAS_ALLOC, ia), NULL);
	again = ia->out_ioas_id;
	printf("  id - first ioas: %d (the failed one's id is free again)\n", (int)(again - ioas));
	return 0;
}
