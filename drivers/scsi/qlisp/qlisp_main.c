// SPDX-License-Identifier: GPL-2.0-only
/*
 * qlisp - QLogic ISP1020/1040 PCI SCSI host adapter driver
 *
 * PCI attach, chip bring-up, NVRAM, firmware, mailbox commands, the
 * interrupt handler, the SCSI host template and error handling.
 *
 * The driver is a port of the Solaris SCSA isp driver's design to the Linux
 * SCSI midlayer; Documentation/scsi/qlisp.rst maps one onto the other.
 */

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/firmware.h>
#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_eh.h>
#include <scsi/scsi_host.h>
#include <scsi/scsi_tcq.h>

#include "qlisp.h"
#include "qlisp_compat.h"

#define QLISP_FW_NAME		"qlogic/1040.bin"
#define QLISP_FW_ORG		0x1000
#define QLISP_MBOX_TIMEOUT_MS	5000
#define QLISP_DRAIN_TIMEOUT	(10 * HZ)
/* the ICR soft reset: see qlisp_wait_soft_reset() */
#define QLISP_SOFT_RESET_MS	10000
/* re-initialisation attempts, the first retry after 100 ms, doubling */
#define QLISP_REINIT_TRIES	6
#define QLISP_REINIT_DELAY_MS	100
/* markers sent again after the firmware rejected one, in a row */
#define QLISP_MARKER_RESENDS	3

static char *firmware = "auto";
module_param(firmware, charp, 0444);
MODULE_PARM_DESC(firmware,
		 "RISC firmware: auto (file if usable, else ROM), file, rom");

static bool fast_post;
module_param(fast_post, bool, 0444);
MODULE_PARM_DESC(fast_post,
		 "Report clean completions by fast posting (default: off)");

static bool bus_reset = true;
module_param(bus_reset, bool, 0444);
MODULE_PARM_DESC(bus_reset,
		 "Reset the SCSI bus at attach unless NVRAM says not to (default: on)");

static int settle_delay = -1;
module_param(settle_delay, int, 0444);
MODULE_PARM_DESC(settle_delay,
		 "Seconds to wait after a bus reset, 0-30, -1 = NVRAM (default: -1)");

static int queue_depth = QLISP_DEF_DEPTH;
module_param(queue_depth, int, 0444);
MODULE_PARM_DESC(queue_depth, "Tagged queue depth per device, 1-64 (default: 32)");

/*
 * Passes of the interrupt handler over the chip while the last one found
 * responses and commands are still out: a response that completes while
 * the handler runs costs one register read then, not a new interrupt.
 */
#define QLISP_INTR_PASSES	4

/* ------------------------------------------------------------------ */
/* Mailbox commands                                                    */
/* ------------------------------------------------------------------ */

/*
 * Ask the reset work for a re-initialisation (firmware error, mailbox
 * timeout).  Callable in any context; nothing is scheduled once removal
 * or shutdown has begun, nor during system sleep (resume re-initialises).
 */
static void qlisp_schedule_reset(struct qlisp_host *ha)
{
	unsigned long flags;

	spin_lock_irqsave(ha->lock, flags);
	if (!ha->removing && !ha->suspended) {
		ha->reset_pending = true;
		schedule_work(&ha->reset_work);
	}
	spin_unlock_irqrestore(ha->lock, flags);
}

/*
 * Run one mailbox command.  @mb holds the incoming values on entry and the
 * outgoing ones on return; @in and @out are bit masks of the mailboxes
 * written and read.  Before interrupts are enabled (bring-up and reset,
 * the FLAG_NOINTR case of the Solaris driver) the completion is polled;
 * afterwards the interrupt handler hands it over.  Sleeps.
 *
 * A command that gets no answer in time leaves the chip in an unknown state
 * with its answer possibly still to come.  No further mailbox command is
 * started until the chip has been reset (qlisp_reset_chip() clears
 * @mbox_dead), so that the late answer is never taken for the next
 * command's; if the chip was in service, the reset work re-initialises it.
 *
 * Return: 0 when the firmware answered 0x4000, -EIO with the status in
 * mb[0] for any other answer or when a timed-out command still awaits the
 * chip reset, -ETIMEDOUT if it did not answer in time.
 */
