// What sysfs shows of qemu's arm64 virt machine with an SMMUv3 (ACPI): every
// PCI function with its IDs, driver, IOMMU group and IOMMU link (the gpex
// host bridge too); the SMMU's class device smmu3.0x<register base> under its
// IORT platform device, its parent and the devices it serves; each IOMMU
// group's devices, reserved regions (the software MSI window) and default
// domain type; the vfio-dev class. /sys/class/iommu lists only the SMMU
// units (the oracle's kernel also registers the iommufd selftest's mock
// IOMMU).
// oracle: --arm
// platform: qemu-smmuv3
#include "step.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted, those starting with `prefix`; NULL with errno on failure. */
static char **names(const char *dir, const char *prefix, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = realloc(v, sizeof(*v) * (size_t)cap);
		}
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, (size_t)*n, sizeof(*v), cmp);
	return v ? v : calloc(1, sizeof(*v));
}

static void free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void listing(const char *dir, const char *prefix)
{
	int n;
	char **v = names(dir, prefix, &n);

	if (!v) {
		printf("ls %s: %s\n", dir, errno_name(errno));
		return;
	}
	printf("ls %s:", dir);
	for (int i = 0; i < n; i++)
		printf(" %s", v[i]);
	putchar('\n');
	free_names(v, n);
}

static void text(const char *p)
{
	char b[1024];
	int f = open(p, O_RDONLY);
	ssize_t n;

	if (f < 0) {
		printf("%s: %s\n", p, errno_name(errno));
		return;
	}
	n = read(f, b, sizeof(b) - 1);
	close(f);
	if (n < 0) {
		printf("%s: read %s\n", p, errno_name(errno));
		return;
	}
	b[n] = 0;
	if (n && b[n - 1] == '\n')
		b[--n] = 0;
	for (char *q = b; *q; q++)
		if (*q == '\n')
			*q = '|';
	printf("%s = [%s]\n", p, b);
}

static void lnk(const char *p)
{
	char t[PATH_MAX];
	ssize_t n = readlink(p, t, sizeof(t) - 1);

	if (n < 0) {
		printf("%s: %s\n", p, errno_name(errno));
		return;
	}
	t[n] = 0;
	printf("%s -> %s\n", p, t);
}

int main(void)
{
	char p[PATH_MAX];
	char **v;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# PCI functions\n");
	listing("/sys/bus/pci/devices", "");
	listing("/sys/bus/pci/drivers/vfio-pci", "0000:");
	v = names("/sys/bus/pci/devices", "", &n);
	for (int i = 0; v && i < n; i++) {
		static const char *const attrs[] = { "vendor", "device", "subsystem_vendor",
			"subsystem_device", "class", "revision", NULL };
		static const char *const links[] = { "driver", "iommu_group", "iommu", NULL };

		for (const char *const *a = attrs; *a; a++) {
			snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", v[i], *a);
			text(p);
		}
		for (const char *const *a = links; *a; a++) {
			snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", v[i], *a);
			lnk(p);
		}
	}
	free_names(v, n);

	printf("# the SMMUv3\n");
	listing("/sys/class/iommu", "smmu3.");
	v = names("/sys/class/iommu", "smmu3.", &n);
	for (int i = 0; v && i < n; i++) {
		snprintf(p, sizeof(p), "/sys/class/iommu/%s", v[i]);
		lnk(p);
		listing(p, "");
		snprintf(p, sizeof(p), "/sys/class/iommu/%s/device", v[i]);
		lnk(p);
		snprintf(p, sizeof(p), "/sys/class/iommu/%s/device/driver", v[i]);
		lnk(p);
		snprintf(p, sizeof(p), "/sys/class/iommu/%s/device/modalias", v[i]);
		text(p);
		snprintf(p, sizeof(p), "/sys/class/iommu/%s/devices", v[i]);
		listing(p, "");
		snprintf(p, sizeof(p), "/sys/class/iommu/%s/devices/0000:00:01.0", v[i]);
		lnk(p);
	}
	free_names(v, n);
	listing("/sys/bus/platform/drivers/arm-smmu-v3", "");

	printf("# IOMMU groups\n");
	listing("/sys/kernel/iommu_groups", "");
	v = names("/sys/kernel/iommu_groups", "", &n);
	for (int i = 0; v && i < n; i++) {
		snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", v[i]);
		listing(p, "");
		snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/reserved_regions", v[i]);
		text(p);
		snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/type", v[i]);
		text(p);
	}
	free_names(v, n);

	printf("# VFIO\n");
	listing("/sys/class/vfio-dev", "");
	lnk("/sys/class/vfio-dev/vfio0/device");
	lnk("/sys/class/vfio-dev/vfio1/device");
	listing("/dev/vfio", "");
	listing("/dev/vfio/devices", "");
	return 0;
}
