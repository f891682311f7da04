// vIOMMUs on the mock driver: VIOMMU_ALLOC (checks, the SELFTEST data and
// its mmap region), nested HWPTs on a vIOMMU, VDEVICE_ALLOC (EEXIST rules,
// attach needs a vDEVICE, tombstones), HWPT_INVALIDATE on a vIOMMU (the mock
// device cache), VEVENTQ_ALLOC and the event fd (read format, sequence
// numbers, lost events, poll), HW_QUEUE_ALLOC (index rules, the internal
// access that locks the IOVA range, contiguity), mmap of the iommufd.
// platform: mock
#include "step.h"
#include "iofd.h"
#include <poll.h>

#define PG 4096UL

static int fd;

static int viommu_alloc(__u32 flags, __u32 type, __u32 dev, __u32 hwpt,
			void *data, __u32 len, __u32 *out)
{
	struct iommu_viommu_alloc c = {
		.size = sizeof(c), .flags = flags, .type = type, .dev_id = dev,
		.hwpt_id = hwpt, .data_len = len, .data_uptr = (uintptr_t)data,
	};
	int rc = xioctl(fd, IOMMU_VIOMMU_ALLOC, &c);

	if (rc == 0 && out)
		*out = c.out_viommu_id;
	return rc;
}

static int vdev_alloc(__u32 viommu, __u32 dev, __u64 virt_id, __u32 *out)
{
	struct iommu_vdevice_alloc c = {
		.size = sizeof(c), .viommu_id = viommu, .dev_id = dev,
		.virt_id = virt_id,
	};
	int rc = xioctl(fd, IOMMU_VDEVICE_ALLOC, &c);

	if (rc == 0 && out)
		*out = c.out_vdevice_id;
	return rc;
}

static int veventq_alloc(__u32 flags, __u32 viommu, __u32 type, __u32 depth,
			 __u32 rsvd, __u32 *id, int *qfd)
{
	struct iommu_veventq_alloc c = {
		.size = sizeof(c), .flags = flags, .viommu_id = viommu,
		.type = type, .veventq_depth = depth, .__reserved = rsvd,
	};
	int rc = xioctl(fd, IOMMU_VEVENTQ_ALLOC, &c);

	if (rc == 0) {
		if (id)
			*id = c.out_veventq_id;
		if (qfd)
			*qfd = (int)c.out_veventq_fd;
	}
	return rc;
}

static int hw_queue_alloc(__u32 flags, __u32 viommu, __u32 type, __u32 index,
			  __u64 iova, __u64 len, __u32 *out)
{
	struct iommu_hw_queue_alloc c = {
		.size = sizeof(c), .flags = flags, .viommu_id = viommu,
		.type = type, .index = index, .nesting_parent_iova = iova,
		.length = len,
	};
	int rc = xioctl(fd, IOMMU_HW_QUEUE_ALLOC, &c);

	if (rc == 0 && out)
		*out = c.out_hw_queue_id;
	return rc;
}

/* HWPT_INVALIDATE; prints the result and the entry_num written back. */
static void invalidate(const char *label, __u32 id, void *data, __u32 type,
		       __u32 len, __u32 num)
{
	struct iommu_hwpt_invalidate c = {
		.size = sizeof(c), .hwpt_id = id, .data_uptr = (uintptr_t)data,
		.data_type = type, .entry_len = len, .entry_num = num,
	};
	int rc = xioctl(fd, IOMMU_HWPT_INVALIDATE, &c);

	step(label, rc, "entry_num=%u", c.entry_num);
}

static int trigger_vevent(__u32 dev)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_TRIGGER_VEVENT, 0);

	c.trigger_vevent.dev_id = dev;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static int check_cache(__u32 idev, __u32 id, __u32 val)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_DEV_CHECK_CACHE, idev);

	c.check_dev_cache.id = id;
	c.check_dev_cache.cache = val;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

static int check_iotlb(__u32 hwpt, __u32 id, __u32 val)
{
	struct iommu_test_cmd c = test_cmd(IOMMU_TEST_OP_MD_CHECK_IOTLB, hwpt);

	c.check_iotlb.id = id;
	c.check_iotlb.iotlb = val;
	return xioctl(fd, IOMMU_TEST_CMD, &c);
}