static int qlisp_mbox(struct qlisp_host *ha, u16 *mb, u8 in, u8 out,
		      unsigned int timeout_ms)
{
	unsigned long deadline;
	bool irq_mode, online;
	int i, ret = 0;

	might_sleep();
	mutex_lock(&ha->mbox_mutex);
	spin_lock_irq(ha->lock);
	if (ha->mbox_dead) {
		spin_unlock_irq(ha->lock);
		mutex_unlock(&ha->mbox_mutex);
		dev_warn_ratelimited(&ha->pdev->dev,
				     "mailbox command 0x%02x not sent: the chip awaits its reset\n",
				     mb[0]);
		return -EIO;
	}
	/* one read of the mode, under the lock, for the whole command */
	irq_mode = ha->intr_enabled;
	if (irq_mode) {
		reinit_completion(&ha->mbox_done);
		ha->mbox_busy = true;
	}
	spin_unlock_irq(ha->lock);
	for (i = 0; i < ISP_NMBOX; i++)
		if (in & BIT(i))
			qlisp_wr(ha, ISP_MBOX(i), mb[i]);
	qlisp_wr(ha, ISP_HCCR, HCCR_SET_HOST_INT);

	if (irq_mode) {
		if (!wait_for_completion_timeout(&ha->mbox_done,
						 msecs_to_jiffies(timeout_ms)))
			ret = -ETIMEDOUT;
		spin_lock_irq(ha->lock);
		ha->mbox_busy = false;
		if (!ret)
			for (i = 0; i < ISP_NMBOX; i++)
				if ((out | 1) & BIT(i))
					mb[i] = ha->mbox_out[i];
		spin_unlock_irq(ha->lock);
		goto done;
	}

	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	for (;;) {
		if ((qlisp_rd(ha, ISP_ISR) & ISR_RISC_INT) &&
		    (qlisp_rd(ha, ISP_SEMA) & SEMA_LOCK)) {
			u16 mb0 = qlisp_rd(ha, ISP_MBOX(0));

			if (mb0 < MBA_ASYNC) {
				mb[0] = mb0;
				for (i = 1; i < ISP_NMBOX; i++)
					if (out & BIT(i))
						mb[i] = qlisp_rd(ha, ISP_MBOX(i));
				qlisp_wr(ha, ISP_SEMA, 0);
				qlisp_wr(ha, ISP_HCCR, HCCR_CLR_RISC_INT);
				break;
			}
			dev_info(&ha->pdev->dev,
				 "async event 0x%04x during polled mailbox\n",
				 mb0);
			qlisp_wr(ha, ISP_SEMA, 0);
			qlisp_wr(ha, ISP_HCCR, HCCR_CLR_RISC_INT);
		}
		if (time_after(jiffies, deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		usleep_range(10, 50);
	}
done:
	if (ret == -ETIMEDOUT) {
		qlisp_wr(ha, ISP_HCCR, HCCR_CLR_HOST_INT);
		spin_lock_irq(ha->lock);
		ha->mbox_dead = true;
		online = ha->online;
		spin_unlock_irq(ha->lock);
		ha->stat_mbox_timeouts++;
		dev_err(&ha->pdev->dev, "mailbox command 0x%02x timed out%s\n",
			mb[0], online ? ", resetting the chip" : "");
		/* offline, the bring-up that owns the chip fails and resets */
		if (online)
			qlisp_schedule_reset(ha);
	} else if (mb[0] != MBS_COMPLETE) {
		ret = -EIO;
	}
	mutex_unlock(&ha->mbox_mutex);
	return ret;
}

/* Short form for commands whose answer only matters as success/failure. */
static int qlisp_mbox_simple(struct qlisp_host *ha, u16 op, u16 mb1, u16 mb2,
			     u16 mb3)
{
	u16 mb[ISP_NMBOX] = { op, mb1, mb2, mb3 };
	int ret;

	ret = qlisp_mbox(ha, mb, 0x0f, 0x01, QLISP_MBOX_TIMEOUT_MS);
	if (ret)
		dev_warn(&ha->pdev->dev,
			 "mailbox command 0x%02x failed: %d (status 0x%04x)\n",
			 op, ret, mb[0]);
	return ret;
}

/* ------------------------------------------------------------------ */
/* NVRAM (93C46 serial EEPROM behind BIU register 0x0e)                */
/* ------------------------------------------------------------------ */

static void qlisp_nv_bit(struct qlisp_host *ha, u16 bits)
{
	qlisp_wr(ha, ISP_NVRAM, bits);
	qlisp_rd(ha, ISP_NVRAM);	/* flush the posted write */
	udelay(2);
}

static u16 qlisp_nvram_word(struct qlisp_host *ha, unsigned int addr)
{
	u32 cmd = (0x6 << 6) | (addr & 0x3f);	/* start, READ, address */
	u16 val = 0;
	int i;

	qlisp_nv_bit(ha, NV_SELECT);
	for (i = 8; i >= 0; i--) {
		u16 d = (cmd & BIT(i)) ? NV_DATA_OUT : 0;

		qlisp_nv_bit(ha, NV_SELECT | d);
		qlisp_nv_bit(ha, NV_SELECT | d | NV_CLOCK);
		qlisp_nv_bit(ha, NV_SELECT | d);
	}
	for (i = 0; i < 16; i++) {
		qlisp_nv_bit(ha, NV_SELECT | NV_CLOCK);
		val <<= 1;
		if (qlisp_rd(ha, ISP_NVRAM) & NV_DATA_IN)
			val |= 1;
		qlisp_nv_bit(ha, NV_SELECT);
	}
	qlisp_nv_bit(ha, 0);
	return val;
}

/*
 * Defaults when the NVRAM is blank or fails its checksum: those of the
 * adapter BIOS for an ISP1040 (reference §6.4), with FreeBSD's async setup
 * time for the 1040 family.
 */
static void qlisp_default_settings(struct qlisp_settings *s)
{
	int t;

	memset(s, 0, sizeof(*s));
	s->initiator_id = 7;
	s->fifo_threshold = 2;		/* 64 bytes */
	s->bus_reset_delay = 3;
	s->retry_count = 0;
	s->retry_delay = 1;
	s->async_setup = 9;
	s->req_ack_negation = true;
	s->data_negation = true;
	s->data_dma_burst = true;
	s->cmd_dma_burst = true;
	s->tag_age = 8;
	s->selection_timeout = 250;
	s->max_queue_depth = 256;
	for (t = 0; t < QLISP_MAX_TARGETS; t++) {
		s->tgt[t].flags = (TP_DISCONNECT | TP_PARITY | TP_WIDE |
				   TP_SYNC | TP_TAGGED | TP_AUTO_SENSE |
				   TP_RENEGOTIATE) >> 8;
		s->tgt[t].throttle = 16;
		s->tgt[t].sync_period = 12;	/* Fast-20 */
		s->tgt[t].sync_offset = 8;
		s->tgt[t].enabled = true;
	}
}

static void qlisp_read_nvram(struct qlisp_host *ha)
{
	struct qlisp_settings *s = &ha->set;
	u8 b[QLISP_NVRAM_WORDS * 2];
	u8 sum = 0;
	int i, t;

	for (i = 0; i < QLISP_NVRAM_WORDS; i++) {
		u16 w = qlisp_nvram_word(ha, i);

		b[2 * i] = w & 0xff;
		b[2 * i + 1] = w >> 8;
		sum += b[2 * i] + b[2 * i + 1];
	}
	qlisp_default_settings(s);
	if (memcmp(b, "ISP ", 4) || b[4] < 2 || sum) {
		dev_info(&ha->pdev->dev,
			 "NVRAM %s, using defaults\n",
			 memcmp(b, "ISP ", 4) ? "not present" :
			 b[4] < 2 ? "version too old" : "checksum bad");
		return;
	}
	s->nvram_valid = true;
	s->fifo_threshold = b[5] & 0x3;
	s->initiator_id = b[5] >> 4;
	s->bus_reset_delay = b[6];
	s->retry_count = b[7];
	s->retry_delay = b[8];
	s->async_setup = b[9] & 0xf;
	s->req_ack_negation = b[9] & 0x10;
	s->data_negation = b[9] & 0x20;
	s->data_dma_burst = b[9] & 0x40;
	s->cmd_dma_burst = b[9] & 0x80;
	s->tag_age = b[10];
	s->reset_disable = b[11] & 0x10;
	s->selection_timeout = b[12] | b[13] << 8;
	s->max_queue_depth = b[14] | b[15] << 8;
	for (t = 0; t < QLISP_MAX_TARGETS; t++) {
		const u8 *p = &b[28 + 6 * t];

		s->tgt[t].flags = p[0];
		s->tgt[t].throttle = p[1];
		s->tgt[t].sync_period = p[2];
		s->tgt[t].sync_offset = p[3] & 0xf;
		s->tgt[t].enabled = p[3] & 0x10;
	}
	/* values a corrupt-but-summing NVRAM could carry, made sane */
	if (!s->selection_timeout)
		s->selection_timeout = 250;
	if (!s->max_queue_depth)
		s->max_queue_depth = 256;
	if (s->bus_reset_delay > 30)
		s->bus_reset_delay = 30;
}

/* The 1020 class: 1020, 1020A, and what FreeBSD takes for one (unknown). */
static bool qlisp_is_1020(struct qlisp_host *ha)
{
	return ha->chip_rev < ISP_REV_1040 || ha->chip_rev > ISP_REV_1040C;
}

/* Pre-A 1020 and 1040 silicon has mailboxes 0-5 only. */
static bool qlisp_six_mailboxes(struct qlisp_host *ha)
{
	return ha->chip_rev == ISP_REV_1020 || ha->chip_rev == ISP_REV_1040;
}

/*
 * Tell the chip revisions apart as FreeBSD's isp does: the revision from
 * BIU CONF0, Ultra (Fast-20) capability from the RISC processor status
 * read while the RISC is paused (1040B and 1040C; some 1020A), the RISC
 * clock from both (40 MHz on the 1020 class unless it is Ultra capable,
 * else 60 MHz).  Probe time, before the chip is reset and brought up.
 */
static void qlisp_identify_chip(struct qlisp_host *ha)
{
	ha->chip_rev = qlisp_rd(ha, ISP_CONF0) & CONF0_REV_MASK;
	qlisp_wr(ha, ISP_HCCR, HCCR_PAUSE_RISC);
	ha->ultra = qlisp_rd(ha, ISP_RISC_PSR) & RISC_PSR_PCI_ULTRA;
	ha->clock_mhz = qlisp_is_1020(ha) && !ha->ultra ? 40 : 60;
}

/*
 * Fit the settings to the chip revision: async data setup 6 clocks on the
 * 1020 class and at least 9 on the 1040 family (FreeBSD); on a chip that
 * cannot run Fast-20, Fast-10 (period factor 25, offset 12) by default
 * and never a shorter period than Fast-10 from the NVRAM.
 */
static void qlisp_fit_settings(struct qlisp_host *ha)
{
	struct qlisp_settings *s = &ha->set;
	int t;

	if (qlisp_is_1020(ha))
		s->async_setup = 6;
	else if (s->async_setup < 9)
		s->async_setup = 9;
	if (ha->ultra)
		return;
	for (t = 0; t < QLISP_MAX_TARGETS; t++) {
		struct qlisp_target_settings *ts = &s->tgt[t];

		if (!s->nvram_valid) {
			ts->sync_period = 25;
			ts->sync_offset = 12;
		} else if (ts->sync_period && ts->sync_period < 25) {
			ts->sync_period = 25;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Firmware                                                            */
/* ------------------------------------------------------------------ */

/*
 * The image format of Linux's qla1280 (so that distribution firmware serves
 * both drivers): bytes 0-2 version, bytes 4-5 load address, then 16-bit
 * little-endian RISC words.  Word 3 of the code is its length in words and
 * all those words sum to zero.
 */
static int qlisp_check_fw(struct qlisp_host *ha, const struct firmware *fw)
{
	const u8 *d = fw->data;
	unsigned int nwords, len, i;
	u16 start, sum = 0;

	if (fw->size < 6 + 8 || fw->size % 2) {
		dev_err(&ha->pdev->dev, "firmware image has a bad size %zu\n",
			fw->size);
		return -EINVAL;
	}
	start = d[4] | d[5] << 8;
	nwords = (fw->size - 6) / 2;
	len = d[6 + 6] | d[6 + 7] << 8;
	if (start + nwords > 0x10000 || len < 4 || len > nwords) {
		dev_err(&ha->pdev->dev,
			"firmware image does not fit RISC RAM (start 0x%x, %u words, length %u)\n",
			start, nwords, len);
		return -EINVAL;
	}
	for (i = 0; i < len; i++)
		sum += d[6 + 2 * i] | d[6 + 2 * i + 1] << 8;
	if (sum) {
		dev_err(&ha->pdev->dev, "firmware image checksum bad\n");
		return -EINVAL;
	}
	return 0;
}

static void qlisp_get_fw(struct qlisp_host *ha)
{
	const struct firmware *fw;
	int ret;

	if (!strcmp(firmware, "rom"))
		return;
	ret = request_firmware(&fw, QLISP_FW_NAME, &ha->pdev->dev);
	if (ret) {
		dev_warn(&ha->pdev->dev, "cannot load %s (%d)\n",
			 QLISP_FW_NAME, ret);
		return;
	}
	if (qlisp_check_fw(ha, fw)) {
		release_firmware(fw);
		return;
	}
	ha->fw = fw;
}

/* Copy the image into RISC RAM through the (still idle) request ring. */
static int qlisp_load_fw(struct qlisp_host *ha)
{
	const u8 *d = ha->fw->data;
	u16 start = d[4] | d[5] << 8;
	unsigned int nwords = (ha->fw->size - 6) / 2;
	unsigned int chunk = QLISP_REQ_LEN * QLISP_ENTRY_SIZE / 2;
	unsigned int done = 0;
	int ret;

	while (done < nwords) {
		unsigned int n = min(chunk, nwords - done);
		u16 mb[ISP_NMBOX] = { MBC_LOAD_RAM, start + done,
				      upper_16_bits(ha->req_dma),
				      lower_16_bits(ha->req_dma), n };

		memcpy(ha->req_ring, d + 6 + 2 * done, 2 * n);
		ret = qlisp_mbox(ha, mb, 0x1f, 0x01, QLISP_MBOX_TIMEOUT_MS);
		if (ret) {
			dev_err(&ha->pdev->dev,
				"firmware load failed at 0x%x (0x%04x)\n",
				start + done, mb[0]);
			return ret;
		}
		done += n;
	}
	ret = qlisp_mbox_simple(ha, MBC_VERIFY_CHECKSUM, start, 0, 0);
	if (ret)
		return ret;
	return start;
}

/* ------------------------------------------------------------------ */
/* Chip bring-up                                                       */
/* ------------------------------------------------------------------ */

/*
 * Wait for the ICR soft reset to finish.  The chip itself needs
 * microseconds (FreeBSD's isp allows 1 s, qla1280 about 5 s), but the bit
 * stays set until its DMA engines have stopped, and an emulated chip holds
 * it until the host I/O it cancels has landed, which takes as long as the
 * slowest request of the backing store.  Polled every 100-200 us for the
 * first 10 ms, then every 20 ms, up to QLISP_SOFT_RESET_MS.  Sleeps.
 *
 * Return: true when the reset finished.
 */
static bool qlisp_wait_soft_reset(struct qlisp_host *ha)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(QLISP_SOFT_RESET_MS);
	unsigned int polls = 0;

	while (qlisp_rd(ha, ISP_ICR) & ICR_SOFT_RESET) {
		if (time_after(jiffies, deadline))
			return false;
		if (++polls < 64)
			usleep_range(100, 200);
		else
			msleep(20);
	}
	return true;
}

static int qlisp_reset_chip(struct qlisp_host *ha)
{
	unsigned long deadline;
	u16 conf1;

	qlisp_wr(ha, ISP_ICR, ICR_SOFT_RESET);
	usleep_range(100, 200);
	qlisp_wr(ha, ISP_CDMA_CONTROL, DMA_CONTROL_RESET);
	qlisp_wr(ha, ISP_DDMA_CONTROL, DMA_CONTROL_RESET);
	if (!qlisp_wait_soft_reset(ha)) {
		dev_err(&ha->pdev->dev, "chip reset did not finish in %u ms\n",
			QLISP_SOFT_RESET_MS);
		return -ETIMEDOUT;
	}
	/* the chip is quiet: it may master the bus again */
	if (ha->master_off) {
		pci_set_master(ha->pdev);
		ha->master_off = false;
	}
	qlisp_wr(ha, ISP_CONF1, 0);
	qlisp_wr(ha, ISP_HCCR, HCCR_RESET_RISC);
	usleep_range(100, 200);
	qlisp_wr(ha, ISP_SEMA, 0);
	/* whatever a timed-out mailbox command left behind is gone now */
	spin_lock_irq(ha->lock);
	ha->mbox_dead = false;
	spin_unlock_irq(ha->lock);

	/* the 1040A's FIFO threshold is broken: burst enable only */
	conf1 = CONF1_BURST;
	if (ha->chip_rev != ISP_REV_1040A)
		conf1 |= ha->set.fifo_threshold << CONF1_FIFO_SHIFT;
	qlisp_wr(ha, ISP_CONF1, conf1);
	qlisp_wr(ha, ISP_CDMA_CONF,
		 qlisp_rd(ha, ISP_CDMA_CONF) | DMA_CONF_BURST);
	qlisp_wr(ha, ISP_DDMA_CONF,
		 qlisp_rd(ha, ISP_DDMA_CONF) | DMA_CONF_BURST);
	qlisp_wr(ha, ISP_HCCR, HCCR_RELEASE_RISC);
	qlisp_wr(ha, ISP_HCCR, HCCR_BIOS_DISABLE);

	/* the boot ROM shows "ISP   " once its self-test is done */
	deadline = jiffies + msecs_to_jiffies(2000);
	while (qlisp_rd(ha, ISP_MBOX(0)) == MBS_BUSY) {
		if (time_after(jiffies, deadline)) {
			dev_err(&ha->pdev->dev, "RISC stays busy after reset\n");
			return -ETIMEDOUT;
		}
		usleep_range(100, 200);
	}
	if (qlisp_rd(ha, ISP_MBOX(1)) != 0x4953 ||
	    qlisp_rd(ha, ISP_MBOX(2)) != 0x5020 ||
	    qlisp_rd(ha, ISP_MBOX(3)) != 0x2020) {
		dev_err(&ha->pdev->dev,
			"no boot ROM signature (0x%04x 0x%04x 0x%04x)\n",
			qlisp_rd(ha, ISP_MBOX(1)), qlisp_rd(ha, ISP_MBOX(2)),
			qlisp_rd(ha, ISP_MBOX(3)));
		return -ENODEV;
	}
	return 0;
}

/*
 * Stop the chip: soft reset of the whole chip (the DMA channels and the
 * RISC), waited for, then the RISC held in reset.  When this returns the
 * chip no longer reads or writes host memory, so the rings and the
 * commands' buffers may be given back.  A chip whose reset does not finish
 * in time gets its bus mastering switched off instead (qlisp_reset_chip()
 * switches it on again once a reset has finished).  Sleeps; bounded.
 */
static void qlisp_halt_chip(struct qlisp_host *ha)
{
	qlisp_wr(ha, ISP_HCCR, HCCR_PAUSE_RISC);
	qlisp_wr(ha, ISP_ICR, ICR_SOFT_RESET);
	usleep_range(100, 200);
	if (!qlisp_wait_soft_reset(ha)) {
		dev_err(&ha->pdev->dev,
			"chip reset did not finish in %u ms: bus mastering off\n",
			QLISP_SOFT_RESET_MS);
		pci_clear_master(ha->pdev);
		ha->master_off = true;
	}
	qlisp_wr(ha, ISP_HCCR, HCCR_RESET_RISC);
	qlisp_wr(ha, ISP_ICR, 0);
}

static int qlisp_mailbox_test(struct qlisp_host *ha)
{
	static const u16 pat[ISP_NMBOX] = {
		MBC_MAILBOX_REG_TEST, 0xaaaa, 0x5555, 0xaa55, 0x55aa,
		0xa5a5, 0x5a5a, 0x2525
	};
	int n = qlisp_six_mailboxes(ha) ? 6 : ISP_NMBOX;
	u16 mb[ISP_NMBOX];
	int ret, i;

	memcpy(mb, pat, sizeof(mb));
	ret = qlisp_mbox(ha, mb, GENMASK(n - 1, 0), GENMASK(n - 1, 0),
			 QLISP_MBOX_TIMEOUT_MS);
	if (ret)
		return ret;
	for (i = 1; i < n; i++) {
		if (mb[i] != pat[i]) {
			dev_err(&ha->pdev->dev,
				"mailbox %d test: wrote 0x%04x, read 0x%04x\n",
				i, pat[i], mb[i]);
			return -EIO;
		}
	}
	return 0;
}

static int qlisp_start_fw(struct qlisp_host *ha)
{
	u16 mb[ISP_NMBOX] = { MBC_ABOUT_FIRMWARE };
	int start = QLISP_FW_ORG;
	bool need_file = ha->fw_from_file || !strcmp(firmware, "file");
	int ret;

	ha->fw_from_file = false;
	if (ha->fw) {
		start = qlisp_load_fw(ha);
		/*
		 * A re-initialisation keeps the firmware the adapter ran: a
		 * load that failed (a transient DMA fault) fails the attempt
		 * instead of falling back to the ROM's older firmware.
		 */
		if (start < 0 && need_file) {
			ha->fw_from_file = need_file && ha->fw;
			return start;
		}
		ha->fw_from_file = start >= 0;
		if (start < 0) {
			dev_warn(&ha->pdev->dev,
				 "using the chip's ROM firmware\n");
			start = QLISP_FW_ORG;
		}
	}
	ret = qlisp_mbox_simple(ha, MBC_EXECUTE_FIRMWARE, start, 0, 0);
	if (ret)
		return ret;
	ret = qlisp_mbox(ha, mb, 0x01, 0x0f, QLISP_MBOX_TIMEOUT_MS);
	if (ret)
		return ret;
	ha->fw_major = mb[1];
	ha->fw_minor = mb[2];
	ha->fw_micro = mb[3];

	mb[0] = MBC_GET_FIRMWARE_STATUS;
	ret = qlisp_mbox(ha, mb, 0x01, 0x07, QLISP_MBOX_TIMEOUT_MS);
	ha->fw_max_cmds = ret ? QLISP_CAN_QUEUE : mb[2];
	return 0;
}

/*
 * The transfer parameters of target @t: its settings, less what it refused
 * to negotiate (@neg_off).  Caller holds @chip_mutex.
 */
static int qlisp_set_target_params(struct qlisp_host *ha, unsigned int t)
{
	struct qlisp_target_settings *ts = &ha->set.tgt[t];
	u16 flags = ts->flags << 8;

	if (!ts->sync_period || !ts->sync_offset)
		flags &= ~TP_SYNC;
	spin_lock_irq(ha->lock);
	flags &= ~ha->neg_off[t];
	spin_unlock_irq(ha->lock);
	return qlisp_mbox_simple(ha, MBC_SET_TARGET_PARAMETERS, t << 8, flags,
				 ts->sync_offset << 8 | ts->sync_period);
}

/* Program the firmware's adapter, bus and device parameters. */
static int qlisp_configure_fw(struct qlisp_host *ha)
{
	struct qlisp_settings *s = &ha->set;
	u16 neg = (s->req_ack_negation ? 0x10 : 0) |
		  (s->data_negation ? 0x20 : 0);
	u16 mb[ISP_NMBOX] = { MBC_SET_RETRY_COUNT, s->retry_count,
			      s->retry_delay };
	int t, l, ret = 0;

	ret |= qlisp_mbox_simple(ha, MBC_SET_CLOCK_RATE, ha->clock_mhz, 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_INITIATOR_ID, s->initiator_id,
				 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_SELECTION_TIMEOUT,
				 s->selection_timeout, 0, 0);
	ret |= qlisp_mbox(ha, mb, 0xc7, 0x01, QLISP_MBOX_TIMEOUT_MS);
	ret |= qlisp_mbox_simple(ha, MBC_SET_TAG_AGE_LIMIT, s->tag_age, 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_ACTIVE_NEGATION, neg, 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_ASYNC_DATA_SETUP, s->async_setup,
				 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_PCI_CONTROL,
				 s->data_dma_burst ? 2 : 0,
				 s->cmd_dma_burst ? 2 : 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_DATA_OVERRUN_RECOVERY, 2, 0, 0);
	ret |= qlisp_mbox_simple(ha, MBC_SET_FIRMWARE_FEATURES,
				 fast_post ? FW_FEATURE_FAST_POST : 0, 0, 0);
	for (t = 0; t < QLISP_MAX_TARGETS; t++) {
		struct qlisp_target_settings *ts = &s->tgt[t];

		if (t == s->initiator_id || !ts->enabled)
			continue;
		ret |= qlisp_set_target_params(ha, t);
		for (l = 0; l < QLISP_MAX_LUNS; l++)
			ret |= qlisp_mbox_simple(ha, MBC_SET_DEVICE_QUEUE,
						 t << 8 | l,
						 s->max_queue_depth,
						 ts->throttle ? : 16);
	}
	return ret ? -EIO : 0;
}

static __le32 *qlisp_rsp_stamp(struct qlisp_host *ha, unsigned int idx)
{
	return ha->rsp_ring + (idx + 1) * QLISP_ENTRY_SIZE - sizeof(__le32);
}

/* Mark every entry consumed, before the ring is handed to the firmware. */
static void qlisp_rsp_stamp_all(struct qlisp_host *ha)
{
	unsigned int i;

	for (i = 0; i < QLISP_RSP_LEN; i++)
		*qlisp_rsp_stamp(ha, i) = cpu_to_le32(QLISP_RSP_CONSUMED);
}

static int qlisp_init_rings(struct qlisp_host *ha)
{
	u16 mb[ISP_NMBOX] = { MBC_INIT_REQUEST_QUEUE, 0,
			      upper_16_bits(ha->req_dma),
			      lower_16_bits(ha->req_dma), 0 };
	int ret;

	/*
	 * The chip's ROM firmware may be old: give it the 256 entries
	 * FreeBSD's isp and qla1280 use on this family; the loaded firmware
	 * gets the whole ring.  Offline: no command is in the ring.
	 */
	ha->req_len = ha->fw_from_file ? QLISP_REQ_LEN : QLISP_ROM_REQ_LEN;
	mb[1] = ha->req_len;
	memset(ha->req_ring, 0, QLISP_REQ_LEN * QLISP_ENTRY_SIZE);
	memset(ha->rsp_ring, 0, QLISP_RSP_LEN * QLISP_ENTRY_SIZE);
	qlisp_rsp_stamp_all(ha);
	ha->req_in = 0;
	ha->req_out = 0;
	ha->req_posted = 0;
	ha->rsp_out = 0;
	ha->rsp_in = 0;
	ret = qlisp_mbox(ha, mb, 0x1f, 0x01, QLISP_MBOX_TIMEOUT_MS);
	if (ret) {
		dev_err(&ha->pdev->dev, "request queue init failed (0x%04x)\n",
			mb[0]);
		return ret;
	}
	mb[0] = MBC_INIT_RESPONSE_QUEUE;
	mb[1] = QLISP_RSP_LEN;
	mb[2] = upper_16_bits(ha->rsp_dma);
	mb[3] = lower_16_bits(ha->rsp_dma);
	mb[4] = 0;
	mb[5] = 0;
	ret = qlisp_mbox(ha, mb, 0x3f, 0x01, QLISP_MBOX_TIMEOUT_MS);
	if (ret)
		dev_err(&ha->pdev->dev, "response queue init failed (0x%04x)\n",
			mb[0]);
	return ret;
}

static void qlisp_enable_intr(struct qlisp_host *ha)
{
	spin_lock_irq(ha->lock);
	ha->intr_enabled = true;
	qlisp_wr(ha, ISP_ICR, ICR_ENABLE);
	spin_unlock_irq(ha->lock);
}

static void qlisp_disable_intr(struct qlisp_host *ha)
{
	spin_lock_irq(ha->lock);
	ha->intr_enabled = false;
	qlisp_wr(ha, ISP_ICR, 0);
	spin_unlock_irq(ha->lock);
	synchronize_irq(ha->pdev->irq);
}

static unsigned int qlisp_settle_secs(struct qlisp_host *ha)
{
	if (settle_delay >= 0)
		return min(settle_delay, 30);
	return ha->set.bus_reset_delay;
}

/* Queue a sync-all marker; the interrupt path or the next command posts. */
static void qlisp_want_marker(struct qlisp_host *ha)
{
	unsigned long flags;

	spin_lock_irqsave(ha->lock, flags);
	ha->marker_pending = true;
	if (ha->online && qlisp_req_reserve(ha, 1)) {
		qlisp_put_marker(ha, 0, 0, MK_SYNC_ALL);
		qlisp_req_post(ha);
		ha->marker_pending = false;
	}
	spin_unlock_irqrestore(ha->lock, flags);
}

static int qlisp_bus_reset(struct qlisp_host *ha)
{
	int ret;

	ret = qlisp_mbox_simple(ha, MBC_BUS_RESET,
				max_t(unsigned int, qlisp_settle_secs(ha), 1),
				0, 0);
	if (ret)
		return ret;
	ha->stat_resets++;
	ssleep(qlisp_settle_secs(ha));
	qlisp_want_marker(ha);
	return 0;
}

/*
 * The first mailbox command with interrupts on proves that they arrive.  A
 * NOP the chip answers without its interrupt reaching us means the IRQ is
 * routed nowhere (a broken ACPI _PRT, a wrong INTx line); going on would
 * turn every command into a timeout and an endless escalation of resets.
 */
static int qlisp_check_irq(struct qlisp_host *ha)
{
	u16 mb[ISP_NMBOX] = { MBC_NOP };
	int ret;

	ret = qlisp_mbox(ha, mb, 0x01, 0x01, QLISP_MBOX_TIMEOUT_MS);
	if (ret == -ETIMEDOUT && (qlisp_rd(ha, ISP_ISR) & ISR_RISC_INT)) {
		dev_err(&ha->pdev->dev,
			"no interrupt on IRQ %d: the chip answered, the interrupt never came\n",
			ha->pdev->irq);
		return -EIO;
	}
	return ret;
}

/*
 * Bring the chip from reset to accepting commands: used at attach and by
 * the host reset.  Runs with the adapter offline and interrupts off.
 */
static int qlisp_chip_init(struct qlisp_host *ha)
{
	int ret;

	ret = qlisp_reset_chip(ha);
	if (ret)
		return ret;
	ret = qlisp_mailbox_test(ha);
	if (ret) {
		dev_err(&ha->pdev->dev, "mailbox register test failed\n");
		return ret;
	}
	ret = qlisp_start_fw(ha);
	if (ret) {
		dev_err(&ha->pdev->dev, "firmware did not start\n");
		return ret;
	}
	ret = qlisp_configure_fw(ha);
	if (ret)
		dev_warn(&ha->pdev->dev,
			 "some firmware parameters were refused\n");
	ret = qlisp_init_rings(ha);
	if (ret)
		return ret;
	qlisp_enable_intr(ha);
	ret = qlisp_check_irq(ha);
	if (ret) {
		qlisp_disable_intr(ha);
		return ret;
	}
	spin_lock_irq(ha->lock);
	ha->online = true;
	spin_unlock_irq(ha->lock);
	if (bus_reset && !ha->set.reset_disable)
		qlisp_bus_reset(ha);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Completion                                                          */
/* ------------------------------------------------------------------ */

/* A list of finished commands, linked through their private data. */
struct qlisp_done {
	struct scsi_cmnd *head;
	struct scsi_cmnd **tail;
};

static void qlisp_done_init(struct qlisp_done *d)
{
	d->head = NULL;
	d->tail = &d->head;
}

static struct qlisp_cmd_priv *qlisp_priv(struct scsi_cmnd *cmd)
{
	return scsi_cmd_priv(cmd);
}

/*
 * Handles are the blk-mq tag plus one: 0 is never a command's handle, so
 * that the zero handle field of a marker or continuation entry the
 * firmware hands back with error flags can never name a live command.
 */
static u32 qlisp_tag_to_handle(u32 tag)
{
	return tag + 1;
}

/* Take @handle back from the firmware; NULL if it is not outstanding. */
static struct scsi_cmnd *qlisp_take_handle(struct qlisp_host *ha, u32 handle)
{
	struct scsi_cmnd *cmd;
	u32 tag = handle - 1;

	lockdep_assert_held(ha->lock);
	if (!handle || tag >= QLISP_CAN_QUEUE || !ha->cmds[tag]) {
		ha->stat_bad_handles++;
		dev_warn_ratelimited(&ha->pdev->dev,
				     "completion for unknown handle 0x%x\n",
				     handle);
		return NULL;
	}
	cmd = ha->cmds[tag];
	ha->cmds[tag] = NULL;
	qlisp_priv(cmd)->active = false;
	ha->nr_active--;
	qlisp_req_retired(ha, qlisp_priv(cmd)->req_end);
	return cmd;
}

static void qlisp_finish(struct qlisp_done *d, struct scsi_cmnd *cmd)
{
	scsi_dma_unmap(cmd);
	*d->tail = cmd;
	d->tail = &qlisp_priv(cmd)->next;
	qlisp_priv(cmd)->next = NULL;
}

static void qlisp_done_all(struct qlisp_host *ha, struct qlisp_done *d)
{
	struct scsi_cmnd *cmd = d->head;

	if (!cmd)
		return;
	while (cmd) {
		struct scsi_cmnd *next = qlisp_priv(cmd)->next;

		scsi_done(cmd);
		cmd = next;
	}
	if (wq_has_sleeper(&ha->drain_wq))
		wake_up(&ha->drain_wq);
}

static int qlisp_host_byte(struct qlisp_host *ha,
			   const struct qlisp_status_entry *st,
			   struct scsi_cmnd *cmd)
{
	u16 comp = le16_to_cpu(st->comp_status);
	u16 state = le16_to_cpu(st->state_flags);
	u32 resid;

	if (st->hdr.flags & (EF_BAD_HEADER | EF_BAD_PAYLOAD)) {
		dev_warn_ratelimited(&ha->pdev->dev,
				     "firmware rejected a request (flags 0x%x)\n",
				     st->hdr.flags);
		return DID_ERROR;
	}
	if (st->hdr.flags & EF_FULL)
		return DID_BUS_BUSY;

	switch (comp) {
	case CS_COMPLETE:
		scsi_set_resid(cmd, 0);
		return DID_OK;
	case CS_DATA_UNDERRUN:
		resid = le32_to_cpu(st->residual);
		if (resid > scsi_bufflen(cmd)) {
			dev_warn_ratelimited(&ha->pdev->dev,
					     "residual %u beyond length %u\n",
					     resid, scsi_bufflen(cmd));
			return DID_ERROR;
		}
		scsi_set_resid(cmd, resid);
		/*
		 * A short transfer with GOOD status is an error below the
		 * command's underflow; with any other status the target has
		 * said what went wrong, and its sense must reach the midlayer.
		 */
		if ((le16_to_cpu(st->scsi_status) & 0xff) == SAM_STAT_GOOD &&
		    scsi_bufflen(cmd) - resid < cmd->underflow)
			return DID_ERROR;
		return DID_OK;
	case CS_INCOMPLETE:
		/* selection timeout: nobody at that target */
		if (!(state & SS_GOT_TARGET))
			return DID_NO_CONNECT;
		return DID_ERROR;
	case CS_RESET:
		return DID_RESET;
	case CS_ABORTED:
		return DID_ABORT;
	case CS_TIMEOUT:
		return DID_TIME_OUT;
	case CS_QUEUE_FULL:
		return DID_OK;
	default:
		return DID_ERROR;
	}
}

/*
 * The command negotiated wide (status 0x1f) or sync (0x20) transfers and
 * the target answered with MESSAGE REJECT: it runs narrow / async now.
 * As FreeBSD's isp and sym53c8xx do, stop asking for what it refused:
 * drop the bit from the target's parameters (the reset and the
 * re-initialisation paths program it the same way from then on) and have
 * the work program it.  Once per target and kind; a later refusal is only
 * counted.  The command that negotiated completed in full, and the caller
 * completes it.  Caller holds @ha->lock.
 */
static void qlisp_neg_refused(struct qlisp_host *ha, struct scsi_cmnd *cmd,
			      u16 comp)
{
	unsigned int t = cmd->device->id;
	u16 bit = comp == CS_WIDE_FAILED ? TP_WIDE : TP_SYNC;

	lockdep_assert_held(ha->lock);
	ha->stat_neg_rejects++;
	if (t >= QLISP_MAX_TARGETS || (ha->neg_off[t] & bit))
		return;
	ha->neg_off[t] |= bit;
	ha->neg_update |= BIT(t);
	ha->stat_neg_fallbacks++;
	dev_info(&ha->pdev->dev,
		 "target %u refused %s negotiation: now %s\n",
		 t, bit == TP_WIDE ? "wide" : "sync",
		 bit == TP_WIDE ? "narrow" : "async");
	if (!ha->removing)
		schedule_work(&ha->neg_work);
}

/*
 * A rejected entry without a handle may have been a marker, which the
 * firmware did not act on: it may hold commands until one comes.  Send a
 * sync-all marker again (harmless after a rejected continuation), a
 * bounded number of times until a command completes.  Caller holds
 * @ha->lock.
 */
static void qlisp_marker_rejected(struct qlisp_host *ha)
{
	lockdep_assert_held(ha->lock);
	if (ha->marker_rejects < QLISP_MARKER_RESENDS) {
		ha->marker_rejects++;
		ha->marker_pending = true;
	}
}

static void qlisp_status_entry(struct qlisp_host *ha,
			       const struct qlisp_status_entry *st,
			       struct qlisp_done *d)
{
	struct scsi_cmnd *cmd;
	u16 comp, sstat, state, sense_len;
	u32 resid;
	int host;

	/*
	 * A status entry completes its handle.  So does a command entry the
	 * firmware rejected and handed back with error flags: it carries the
	 * handle we gave it.  A rejected marker or continuation carries no
	 * handle (the field is reserved, 0) and completes nothing.
	 */
	if (st->hdr.type != ET_STATUS &&
	    !(st->hdr.type == ET_COMMAND && st->hdr.flags)) {
		dev_warn_ratelimited(&ha->pdev->dev,
				     "%s response entry type 0x%x (flags 0x%x)\n",
				     st->hdr.flags ? "rejected" : "unexpected",
				     st->hdr.type, st->hdr.flags);
		if (st->hdr.flags)
			qlisp_marker_rejected(ha);
		return;
	}
	/*
	 * The firmware may hand a rejected entry back as a status entry with
	 * the entry's own bytes 4-7: zero for a marker or continuation.
	 */
	if (st->hdr.flags && !st->handle) {
		dev_warn_ratelimited(&ha->pdev->dev,
				     "rejected response entry without a handle (flags 0x%x)\n",
				     st->hdr.flags);
		qlisp_marker_rejected(ha);
		return;
	}
	cmd = qlisp_take_handle(ha, le32_to_cpu(st->handle));
	if (!cmd)
		return;
	ha->marker_rejects = 0;
	comp = le16_to_cpu(st->comp_status);
	sstat = le16_to_cpu(st->scsi_status) & 0xff;
	state = le16_to_cpu(st->state_flags);
	if (!st->hdr.flags &&
	    (comp == CS_WIDE_FAILED || comp == CS_SYNC_FAILED)) {
		/*
		 * The firmware ends a command that completed in full with
		 * 0x1F/0x20 instead of 0: the command itself is done, its
		 * data moved narrow (resp. async).  Complete it as it is, as
		 * FreeBSD's isp does; running it again would repeat a command
		 * that need not be idempotent.
		 */
		qlisp_neg_refused(ha, cmd, comp);
		resid = le32_to_cpu(st->residual);
		if (resid > scsi_bufflen(cmd)) {
			dev_warn_ratelimited(&ha->pdev->dev,
					     "residual %u beyond length %u\n",
					     resid, scsi_bufflen(cmd));
			host = DID_ERROR;
		} else {
			scsi_set_resid(cmd, resid);
			host = DID_OK;
		}
	} else {
		host = qlisp_host_byte(ha, st, cmd);
	}
	if (comp == CS_QUEUE_FULL && !sstat)
		sstat = SAM_STAT_TASK_SET_FULL;
	if (comp == CS_RESET ||
	    (le16_to_cpu(st->status_flags) & SF_BUS_RESET))
		ha->marker_pending = true;

	if (sstat == SAM_STAT_CHECK_CONDITION && (state & SS_GOT_SENSE)) {
		sense_len = min3((unsigned int)le16_to_cpu(st->sense_len),
				 (unsigned int)sizeof(st->sense),
				 (unsigned int)SCSI_SENSE_BUFFERSIZE);
		memcpy(cmd->sense_buffer, st->sense, sense_len);
	}
	cmd->result = host << 16 | sstat;
	qlisp_finish(d, cmd);
}

/*
 * The response ring and its index.  Only the response-in index the chip
 * publishes in outgoing mailbox 5 says which entries are complete: the
 * chip writes an entry first and publishes the index after it, so an entry
 * can be seen in memory (partly or wholly) before the index covers it, and
 * on PCI the index can be read before a late entry has landed.  The driver
 * therefore consumes exactly the entries from its response-out (the value
 * it last wrote to mailbox 5) up to the response-in it read, and nothing
 * past it.
 *
 * When the driver consumes an entry it clears the entry type (0 is no type
 * the firmware posts) and stamps QLISP_RSP_CONSUMED into the last dword.
 * That stamp is only a hint: while the entry at response-out still carries
 * the stamp and no type, the chip has written nothing new there, and the
 * register read of mailbox 5 is saved (an interrupt for a mailbox command or
 * a further pass of the handler).  As soon as anything was written there,
 * the index is read and decides.  An index that covers an entry the chip
 * cannot have written since it was consumed (type 0 and the stamp intact),
 * for example an index behind response-out, which would otherwise look
 * like almost a full ring of new entries, is counted and ignored from that
 * entry on: the driver never walks onto stale entries.
 */
static bool qlisp_rsp_written(struct qlisp_host *ha, unsigned int idx)
{
	const struct qlisp_entry_header *hdr =
		ha->rsp_ring + idx * QLISP_ENTRY_SIZE;

	return READ_ONCE(hdr->type) != 0 ||
	       READ_ONCE(*qlisp_rsp_stamp(ha, idx)) !=
	       cpu_to_le32(QLISP_RSP_CONSUMED);
}

/* Consume the entry at rsp_out and stamp it. */
static void qlisp_rsp_consume(struct qlisp_host *ha, struct qlisp_done *d)
{
	struct qlisp_status_entry *st =
		ha->rsp_ring + ha->rsp_out * QLISP_ENTRY_SIZE;

	qlisp_status_entry(ha, st, d);
	WRITE_ONCE(st->hdr.type, 0);
	WRITE_ONCE(*qlisp_rsp_stamp(ha, ha->rsp_out),
		   cpu_to_le32(QLISP_RSP_CONSUMED));
	ha->stat_responses++;
	if (++ha->rsp_out == QLISP_RSP_LEN)
		ha->rsp_out = 0;
}

/*
 * Consume what the firmware published, then tell it how far we got
 * (mailbox 5).  Caller holds @ha->lock and has made the chip's earlier
 * writes visible with a register read.  Return: true if anything was
 * consumed.
 */
static bool qlisp_process_responses(struct qlisp_host *ha,
				    struct qlisp_done *d)
{
	u16 start = ha->rsp_out;
	unsigned int avail, n;
	u16 rsp_in;

	lockdep_assert_held(ha->lock);
	if (ha->rsp_in == ha->rsp_out) {
		/* the stamp saves the index read when nothing is new */
		if (!qlisp_rsp_written(ha, ha->rsp_out))
			return false;
		rsp_in = qlisp_rd(ha, ISP_MBOX(5));
		ha->stat_rsp_index_reads++;
		if (rsp_in >= QLISP_RSP_LEN) {
			ha->stat_rsp_bad_index++;
			dev_warn_ratelimited(&ha->pdev->dev,
					     "response-in index %u out of range\n",
					     rsp_in);
			return false;
		}
		ha->rsp_in = rsp_in;
		if (rsp_in == ha->rsp_out) {
			/* written, not yet published: wait for the index */
			ha->stat_rsp_early++;
			return false;
		}
	}
	/* the entries are read after the index that published them */
	dma_rmb();
	avail = (ha->rsp_in + QLISP_RSP_LEN - ha->rsp_out) % QLISP_RSP_LEN;
	for (n = 0; n < avail; n++) {
		if (!qlisp_rsp_written(ha, ha->rsp_out)) {
			ha->stat_rsp_bad_index++;
			dev_warn_ratelimited(&ha->pdev->dev,
					     "response-in index %u covers entry %u, which was not posted\n",
					     ha->rsp_in, ha->rsp_out);
			ha->rsp_in = ha->rsp_out;
			break;
		}
		qlisp_rsp_consume(ha, d);
	}
	if (ha->rsp_out == start)
		return false;
	qlisp_wr(ha, ISP_MBOX(5), ha->rsp_out);
	return true;
}

static void qlisp_async_event(struct qlisp_host *ha, u16 mb0,
			      struct qlisp_done *d)
{
	struct scsi_cmnd *cmd;
	u32 handle;

	switch (mb0) {
	case MBA_FAST_POST:
		handle = qlisp_rd(ha, ISP_MBOX(2)) << 16 |
			 qlisp_rd(ha, ISP_MBOX(1));
		cmd = qlisp_take_handle(ha, handle);
		if (cmd) {
			scsi_set_resid(cmd, 0);
			cmd->result = DID_OK << 16;
			qlisp_finish(d, cmd);
		}
		break;
	case MBA_BUS_RESET:
	case MBA_TIMEOUT_RESET:
	case MBA_DEVICE_RESET:
		dev_info(&ha->pdev->dev, "SCSI bus reset reported (0x%04x)\n",
			 mb0);
		ha->marker_pending = true;
		if (mb0 == MBA_DEVICE_RESET)
			break;
		scsi_report_bus_reset(ha->shost, 0);
		break;
	case MBA_SYSTEM_ERR:
	case MBA_REQ_XFER_ERR:
	case MBA_RSP_XFER_ERR:
		dev_err(&ha->pdev->dev,
			"firmware error 0x%04x (0x%04x 0x%04x 0x%04x), resetting adapter\n",
			mb0, qlisp_rd(ha, ISP_MBOX(1)),
			qlisp_rd(ha, ISP_MBOX(2)), qlisp_rd(ha, ISP_MBOX(3)));
		/* the RISC has stopped: no doorbell, no command until reset */
		ha->online = false;
		if (!ha->removing) {
			ha->reset_pending = true;
			schedule_work(&ha->reset_work);
		}
		break;
	default:
		dev_dbg(&ha->pdev->dev, "async event 0x%04x\n", mb0);
		break;
	}
}

/*
 * The interrupt handler reads one register, the semaphore, unless a mailbox
 * command or an asynchronous event is waiting.  It acknowledges the RISC
 * interrupt first: the semaphore read cannot pass that write, and its
 * completion pushes every response the chip wrote before it to memory,
 * while whatever the chip posts after the acknowledgment raises a new
 * interrupt.  With a shared line an interrupt that found nothing is
 * reported as not ours.
 */
static irqreturn_t qlisp_intr(int irq, void *dev_id)
{
	struct qlisp_host *ha = dev_id;
	bool mbox_done = false, handled = false, more;
	struct qlisp_done d;
	int i, pass = 0;

	qlisp_done_init(&d);
	spin_lock(ha->lock);
	if (!ha->intr_enabled) {
		spin_unlock(ha->lock);
		return IRQ_NONE;
	}
again:
	qlisp_wr(ha, ISP_HCCR, HCCR_CLR_RISC_INT);
	if (qlisp_rd(ha, ISP_SEMA) & SEMA_LOCK) {
		u16 mb0 = qlisp_rd(ha, ISP_MBOX(0));

		if (mb0 < MBA_ASYNC) {
			if (ha->mbox_busy) {
				ha->mbox_out[0] = mb0;
				for (i = 1; i < ISP_NMBOX; i++)
					ha->mbox_out[i] =
						qlisp_rd(ha, ISP_MBOX(i));
				mbox_done = true;
			} else {
				dev_warn_ratelimited(&ha->pdev->dev,
						     "unexpected mailbox status 0x%04x\n",
						     mb0);
			}
		} else {
			qlisp_async_event(ha, mb0, &d);
		}
		qlisp_wr(ha, ISP_SEMA, 0);
		handled = true;
	}
	more = false;
	if (ha->online) {
		more = qlisp_process_responses(ha, &d);
		handled |= more;
		if (ha->marker_pending && qlisp_req_reserve(ha, 1)) {
			qlisp_put_marker(ha, 0, 0, MK_SYNC_ALL);
			qlisp_req_post(ha);
			ha->marker_pending = false;
		}
	}
	ha->stat_intrs++;
	if (more && ha->nr_active && ++pass < QLISP_INTR_PASSES)
		goto again;
	spin_unlock(ha->lock);

	if (mbox_done)
		complete(&ha->mbox_done);
	qlisp_done_all(ha, &d);
	return IRQ_RETVAL(handled);
}

/* ------------------------------------------------------------------ */
/* Command submission                                                  */
/* ------------------------------------------------------------------ */

/*
 * The block layer ends a batch of requests without flagging the last one
 * (SCMD_LAST) when it stops early; it then calls this to ring the doorbell
 * for the commands already built.
 */
static void qlisp_commit_rqs(struct Scsi_Host *shost, u16 hwq)
{
	struct qlisp_host *ha = shost_priv(shost);
	unsigned long flags;

	spin_lock_irqsave(ha->lock, flags);
	qlisp_req_post(ha);
	spin_unlock_irqrestore(ha->lock, flags);
}

static QLISP_QC_RET qlisp_queuecommand(struct Scsi_Host *shost,
				       struct scsi_cmnd *cmd)
{
	struct qlisp_host *ha = shost_priv(shost);
	u32 tag = scsi_cmd_to_rq(cmd)->tag;
	unsigned int entries;
	unsigned long flags;
	QLISP_QC_RET ret = 0;
	int nseg;

	if (unlikely(tag >= QLISP_CAN_QUEUE ||
		     cmd->cmd_len > QLISP_MAX_CMD_LEN)) {
		cmd->result = DID_ERROR << 16;
		scsi_done(cmd);
		goto post_earlier;
	}
	nseg = scsi_dma_map(cmd);
	if (unlikely(nseg < 0)) {
		ret = SCSI_MLQUEUE_HOST_BUSY;
		goto post_earlier;
	}
	entries = qlisp_entries_for_cmd(nseg, cmd->cmd_len);

	spin_lock_irqsave(ha->lock, flags);
	if (unlikely(!ha->online || ha->cmds[tag])) {
		/* no reset will bring it back: removal stops the reset work */
		if (!ha->online && (ha->dead || ha->removing))
			goto no_connect;
		goto busy;
	}
	if (unlikely(ha->marker_pending)) {
		if (!qlisp_req_reserve(ha, entries + 1))
			goto busy;
		qlisp_put_marker(ha, 0, 0, MK_SYNC_ALL);
		ha->marker_pending = false;
	} else if (!qlisp_req_reserve(ha, entries)) {
		goto busy;
	}
	ha->cmds[tag] = cmd;
	ha->nr_active++;
	qlisp_priv(cmd)->handle = qlisp_tag_to_handle(tag);
	qlisp_priv(cmd)->active = true;
	qlisp_build_command(ha, cmd, nseg, qlisp_priv(cmd)->handle);
	qlisp_priv(cmd)->req_end = ha->req_in;
	/* the block layer calls qlisp_commit_rqs() if the batch ends early */
	if (cmd->flags & SCMD_LAST)
		qlisp_req_post(ha);
	spin_unlock_irqrestore(ha->lock, flags);
	return 0;

no_connect:
	/* out of service for good (logged once by qlisp_reinit) or removed */
	spin_unlock_irqrestore(ha->lock, flags);
	scsi_dma_unmap(cmd);
	cmd->result = DID_NO_CONNECT << 16;
	scsi_done(cmd);
	return 0;

busy:
	ha->stat_busy++;
	qlisp_req_post(ha);
	spin_unlock_irqrestore(ha->lock, flags);
	scsi_dma_unmap(cmd);
	return SCSI_MLQUEUE_HOST_BUSY;

post_earlier:
	/* nothing queued here: the commands before it must still go out */
	qlisp_commit_rqs(shost, 0);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Error handling                                                      */
/* ------------------------------------------------------------------ */

/* Is anything outstanding on @id/@lun (-1: any)? */
static bool qlisp_busy_on(struct qlisp_host *ha, int id, int lun)
{
	bool busy = false;
	int i;

	spin_lock_irq(ha->lock);
	for (i = 0; i < QLISP_CAN_QUEUE && !busy; i++) {
		struct scsi_cmnd *c = ha->cmds[i];

		busy = c && (id < 0 || c->device->id == id) &&
		       (lun < 0 || c->device->lun == lun);
	}
	spin_unlock_irq(ha->lock);
	return busy;
}

/* Wait for the firmware to hand back what a reset or abort flushed. */
static int qlisp_drain(struct qlisp_host *ha, int id, int lun)
{
	if (wait_event_timeout(ha->drain_wq, !qlisp_busy_on(ha, id, lun),
			       QLISP_DRAIN_TIMEOUT))
		return SUCCESS;
	dev_warn(&ha->pdev->dev,
		 "commands for %d:%d not returned by the firmware\n", id, lun);
	return FAILED;
}

static int qlisp_eh_abort(struct scsi_cmnd *cmd)
{
	struct qlisp_host *ha = shost_priv(cmd->device->host);
	struct scsi_device *sdev = cmd->device;
	struct qlisp_cmd_priv *priv = qlisp_priv(cmd);
	u16 mb[ISP_NMBOX] = { MBC_ABORT, sdev->id << 8 | (u8)sdev->lun };
	u32 handle, tag;
	bool ours, online;
	int ret, err;

	mutex_lock(&ha->chip_mutex);
	spin_lock_irq(ha->lock);
	handle = priv->handle;
	tag = handle - 1;
	ours = priv->active && handle && tag < QLISP_CAN_QUEUE &&
	       ha->cmds[tag] == cmd;
	/* a batch the block layer never committed would sit here unseen */
	if (ha->req_in != ha->req_posted) {
		dev_warn_once(&ha->pdev->dev,
			      "request entries were built but never posted\n");
		qlisp_req_post(ha);
	}
	online = ha->online;
	spin_unlock_irq(ha->lock);
	if (!ours) {
		ret = SUCCESS;		/* already completed */
		goto out;
	}
	/* offline: the chip awaits its reset; escalate to the host reset */
	ret = FAILED;
	if (!online)
		goto out;

	mb[2] = handle >> 16;
	mb[3] = handle & 0xffff;
	err = qlisp_mbox(ha, mb, 0x0f, 0x01, QLISP_MBOX_TIMEOUT_MS);
	sdev_printk(KERN_INFO, sdev, "abort handle %u: %s (0x%04x)\n", handle,
		    err ? "refused" : "done", mb[0]);
	/* either way: done only once the firmware has given it back */
	if (wait_event_timeout(ha->drain_wq,
			       READ_ONCE(ha->cmds[tag]) != cmd,
			       err ? HZ : QLISP_DRAIN_TIMEOUT))
		ret = SUCCESS;
out:
	mutex_unlock(&ha->chip_mutex);
	return ret;
}

/* Is the chip in service?  Caller owns the chip (@chip_mutex). */
static bool qlisp_online(struct qlisp_host *ha)
{
	bool online;

	spin_lock_irq(ha->lock);
	online = ha->online;
	spin_unlock_irq(ha->lock);
	return online;
}

/*
 * Queue the marker that lets the firmware resume a nexus after a reset.
 * The request ring belongs to the chip only while it is online; a full
 * ring leaves the marker to the interrupt path or the next command (as a
 * sync-all marker, which covers every nexus).
 */
static void qlisp_reset_marker(struct qlisp_host *ha, u8 target, u8 lun,
			       u8 modifier)
{
	unsigned long flags;

	spin_lock_irqsave(ha->lock, flags);
	if (ha->online && qlisp_req_reserve(ha, 1)) {
		qlisp_put_marker(ha, target, lun, modifier);
		qlisp_req_post(ha);
	} else {
		ha->marker_pending = true;
	}
	spin_unlock_irqrestore(ha->lock, flags);
}

/*
 * The device, target and bus resets own the chip from the mailbox command
 * to the end of the drain, so that a re-initialisation (reset work, host
 * reset) cannot run in between and no other mailbox user can interleave.
 */
static int qlisp_eh_device_reset(struct scsi_cmnd *cmd)
{
	struct scsi_device *sdev = cmd->device;
	struct qlisp_host *ha = shost_priv(sdev->host);
	int ret = FAILED;

	mutex_lock(&ha->chip_mutex);
	if (!qlisp_online(ha) ||
	    qlisp_mbox_simple(ha, MBC_ABORT_DEVICE,
			      sdev->id << 8 | (u8)sdev->lun, 0, 0))
		goto out;
	qlisp_reset_marker(ha, sdev->id, sdev->lun, MK_SYNC_DEVICE);
	ret = qlisp_drain(ha, sdev->id, sdev->lun);
out:
	mutex_unlock(&ha->chip_mutex);
	return ret;
}

static int qlisp_eh_target_reset(struct scsi_cmnd *cmd)
{
	struct scsi_device *sdev = cmd->device;
	struct qlisp_host *ha = shost_priv(sdev->host);
	int ret = FAILED;

	mutex_lock(&ha->chip_mutex);
	if (!qlisp_online(ha) ||
	    qlisp_mbox_simple(ha, MBC_ABORT_TARGET, sdev->id << 8, 1, 0))
		goto out;
	qlisp_reset_marker(ha, sdev->id, 0, MK_SYNC_TARGET);
	ret = qlisp_drain(ha, sdev->id, -1);
out:
	mutex_unlock(&ha->chip_mutex);
	return ret;
}

static int qlisp_eh_bus_reset(struct scsi_cmnd *cmd)
{
	struct qlisp_host *ha = shost_priv(cmd->device->host);
	int ret = FAILED;

	mutex_lock(&ha->chip_mutex);
	if (qlisp_online(ha) && !qlisp_bus_reset(ha))
		ret = qlisp_drain(ha, -1, -1);
	mutex_unlock(&ha->chip_mutex);
	return ret;
}

/*
 * Take the chip out of service: no doorbell, no interrupts, then the chip
 * stopped (qlisp_halt_chip()), and only then every command it held handed
 * back to the midlayer with host byte @host_byte: no command's pages are
 * given back while the chip may still read or write them.  Caller owns the
 * chip (@chip_mutex).
 */
static void qlisp_halt_and_flush(struct qlisp_host *ha, int host_byte)
{
	struct qlisp_done d;
	int i;

	qlisp_done_init(&d);
	spin_lock_irq(ha->lock);
	ha->online = false;
	spin_unlock_irq(ha->lock);
	qlisp_disable_intr(ha);
	/* no command goes back before the chip has stopped touching memory */
	qlisp_halt_chip(ha);
	spin_lock_irq(ha->lock);
	for (i = 0; i < QLISP_CAN_QUEUE; i++) {
		struct scsi_cmnd *cmd = ha->cmds[i];

		if (!cmd)
			continue;
		ha->cmds[i] = NULL;
		ha->nr_active--;
		qlisp_priv(cmd)->active = false;
		cmd->result = host_byte << 16;
		qlisp_finish(&d, cmd);
	}
	ha->marker_pending = false;
	spin_unlock_irq(ha->lock);
	qlisp_done_all(ha, &d);
}

/*
 * Full re-initialisation: stop the chip and its DMA, hand every outstanding
 * command back with DID_RESET, and bring the chip up again from its reset.
 * A failed bring-up is retried with a doubling delay (a bus mastering or
 * parity fault is usually transient); when every attempt fails the adapter
 * is declared dead, once, and every command is completed at once with
 * DID_NO_CONNECT instead of being held busy for ever.  A later host reset
 * (sg_reset -H) tries again.  Caller must not hold @chip_mutex.
 */
static int qlisp_reinit(struct qlisp_host *ha)
{
	unsigned int try, delay = QLISP_REINIT_DELAY_MS;
	bool was_dead;
	int ret;

	mutex_lock(&ha->chip_mutex);
	spin_lock_irq(ha->lock);
	ha->reset_pending = false;
	was_dead = ha->dead;
	spin_unlock_irq(ha->lock);
	qlisp_halt_and_flush(ha, DID_RESET);

	ha->stat_resets++;
	for (try = 1; ; try++) {
		ret = qlisp_chip_init(ha);
		if (!ret || try == QLISP_REINIT_TRIES || READ_ONCE(ha->removing))
			break;
		ha->stat_reinit_retries++;
		dev_warn(&ha->pdev->dev,
			 "adapter re-initialisation failed (%d), attempt %u of %u in %u ms\n",
			 ret, try + 1, QLISP_REINIT_TRIES, delay);
		msleep(delay);
		delay *= 2;
	}
	if (ret) {
		/* the chip may have been given the rings: stop it for good */
		qlisp_disable_intr(ha);
		qlisp_halt_chip(ha);
		spin_lock_irq(ha->lock);
		ha->dead = true;
		spin_unlock_irq(ha->lock);
		if (!was_dead)
			dev_err(&ha->pdev->dev,
				"adapter re-initialisation failed %u times: adapter offline, commands fail with DID_NO_CONNECT\n",
				try);
	} else {
		spin_lock_irq(ha->lock);
		ha->dead = false;
		scsi_report_bus_reset(ha->shost, 0);
		spin_unlock_irq(ha->lock);
		if (was_dead)
			dev_info(&ha->pdev->dev, "adapter back in service\n");
	}
	mutex_unlock(&ha->chip_mutex);
	return ret;
}

static int qlisp_eh_host_reset(struct scsi_cmnd *cmd)
{
	struct qlisp_host *ha = shost_priv(cmd->device->host);

	dev_warn(&ha->pdev->dev, "host reset\n");
	return qlisp_reinit(ha) ? FAILED : SUCCESS;
}

/* Program the parameters of the targets that refused a negotiation. */
static void qlisp_neg_work(struct work_struct *work)
{
	struct qlisp_host *ha = container_of(work, struct qlisp_host,
					     neg_work);
	unsigned long mask;
	unsigned int t;

	mutex_lock(&ha->chip_mutex);
	spin_lock_irq(ha->lock);
	/* offline, the re-initialisation programs every target anyway */
	mask = ha->online && !ha->removing ? ha->neg_update : 0;
	ha->neg_update = 0;
	spin_unlock_irq(ha->lock);
	for_each_set_bit(t, &mask, QLISP_MAX_TARGETS)
		qlisp_set_target_params(ha, t);
	mutex_unlock(&ha->chip_mutex);
}

static void qlisp_reset_work(struct work_struct *work)
{
	struct qlisp_host *ha = container_of(work, struct qlisp_host,
					     reset_work);

	bool pending;

	spin_lock_irq(ha->lock);
	/* resume re-initialises anyway */
	pending = ha->reset_pending && !ha->removing && !ha->suspended;
	spin_unlock_irq(ha->lock);
	/* a host reset may have done the work already */
	if (!pending)
		return;
	scsi_block_requests(ha->shost);
	qlisp_reinit(ha);
	scsi_unblock_requests(ha->shost);
}

/* ------------------------------------------------------------------ */
/* Host template                                                       */
/* ------------------------------------------------------------------ */

static int qlisp_sdev_configure(QLISP_SDEV_CONFIGURE_ARGS)
{
	if (sdev->tagged_supported)
		scsi_change_queue_depth(sdev, clamp(queue_depth, 1,
						    QLISP_MAX_DEPTH));
	else
		scsi_change_queue_depth(sdev, 1);
	return 0;
}

static int qlisp_change_queue_depth(struct scsi_device *sdev, int depth)
{
	if (!sdev->tagged_supported)
		depth = 1;
	return scsi_change_queue_depth(sdev, clamp(depth, 1,
						   QLISP_MAX_DEPTH));
}

static struct qlisp_host *qlisp_dev_to_ha(struct device *dev)
{
	return shost_priv(class_to_shost(dev));
}

static ssize_t fw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);

	return sysfs_emit(buf, "%u.%02u.%02u %s\n", ha->fw_major,
			  ha->fw_minor, ha->fw_micro,
			  ha->fw_from_file ? QLISP_FW_NAME : "rom");
}
static DEVICE_ATTR_RO(fw_version);

static const char *qlisp_chip_name(struct qlisp_host *ha)
{
	static const char * const names[] = {
		[1] = "ISP1020", [2] = "ISP1020A", [3] = "ISP1040",
		[4] = "ISP1040A", [5] = "ISP1040B", [6] = "ISP1040C",
	};
	const char *name = ha->chip_rev < ARRAY_SIZE(names) ?
			   names[ha->chip_rev] : NULL;

	return name ? name : "unknown";
}

static ssize_t chip_revision_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);

	return sysfs_emit(buf, "%s (CONF0 %u, PCI revision 0x%02x)\n",
			  qlisp_chip_name(ha), ha->chip_rev,
			  ha->pdev->revision);
}
static DEVICE_ATTR_RO(chip_revision);

/*
 * chip_setup: what the driver chose for this chip revision (see
 * qlisp_identify_chip() and qlisp_fit_settings()); the period and offset
 * are those it asks of the initiator's lowest-numbered other target.
 */
static ssize_t chip_setup_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);
	struct qlisp_settings *s = &ha->set;
	unsigned int t = s->initiator_id ? 0 : 1;

	return sysfs_emit(buf,
			  "chip=%s ultra=%u clock=%u mailboxes=%u fifo_threshold=%s async_setup=%u period=%u offset=%u request_ring=%u\n",
			  qlisp_chip_name(ha), ha->ultra, ha->clock_mhz,
			  qlisp_six_mailboxes(ha) ? 6 : ISP_NMBOX,
			  ha->chip_rev == ISP_REV_1040A ? "off" : "on",
			  s->async_setup, s->tgt[t].sync_period,
			  s->tgt[t].sync_offset, ha->req_len);
}
static DEVICE_ATTR_RO(chip_setup);

