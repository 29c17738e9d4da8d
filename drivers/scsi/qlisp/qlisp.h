/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qlisp - QLogic ISP1020/1040 PCI SCSI host adapter driver
 *
 * Hardware definitions and driver state shared by qlisp_main.c (PCI attach,
 * chip bring-up, mailbox, host template, error handling) and qlisp_dma.c
 * (request entries, scatterlists, continuation chaining).
 */
#ifndef _QLISP_H
#define _QLISP_H

#include <linux/types.h>
#include <linux/pci.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/completion.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_host.h>

#define QLISP_NAME		"qlisp"
#define QLISP_VERSION		"1.0"

/* ---- Registers: 16 bits wide, the same layout in BAR0 (I/O) and BAR1 ---- */
#define ISP_ID_LO		0x00
#define ISP_ID_HI		0x02
#define ISP_CONF0		0x04
#define ISP_CONF1		0x06
#define ISP_ICR			0x08
#define ISP_ISR			0x0a
#define ISP_SEMA		0x0c
#define ISP_NVRAM		0x0e
#define ISP_CDMA_CONF		0x20
#define ISP_CDMA_CONTROL	0x22
#define ISP_DDMA_CONF		0x40
#define ISP_DDMA_CONTROL	0x42
#define ISP_MBOX(n)		(0x70 + 2 * (n))
#define ISP_HCCR		0xc0
#define ISP_REG_SIZE		0x100

#define CONF0_REV_MASK		0x000f
/* CONF0 hardware revisions (FreeBSD isp, qlogicisp) */
#define ISP_REV_1020		1
#define ISP_REV_1020A		2
#define ISP_REV_1040		3
#define ISP_REV_1040A		4
#define ISP_REV_1040B		5
#define ISP_REV_1040C		6
#define ISP_RISC_PSR		0xa0	/* RISC processor status (paused) */
#define RISC_PSR_PCI_ULTRA	0x0080	/* the chip can run Fast-20 */
#define CONF1_BURST		0x0004
#define CONF1_FIFO_SHIFT	4
#define ICR_SOFT_RESET		0x0001
#define ICR_ENABLE_ALL		0x0002
#define ICR_ENABLE_RISC		0x0004
#define ICR_ENABLE		(ICR_ENABLE_ALL | ICR_ENABLE_RISC)
#define ISR_RISC_INT		0x0004
#define SEMA_LOCK		0x0001
#define DMA_CONF_BURST		0x0002
#define DMA_CONTROL_RESET	0x000a	/* clear channel | reset interrupt */

#define HCCR_RESET_RISC		0x1000
#define HCCR_PAUSE_RISC		0x2000
#define HCCR_RELEASE_RISC	0x3000
#define HCCR_SET_HOST_INT	0x5000
#define HCCR_CLR_HOST_INT	0x6000
#define HCCR_CLR_RISC_INT	0x7000
#define HCCR_BIOS_DISABLE	0x9000
#define HCCR_HOST_INT		0x0080

#define NV_CLOCK		0x0001
#define NV_SELECT		0x0002
#define NV_DATA_OUT		0x0004
#define NV_DATA_IN		0x0008

/* ---- Mailbox commands and status ---- */
#define ISP_NMBOX		8
#define MBC_NOP			0x00
#define MBC_LOAD_RAM		0x01
#define MBC_EXECUTE_FIRMWARE	0x02
#define MBC_MAILBOX_REG_TEST	0x06
#define MBC_VERIFY_CHECKSUM	0x07
#define MBC_ABOUT_FIRMWARE	0x08
#define MBC_INIT_REQUEST_QUEUE	0x10
#define MBC_INIT_RESPONSE_QUEUE	0x11
#define MBC_ABORT		0x15
#define MBC_ABORT_DEVICE	0x16
#define MBC_ABORT_TARGET	0x17
#define MBC_BUS_RESET		0x18
#define MBC_GET_FIRMWARE_STATUS	0x1f
#define MBC_SET_INITIATOR_ID	0x30
#define MBC_SET_SELECTION_TIMEOUT 0x31
#define MBC_SET_RETRY_COUNT	0x32
#define MBC_SET_TAG_AGE_LIMIT	0x33
#define MBC_SET_CLOCK_RATE	0x34
#define MBC_SET_ACTIVE_NEGATION	0x35
#define MBC_SET_ASYNC_DATA_SETUP 0x36
#define MBC_SET_PCI_CONTROL	0x37
#define MBC_GET_TARGET_PARAMETERS 0x28
#define MBC_SET_TARGET_PARAMETERS 0x38
#define MBC_SET_DEVICE_QUEUE	0x39
#define MBC_SET_FIRMWARE_FEATURES 0x4a
#define MBC_SET_DATA_OVERRUN_RECOVERY 0x5a