/* The four cache entries of a mock device as one line. */
static void show_cache(const char *label, __u32 idev)
{
	int i;

	printf("%s:", label);
	for (i = 0; i < 4; i++) {
		if (check_cache(idev, i, 0) == 0)
			printf(" 0");
		else if (check_cache(idev, i, IOMMU_TEST_DEV_CACHE_DEFAULT) == 0)
			printf(" default");
		else
			printf(" other");
	}
	putchar('\n');
	fflush(stdout);
}

/* read() a vEVENTQ fd and print each record: [flags seq virt_id]. */
static void read_events(const char *label, int qfd, size_t count)
{
	unsigned char buf[256];
	ssize_t n;
	size_t off = 0;

	memset(buf, 0xa5, sizeof(buf));
	n = read(qfd, buf, count);
	printf("%s: %s", label, n < 0 ? errno_name(errno) : "ok");
	if (n >= 0)
		printf(" bytes=%zd", n);
	while (n > 0 && off + sizeof(struct iommufd_vevent_header) <= (size_t)n) {
		struct iommufd_vevent_header h;
		struct iommu_viommu_event_selftest e;

		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h);
		if (h.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS) {
			printf(" [lost seq=%u]", h.sequence);
			continue;
		}
		memcpy(&e, buf + off, sizeof(e));
		off += sizeof(e);
		printf(" [flags=%u seq=%u virt_id=0x%x]", h.flags, h.sequence,
		       e.virt_id);
	}
	putchar('\n');
	fflush(stdout);
}

static void show_poll(const char *label, int qfd)
{
	/* Only POLLIN: under the emulator the fd is a socket, always writable. */
	struct pollfd p = { .fd = qfd, .events = POLLIN };
	int rc = poll(&p, 1, 0);

	step(label, rc < 0 ? -errno : rc, "revents=0x%x", p.revents);
}

static void trigger(const char *label, __u32 dev, int times)
{
	int i, rc = 0;

	for (i = 0; i < times && rc == 0; i++)
		rc = trigger_vevent(dev);
	step(L("%s (x%d)", label, times), rc, NULL);
}

static void *try_mmap(const char *label, __u64 len, int prot, int flags,
		      __u64 off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);
	int rc = p == MAP_FAILED ? -errno : 0;

	if (rc == 0)
		step(label, rc, "first=0x%x", *(volatile __u32 *)p);
	else
		step(label, rc, NULL);
	return p == MAP_FAILED ? NULL : p;
}