static ssize_t nvram_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);
	struct qlisp_settings *s = &ha->set;

	return sysfs_emit(buf,
			  "source=%s initiator_id=%u bus_reset_delay=%u reset_disable=%u selection_timeout=%u retry_count=%u retry_delay=%u tag_age=%u max_queue_depth=%u fifo_threshold=%u\n",
			  s->nvram_valid ? "nvram" : "defaults",
			  s->initiator_id, s->bus_reset_delay,
			  s->reset_disable, s->selection_timeout,
			  s->retry_count, s->retry_delay, s->tag_age,
			  s->max_queue_depth, s->fifo_threshold);
}
static DEVICE_ATTR_RO(nvram);

static ssize_t stats_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);

	return sysfs_emit(buf,
			  "interrupts=%lu responses=%lu host_busy=%lu bad_handles=%lu resets=%lu index_reads=%lu early_entries=%lu bad_indexes=%lu mbox_timeouts=%lu reinit_retries=%lu dead=%u neg_rejects=%lu neg_fallbacks=%lu\n",
			  ha->stat_intrs, ha->stat_responses, ha->stat_busy,
			  ha->stat_bad_handles, ha->stat_resets,
			  ha->stat_rsp_index_reads, ha->stat_rsp_early,
			  ha->stat_rsp_bad_index, ha->stat_mbox_timeouts,
			  ha->stat_reinit_retries, READ_ONCE(ha->dead),
			  ha->stat_neg_rejects, ha->stat_neg_fallbacks);
}
static DEVICE_ATTR_RO(stats);