#define MBS_COMPLETE		0x4000
#define MBS_MASK		0xf000
#define MBS_BUSY		0x0004	/* boot ROM still running self-test */

#define MBA_ASYNC		0x8000
#define MBA_BUS_RESET		0x8001
#define MBA_SYSTEM_ERR		0x8002
#define MBA_REQ_XFER_ERR	0x8003
#define MBA_RSP_XFER_ERR	0x8004
#define MBA_TIMEOUT_RESET	0x8006
#define MBA_DEVICE_RESET	0x8007
#define MBA_FAST_POST		0x8020

#define FW_FEATURE_FAST_POST	0x0001

/* SET_TARGET_PARAMETERS flags (NVRAM target flag byte << 8) */
#define TP_RENEGOTIATE		0x0100
#define TP_AUTO_SENSE		0x0400
#define TP_TAGGED		0x0800
#define TP_SYNC			0x1000
#define TP_WIDE			0x2000
#define TP_PARITY		0x4000
#define TP_DISCONNECT		0x8000

/* ---- Queue entries: 64 bytes, little-endian ---- */
#define QLISP_ENTRY_SIZE	64
/* stamped into the last dword of a consumed response entry */
#define QLISP_RSP_CONSUMED	0xdeadd00du
#define ET_COMMAND		0x01
#define ET_CONTINUATION		0x02
#define ET_STATUS		0x03
#define ET_MARKER		0x04
#define ET_EXT_COMMAND		0x05

#define EF_FULL			0x02
#define EF_BAD_HEADER		0x04
#define EF_BAD_PAYLOAD		0x08

#define RF_HEAD_TAG		0x0002
#define RF_ORDERED_TAG		0x0004
#define RF_SIMPLE_TAG		0x0008
#define RF_DATA_IN		0x0020
#define RF_DATA_OUT		0x0040

#define MK_SYNC_DEVICE		0
#define MK_SYNC_TARGET		1
#define MK_SYNC_ALL		2

#define CMD_ENTRY_SEGS		4
#define CONT_ENTRY_SEGS		7
#define QLISP_MAX_CDB		12	/* in a type-1 command entry */
#define QLISP_EXT_CDB		44	/* room in a type-5 entry */
#define QLISP_MAX_CMD_LEN	16	/* max_cmd_len: READ/WRITE(16) */

struct qlisp_entry_header {
	u8 type;
	u8 count;
	u8 sys_def;
	u8 flags;
} __packed;

struct qlisp_dseg {
	__le32 addr;
	__le32 len;
} __packed;

struct qlisp_cmd_entry {			/* type 1 */
	struct qlisp_entry_header hdr;
	__le32 handle;
	u8 lun;
	u8 target;
	__le16 cdb_len;
	__le16 flags;
	__le16 reserved;
	__le16 timeout;
	__le16 seg_count;
	u8 cdb[QLISP_MAX_CDB];
	struct qlisp_dseg seg[CMD_ENTRY_SEGS];
} __packed;

/* type 5: a CDB of up to 44 bytes, every data segment in continuations */
struct qlisp_ext_cmd_entry {
	struct qlisp_entry_header hdr;
	__le32 handle;
	u8 lun;
	u8 target;
	__le16 cdb_len;
	__le16 flags;
	__le16 reserved;
	__le16 timeout;
	__le16 seg_count;
	u8 cdb[QLISP_EXT_CDB];
} __packed;

struct qlisp_cont_entry {			/* type 2 */
	struct qlisp_entry_header hdr;
	__le32 reserved;
	struct qlisp_dseg seg[CONT_ENTRY_SEGS];
} __packed;

struct qlisp_marker_entry {			/* type 4 */
	struct qlisp_entry_header hdr;
	__le32 reserved0;
	u8 lun;
	u8 target;
	u8 modifier;
	u8 reserved1[53];
} __packed;

struct qlisp_status_entry {			/* type 3 */
	struct qlisp_entry_header hdr;
	__le32 handle;
	__le16 scsi_status;
	__le16 comp_status;
	__le16 state_flags;
	__le16 status_flags;
	__le16 time;
	__le16 sense_len;
	__le32 residual;
	u8 reserved[8];
	u8 sense[32];
} __packed;

