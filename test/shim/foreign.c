/* Foreign ioctls (proto.h, IOMMUFD_EMU_FOREIGN): KVM_SET_DEVICE_ATTR goes to
 * the server even on fds the shim does not own, and what the server leaves to
 * the kernel gets the kernel's answer; other requests on such fds never
 * reach the server. Needs an emulated VFIO cdev (--platform qemu-vtd).
 *
 * With the argument "kvm" (needs /dev/kvm; not run by npm test): a real VM
 * and its real kvm-vfio device are handed the emulated cdev, as QEMU does
 * under -accel kvm; the server answers for it, the kernel for the rest. */
#include "common.h"
#include <linux/kvm.h>

/* Older headers name them after groups only (the same numbers). */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_FILE_ADD KVM_DEV_VFIO_GROUP_ADD
#define KVM_DEV_VFIO_FILE_DEL KVM_DEV_VFIO_GROUP_DEL
#endif

static void step(const char *name, int rc)
{
	if (rc < 0)
		printf("%s: -1 %s\n", name, ename(errno));
	else
		printf("%s: %d\n", name, rc);
	fflush(stdout);
}

static int attr(int dev, unsigned long req, unsigned long long what, int32_t *fdp)
{
	struct kvm_device_attr a = { .flags = 0, .group = KVM_DEV_VFIO_FILE, .attr = what, .addr = (uint64_t)(uintptr_t)fdp };
	return ioctl(dev, req, &a);
}

int main(int argc, char **argv)
{
	int32_t vfio = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC), other;
	int p[2];

	step("open vfio0", vfio);
	if (pipe(p) < 0)
		return 1;
	other = p[1];
	if (argc > 1 && strcmp(argv[1], "kvm") == 0) {
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, dup1;
		struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
		step("open kvm", kvm);
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		step("create vm", vm);
		step("create kvm-vfio", ioctl(vm, KVM_CREATE_DEVICE, &cd));
		step("has file add", attr(cd.fd, KVM_HAS_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
		step("add vfio0", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
		step("add vfio0 again", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
		dup1 = dup(vfio);
		step("add a dup", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &dup1));
		step("add a pipe", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &other));
		step("del a pipe", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_DEL, &other));
		step("attr 9", attr(cd.fd, KVM_SET_DEVICE_ATTR, 9, &vfio));
		step("del vfio0", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_DEL, &vfio));
		step("del vfio0 again", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_DEL, &vfio));
		step("add vfio0, kept", attr(cd.fd, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
		step("close vfio0", close(vfio));
		step("close dup", close(dup1));
		return 0;
	}
	/* Forwarded, left to the kernel: a pipe has no such ioctl. */
	step("set attr on a pipe", attr(p[0], KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
	/* Forwarded, no such fd: the kernel's EBADF. */
	step("set attr on a closed fd", attr(999, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
	/* Not in the list: never forwarded. */
	step("has attr on a pipe", attr(p[0], KVM_HAS_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
	/* On our own fd it is an ordinary emulated ioctl (vfio's answer). */
	step("set attr on vfio0", attr(vfio, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE_ADD, &vfio));
	/* A bad pointer: the kernel faults reading it. */
	step("set attr bad pointer", ioctl(p[0], KVM_SET_DEVICE_ATTR, (void *)8));
	{
		int saved = 4242, rc;
		errno = saved;
		rc = ioctl(p[0], FIONREAD, &rc);
		printf("fionread on a pipe: %d errno %s\n", rc, errno == saved ? "kept" : "changed");
	}
	return 0;
}