/*
 * transfer: per enabled target, what the driver asks for (wide, sync and
 * the offset/period from NVRAM or the defaults), what the target refused
 * and what the firmware says the last negotiation settled on
 * (GET_TARGET_PARAMETERS).  Writing a target number forgets what that
 * target refused: its next command negotiates everything again.
 */
static ssize_t transfer_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);
	struct qlisp_settings *s = &ha->set;
	ssize_t len = 0;
	unsigned int t;
	bool online;
	int ret;

	ret = mutex_lock_interruptible(&ha->chip_mutex);
	if (ret)
		return ret;
	for (t = 0; t < QLISP_MAX_TARGETS; t++) {
		struct qlisp_target_settings *ts = &s->tgt[t];
		u16 mb[ISP_NMBOX] = { MBC_GET_TARGET_PARAMETERS, t << 8 };
		u16 want = ts->flags << 8, off;

		if (t == s->initiator_id || !ts->enabled)
			continue;
		spin_lock_irq(ha->lock);
		off = ha->neg_off[t];
		online = ha->online;
		spin_unlock_irq(ha->lock);
		len += sysfs_emit_at(buf, len,
				     "%u want=%s,%s offset=%u period=%u refused=%s",
				     t, want & TP_WIDE ? "wide" : "narrow",
				     want & TP_SYNC ? "sync" : "async",
				     ts->sync_offset, ts->sync_period,
				     !off ? "none" : off == TP_WIDE ? "wide" :
				     off == TP_SYNC ? "sync" : "wide,sync");
		if (online &&
		    !qlisp_mbox(ha, mb, 0x03, 0x0f, QLISP_MBOX_TIMEOUT_MS))
			len += sysfs_emit_at(buf, len,
					     " now=%s,%s offset=%u period=%u\n",
					     mb[2] & TP_WIDE ? "wide" : "narrow",
					     mb[2] & TP_SYNC ? "sync" : "async",
					     mb[3] >> 8, mb[3] & 0xff);
		else
			len += sysfs_emit_at(buf, len, " now=unknown\n");
	}
	mutex_unlock(&ha->chip_mutex);
	return len;
}