/* completion status */
#define CS_COMPLETE		0x00
#define CS_INCOMPLETE		0x01
#define CS_DMA_ERROR		0x02
#define CS_TRANSPORT_ERROR	0x03
#define CS_RESET		0x04
#define CS_ABORTED		0x05
#define CS_TIMEOUT		0x06
#define CS_DATA_OVERRUN		0x07
#define CS_DATA_UNDERRUN	0x15
#define CS_QUEUE_FULL		0x1c
#define CS_WIDE_FAILED		0x1f	/* target refused WDTR */
#define CS_SYNC_FAILED		0x20	/* target refused SDTR */

#define SS_GOT_BUS		0x0100
#define SS_GOT_TARGET		0x0200
#define SS_GOT_SENSE		0x2000
#define SF_BUS_RESET		0x0008

/* ---- Driver limits ---- */
#define QLISP_REQ_LEN		1024	/* request ring entries */
#define QLISP_ROM_REQ_LEN	256	/* ... used with the ROM firmware */
#define QLISP_RSP_LEN		256	/* response ring entries */
#define QLISP_MAX_TARGETS	16
#define QLISP_MAX_LUNS		8
#define QLISP_CAN_QUEUE		256	/* also the handle space */
#define QLISP_SG_TABLESIZE	256
#define QLISP_MAX_SECTORS	2048	/* 1 MiB */
#define QLISP_MAX_SEG_SIZE	(16 * 1024 * 1024)
#define QLISP_MAX_DEPTH		64
#define QLISP_DEF_DEPTH		32
#define QLISP_NVRAM_WORDS	64

/* NVRAM-derived adapter settings (reference §6.2); defaults if invalid */
struct qlisp_target_settings {
	u8 flags;		/* TP_* >> 8 */
	u8 throttle;
	u8 sync_period;
	u8 sync_offset;
	bool enabled;
};

struct qlisp_settings {
	bool nvram_valid;
	u8 initiator_id;
	u8 fifo_threshold;
	u8 bus_reset_delay;
	u8 retry_count;
	u8 retry_delay;
	u8 async_setup;
	bool req_ack_negation;
	bool data_negation;
	bool data_dma_burst;
	bool cmd_dma_burst;
	u8 tag_age;
	bool reset_disable;
	u16 selection_timeout;
	u16 max_queue_depth;
	struct qlisp_target_settings tgt[QLISP_MAX_TARGETS];
};

/**
 * struct qlisp_cmd_priv - per-command driver data (scsi_cmd_priv())
 * @handle: blk-mq tag + 1 sent to the firmware (0 is no handle), valid
 *	while @active
 * @active: owned by the firmware; only the completion path clears it
 * @req_end: request-ring index just past the command's entries
 * @next: link in a list of commands completed under the lock and handed
 *	to scsi_done() after it is dropped
 */
struct qlisp_cmd_priv {
	u32 handle;
	bool active;
	u16 req_end;
	struct scsi_cmnd *next;
};

/*
 * struct qlisp_host - one ISP adapter
 *
 * Locking:
 * - @chip_mutex makes one owner of the chip at a time: whoever brings it
 *   up or re-initialises it (probe, qlisp_reinit() from the reset work or
 *   the host reset), and every error handler step (abort, device, target
 *   and bus reset), holds it for the whole operation, mailbox commands,
 *   markers and drains included.  It is taken before @mbox_mutex.
 * - @lock (the Scsi_Host's host_lock) protects the request ring (@req_in,
 *   @req_out, @req_posted, @marker_pending, @marker_rejects), the response
 *   ring (@rsp_out, @rsp_in and the entries' stamps), the handle table @cmds,
 *   @online, @dead, @intr_enabled, @mbox_dead, @reset_pending, @removing and
 *   @suspended.  It also protects the negotiation fallback (@neg_off,
 *   @neg_update).
 *   It is taken with interrupts disabled in process context and plainly in
 *   the interrupt handler.  The midlayer also requires it around
 *   scsi_report_bus_reset().  Mailbox 4 (the doorbell) is written only
 *   under @lock and only while @online: bring-up uses mailbox 4 as a
 *   parameter (LOAD_RAM, INIT_REQUEST_QUEUE) and runs offline.
 * - @master_off is read and written only by the chip's owner (the holder
 *   of @chip_mutex, or probe and remove, which run alone).
 * - @mbox_mutex serialises mailbox commands (process context only).
 *   @mbox_busy, @mbox_out and @mbox_done hand a completion from the
 *   interrupt handler to the waiter; they are written under @lock.  After
 *   a mailbox command timed out (@mbox_dead) no other one is started until
 *   the chip has been reset: the late answer must not be taken for it.
 * - Register reads of the outgoing mailboxes are done by the mailbox
 *   owner while interrupts are off (polled mode) or by the interrupt
 *   handler under @lock.
 */
