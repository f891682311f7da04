/* VmPin and VmLck in /proc/<pid>/status show iommufd's pin accounting, as
 * the kernel selftests read them (change_process, get_vm_pinned): through
 * every name of the file (self, thread-self, <pid>, task/<tid>), from a
 * forked child about its parent, and for pages of a MAP_SHARED memfd
 * mapping, whose pins are the file's (MD_CHECK_REFS shares them with
 * IOAS_MAP_FILE). Built with -I test/conformance/include; runs unchanged on
 * the oracle's kernel (npm run oracle -- record shim/vmstat).
 * Prints the lines with their tab as "\t" so the format is compared too. */
// golden: vmstat
#define _GNU_SOURCE
#include "iofd.h"
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PAGE 4096UL

static char *line_of(const char *path, const char *tag, char *out, size_t size)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	snprintf(out, size, "(none)");
	if (!f) {
		snprintf(out, size, "open: %s", errno_name(errno));
		return out;
	}
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, tag, strlen(tag)))
			continue;
		size_t o = 0;
		for (char *p = buf; *p && *p != '\n' && o + 3 < size; p++) {
			if (*p == '\t') { out[o++] = '\\'; out[o++] = 't'; }
			else out[o++] = *p;
		}
		out[o] = 0;
		break;
	}
	fclose(f);
	return out;
}

static void show(const char *step, const char *path)
{
	char a[128], b[128];
	printf("%s: %s | %s\n", step, line_of(path, "VmLck:", a, sizeof(a)), line_of(path, "VmPin:", b, sizeof(b)));
	fflush(stdout);
}

static void drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) == 0) {
		d[0].effective &= ~(1u << CAP_IPC_LOCK);
		syscall(SYS_capset, &h, d);
	}
}

int main(void)
{
	char path[128];
	pid_t self = getpid();
	__u32 ioas = 0, hwpt = 0;
	__u64 iova;
	int fd = iofd_open();
	__u64 mode = 1;

	drop_cap_ipc_lock();
	show("start", "/proc/self/status");
	step("RLIMIT_MODE mm", iommu_opt(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &mode), NULL);
	step("ioas", ioas_alloc(fd, &ioas), NULL);
	step("mock domain", mock_domain(fd, ioas, 0, NULL, &hwpt, NULL), NULL);

	char *anon = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("vmstat", 0);
	step("ftruncate", ftruncate(mfd, 16 * PAGE) ? -errno : 0, NULL);
	char *shared = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	memset(anon, 1, 64 * PAGE);
	memset(shared, 2, 16 * PAGE);

	iova = 1UL << 24;
	step("map anon 3 pages", ioas_map(fd, ioas, MAP_FIXED_RW, anon, 3 * PAGE, &iova), NULL);
	show("self", "/proc/self/status");
	show("thread-self", "/proc/thread-self/status");
	snprintf(path, sizeof(path), "/proc/%d/status", self);
	show("pid", path);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", self, self);
	show("pid task", path);
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", self);
	show("self task", path);

	iova = 2UL << 24;
	step("map anon 60 more", ioas_map(fd, ioas, MAP_FIXED_RW, anon + 4 * PAGE, 60 * PAGE, &iova), NULL);
	show("63 pages", "/proc/self/status");
	step("unmap 60", ioas_unmap(fd, ioas, 2UL << 24, 60 * PAGE, NULL), NULL);

	/* The memfd's pages: through its mapping and as a file. */
	iova = 3UL << 24;
	step("map shared 2 pages", ioas_map(fd, ioas, MAP_FIXED_RW, shared + PAGE, 2 * PAGE, &iova), NULL);
	step("check_map shared", check_map(fd, hwpt, 3UL << 24, 2 * PAGE, shared + PAGE), NULL);
	printf("pins of shared page 1: %d\n", page_pins(fd, shared + PAGE));
	{
		struct iommu_ioas_map_file c = {
			.size = sizeof(c), .flags = MAP_FIXED_RW, .ioas_id = ioas, .fd = mfd,
			.start = PAGE, .length = 2 * PAGE, .iova = 4UL << 24,
		};
		step("map_file 2 pages", xioctl(fd, IOMMU_IOAS_MAP_FILE, &c), NULL);
	}
	step("check_map file at the VA", check_map(fd, hwpt, 4UL << 24, 2 * PAGE, shared + PAGE), NULL);
	printf("pins of shared page 1: %d\n", page_pins(fd, shared + PAGE));
	printf("pins of shared page 0: %d\n", page_pins(fd, shared));
	show("7 pages", "/proc/self/status");

	pid_t child = fork();
	if (child == 0) {
		char p2[64];
		snprintf(p2, sizeof(p2), "/proc/%d/status", self);
		show("child: parent", p2);
		show("child: self", "/proc/self/status");
		printf("child: pins of shared page 1: %d\n", page_pins(fd, shared + PAGE));
		fflush(stdout);
		_exit(0);
	}
	waitpid(child, NULL, 0);

	step("unmap shared", ioas_unmap(fd, ioas, 3UL << 24, 2 * PAGE, NULL), NULL);
	printf("pins of shared page 1: %d\n", page_pins(fd, shared + PAGE));
	step("unmap file", ioas_unmap(fd, ioas, 4UL << 24, 2 * PAGE, NULL), NULL);
	printf("pins of shared page 1: %d\n", page_pins(fd, shared + PAGE));
	step("unmap anon", ioas_unmap(fd, ioas, 1UL << 24, 3 * PAGE, NULL), NULL);
	show("end", "/proc/self/status");
	close(fd);
	return 0;
}