static ssize_t transfer_store(struct device *dev,
			      struct device_attribute *attr, const char *buf,
			      size_t count)
{
	struct qlisp_host *ha = qlisp_dev_to_ha(dev);
	unsigned int t;
	int ret;

	ret = kstrtouint(buf, 0, &t);
	if (ret)
		return ret;
	if (t >= QLISP_MAX_TARGETS)
		return -EINVAL;
	spin_lock_irq(ha->lock);
	ha->neg_off[t] = 0;
	ha->neg_update |= BIT(t);
	if (!ha->removing)
		schedule_work(&ha->neg_work);
	spin_unlock_irq(ha->lock);
	flush_work(&ha->neg_work);
	return count;
}
static DEVICE_ATTR_RW(transfer);

static struct attribute *qlisp_host_attrs[] = {
	&dev_attr_fw_version.attr,
	&dev_attr_chip_revision.attr,
	&dev_attr_chip_setup.attr,
	&dev_attr_nvram.attr,
	&dev_attr_stats.attr,
	&dev_attr_transfer.attr,
	NULL
};
ATTRIBUTE_GROUPS(qlisp_host);

static struct scsi_host_template qlisp_template = {
	.module			= THIS_MODULE,
	.name			= "QLogic ISP1020/1040 (qlisp)",
	.proc_name		= QLISP_NAME,
	.queuecommand		= qlisp_queuecommand,
	.commit_rqs		= qlisp_commit_rqs,
	.eh_abort_handler	= qlisp_eh_abort,
	.eh_device_reset_handler = qlisp_eh_device_reset,
	.eh_target_reset_handler = qlisp_eh_target_reset,
	.eh_bus_reset_handler	= qlisp_eh_bus_reset,
	.eh_host_reset_handler	= qlisp_eh_host_reset,
#ifdef QLISP_HAVE_SDEV_CONFIGURE
	.sdev_configure		= qlisp_sdev_configure,
#else
	.slave_configure	= qlisp_sdev_configure,
#endif
	.change_queue_depth	= qlisp_change_queue_depth,
	.this_id		= 7,
	.can_queue		= QLISP_CAN_QUEUE,
	.cmd_per_lun		= QLISP_DEF_DEPTH,
	.sg_tablesize		= QLISP_SG_TABLESIZE,
	.max_sectors		= QLISP_MAX_SECTORS,
	.max_segment_size	= QLISP_MAX_SEG_SIZE,
	.dma_boundary		= 0xffffffff,
	.cmd_size		= sizeof(struct qlisp_cmd_priv),
	.track_queue_depth	= 1,
	/*
	 * qlisp_bus_reset() waits the settle delay (NVRAM or settle_delay=)
	 * after every bus reset it makes, the host reset's included: the
	 * midlayer's own 10 s on top of it would only idle the adapter.
	 */
	.skip_settle_delay	= 1,
	.shost_groups		= qlisp_host_groups,
};

