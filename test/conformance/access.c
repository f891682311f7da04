// Test ABI access objects (emulated-device DMA): CREATE_ACCESS, ACCESS_RW
// through the CPU view, ACCESS_PAGES pins and their interplay with unmap,
// DESTROY_ACCESS_PAGES, ACCESS_REPLACE_IOAS, close of the access fd.
// platform: mock
#include "step.h"
#include "iofd.h"

#define PG 0x1000ULL

static int fd;

int main(void)
{
	char *buf = buf_alloc(16 * PG);
	char *out = buf_alloc(4 * PG);
	__u32 ioas = 0, ioas2 = 0, item = 0, item2 = 0, ro_item = 0, x;
	__u64 iova, n;
	int rc, afd = -1, afd2 = -1;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	memset(buf, 0x11, 4 * PG);
	memcpy(buf + 0x10, "hello", 6);
	iova = 0x100000;
	step("ioas_map 0x100000+4 pages rw",
	     ioas_map(fd, ioas, MAP_FIXED_RW, buf, 4 * PG, &iova), NULL);
	iova = 0x200000;
	step("ioas_map 0x200000+1 page read-only",
	     ioas_map(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA |
		      IOMMU_IOAS_MAP_READABLE, buf + 4 * PG, PG, &iova), NULL);

	rc = create_access(fd, ioas, 0, &afd);
	step("create_access no pin pages", rc, NULL);
	show_ranges(fd, ioas, "iova_ranges with a plain access");
	rc = create_access(fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			   &afd2);
	step("create_access NEEDS_PIN_PAGES", rc, NULL);
	show_ranges(fd, ioas, "iova_ranges with a pinning access");
	rc = create_access(fd, ioas, 2, NULL);
	step("create_access flags=2", rc, NULL);
	rc = create_access(fd, 99, 0, NULL);
	step("create_access bad ioas", rc, NULL);
	step("destroy ioas with accesses", obj_destroy(fd, ioas), NULL);
	for (x = 2; x <= 3; x++)
		step(L("destroy id %u (access object)", x), obj_destroy(fd, x),
		     NULL);

	note("access_rw");
	memset(out, 0, PG);
	rc = access_rw(fd, afd, 0, 0x100010, 6, out);
	step("access_rw read 6 bytes", rc, "data=%s", rc ? "-" : out);
	rc = access_rw(fd, afd, MOCK_ACCESS_RW_WRITE, 0x100ffe, 4,
		       (void *)"WXYZ");
	step("access_rw write across a page boundary", rc, "buf=%c%c%c%c",
	     buf[0xffe], buf[0xfff], buf[0x1000], buf[0x1001]);
	rc = access_rw(fd, afd, MOCK_ACCESS_RW_SLOW_PATH, 0x100ffe, 4, out);
	step("access_rw read slow path", rc, "data=%.4s", out);
	rc = access_rw(fd, afd, MOCK_ACCESS_RW_WRITE, 0x200000, 4, out);
	step("access_rw write to read-only area", rc, NULL);
	rc = access_rw(fd, afd, 0, 0x200000, 4, out);
	step("access_rw read read-only area", rc, NULL);
	rc = access_rw(fd, afd, 0, 0x103ffc, 8, out);
	step("access_rw read past the end", rc, NULL);
	rc = access_rw(fd, afd, 0, 0x300000, 4, out);
	step("access_rw hole", rc, NULL);
	rc = access_rw(fd, afd, 0, 0x100000, 0, out);
	step("access_rw length 0", rc, NULL);
	rc = access_rw(fd, afd, 0x2, 0x100000, 4, out);
	step("access_rw flags=2", rc, NULL);
	rc = access_rw(fd, afd, 0, 0x100000, (16 << 20) + 1, out);
	step("access_rw length 16M+1", rc, NULL);
	rc = access_rw(fd, 1000, 0, 0x100000, 4, out);
	step("access_rw bad fd", rc, NULL);
	rc = access_rw(fd, fd, 0, 0x100000, 4, out);
	step("access_rw fd is the iommufd", rc, NULL);

	note("access_pages");
	rc = access_pages(fd, afd, 0, 0x100000, PG, buf, &item);
	step_ok("access_pages on a non-pinning access", rc, "item=%u", item);
	rc = access_pages(fd, afd2, 0, 0x100000, 2 * PG, buf, &item);
	step_ok("access_pages 2 pages", rc, "item=%u", item);
	note("pins of page 0: %d", page_pins(fd, buf));
	rc = access_pages(fd, afd2, MOCK_FLAGS_ACCESS_WRITE, 0x100000, 2 * PG,
			  buf, &item2);
	step_ok("access_pages same range, write", rc, "item=%u", item2);
	note("pins of page 0: %d", page_pins(fd, buf));
	rc = access_pages(fd, afd2, 0, 0x101000, PG, buf, &x);
	step_ok("access_pages wrong uptr", rc, "item=%u", x);
	rc = access_pages(fd, afd2, MOCK_FLAGS_ACCESS_WRITE, 0x200000, PG,
			  buf + 4 * PG, &x);
	step_ok("access_pages write on read-only area", rc, "item=%u", x);
	rc = access_pages(fd, afd2, 0, 0x200000, PG, buf + 4 * PG, &ro_item);
	step_ok("access_pages read-only area", rc, "item=%u", ro_item);
	rc = access_pages(fd, afd2, 0, 0x100800, PG, NULL, &x);
	step_ok("access_pages unaligned iova", rc, "item=%u", x);
	rc = access_pages(fd, afd2, 0, 0x103000, 2 * PG, NULL, &x);
	step_ok("access_pages past the end", rc, "item=%u", x);
	rc = access_pages(fd, afd2, 0, 0x100000, 0, NULL, &x);
	step_ok("access_pages length 0", rc, "item=%u", x);
	rc = access_pages(fd, afd2, 0x4, 0x100000, PG, NULL, &x);
	step_ok("access_pages flags=4", rc, "item=%u", x);

	note("unmap with pins: the access drops them");
	rc = ioas_unmap(fd, ioas, 0x200000, PG, &n);
	step_ok("ioas_unmap pinned read-only area", rc, "length=0x%llx",
		(unsigned long long)n);
	step("destroy_access_pages of the dropped item", access_unpin(fd, afd2, ro_item),
	     NULL);
	step("destroy_access_pages item", access_unpin(fd, afd2, item), NULL);
	step("destroy_access_pages item again", access_unpin(fd, afd2, item),
	     NULL);
	step("destroy_access_pages unknown", access_unpin(fd, afd2, 77), NULL);
	note("pins of page 0: %d", page_pins(fd, buf));
	rc = ioas_unmap(fd, ioas, 0x100000, 4 * PG, &n);
	step_ok("ioas_unmap area with a pin", rc, "length=0x%llx",
		(unsigned long long)n);
	step("destroy_access_pages item2 after unmap",
	     access_unpin(fd, afd2, item2), NULL);
	note("pins of page 0: %d", page_pins(fd, buf));

	note("replace ioas");
	rc = ioas_alloc(fd, &ioas2);
	step_ok("ioas_alloc 2", rc, "id=%u", ioas2);
	iova = 0x100000;
	step("ioas_map ioas2 0x100000+1 page",
	     ioas_map(fd, ioas2, MAP_FIXED_RW, buf + 8 * PG, PG, &iova), NULL);
	memcpy(buf + 8 * PG, "second", 7);
	{
		struct iommu_test_cmd c = test_cmd(
			IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, afd);

		c.access_replace_ioas.ioas_id = ioas2;
		step("access_replace_ioas -> ioas2",
		     xioctl(fd, IOMMU_TEST_CMD, &c), NULL);
		c.access_replace_ioas.ioas_id = 99;
		step("access_replace_ioas -> bad id",
		     xioctl(fd, IOMMU_TEST_CMD, &c), NULL);
	}
	memset(out, 0, PG);
	rc = access_rw(fd, afd, 0, 0x100000, 7, out);
	step("access_rw read via ioas2", rc, "data=%s", rc ? "-" : out);
	step("destroy ioas (access moved away)", obj_destroy(fd, ioas), NULL);
	step("destroy ioas2 (access attached)", obj_destroy(fd, ioas2), NULL);
	close(afd);
	close(afd2);
	step("destroy ioas2 after closing the access fds",
	     obj_destroy(fd, ioas2), NULL);
	step("destroy ioas after closing the access fds",
	     obj_destroy(fd, ioas), NULL);
	rc = ioas_alloc(fd, &x);
	step_ok("ioas_alloc", rc, "id=%u", x);
	close(fd);
	return 0;
}
