// vfio_sysfs on the --igb machine: the two e1000e and the 82576 (igb, with
// SR-IOV) at 0000:00:03.0. What a VMM (QEMU's vfio-pci with iommufd=) and a
// userspace driver (DPDK's
// PCI bus scan and VFIO setup) read of sysfs and /dev/vfio to find the
// functions bound to vfio-pci: the PCI device directories and their
// attributes, links and config space, the vfio-pci driver's directory, the
// IOMMU groups, the VT-d unit, the vfio-dev class, the vfio modules and the
// /dev/vfio tree, listed sorted with file types, modes, contents and link
// targets; the realpath of a device directory; entries that must be absent.
// /sys/class/iommu lists only the dmar units (the oracle's kernel also
// registers the iommufd selftest's IOMMU). Char device nodes: type and
// device numbers (the emulator's nodes are open to every user).
// oracle: --igb
// platform: qemu-vtd-igb
#include "step.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted; NULL with errno on failure. */
static char **names(const char *dir, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int cap = 0;
	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
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

/* One line per entry: its lstat type and mode, a link's target, a char node's numbers. */
static void entry(const char *p)
{
	struct stat st;
	char t[PATH_MAX];
	ssize_t n;
	if (lstat(p, &st)) {
		printf("%s: %s\n", p, errno_name(errno));
		return;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFLNK:
		n = readlink(p, t, sizeof(t) - 1);
		t[n < 0 ? 0 : n] = 0;
		printf("%s: link -> %s\n", p, t);
		break;
	case S_IFDIR:
		printf("%s: dir %04o\n", p, st.st_mode & 07777);
		break;
	case S_IFCHR:
		printf("%s: chr %u:%u\n", p, major(st.st_rdev), minor(st.st_rdev));
		break;
	case S_IFREG:
		printf("%s: reg %04o\n", p, st.st_mode & 07777);
		break;
	default:
		printf("%s: other\n", p);
	}
}

/* The entries of a directory, each as entry() prints it; `skip` names are left out. */
static void listing(const char *dir, const char *const *skip)
{
	int n;
	char **v = names(dir, &n);
	if (!v) {
		printf("%s/: %s\n", dir, errno_name(errno));
		return;
	}
	for (int i = 0; i < n; i++)
		for (const char *const *s = skip; s && *s; s++)
			if (v[i][0] && !strcmp(v[i], *s))
				v[i][0] = 0;
	int shown = 0;
	for (int i = 0; i < n; i++)
		shown += v[i][0] != 0;
	printf("%s/: %d entries\n", dir, shown);
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];
		if (!v[i][0])
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, v[i]);
		entry(p);
	}
	free_names(v, n);
}

/* A text attribute, newlines shown as "|". */
static void text(const char *p)
{
	char b[4096];
	int fd = open(p, O_RDONLY);
	ssize_t n;
	if (fd < 0) {
		printf("%s = %s\n", p, errno_name(errno));
		return;
	}
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n < 0) {
		printf("%s = read %s\n", p, errno_name(errno));
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (b[i] == '\n')
			b[i] = '|';
	b[n] = 0;
	printf("%s = [%s]\n", p, b);
}

/* The same attribute through stdio, as DPDK's parsers read it. */
static void text_stdio(const char *p)
{
	char line[256];
	FILE *f = fopen(p, "r");
	if (!f) {
		printf("fopen %s: %s\n", p, errno_name(errno));
		return;
	}
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		printf("fopen %s: [%s]\n", p, line);
	} else {
		printf("fopen %s: empty\n", p);
	}
	fclose(f);
}

/* Config space as sysfs reads it (the function's own registers): its size, then each non-zero dword. */
static void config(const char *p)
{
	unsigned char b[4096];
	int fd = open(p, O_RDONLY);
	ssize_t n;
	if (fd < 0) {
		printf("%s: %s\n", p, errno_name(errno));
		return;
	}
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	printf("%s: read %zd\n", p, n);
	for (ssize_t i = 0; i + 4 <= n; i += 4) {
		unsigned v = b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (unsigned)b[i + 3] << 24;
		if (v)
			printf("  0x%03zx: 0x%08x\n", i, v);
	}
}

static void size_of(const char *p)
{
	struct stat st;
	if (stat(p, &st))
		printf("%s: size %s\n", p, errno_name(errno));
	else
		printf("%s: size %lld\n", p, (long long)st.st_size);
}

static void real(const char *p)
{
	char r[PATH_MAX];
	if (realpath(p, r))
		printf("realpath %s = %s\n", p, r);
	else
		printf("realpath %s: %s\n", p, errno_name(errno));
}