/* ------------------------------------------------------------------ */
/* PCI                                                                 */
/* ------------------------------------------------------------------ */

static int qlisp_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct Scsi_Host *shost;
	struct qlisp_host *ha;
	int ret;

	if (pdev->subsystem_vendor == PCI_VENDOR_ID_AMI) {
		dev_info(&pdev->dev, "AMI RAID adapter, not ours\n");
		return -ENODEV;
	}
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
	if (ret) {
		dev_err(&pdev->dev, "no 32-bit DMA\n");
		return ret;
	}
	ret = pcim_iomap_regions(pdev, BIT(1), QLISP_NAME);
	if (ret) {
		dev_err(&pdev->dev, "cannot map BAR1 registers\n");
		return ret;
	}

	shost = scsi_host_alloc(&qlisp_template, sizeof(*ha));
	if (!shost)
		return -ENOMEM;
	ha = shost_priv(shost);
	ha->pdev = pdev;
	ha->shost = shost;
	ha->regs = pcim_iomap_table(pdev)[1];
	ha->lock = shost->host_lock;
	mutex_init(&ha->mbox_mutex);
	mutex_init(&ha->chip_mutex);
	init_completion(&ha->mbox_done);
	init_waitqueue_head(&ha->drain_wq);
	INIT_WORK(&ha->reset_work, qlisp_reset_work);
	INIT_WORK(&ha->neg_work, qlisp_neg_work);
	ha->req_len = QLISP_REQ_LEN;

	ret = -ENOMEM;
	ha->req_ring = dma_alloc_coherent(&pdev->dev,
					  QLISP_REQ_LEN * QLISP_ENTRY_SIZE,
					  &ha->req_dma, GFP_KERNEL);
	ha->rsp_ring = dma_alloc_coherent(&pdev->dev,
					  QLISP_RSP_LEN * QLISP_ENTRY_SIZE,
					  &ha->rsp_dma, GFP_KERNEL);
	if (!ha->req_ring || !ha->rsp_ring)
		goto err_free;

	if (qlisp_rd(ha, ISP_ID_LO) != PCI_VENDOR_ID_QLOGIC) {
		dev_err(&pdev->dev, "registers do not answer (ID 0x%04x)\n",
			qlisp_rd(ha, ISP_ID_LO));
		ret = -ENODEV;
		goto err_free;
	}
	qlisp_wr(ha, ISP_ICR, 0);
	qlisp_identify_chip(ha);
	qlisp_read_nvram(ha);
	qlisp_fit_settings(ha);
	shost->this_id = ha->set.initiator_id;
	shost->max_id = QLISP_MAX_TARGETS;
	shost->max_lun = QLISP_MAX_LUNS;
	shost->max_channel = 0;
	shost->max_cmd_len = QLISP_MAX_CMD_LEN;
	shost->irq = pdev->irq;

	qlisp_get_fw(ha);
	if (!ha->fw && !strcmp(firmware, "file")) {
		ret = -ENOENT;
		goto err_free;
	}

	ret = request_irq(pdev->irq, qlisp_intr, IRQF_SHARED, QLISP_NAME, ha);
	if (ret) {
		dev_err(&pdev->dev, "cannot get IRQ %d\n", pdev->irq);
		goto err_free;
	}
	/* the reset work may be asked for as soon as interrupts are on */
	mutex_lock(&ha->chip_mutex);
	ret = qlisp_chip_init(ha);
	mutex_unlock(&ha->chip_mutex);
	if (ret)
		goto err_irq;
	shost->can_queue = min_t(int, QLISP_CAN_QUEUE, ha->fw_max_cmds);

	ret = scsi_add_host(shost, &pdev->dev);
	if (ret)
		goto err_stop;
	pci_set_drvdata(pdev, ha);
	dev_info(&pdev->dev,
		 "%s, firmware %u.%02u.%02u (%s), SCSI ID %u, NVRAM %s, IRQ %d\n",
		 qlisp_chip_name(ha),
		 ha->fw_major, ha->fw_minor, ha->fw_micro,
		 ha->fw_from_file ? QLISP_FW_NAME : "ROM",
		 ha->set.initiator_id,
		 ha->set.nvram_valid ? "valid" : "defaults", pdev->irq);
	scsi_scan_host(shost);
	return 0;