struct qlisp_host {
	struct pci_dev *pdev;
	struct Scsi_Host *shost;
	void __iomem *regs;
	spinlock_t *lock;		/* the host_lock; see above */

	/* rings (coherent DMA) */
	void *req_ring;
	dma_addr_t req_dma;
	void *rsp_ring;
	dma_addr_t rsp_dma;
	u16 req_len;		/* entries in use, set at ring init */
	u16 req_in;		/* next entry we fill */
	u16 req_out;		/* firmware's request-out, as last known */
	u16 req_posted;		/* request-in as last written to the chip */
	u16 rsp_out;		/* next entry we consume */
	u16 rsp_in;		/* response-in as last read from mailbox 5 */
	bool marker_pending;
	u8 marker_rejects;	/* rejected markers in a row (resent) */
	bool online;
	bool dead;		/* re-initialisation failed for good */
	bool intr_enabled;
	bool mbox_dead;		/* a mailbox command timed out: reset first */
	bool reset_pending;	/* reset_work has a re-initialisation to do */
	bool removing;		/* set once by remove; stops reset_work */
	bool suspended;		/* system sleep: the chip is stopped */
	bool master_off;	/* bus mastering cleared by qlisp_halt_chip() */
	struct scsi_cmnd *cmds[QLISP_CAN_QUEUE];
	unsigned int nr_active;	/* entries of @cmds in use */
	wait_queue_head_t drain_wq;

	/* mailbox */
	struct mutex mbox_mutex;
	struct completion mbox_done;
	bool mbox_busy;
	u16 mbox_out[ISP_NMBOX];

	/* firmware and chip */
	const struct firmware *fw;
	bool fw_from_file;
	u8 fw_major, fw_minor, fw_micro;
	u16 chip_rev;
	bool ultra;		/* Fast-20 capable (RISC PSR) */
	u8 clock_mhz;		/* for SET_CLOCK_RATE */
	u16 fw_max_cmds;
	struct qlisp_settings set;

	struct work_struct reset_work;
	struct mutex chip_mutex;	/* one owner of the chip; see above */

	/*
	 * Negotiation fallback: TP_WIDE / TP_SYNC a target refused, left out
	 * of its SET_TARGET_PARAMETERS until cleared through sysfs; targets
	 * whose parameters @neg_work is to program again.
	 */
	u16 neg_off[QLISP_MAX_TARGETS];
	u16 neg_update;
	struct work_struct neg_work;

	/* statistics (sysfs) */
	unsigned long stat_intrs;
	unsigned long stat_responses;
	unsigned long stat_busy;
	unsigned long stat_bad_handles;
	unsigned long stat_resets;
	unsigned long stat_rsp_index_reads;	/* mailbox 5 reads */
	unsigned long stat_rsp_early;	/* entries seen before mailbox 5 */
	unsigned long stat_rsp_bad_index;	/* impossible mailbox 5 reads */
	unsigned long stat_mbox_timeouts;
	unsigned long stat_reinit_retries;
	unsigned long stat_neg_rejects;	/* completions 0x1f / 0x20 */
	unsigned long stat_neg_fallbacks;
};

static inline u16 qlisp_rd(struct qlisp_host *ha, unsigned int reg)
{
	return readw(ha->regs + reg);
}

static inline void qlisp_wr(struct qlisp_host *ha, unsigned int reg, u16 val)
{
	writew(val, ha->regs + reg);
}

/* qlisp_dma.c */
unsigned int qlisp_entries_for_cmd(unsigned int nseg, unsigned int cdb_len);
int qlisp_build_command(struct qlisp_host *ha, struct scsi_cmnd *cmd,
			int nseg, u32 handle);
void qlisp_put_marker(struct qlisp_host *ha, u8 target, u8 lun, u8 modifier);
bool qlisp_req_reserve(struct qlisp_host *ha, unsigned int n);
void qlisp_req_retired(struct qlisp_host *ha, u16 end);
void qlisp_req_post(struct qlisp_host *ha);

#endif /* _QLISP_H */
