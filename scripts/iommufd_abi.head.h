/* SPDX-License-Identifier: MIT */
/*
 * iommufd_abi.h - the iommufd userspace ABI, for programs built where the
 * system has no <linux/iommufd.h> (Debian 12's kernel headers, 6.1, have
 * none) or an old <linux/vfio.h>. Installed by the iommufd-emu package in
 * its include/ directory:
 *     cc -I node_modules/iommufd-emu/include prog.c
 *     #include <iommufd_abi.h>
 *
 * Request numbers, field order, widths and offsets follow the Linux 7.2 uAPI
 * (include/uapi/linux/iommufd.h, vfio.h and the selftests' iommufd_test.h).
 * It is the header iommufd-emu's own conformance clients use, whose output
 * is compared with a real kernel's.
 *
 * Three parts, each guarded by the include guard of the kernel header it
 * stands in for (both the kernel-tree and the installed, headers_install
 * spelling), so a system header included first wins and one included
 * afterwards becomes a no-op:
 *   1. /dev/iommu ioctls               (guard _UAPI_IOMMUFD_H / _IOMMUFD_H)
 *   2. VFIO: container/type1 compat    (guard _UAPIVFIO_H / VFIO_H)
 *      VFIO: device cdev <-> iommufd   (guarded by VFIO_DEVICE_BIND_IOMMUFD,
 *                                       which 6.1's vfio.h lacks)
 *   3. IOMMU_TEST_CMD, the mock driver ABI (guard _UAPI_IOMMUFD_TEST_H)
 * A program that includes <linux/vfio.h> from 6.1 first therefore gets 6.1's
 * struct vfio_device_info (no trailing pad) and our cdev structs.
 */