err_stop:
err_irq:
	/*
	 * No reset work may run on after probe, and the chip may hold the
	 * rings' addresses (a failed interrupt check comes after the ring
	 * set-up): it is stopped before they are freed.  A firmware error
	 * during bring-up may have started the reset work, which waited for
	 * @chip_mutex and now owns the chip: its interrupts are left alone
	 * until it is done.
	 */
	spin_lock_irq(ha->lock);
	ha->removing = true;
	ha->online = false;
	spin_unlock_irq(ha->lock);
	cancel_work_sync(&ha->reset_work);
	cancel_work_sync(&ha->neg_work);
	qlisp_disable_intr(ha);
	qlisp_halt_chip(ha);
	free_irq(pdev->irq, ha);
err_free:
	if (ha->req_ring)
		dma_free_coherent(&pdev->dev, QLISP_REQ_LEN * QLISP_ENTRY_SIZE,
				  ha->req_ring, ha->req_dma);
	if (ha->rsp_ring)
		dma_free_coherent(&pdev->dev, QLISP_RSP_LEN * QLISP_ENTRY_SIZE,
				  ha->rsp_ring, ha->rsp_dma);
	release_firmware(ha->fw);
	scsi_host_put(shost);
	return ret;
}

/*
 * Quiesce the chip for good (remove, shutdown): no reset work, no
 * interrupts, no DMA.  Waits for an error handler step that owns the chip.
 */
