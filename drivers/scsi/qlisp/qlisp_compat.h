/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qlisp - kernel version differences, all in one place.
 *
 * 6.14: the host template's slave_* methods became sdev_* and
 *       sdev_configure() gained a queue_limits argument.
 * 7.0:  queuecommand() returns enum scsi_qc_status instead of int.
 */
#ifndef _QLISP_COMPAT_H
#define _QLISP_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define QLISP_QC_RET		enum scsi_qc_status
#else
#define QLISP_QC_RET		int
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#define QLISP_HAVE_SDEV_CONFIGURE	1
#define QLISP_SDEV_CONFIGURE_ARGS	struct scsi_device *sdev, \
					struct queue_limits *lim
#else
#define QLISP_SDEV_CONFIGURE_ARGS	struct scsi_device *sdev
#endif

#endif /* _QLISP_COMPAT_H */