int main(void)
{
	char *buf = buf_alloc(1 << 20);
	struct iommu_hwpt_selftest nest = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_viommu_selftest vd;
	struct iommu_viommu_invalidate_selftest inv[2];
	unsigned char inv16[32];
	__u32 ioas = 0, stdev = 0, hwpt = 0, idev = 0, stdev2 = 0, idev2 = 0;
	__u32 parent = 0, plain = 0, va = 0, vb = 0, vc = 0, vnew = 0;
	__u32 nested = 0, nested_b = 0, vdev = 0, vdev2 = 0, vdev3 = 0;
	__u32 qid = 0, q0 = 0, q1 = 0, id = 0, fault_id = 0;
	__u64 iova = 0, iova2 = 0, nx;
	__u32 pt;
	void *m1, *m2;
	int qfd = -1, qfd2 = -1, rc;

	fd = iofd_open();
	rc = ioas_alloc(fd, &ioas);
	step_ok("ioas_alloc", rc, "id=%u", ioas);
	rc = mock_domain(fd, ioas, 0, &stdev, &hwpt, &idev);
	step_ok("mock_domain", rc, "stdev=%u hwpt=%u idev=%u", stdev, hwpt,
		idev);
	rc = mock_domain(fd, ioas, 0, &stdev2, NULL, &idev2);
	step_ok("mock_domain 2", rc, "stdev=%u idev=%u", stdev2, idev2);

	note("VIOMMU_ALLOC checks");
	step("viommu flags=1", viommu_alloc(1, IOMMU_VIOMMU_TYPE_SELFTEST,
					     idev, hwpt, NULL, 0, NULL), NULL);
	step("viommu type default", viommu_alloc(0, 0, idev, hwpt, NULL, 0,
						  NULL), NULL);
	step("viommu bad dev", viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, 999,
					    hwpt, NULL, 0, NULL), NULL);
	step("viommu hwpt 0", viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev,
					   0, NULL, 0, NULL), NULL);
	step("viommu hwpt is the ioas", viommu_alloc(0,
		IOMMU_VIOMMU_TYPE_SELFTEST, idev, ioas, NULL, 0, NULL), NULL);
	step("viommu auto hwpt (not a nest parent)", viommu_alloc(0,
		IOMMU_VIOMMU_TYPE_SELFTEST, idev, hwpt, NULL, 0, NULL), NULL);
	rc = hwpt_alloc(fd, 0, idev, ioas, 0, NULL, 0, &plain);
	step_ok("hwpt_alloc plain", rc, "id=%u", plain);
	step("viommu plain hwpt", viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST,
					       idev, plain, NULL, 0, NULL), NULL);
	step("destroy plain", obj_destroy(fd, plain), NULL);
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, idev, ioas, 0, NULL,
			0, &parent);
	step_ok("hwpt_alloc nest parent", rc, "id=%u", parent);
	step("viommu type 0xdead", viommu_alloc(0, 0xdead, idev, parent, NULL,
						0, NULL), NULL);
	rc = viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, NULL, 0,
			  &va);
	step_ok("viommu no data", rc, "id=%u", va);
	step("destroy parent (held by the viommu)", obj_destroy(fd, parent),
	     NULL);

	note("vIOMMU data and its mmap region");
	memset(&vd, 0, sizeof(vd));
	vd.in_data = 0xbeef;
	step("viommu data_len 4", viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST,
		idev, parent, &vd, 4, NULL), NULL);
	step("viommu data_len 25", viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST,
		idev, parent, &vd, 25, NULL), NULL);
	step("viommu data_len 8 uptr NULL", viommu_alloc(0,
		IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, NULL, 8, NULL), NULL);
	memset(&vd, 0x5a, sizeof(vd));
	vd.in_data = 0xbeef;
	rc = viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, &vd, 8,
			  &vb);
	step_ok("viommu data_len 8", rc,
		"id=%u out_data=0x%x offset=0x%llx length=0x%llx", vb,
		vd.out_data, (unsigned long long)vd.out_mmap_offset,
		(unsigned long long)vd.out_mmap_length);
	memset(&vd, 0, sizeof(vd));
	vd.in_data = 0xcafe;
	rc = viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, &vd,
			  sizeof(vd), &vc);
	step_ok("viommu data_len 24", rc,
		"id=%u out_data=0x%x offset=0x%llx length=0x%llx", vc,
		vd.out_data, (unsigned long long)vd.out_mmap_offset,
		(unsigned long long)vd.out_mmap_length);

	m1 = try_mmap("mmap region of C", vd.out_mmap_length,
		      PROT_READ | PROT_WRITE, MAP_SHARED, vd.out_mmap_offset);
	m2 = try_mmap("mmap region of C again", vd.out_mmap_length,
		      PROT_READ | PROT_WRITE, MAP_SHARED, vd.out_mmap_offset);
	if (m1 && m2) {
		((volatile __u32 *)m1)[1] = 0x1234;
		((volatile __u32 *)m1)[1024] = 0x5678;
		note("through the second mapping: word1=0x%x page1=0x%x",
		     ((volatile __u32 *)m2)[1], ((volatile __u32 *)m2)[1024]);
	}
	try_mmap("mmap offset+page", vd.out_mmap_length,
		 PROT_READ | PROT_WRITE, MAP_SHARED, vd.out_mmap_offset + PG);
	try_mmap("mmap offset+2 pages", vd.out_mmap_length,
		 PROT_READ | PROT_WRITE, MAP_SHARED, vd.out_mmap_offset + 2 * PG);
	try_mmap("mmap half length", vd.out_mmap_length / 2,
		 PROT_READ | PROT_WRITE, MAP_SHARED, vd.out_mmap_offset);
	try_mmap("mmap double length", vd.out_mmap_length * 2,
		 PROT_READ | PROT_WRITE, MAP_SHARED, vd.out_mmap_offset);
	try_mmap("mmap MAP_PRIVATE", vd.out_mmap_length, PROT_READ,
		 MAP_PRIVATE, vd.out_mmap_offset);
	try_mmap("mmap PROT_EXEC", vd.out_mmap_length, PROT_READ | PROT_EXEC,
		 MAP_SHARED, vd.out_mmap_offset);
	try_mmap("mmap offset 0", 2 * PG, PROT_READ, MAP_SHARED, 0);
	if (m2)
		munmap(m2, vd.out_mmap_length);
	step("destroy C while mapped", obj_destroy(fd, vc), NULL);
	if (m1)
		munmap(m1, vd.out_mmap_length);
	step("destroy C after munmap", obj_destroy(fd, vc), NULL);
	try_mmap("mmap region of C after destroy", 2 * PG, PROT_READ,
		 MAP_SHARED, 0x3000);
	m1 = try_mmap("mmap B's region at 0x1000", 2 * PG, PROT_READ,
		      MAP_SHARED, 0x1000);
	step("destroy B while mapped", obj_destroy(fd, vb), NULL);
	if (m1)
		munmap(m1, 2 * PG);
	memset(&vd, 0, sizeof(vd));
	vd.in_data = 0xf00d;
	rc = viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, &vd,
			  sizeof(vd), &vnew);
	step_ok("viommu data_len 24 again", rc,
		"id=%u offset=0x%llx length=0x%llx", vnew,
		(unsigned long long)vd.out_mmap_offset,
		(unsigned long long)vd.out_mmap_length);
	step("destroy B", obj_destroy(fd, vb), NULL);
	step("destroy new", obj_destroy(fd, vnew), NULL);

	note("nested HWPTs on a vIOMMU");
	step("nested no data", hwpt_alloc(fd, 0, idev, va, 0, NULL, 0, NULL),
	     NULL);
	step("nested flag NEST_PARENT", hwpt_alloc(fd,
		IOMMU_HWPT_ALLOC_NEST_PARENT, idev, va, IOMMU_HWPT_DATA_SELFTEST,
		&nest, sizeof(nest), NULL), NULL);
	step("nested data type 0xbeef", hwpt_alloc(fd, 0, idev, va, 0xbeef,
		&nest, sizeof(nest), NULL), NULL);
	step("nested data_len 12", hwpt_alloc(fd, 0, idev, va,
		IOMMU_HWPT_DATA_SELFTEST, &nest, 12, NULL), NULL);
	step("nested data_len 2", hwpt_alloc(fd, 0, idev, va,
		IOMMU_HWPT_DATA_SELFTEST, &nest, 2, NULL), NULL);
	rc = hwpt_alloc(fd, 0, idev, va, IOMMU_HWPT_DATA_SELFTEST, &nest, 4,
			&nested);
	step_ok("nested on viommu", rc, "id=%u", nested);
	step("check_iotlb nested", check_iotlb(nested, 3,
					       IOMMU_TEST_IOTLB_DEFAULT), NULL);
	rc = hwpt_alloc(fd, 0, idev, parent, IOMMU_HWPT_DATA_SELFTEST, &nest,
			sizeof(nest), &nested_b);
	step_ok("nested on the parent directly", rc, "id=%u", nested_b);
	step("destroy viommu (nested holds it)", obj_destroy(fd, va), NULL);
	{
		struct iommu_fault_alloc f = { .size = sizeof(f) };

		rc = xioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &f);
		step_ok("fault_alloc", rc, "id=%u", f.out_fault_id);
		fault_id = f.out_fault_id;
		if (rc == 0)
			close((int)f.out_fault_fd);
	}
	{
		struct iommu_hwpt_alloc c = {
			.size = sizeof(c), .flags = IOMMU_HWPT_FAULT_ID_VALID,
			.dev_id = idev, .pt_id = va,
			.data_type = IOMMU_HWPT_DATA_SELFTEST,
			.data_len = sizeof(nest), .data_uptr = (uintptr_t)&nest,
			.fault_id = 999,
		};

		step("nested with bad fault id", xioctl(fd, IOMMU_HWPT_ALLOC,
							&c), NULL);
		c.fault_id = fault_id;
		rc = xioctl(fd, IOMMU_HWPT_ALLOC, &c);
		step_ok("nested with fault", rc, "id=%u", c.out_hwpt_id);
		if (rc == 0)
			step("destroy nested with fault",
			     obj_destroy(fd, c.out_hwpt_id), NULL);
		step("destroy fault", obj_destroy(fd, fault_id), NULL);
	}
	pt = nested;
	step("replace to nested without a vdevice", mock_replace(fd, stdev, &pt),
	     NULL);

	note("VDEVICE_ALLOC");
	step("vdev bad viommu", vdev_alloc(999, idev, 0x99, NULL), NULL);
	step("vdev viommu is a hwpt", vdev_alloc(parent, idev, 0x99, NULL),
	     NULL);
	step("vdev bad dev", vdev_alloc(va, 999, 0x99, NULL), NULL);
	rc = vdev_alloc(va, idev, 0x99, &vdev);
	step_ok("vdev 0x99", rc, "id=%u", vdev);
	step("vdev same device again", vdev_alloc(va, idev, 0x55, NULL), NULL);
	step("vdev dev2 with 0x99", vdev_alloc(va, idev2, 0x99, NULL), NULL);
	rc = vdev_alloc(va, idev2, 0x77, &vdev2);
	step_ok("vdev dev2 0x77", rc, "id=%u", vdev2);
	step("destroy viommu (vdevs hold it)", obj_destroy(fd, va), NULL);
	{
		__u32 pt = nested;

		rc = mock_replace(fd, stdev, &pt);
		step_ok("replace to nested", rc, "pt=%u", pt);
	}
	step("destroy nested while attached", obj_destroy(fd, nested), NULL);
	step("trigger dev2 (not on a nested hwpt)", trigger_vevent(idev2),
	     NULL);
	step("trigger bad dev", trigger_vevent(999), NULL);
	step("trigger before a veventq", trigger_vevent(idev), NULL);

	note("VEVENTQ_ALLOC");
	step("veventq flags", veventq_alloc(1, va, IOMMU_VEVENTQ_TYPE_SELFTEST,
					    2, 0, NULL, NULL), NULL);
	step("veventq reserved", veventq_alloc(0, va,
		IOMMU_VEVENTQ_TYPE_SELFTEST, 2, 1, NULL, NULL), NULL);
	step("veventq type default", veventq_alloc(0, va, 0, 2, 0, NULL, NULL),
	     NULL);
	step("veventq depth 0", veventq_alloc(0, va,
		IOMMU_VEVENTQ_TYPE_SELFTEST, 0, 0, NULL, NULL), NULL);
	step("veventq depth 2^19+1", veventq_alloc(0, va,
		IOMMU_VEVENTQ_TYPE_SELFTEST, (1U << 19) + 1, 0, NULL, NULL), NULL);
	step("veventq bad viommu", veventq_alloc(0, 999,
		IOMMU_VEVENTQ_TYPE_SELFTEST, 2, 0, NULL, NULL), NULL);
	rc = veventq_alloc(0, va, IOMMU_VEVENTQ_TYPE_SELFTEST, 1U << 19, 0,
			   &qid, &qfd);
	step_ok("veventq depth 2^19", rc, "id=%u", qid);
	if (rc == 0) {
		close(qfd);
		step("destroy it", obj_destroy(fd, qid), NULL);
	}
	rc = veventq_alloc(0, va, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, 0, &qid,
			   &qfd);
	step_ok("veventq depth 2", rc, "id=%u fd_ok=%d", qid, qfd > 2);
	step("veventq same type again", veventq_alloc(0, va,
		IOMMU_VEVENTQ_TYPE_SELFTEST, 2, 0, NULL, NULL), NULL);
	rc = veventq_alloc(0, va, 0x1234, 2, 0, &id, &qfd2);
	step_ok("veventq another type", rc, "id=%u", id);
	step("destroy veventq with its fd open", obj_destroy(fd, qid), NULL);
	step("destroy viommu (veventq holds it)", obj_destroy(fd, va), NULL);
	{
		char b[16];

		step("read 0 on empty", read(qfd, b, 0) < 0 ? -errno : 0, NULL);
		step("read 7 on empty", read(qfd, b, 7) < 0 ? -errno : 0, NULL);
		step("write 8", write(qfd, b, 8) < 0 ? -errno : 0, NULL);
		step("pread at 8", pread(qfd, b, 16, 8) < 0 ? -errno : 0, NULL);
	}
	read_events("read 64 on empty", qfd, 64);
	show_poll("poll empty", qfd);
	trigger("trigger", idev, 1);
	show_poll("poll with one", qfd);
	read_events("read 8 (header only)", qfd, 8);
	read_events("read 64", qfd, 64);
	trigger("trigger past depth", idev, 3);
	read_events("read 64", qfd, 64);
	trigger("trigger", idev, 1);
	read_events("read 64", qfd, 64);
	trigger("trigger past depth", idev, 4);
	read_events("read 64", qfd, 64);
	trigger("trigger", idev, 2);
	read_events("read 12", qfd, 12);
	read_events("read 64", qfd, 64);
	trigger("trigger past depth", idev, 3);
	read_events("read 20", qfd, 20);
	read_events("read 8", qfd, 8);
	read_events("read 12", qfd, 12);
	read_events("read 8", qfd, 8);
	trigger("trigger past depth", idev, 3);
	read_events("read 24", qfd, 24);
	trigger("trigger", idev, 1);
	read_events("read 64", qfd, 64);
	step("destroy the other veventq", obj_destroy(fd, id), NULL);
	close(qfd2);
	step("destroy it after close", obj_destroy(fd, id), NULL);

	note("a vdevice destroyed while its device stays on the nested hwpt");
	step("destroy vdev 0x99", obj_destroy(fd, vdev), NULL);
	trigger("trigger", idev, 1);
	read_events("read 64", qfd, 64);
	{
		__u32 pt = ioas;

		rc = mock_replace(fd, stdev, &pt);
		step_ok("replace to ioas", rc, "pt=%u", pt);
	}
	trigger("trigger", idev, 1);
	pt = nested;
	step("replace to nested again", mock_replace(fd, stdev, &pt), NULL);
	rc = vdev_alloc(va, idev, 0x0, &vdev);
	step_ok("vdev 0x0", rc, "id=%u", vdev);
	{
		__u32 pt = nested;

		rc = mock_replace(fd, stdev, &pt);
		step_ok("replace to nested", rc, "pt=%u", pt);
	}
	trigger("trigger with virt_id 0", idev, 1);
	{
		__u32 pt = ioas;

		step("replace to ioas", mock_replace(fd, stdev, &pt), NULL);
	}
	step("destroy vdev 0x0", obj_destroy(fd, vdev), NULL);
	rc = vdev_alloc(va, idev, 0x99, &vdev);
	step_ok("vdev 0x99 again", rc, "id=%u", vdev);

	note("HWPT_INVALIDATE on the vIOMMU");
	show_cache("cache idev", idev);
	memset(inv, 0, sizeof(inv));
	invalidate("inv num 0", va, inv, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
		   sizeof(inv[0]), 0);
	invalidate("inv num 0 wrong type", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID,
		   sizeof(inv[0]), 0);
	inv[0].vdev_id = 0x99;
	invalidate("inv wrong type", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID,
		   sizeof(inv[0]), 1);
	invalidate("inv uptr NULL", va, NULL,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	invalidate("inv entry_len 0", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 0, 1);
	invalidate("inv entry_len 4097", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 4097, 1);
	inv[0].flags = 0xffffffff;
	invalidate("inv bad flags", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	inv[0].flags = 0;
	inv[0].cache_id = 4;
	invalidate("inv cache_id 4", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	inv[0].cache_id = 0;
	inv[0].vdev_id = 0x9;
	invalidate("inv unknown vdev_id", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	inv[0].vdev_id = 0x99;
	inv[1].flags = 0xffffffff;
	inv[1].vdev_id = 0x99;
	inv[1].cache_id = 1;
	invalidate("inv 2, second bad flags", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 2);
	show_cache("cache idev", idev);
	inv[1].flags = 0;
	inv[1].cache_id = 9;
	invalidate("inv 2, second bad cache_id", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 2);
	memset(inv16, 0, sizeof(inv16));
	memcpy(inv16, &inv[0], sizeof(inv[0]));
	inv16[0] = 0;
	inv16[8] = 1; /* cache_id 1 */
	inv16[14] = 1; /* non-zero byte past the struct */
	invalidate("inv entry_len 16 non-zero tail", va, inv16,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 16, 1);
	inv16[14] = 0;
	invalidate("inv entry_len 16", va, inv16,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 16, 1);
	show_cache("cache idev", idev);
	inv[0].vdev_id = 0x77;
	inv[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	inv[0].cache_id = 7;
	invalidate("inv all of 0x77 (cache_id 7)", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	inv[0].cache_id = 3;
	invalidate("inv all of 0x77", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	show_cache("cache idev2", idev2);
	show_cache("cache idev", idev);
	invalidate("inv on the ioas", ioas, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 0);
	invalidate("inv on the parent", parent, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 0);
	invalidate("inv on a missing id", 999, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 0);
	{
		struct iommu_hwpt_invalidate_selftest hi = { .iotlb_id = 2 };

		invalidate("inv the nested hwpt", nested, &hi,
			   IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(hi), 1);
		step("check_iotlb 2", check_iotlb(nested, 2, 0), NULL);
		step("check_iotlb 1", check_iotlb(nested, 1,
			IOMMU_TEST_IOTLB_DEFAULT), NULL);
	}

	note("HW_QUEUE_ALLOC");
	step("hwq flags", hw_queue_alloc(1, va, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0,
					 0x1000000, PG, NULL), NULL);
	step("hwq type default", hw_queue_alloc(0, va, 0, 0, 0x1000000, PG,
						NULL), NULL);
	step("hwq length 0", hw_queue_alloc(0, va, IOMMU_HW_QUEUE_TYPE_SELFTEST,
					    0, 0x1000000, 0, NULL), NULL);
	step("hwq overflow", hw_queue_alloc(0, va, IOMMU_HW_QUEUE_TYPE_SELFTEST,
					    0, ~0ULL, PG, NULL), NULL);
	step("hwq bad viommu", hw_queue_alloc(0, 999,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, 0x1000000, PG, NULL), NULL);
	step("hwq type 0x1234", hw_queue_alloc(0, va, 0x1234, 0, 0x1000000, PG,
					       NULL), NULL);
	step("hwq offset+length overflow", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, 0xfff, ~0ULL - 0xffe, NULL),
	     NULL);
	step("hwq length round-up overflow", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, 0, ~0ULL - 100, NULL), NULL);
	step("hwq 1 TiB page array", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, 0, 1ULL << 40, NULL), NULL);
	step("hwq unmapped iova", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, 0x1000000, PG, NULL), NULL);
	rc = ioas_map(fd, ioas, MAP_RW, buf, PG, &iova);
	step_ok("map one page", rc, "iova=0x%llx", (unsigned long long)iova);
	rc = ioas_map(fd, ioas, MAP_RW, buf + PG, PG, &iova2);
	step_ok("map another page", rc, "iova=0x%llx",
		(unsigned long long)iova2);
	step("hwq index 1 first", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 1, iova, PG, NULL), NULL);
	step("hwq index 2", hw_queue_alloc(0, va, IOMMU_HW_QUEUE_TYPE_SELFTEST,
					   2, iova, PG, NULL), NULL);
	rc = hw_queue_alloc(0, va, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, iova, PG,
			    &q0);
	step_ok("hwq index 0", rc, "id=%u", q0);
	rc = ioas_alloc(fd, &id);
	step_ok("ioas_alloc (next free id)", rc, "id=%u", id);
	step("destroy it", obj_destroy(fd, id), NULL);
	step("hwq index 0 again", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, iova2, PG, NULL), NULL);
	step("unmap the queue's page", ioas_unmap(fd, ioas, iova, PG, NULL),
	     NULL);
	step("unmap the other page", ioas_unmap(fd, ioas, iova2, PG, NULL),
	     NULL);
	rc = hw_queue_alloc(0, va, IOMMU_HW_QUEUE_TYPE_SELFTEST, 1,
			    iova + PG / 2, PG / 2, &q1);
	step_ok("hwq index 1 (half page)", rc, "id=%u", q1);
	step("destroy hwq 0 (1 depends on it)", obj_destroy(fd, q0), NULL);
	step("destroy viommu (queues hold it)", obj_destroy(fd, va), NULL);
	step("destroy hwq 1", obj_destroy(fd, q1), NULL);
	step("destroy hwq 0", obj_destroy(fd, q0), NULL);
	step("unmap the queue's page", ioas_unmap(fd, ioas, iova, PG, NULL),
	     NULL);
	nx = 0x1000000;
	step("map a page at 0x1000000", ioas_map(fd, ioas, MAP_FIXED_RW, buf,
						 PG, &nx), NULL);
	nx = 0x1001000;
	step("map the same page at 0x1001000", ioas_map(fd, ioas,
		MAP_FIXED_RW, buf, PG, &nx), NULL);
	step("hwq over two copies of one page", hw_queue_alloc(0, va,
		IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, 0x1000000, 2 * PG, NULL), NULL);
	step("unmap both", ioas_unmap(fd, ioas, 0x1000000, 2 * PG, NULL), NULL);

	note("tombstones");
	step("destroy stdev2 (unplugs dev2)", obj_destroy(fd, stdev2), NULL);
	step("destroy vdev 0x77", obj_destroy(fd, vdev2), NULL);
	rc = ioas_alloc(fd, &id);
	step_ok("ioas_alloc (skips the tombstone)", rc, "id=%u", id);
	rc = vdev_alloc(va, idev2, 0x77, &vdev3);
	step("vdev for the unplugged device", rc, NULL);
	inv[0].vdev_id = 0x77;
	inv[0].flags = 0;
	inv[0].cache_id = 0;
	invalidate("inv 0x77 after unplug", va, inv,
		   IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]), 1);
	rc = mock_domain(fd, ioas, 0, &stdev2, NULL, &idev2);
	step_ok("mock_domain 3", rc, "stdev=%u idev=%u", stdev2, idev2);
	rc = vdev_alloc(va, idev2, 0x77, &vdev3);
	step_ok("vdev 0x77 on the new device", rc, "id=%u", vdev3);

	note("teardown");
	close(qfd);
	step("destroy veventq", obj_destroy(fd, qid), NULL);
	step("trigger without a veventq", trigger_vevent(idev), NULL);
	step("destroy nested_b", obj_destroy(fd, nested_b), NULL);
	step("destroy viommu (nested, vdevs)", obj_destroy(fd, va), NULL);
	step("destroy nested", obj_destroy(fd, nested), NULL);
	step("destroy vdev", obj_destroy(fd, vdev), NULL);
	step("destroy vdev3", obj_destroy(fd, vdev3), NULL);
	step("destroy viommu", obj_destroy(fd, va), NULL);
	step("destroy parent", obj_destroy(fd, parent), NULL);
	rc = viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, NULL, 0,
			  NULL);
	step("viommu on the destroyed parent id", rc, NULL);
	/* Leave a vIOMMU with a vdevice and a mapped region for close. */
	rc = hwpt_alloc(fd, IOMMU_HWPT_ALLOC_NEST_PARENT, idev, ioas, 0, NULL,
			0, &parent);
	step_ok("hwpt_alloc nest parent", rc, "id=%u", parent);
	memset(&vd, 0, sizeof(vd));
	vd.in_data = 0x1;
	rc = viommu_alloc(0, IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, &vd,
			  sizeof(vd), &va);
	step_ok("viommu", rc, "id=%u offset=0x%llx", va,
		(unsigned long long)vd.out_mmap_offset);
	rc = vdev_alloc(va, idev, 0x42, &vdev);
	step_ok("vdev 0x42", rc, "id=%u", vdev);
	m1 = try_mmap("mmap", vd.out_mmap_length, PROT_READ, MAP_SHARED,
		      vd.out_mmap_offset);
	step("close iommufd", close(fd) < 0 ? -errno : 0, NULL);
	if (m1)
		munmap(m1, vd.out_mmap_length);
	buf_free(buf, 1 << 20);
	return 0;
}