static void qlisp_stop(struct qlisp_host *ha)
{
	spin_lock_irq(ha->lock);
	ha->removing = true;
	spin_unlock_irq(ha->lock);
	cancel_work_sync(&ha->reset_work);
	cancel_work_sync(&ha->neg_work);
	mutex_lock(&ha->chip_mutex);
	spin_lock_irq(ha->lock);
	ha->online = false;
	spin_unlock_irq(ha->lock);
	qlisp_disable_intr(ha);
	qlisp_halt_chip(ha);
	mutex_unlock(&ha->chip_mutex);
}

static void qlisp_remove(struct pci_dev *pdev)
{
	struct qlisp_host *ha = pci_get_drvdata(pdev);
	struct pci_dev *p = ha->pdev;

	/* no adapter reset may start once removal has begun */
	spin_lock_irq(ha->lock);
	ha->removing = true;
	spin_unlock_irq(ha->lock);
	cancel_work_sync(&ha->reset_work);
	scsi_remove_host(ha->shost);
	qlisp_stop(ha);
	free_irq(p->irq, ha);
	dma_free_coherent(&p->dev, QLISP_REQ_LEN * QLISP_ENTRY_SIZE,
			  ha->req_ring, ha->req_dma);
	dma_free_coherent(&p->dev, QLISP_RSP_LEN * QLISP_ENTRY_SIZE,
			  ha->rsp_ring, ha->rsp_dma);
	release_firmware(ha->fw);
	scsi_host_put(ha->shost);
}

static void qlisp_shutdown(struct pci_dev *pdev)
{
	struct qlisp_host *ha = pci_get_drvdata(pdev);

	if (ha)
		qlisp_stop(ha);
}

/*
 * System sleep.  One pair of callbacks serves suspend to RAM (suspend,
 * resume), hibernation (freeze, thaw; poweroff, restore) and their error
 * paths: every one either stops the chip or brings it up from its reset,
 * and after any of them the chip's state is unknown (S3 removed its power,
 * the restore kernel may have driven it), so resume re-initialises it
 * exactly as a host reset does.  The PCI core saves and restores the
 * configuration space and picks the power state (the driver calls neither
 * pci_save_state() nor pci_set_power_state(): the core would then leave
 * the power state to it).
 */
static int qlisp_suspend(struct device *dev)
{
	struct qlisp_host *ha = dev_get_drvdata(dev);

	spin_lock_irq(ha->lock);
	ha->suspended = true;
	spin_unlock_irq(ha->lock);
	scsi_block_requests(ha->shost);
	cancel_work_sync(&ha->reset_work);
	mutex_lock(&ha->chip_mutex);
	/*
	 * The midlayer has quiesced the disks before their host: what is
	 * still out gets the drain's time, then goes back to the queue to be
	 * sent again after resume.
	 */
	if (qlisp_online(ha))
		qlisp_drain(ha, -1, -1);
	qlisp_halt_and_flush(ha, DID_REQUEUE);
	mutex_unlock(&ha->chip_mutex);
	return 0;
}

/*
 * Bring the chip back from reset: firmware, NVRAM settings and every
 * per-target parameter the driver holds in @set, rings, interrupts, a bus
 * reset and markers (qlisp_reinit()), then let commands in again.  A chip
 * that does not come back is out of service (DID_NO_CONNECT) and the error
 * is passed to the PM core; the system resumes either way.
 */
static int qlisp_resume(struct device *dev)
{
	struct qlisp_host *ha = dev_get_drvdata(dev);
	int ret;

	ret = qlisp_reinit(ha);
	spin_lock_irq(ha->lock);
	ha->suspended = false;
	spin_unlock_irq(ha->lock);
	scsi_unblock_requests(ha->shost);
	return ret;
}

static DEFINE_SIMPLE_DEV_PM_OPS(qlisp_pm_ops, qlisp_suspend, qlisp_resume);

static const struct pci_device_id qlisp_pci_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_QLOGIC, PCI_DEVICE_ID_QLOGIC_ISP1020) },
	{ }
};
MODULE_DEVICE_TABLE(pci, qlisp_pci_ids);

static struct pci_driver qlisp_pci_driver = {
	.name		= QLISP_NAME,
	.id_table	= qlisp_pci_ids,
	.probe		= qlisp_probe,
	.remove		= qlisp_remove,
	.shutdown	= qlisp_shutdown,
	.driver.pm	= pm_sleep_ptr(&qlisp_pm_ops),
};

static int __init qlisp_init(void)
{
	if (strcmp(firmware, "auto") && strcmp(firmware, "file") &&
	    strcmp(firmware, "rom")) {
		pr_err(QLISP_NAME ": firmware= must be auto, file or rom\n");
		return -EINVAL;
	}
	if (queue_depth < 1 || queue_depth > QLISP_MAX_DEPTH) {
		pr_err(QLISP_NAME ": queue_depth= must be 1-%d\n",
		       QLISP_MAX_DEPTH);
		return -EINVAL;
	}
	if (settle_delay > 30) {
		pr_err(QLISP_NAME ": settle_delay= must be at most 30\n");
		return -EINVAL;
	}
	return pci_register_driver(&qlisp_pci_driver);
}

static void __exit qlisp_exit(void)
{
	pci_unregister_driver(&qlisp_pci_driver);
}

module_init(qlisp_init);
module_exit(qlisp_exit);

MODULE_AUTHOR("The qlisp authors");
MODULE_DESCRIPTION("QLogic ISP1020/1040 PCI SCSI host adapter driver");
MODULE_LICENSE("GPL");
MODULE_VERSION(QLISP_VERSION);
MODULE_FIRMWARE(QLISP_FW_NAME);
