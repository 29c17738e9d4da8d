/*
 * QLogic ISP1040 model: QEMU API differences between releases
 *
 * The model is built against Debian bookworm's QEMU 7.2 and Debian trixie's
 * QEMU 10.0 (emu/build-qemu.sh, QEMU_RELEASE=trixie).  This header hides
 * where their APIs differ, selected on QEMU_VERSION_MAJOR/MINOR from the
 * generated config-host.h that "qemu/osdep.h" includes, so it must come
 * after that.  For 7.2 every definition below expands to exactly what the
 * model used before the header existed.
 *
 * The version each difference appeared in is given for reference; only 7.2
 * and 10.0 are built and tested.
 *
 * Copyright (c) 2026 The qlisp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_SCSI_ISP1040_COMPAT_H
#define HW_SCSI_ISP1040_COMPAT_H

#define ISP_QEMU_VERSION (QEMU_VERSION_MAJOR * 100 + QEMU_VERSION_MINOR)

/* 8.0 moved PCIDevice out of hw/pci/pci.h into its own header. */
#if ISP_QEMU_VERSION >= 800
#include "hw/pci/pci_device.h"
#endif

/* 10.0 renamed include/sysemu/ to include/system/. */
#if ISP_QEMU_VERSION >= 1000
#include "system/dma.h"
#include "system/runstate.h"
#else
#include "sysemu/dma.h"
#include "sysemu/runstate.h"
#endif

/*
 * Properties.  Up to 9.2 a Property array ends with
 * DEFINE_PROP_END_OF_LIST() and device_class_set_props() takes a plain
 * Property pointer.  10.0 removed the terminator: the array is const and
 * device_class_set_props() is a macro that counts it with ARRAY_SIZE (and
 * refuses a terminated array at build time).  Use as
 *
 *     static ISPProperty props[] = { DEFINE_PROP_...(...), ISP_PROPS_END };
 */
#if ISP_QEMU_VERSION >= 1000
typedef const Property ISPProperty;
#define ISP_PROPS_END
#else
typedef Property ISPProperty;
#define ISP_PROPS_END DEFINE_PROP_END_OF_LIST()
#endif

/*
 * Device reset.  9.2 renamed DeviceClass::reset to legacy_reset, to be set
 * with device_class_set_legacy_reset(); before that the field is assigned.
 */
#if ISP_QEMU_VERSION < 902
static inline void device_class_set_legacy_reset(DeviceClass *dc,
                                                 DeviceReset dev_reset)
{
    dc->reset = dev_reset;
}
#endif

/*
 * TypeInfo::class_init takes "const void *data" from 10.1 on; 7.2 and 10.0
 * pass "void *data".
 */
#if ISP_QEMU_VERSION >= 1001
typedef const void ISPClassData;
#else
typedef void ISPClassData;
#endif

#endif