static void exists(const char *p, int mode)
{
	printf("access %s %d: %s\n", p, mode, access(p, mode) ? errno_name(errno) : "ok");
}

static const char *const vfio_fns[] = { "0000:00:01.0", "0000:00:02.0", "0000:00:03.0" };
static const char *const other_fns[] = { "0000:00:00.0", "0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3" };
static const char *const attrs[] = {
	"vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision", "irq",
	"driver_override", "enable", "msi_bus", "ari_enabled", "broken_parity_status", "consistent_dma_mask_bits",
	"dma_mask_bits", "current_link_speed", "current_link_width", "max_link_speed", "max_link_width",
	"local_cpulist", "local_cpus", "power_state", "modalias", "uevent", "resource", "reset_method",
	"serial_number", NULL,
};
/* Not modelled: the ACPI companion's link (the ACPI namespace is not part of
 * the machine). Left out: msi_irqs, which appears at a function's first MSI
 * use and stays for the rest of the boot, so it shows what earlier clients
 * did, not the machine. */
static const char *const skip_dev[] = { "firmware_node", "msi_irqs", NULL };

int main(void)
{
	char p[PATH_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# the PCI bus\n");
	listing("/sys/bus/pci/devices", NULL);
	listing("/sys/bus/pci/drivers/vfio-pci", NULL);
	entry("/sys/bus/pci/drivers");
	entry("/sys/bus/pci/drivers_autoprobe");
	text("/sys/bus/pci/drivers_autoprobe");
	listing("/sys/devices/pci0000:00/pci_bus/0000:00", NULL);

	for (size_t i = 0; i < sizeof(vfio_fns) / sizeof(*vfio_fns); i++) {
		char dir[PATH_MAX], vdir[PATH_MAX];
		printf("# %s, bound to vfio-pci\n", vfio_fns[i]);
		snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", vfio_fns[i]);
		listing(dir, skip_dev);
		for (const char *const *a = attrs; *a; a++) {
			/* The igb's irq is its firmware line (11) until a client of the
			 * same boot enabled it (then its GSI, 23): it shows what earlier
			 * clients did, not the machine. */
			if (i == 2 && !strcmp(*a, "irq"))
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, *a);
			text(p);
		}
		snprintf(p, sizeof(p), "%s/config", dir);
		config(p);
		for (int r = 0; r < 4; r++) {
			snprintf(p, sizeof(p), "%s/resource%d", dir, r);
			size_of(p);
		}
		snprintf(p, sizeof(p), "%s/numa_node", dir);
		text(p);
		snprintf(p, sizeof(p), "%s/sriov_numvfs", dir);
		exists(p, F_OK);
		snprintf(p, sizeof(p), "%s/max_vfs", dir);
		exists(p, F_OK);
		snprintf(p, sizeof(p), "%s/vendor", dir);
		text_stdio(p);
		snprintf(vdir, sizeof(vdir), "%s/vfio-dev", dir);
		listing(vdir, NULL);
		snprintf(vdir, sizeof(vdir), "/sys/devices/pci0000:00/%s/vfio-dev/vfio%zu", vfio_fns[i], i);
		listing(vdir, NULL);
		snprintf(p, sizeof(p), "%s/dev", vdir);
		text(p);
		snprintf(p, sizeof(p), "%s/uevent", vdir);
		text(p);
		real(dir);
		snprintf(p, sizeof(p), "%s/iommu_group", dir);
		real(p);
		snprintf(p, sizeof(p), "%s/driver", dir);
		real(p);
		/* Through the device's links, as DPDK reads the unit's address width. */
		snprintf(p, sizeof(p), "%s/iommu/intel-iommu/cap", dir);
		text(p);
		snprintf(p, sizeof(p), "%s/iommu_group/devices", dir);
		listing(p, NULL);
	}

	for (size_t i = 0; i < sizeof(other_fns) / sizeof(*other_fns); i++) {
		static const char *const few[] = { "vendor", "device", "subsystem_vendor", "subsystem_device", "class",
			"revision", "irq", "driver_override", "resource", NULL };
		char dir[PATH_MAX];
		printf("# %s, no driver\n", other_fns[i]);
		snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", other_fns[i]);
		for (const char *const *a = few; *a; a++) {
			snprintf(p, sizeof(p), "%s/%s", dir, *a);
			text(p);
		}
		snprintf(p, sizeof(p), "%s/driver", dir);
		entry(p);
		snprintf(p, sizeof(p), "%s/iommu_group", dir);
		entry(p);
		snprintf(p, sizeof(p), "%s/config", dir);
		size_of(p);
	}

	printf("# IOMMU groups\n");
	{
		int n;
		char **v = names("/sys/kernel/iommu_groups", &n);
		listing("/sys/kernel/iommu_groups", NULL);
		for (int i = 0; v && i < n; i++) {
			snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s", v[i]);
			listing(p, NULL);
			snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", v[i]);
			listing(p, NULL);
			snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/reserved_regions", v[i]);
			text(p);
			snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/type", v[i]);
			text(p);
		}
		free_names(v, n);
	}
	real("/sys/kernel/iommu_groups/1/devices/0000:00:01.0");

	printf("# the VT-d unit\n");
	{
		int n;
		char **v = names("/sys/class/iommu", &n);
		for (int i = 0; v && i < n; i++)
			if (!strncmp(v[i], "dmar", 4)) {
				snprintf(p, sizeof(p), "/sys/class/iommu/%s", v[i]);
				entry(p);
			}
		free_names(v, n);
	}
	listing("/sys/devices/virtual/iommu/dmar0", NULL);
	listing("/sys/devices/virtual/iommu/dmar0/devices", NULL);
	listing("/sys/class/iommu/dmar0/intel-iommu", NULL);
	text("/sys/class/iommu/dmar0/intel-iommu/address");
	text("/sys/class/iommu/dmar0/intel-iommu/cap");
	text("/sys/class/iommu/dmar0/intel-iommu/ecap");
	text("/sys/class/iommu/dmar0/intel-iommu/version");
	text("/sys/class/iommu/dmar0/intel-iommu/domains_supported");
	real("/sys/class/iommu/dmar0");

	printf("# vfio classes\n");
	listing("/sys/class/vfio-dev", NULL);
	real("/sys/class/vfio-dev/vfio0");
	real("/sys/class/vfio-dev/vfio2");
	real("/sys/kernel/iommu_groups/3/devices/0000:00:03.0");
	text("/sys/class/vfio-dev/vfio1/dev");
	listing("/sys/class/vfio", NULL);
	listing("/sys/devices/virtual/vfio/1", NULL);
	text("/sys/devices/virtual/vfio/1/dev");
	text("/sys/devices/virtual/vfio/2/dev");
	text("/sys/devices/virtual/vfio/2/uevent");

	printf("# modules\n");
	entry("/sys/module");
	listing("/sys/module/vfio", NULL);
	text("/sys/module/vfio/version");
	listing("/sys/module/vfio_pci", NULL);
	listing("/sys/module/vfio_pci/parameters", NULL);
	text("/sys/module/vfio_pci/parameters/disable_denylist");
	text("/sys/module/vfio_pci/parameters/disable_idle_d3");
	text("/sys/module/vfio_pci/parameters/nointxmask");
	listing("/sys/module/iommufd/parameters", NULL);
	text("/sys/module/iommufd/parameters/allow_unsafe_interrupts");
	entry("/sys/module/vfio_iommu_type1");
	entry("/sys/module/vfio_pci_core");
	exists("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", F_OK);
	text("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode");

	printf("# /dev/vfio\n");
	{
		int n;
		char **v = names("/dev/vfio", &n);
		printf("/dev/vfio/:");
		for (int i = 0; v && i < n; i++)
			printf(" %s", v[i]);
		printf("\n");
		free_names(v, n);
	}
	entry("/dev/vfio");
	entry("/dev/vfio/devices");
	listing("/dev/vfio/devices", NULL);
	exists("/dev/vfio/vfio", F_OK);
	exists("/dev/vfio/devices/vfio0", R_OK | W_OK);
	real("/dev/vfio/devices/vfio1");
	entry("/dev/vfio/3");

	printf("# device numbers to sysfs\n");
	{
		static const char *const nodes[] = { "250:0", "250:1", "251:0", "251:1", "10:196", "10:257" };
		for (size_t i = 0; i < sizeof(nodes) / sizeof(*nodes); i++) {
			snprintf(p, sizeof(p), "/sys/dev/char/%s", nodes[i]);
			entry(p);
		}
	}
	real("/sys/dev/char/250:1");
	entry("/sys/class/misc/vfio");
	entry("/sys/class/misc/iommu");
	listing("/sys/devices/virtual/misc/vfio", NULL);
	text("/sys/devices/virtual/misc/vfio/dev");
	text("/sys/devices/virtual/misc/vfio/uevent");
	text("/sys/devices/virtual/misc/iommu/dev");
	text("/sys/devices/virtual/misc/iommu/uevent");
	return 0;
}
