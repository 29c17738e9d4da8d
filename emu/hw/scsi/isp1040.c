/*
 * QLogic ISP1040 PCI SCSI host adapter (ISP1020/1040 family, PCI 1077:1020)
 *
 * Models what a driver sees of the chip: the BIU, DMA and RISC register
 * windows, the eight host<->RISC mailboxes, the boot ROM and the operational
 * firmware's mailbox command set, the serial NVRAM (93C46), and the request
 * and response queues in guest memory with their IOCBs.  The firmware that a
 * driver downloads is kept in RISC RAM and checksummed, but never executed:
 * its behaviour is what this file implements.
 *
 * Hardware facts come from public drivers (Linux qla1280, FreeBSD isp, the
 * old Linux qlogicisp and Solaris isp); see the qlisp project's
 * isp-hw-reference.md.  Behaviour no public source describes is marked
 * "model choice" below.
 *
 * Structure: everything guest-visible that needs DMA (mailbox commands,
 * request-queue fetch, response posting) runs from a bottom half, never from
 * the MMIO handlers.  The chip's registers, mailbox commands and queue
 * entries are defined in isp-regs.h.  The device is an abstract QOM type
 * (isp-base); each chip is a subclass whose class carries its description
 * (ISPChipInfo: what varies across the family), so that the dual-bus
 * ISP1080/1280/12160 can be added as further subclasses.
 *
 * Copyright (c) 2026 The qlisp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "block/block.h"
#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "hw/scsi/scsi.h"
#include "migration/qemu-file-types.h"
#include "migration/vmstate.h"
#include "qemu/error-report.h"
#include "scsi/constants.h"
#include "isp1040-compat.h"
#include "isp-regs.h"
#include "trace.h"
#include "qom/object.h"

/*
 * The abstract base type holds the device; each chip of the family is a
 * subclass whose class carries its ISPChipInfo (ISPClass.chip).  Device
 * code reaches the chip through s->chip, set from the class at realize.
 */
#define TYPE_ISP_BASE "isp-base"
#define TYPE_ISP1040 "isp1040"

#ifndef PCI_VENDOR_ID_QLOGIC
#define PCI_VENDOR_ID_QLOGIC 0x1077
#endif
OBJECT_DECLARE_TYPE(ISPState, ISPClass, ISP_BASE)
/* the 1040 subclass only: device code casts with ISP_BASE() */
DECLARE_INSTANCE_CHECKER(ISPState, ISP1040, TYPE_ISP1040)

/* ---- Model sizes and choices ---- */
#define ISP_RSENSE_MAX      96      /* sense-bytes fault: longest accepted */
#define ISP_ASYNC_QLEN      16
#define ISP_NVRAM_WORDS     64      /* largest chip NVRAM (nvram_words) */
#define ISP_RSP_RECHECK_NS  (2 * SCALE_MS)
#define ISP_RSP_IN_DELAY_US 20      /* model choice, see isp_rsp_posted */

/*
 * What differs between the chips of the family: one per QOM subclass, in
 * its class (ISPClass.chip), never used directly by device code.
 */
typedef struct ISPChipInfo {
    const char *name;
    const char *desc;       /* DeviceClass description */
    uint16_t device_id;     /* PCI device ID, also BIU ID_HI */
    uint16_t subsystem_id;
    uint16_t conf0;         /* BIU CONF0 hardware revision */
    uint8_t pci_revision;
    int nbus;               /* SCSI buses, at most ISP_MAX_BUSES */
    int nvram_words;        /* serial NVRAM size, at most ISP_NVRAM_WORDS */
    int nvram_addr_bits;
    uint8_t min_period;     /* fastest sync period factor it negotiates */
    uint8_t max_offset;     /* largest sync offset */
    /* Model choice: the built-in ROM firmware's version (ABOUT_FIRMWARE). */
    uint8_t rom_fw[3];
} ISPChipInfo;

static const ISPChipInfo isp_chip_1040b = {
    .name = "ISP1040B",
    .desc = "QLogic ISP1040B PCI SCSI host adapter",
    .device_id = 0x1020,
    .subsystem_id = 0x0001,
    .conf0 = 5,             /* 1040B: stays clear of the 1040A FIFO quirk */
    .pci_revision = 0x05,
    .nbus = 1,
    .nvram_words = 64,      /* 93C46: 64 x 16 bits */
    .nvram_addr_bits = 6,
    .min_period = 12,       /* Fast-20 wide */
    .max_offset = 12,
    .rom_fw = { 5, 57, 1 },
};

struct ISPClass {
    PCIDeviceClass parent_class;
    const ISPChipInfo *chip;
};

typedef enum {
    ISP_RISC_ROM,           /* boot ROM monitor: only ROM mailbox commands */
    ISP_RISC_FW,            /* operational firmware running */
} ISPRiscState;

typedef enum {
    NV_IDLE,
    NV_COMMAND,
    NV_READING,
} ISPNvState;

typedef struct ISPTargetParams {
    uint16_t flags;         /* SET_TARGET_PARAMETERS mb2 */
    uint16_t sync;          /* offset << 8 | period */
    uint16_t queue_depth[ISP_MAX_LUNS];
    uint16_t throttle[ISP_MAX_LUNS];
} ISPTargetParams;

/* What the last negotiation with a target settled on. */
typedef struct ISPNegState {
    bool pending;           /* the next command negotiates */
    bool wide;
    uint16_t sync;          /* offset << 8 | period, 0 = async */
} ISPNegState;

typedef struct ISPBus {
    SCSIBus bus;
    uint8_t initiator_id;
    uint16_t selection_timeout;
    uint16_t retry_count;
    uint16_t retry_delay;
    uint16_t async_setup;
    uint16_t active_negation;
    uint16_t tag_age;
    ISPTargetParams tgt[ISP_MAX_TARGETS];
} ISPBus;

typedef struct ISPState ISPState;

typedef struct ISPRequest {
    ISPState *s;
    SCSIRequest *sreq;
    QEMUSGList qsg;
    uint64_t sg_extra;      /* bytes of segments beyond the CDB's length */
    bool bounce;            /* too many segments for one I/O vector */
    int cur_seg;            /* bounce copy position: segment ... */
    uint64_t cur_off;       /* ... and offset in it */
    uint32_t handle;
    uint8_t bus, target, lun;
    uint16_t rflags;
    /* completion */
    uint16_t scsi_status;
    uint16_t comp_status;
    uint16_t state_flags;
    uint16_t status_flags;
    uint32_t residual;
    uint8_t sense_len;
    uint8_t sense[ISP_SENSE_LEN];
    uint8_t entry_status;
    uint8_t entry_type;     /* type of the request entry, for error replies */
    uint8_t sys_def;        /* byte 2 of the request, echoed */
    /* set before scsi_req_cancel(): how the cancellation is reported */
    uint16_t cancel_comp;
    uint16_t cancel_flags;
    bool silent;            /* chip reset: nothing is posted */
    bool cancelling;
    bool swallowed;         /* fault: accepted, never sent to the device */
    uint8_t rsense_after;   /* fault sense-bytes data: sense length + 1 */
    bool cancel_counted;    /* asynchronous cancel not yet landed */
    bool by_mbox;           /* cancelled by a mailbox command */
    uint16_t xfer_error;    /* bounce copy failed: end with this status */
    bool held;              /* waits for a marker (also swallowed) */
    uint16_t neg_comp;      /* negotiation failed: ends a good command */
    uint16_t timeout;       /* command entry's timeout, seconds; 0: none */
    int64_t deadline;       /* QEMU_CLOCK_VIRTUAL ns; 0: no timeout armed */
    /* migration (see vmstate_isp) */
    bool mig_await;         /* loaded: its SCSIRequest comes with the disk */
    bool mig_stray;         /* a loaded SCSIRequest no request claimed */
    bool mig_remake;        /* held: its SCSIRequest is made again to run */
    bool mig_ua;            /* ... as one that reports this unit attention */
    SCSISense mig_sense;
    uint8_t mig_cdb_len;
    uint8_t mig_cdb[16];
    QTAILQ_ENTRY(ISPRequest) next;
} ISPRequest;

struct ISPState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    MemoryRegion io;
    QEMUBH *bh;
    QEMUTimer *rsp_timer;
    const ISPChipInfo *chip;
    ISPBus bus[ISP_MAX_BUSES];

    /* BIU / DMA / RISC registers */
    uint16_t conf1;
    uint16_t icr;
    uint16_t sema;
    bool risc_int;          /* ISR bit 2 latch */
    bool irq_level;
    uint16_t dma_regs[(R_DMA_LAST - R_DMA_FIRST + 2) / 2];
    uint16_t risc_regs[(R_HCCR - R_RISC_FIRST) / 2];
    ISPRiscState risc;
    bool risc_paused;
    bool doorbell;          /* HCCR bit 7: mailbox command not yet taken */
    bool mbox_done_recheck; /* a mailbox completion is being acknowledged */

    uint16_t mbox_in[ISP_NMBOX];    /* host -> RISC latches */
    uint16_t mbox_out[ISP_NMBOX];   /* RISC -> host latches */

    /* async events waiting for the outgoing mailboxes */
    uint16_t async_q[ISP_ASYNC_QLEN][ISP_NMBOX];
    unsigned async_head, async_count;

    /* RISC RAM and firmware */
    uint16_t *ram;
    bool ram_written;
    uint8_t fw_major, fw_minor, fw_micro;
    uint16_t fw_features;
    uint16_t clock_rate;
    uint16_t system_param;
    uint16_t pci_control[2];
    uint16_t overrun_recovery;

    /* NVRAM (93C46 bit-banged through BIU 0x0e) */
    uint16_t nvram[ISP_NVRAM_WORDS];
    uint16_t nv_reg;
    ISPNvState nv_state;
    uint32_t nv_shift;
    int nv_bits;
    uint16_t nv_word;
    int nv_outbit;
    bool nv_do;

    /* request / response queues */
    bool queues_ok;
    bool req_ok, rsp_ok;
    bool req_halted;        /* request-queue transfer error: wait for init */
    uint64_t req_base, rsp_base;
    uint16_t req_len, rsp_len;
    uint16_t req_in, req_out;       /* in: host (mb4 write) */
    uint16_t rsp_in, rsp_out;       /* out: host (mb5 write) */

    QTAILQ_HEAD(, ISPRequest) active;
    QTAILQ_HEAD(, ISPRequest) done;
    unsigned nactive;

    /*
     * Cancellation is asynchronous (see isp_cancel_landed): what waits for
     * it.  A chip reset is not done, a mailbox command not answered, and a
     * target or bus reset not applied to the devices until every cancel
     * has landed; so no request of before the reset moves data after it.
     */
    unsigned cancels_pending;
    bool resetting;         /* chip reset waiting for cancels */
    bool icr_resetting;     /* ... started by an ICR soft reset */
    bool in_mbox;           /* inside isp_mbox_command() */
    bool mbox_deferred;     /* its answer is in mbox_def */
    uint16_t mbox_def[ISP_NMBOX];
    uint32_t mbox_def_mask;
    int def_reset_bus;      /* device reset to apply, bus or -1 ... */
    int def_reset_target;   /* ... and target (-1: all) */
    bool syserr_pending;    /* system error posted once cancels land */
    bool in_bh;             /* the bottom half never runs nested */
    bool bh_rerun;
    /* realism (see isp_rsp_posted() and the functions after it) */
    QEMUTimer *rsp_pub_timer;       /* publishes response-in (mailbox 5) */
    uint32_t prop_rsp_in_delay;     /* x-rsp-in-delay, microseconds */
    bool prop_markers;              /* x-markers: resets want a marker */
    /* per bus and target, the LUNs whose next command waits for a marker */
    uint8_t need_marker[ISP_MAX_BUSES][ISP_MAX_TARGETS];
    bool prop_syserr_halt;          /* x-syserr-halt */
    bool sys_halted;                /* system error: RISC stopped */
    bool prop_cmd_timeout;          /* x-cmd-timeout */
    QEMUTimer *cmd_timer;           /* earliest command deadline */
    uint64_t stat_timeouts;         /* commands ended by their timeout */
    bool prop_throttle;             /* x-throttle */
    uint32_t prop_queue_full;       /* x-queue-full: per-target limit */
    uint64_t stat_queue_full;       /* TASK SET FULL answers */
    /* transfer negotiation (isp_negotiate) */
    bool prop_negotiate;            /* x-negotiate */
    uint32_t prop_offer_wide;       /* x-offer-wide: mask, bit bus*16+id */
    uint32_t prop_offer_sync;       /* x-offer-sync */
    uint32_t prop_reject_wide;      /* x-reject-wide */
    uint32_t prop_reject_sync;      /* x-reject-sync */
    uint8_t prop_revision;          /* revision: BIU CONF0 value */
    ISPNegState neg[ISP_MAX_BUSES][ISP_MAX_TARGETS];
    uint64_t stat_negotiations;

    /* properties */
    uint8_t prop_initiator_id;
    char *prop_nvram;

    /* counters, readable through QOM (x-stat-*) */
    uint64_t stat_cmds;
    uint64_t stat_cont_entries;
    uint64_t stat_markers;
    uint64_t stat_status_entries;
    uint64_t stat_fastposts;
    uint64_t stat_mbox_cmds;
    uint64_t stat_bad_entries;
    uint64_t stat_reg_reads;
    uint64_t stat_reg_writes;
    uint64_t stat_doorbells;        /* request-in (mailbox 4) writes taken */
    uint64_t stat_irqs;
    uint64_t stat_async_events;
    uint64_t stat_max_segs;
    uint64_t stat_segs;             /* data segments of all commands */
    uint64_t stat_faults;   /* fault injections that took effect */
    uint64_t stat_aborts;           /* ABORT commands that found their IOCB */
    uint64_t stat_device_resets;    /* ABORT DEVICE / ABORT TARGET done */
    uint64_t stat_bus_resets;       /* BUS RESET mailbox commands done */
    uint64_t stat_chip_resets;      /* soft resets through the ICR */

    /*
     * Fault injection, armed at run time through the "x-fault" property
     * (see isp_fault_set): counts of commands or mailbox commands still
     * to be hit.
     */
    uint32_t f_swallow;
    uint32_t f_fail_aborts;
    uint32_t f_fail_resets;
    bool f_irq_lost;        /* INTA# never reaches the interrupt controller */
    uint32_t f_syserr_mbox;     /* mailbox commands that halt the firmware */
    uint8_t f_syserr_mbox_op;   /* ... only those with this opcode */
    /* silent corruption, for tests of the tests (see isp_fault_parse) */
    uint32_t f_drop_write;  /* writes completed GOOD, nothing written */
    uint32_t f_wrong_lba;   /* reads/writes sent to LBA + f_lba_shift */
    uint32_t f_lba_shift;
    uint32_t f_flip_read;   /* chained reads get one byte flipped */
    uint32_t f_zero_resid;  /* underruns reported complete, residual 0 */
    uint32_t f_reject_marker;   /* markers handed back with error flags */
    int f_seltimeout;       /* target that does not answer, or -1 */
    uint32_t f_status_count;
    uint8_t f_status;
    uint32_t f_sense_count;
    uint8_t f_sense[3];     /* key, ASC, ASCQ */
    uint32_t f_rsense_count;        /* sense-bytes: commands still to hit */
    int f_rsense_op;                /* only this opcode, or -1: any */
    uint32_t f_rsense_len;          /* as the target returns it (<= 96) */
    bool f_rsense_data;             /* the data moves first (RECOVERED) */
    uint8_t f_rsense[ISP_RSENSE_MAX];
    uint32_t f_underrun_count;
    uint32_t f_underrun;
    uint32_t f_short_count;     /* reads that stop f_short bytes short */
    uint32_t f_short;
    uint32_t f_resid_over_count; /* residual the segments + f_resid_over */
    uint32_t f_resid_over;
    uint32_t f_corrupt_count;
    char f_corrupt;         /* 'h'andle, 't'ype, 'c'ount */

    /* migration and savevm (see vmstate_isp) */
    VMChangeStateEntry *vm_change;
    bool mig_wait;          /* state loaded: nothing runs until the VM does */
    uint32_t mig_ram_words; /* ISP_RAM_WORDS: the length of ram */
    uint32_t mig_risc;      /* risc, nv_state, f_corrupt as sent */
    uint32_t mig_nv_state;
    uint8_t mig_corrupt;
    ISPRequest **mig_reqs;  /* while loading: requests by stream position */
    uint32_t mig_nreqs;
};

static void isp_schedule(ISPState *s)
{
    qemu_bh_schedule(s->bh);
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

static void isp_update_irq(ISPState *s)
{
    bool level = s->risc_int && (s->icr & ICR_ENABLE_ALL) &&
                 (s->icr & ICR_ENABLE_RISC);

    if (level && !s->irq_level) {
        s->stat_irqs++;
    }
    if (level != s->irq_level) {
        trace_isp1040_irq(level);
    }
    s->irq_level = level;
    /* fault: a pin wired (or routed by firmware) to nowhere */
    pci_set_irq(PCI_DEVICE(s), level && !s->f_irq_lost);
}

static void isp_raise_risc_int(ISPState *s)
{
    s->risc_int = true;
    isp_update_irq(s);
}

/*
 * The outgoing mailboxes may be written when the host has released the
 * semaphore and acknowledged the previous RISC interrupt.  Waiting for both
 * keeps an event from being posted between the host's two acknowledging
 * writes, where the second one would clear its interrupt.
 */
static bool isp_mbox_out_free(ISPState *s)
{
    return !(s->sema & SEMA_LOCK) && !s->risc_int;
}

static void isp_post_mbox_event(ISPState *s, const uint16_t *mb,
                                uint32_t mask)
{
    int i;

    for (i = 0; i < ISP_NMBOX; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }
        /* Once a queue is set up, mb4/mb5 always show its pointer. */
        if ((i == 4 && s->req_ok) || (i == 5 && s->rsp_ok)) {
            continue;
        }
        s->mbox_out[i] = mb[i];
    }
    s->sema |= SEMA_LOCK;
    isp_raise_risc_int(s);
}

static void isp_queue_async(ISPState *s, uint16_t code, uint16_t mb1,
                            uint16_t mb2, uint16_t mb3, uint16_t mb6)
{
    uint16_t *ev;

    if (s->async_count == ISP_ASYNC_QLEN) {
        /* Model choice: the oldest event is dropped. */
        trace_isp1040_async_overflow(s->async_q[s->async_head][0]);
        s->async_head = (s->async_head + 1) % ISP_ASYNC_QLEN;
        s->async_count--;
    }
    ev = s->async_q[(s->async_head + s->async_count) % ISP_ASYNC_QLEN];
    memset(ev, 0, sizeof(s->async_q[0]));
    ev[0] = code;
    ev[1] = mb1;
    ev[2] = mb2;
    ev[3] = mb3;
    ev[6] = mb6;
    s->async_count++;
    trace_isp1040_async(code, mb1, mb2, mb3);
    isp_schedule(s);
}

/* ------------------------------------------------------------------ */
/* Reset                                                               */
/* ------------------------------------------------------------------ */

static void isp_request_free(ISPRequest *r)
{
    qemu_sglist_destroy(&r->qsg);
    g_free(r);
}

static void isp_cancel_done(ISPRequest *r);
static void isp_rom_signature(ISPState *s);

/*
 * isp_cancel_done() moves @r off the active list.  An asynchronous cancel
 * is counted until it lands (isp_cancel_landed): the block layer may still
 * move the request's data until then.
 */
static void isp_cancel_one(ISPRequest *r, bool async)
{
    ISPState *s = r->s;

    r->by_mbox = s->in_mbox;
    if (r->mig_await) {
        /* loaded, and its SCSIRequest not yet joined (isp_vm_change) */
        r->mig_await = false;
        r->swallowed = true;
    }
    if (r->swallowed) {
        /* never reached the device: nothing to wait for */
        isp_cancel_done(r);
    } else if (async) {
        r->cancel_counted = true;
        s->cancels_pending++;
        scsi_req_cancel_async(r->sreq, NULL);
    } else {
        scsi_req_cancel(r->sreq);
    }
}

static void isp_syserr_post(ISPState *s)
{
    s->syserr_pending = false;
    isp_queue_async(s, MBA_SYSTEM_ERR, 0xdead, 0xbeef, 0x0bad, 0);
}

/* The chip reset is visible as done: the boot ROM's signature. */
static void isp_reset_done(ISPState *s)
{
    s->resetting = false;
    s->icr_resetting = false;
    isp_rom_signature(s);
    trace_isp1040_reset_done();
}

/* An asynchronous cancel landed: its request moves no more data. */
static void isp_cancel_landed(ISPState *s)
{
    assert(s->cancels_pending);
    if (--s->cancels_pending) {
        return;
    }
    if (s->resetting) {
        isp_reset_done(s);
    }
    if (s->syserr_pending) {
        isp_syserr_post(s);
    }
    isp_schedule(s);
}

/*
 * Cancel the matching active requests.  @async when called from a register
 * write: then nothing waits for I/O inside the MMIO handler, and a request
 * leaves the active list whenever its cancellation completes.
 */
static void isp_cancel_all(ISPState *s, bool silent, bool async, uint16_t comp,
                           uint16_t flags, int bus, int target, int lun)
{
    ISPRequest *r;

    /*
     * A synchronous cancel waits for the request's I/O, and other requests
     * may complete meanwhile: rescan from the head after each cancellation.
     * Each request is cancelled once, so this ends.
     */
again:
    QTAILQ_FOREACH(r, &s->active, next) {
        if (r->cancelling ||
            (bus >= 0 && r->bus != bus) ||
            (target >= 0 && r->target != target) ||
            (lun >= 0 && r->lun != lun)) {
            continue;
        }
        r->cancelling = true;
        r->silent = silent;
        r->cancel_comp = comp;
        r->cancel_flags = flags;
        isp_cancel_one(r, async);
        goto again;
    }
}

static void isp_rom_signature(ISPState *s)
{
    memset(s->mbox_out, 0, sizeof(s->mbox_out));
    s->mbox_out[1] = 0x4953;    /* "IS" */
    s->mbox_out[2] = 0x5020;    /* "P " */
    s->mbox_out[3] = 0x2020;    /* "  " */
    s->mbox_out[4] = 0x0001;
}

/*
 * A reset's cancels have not all landed: the reset is not done until they
 * have (isp_cancel_landed), and no mailbox command runs meanwhile.
 */
static void isp_reset_wait(ISPState *s)
{
    ISPRequest *r;

    /* cancels still landing (an ABORT's, say) post nothing after it */
    QTAILQ_FOREACH(r, &s->active, next) {
        r->silent = true;
    }
    s->mbox_deferred = false;
    s->syserr_pending = false;
    s->def_reset_bus = -1;
    s->resetting = s->cancels_pending > 0;
}

/* RISC reset: firmware state is lost, RISC RAM is kept. */
/*
 * Transfer negotiation (x-negotiate, default on).  After a reset a target
 * runs async and narrow; the first command after a reset or after
 * SET_TARGET_PARAMETERS negotiates (WDTR, then SDTR) the lesser of the
 * host's request (flags 0x2000 wide, 0x1000 sync, mb3 offset << 8 |
 * period), the chip's limit (ISPChipInfo min_period and max_offset; the
 * 1040B: Fast-20 wide, period factor 12, offset 12)
 * and what the target offers: x-offer-wide / x-offer-sync, masks of
 * targets (bit bus * 16 + id), default as QEMU's scsi-hd INQUIRY byte 7
 * says (Sync 0x10 set, WBus16 0x20 clear): sync, not wide.  A target in
 * x-reject-wide / x-reject-sync answers the message with MESSAGE REJECT:
 * that setting stays narrow / async and the command, if it otherwise ends
 * well, ends with completion status 0x1F / 0x20 (FreeBSD's isp.c takes
 * these as "no error, renegotiate without it").  The negotiating command
 * carries status flag 0x0080, and 0x0002 while the target runs sync.
 */
static bool isp_rev_ultra(ISPState *s)
{
    return s->prop_revision >= ISP_REV_1040B;
}

static bool isp_rev_has_mbox(ISPState *s, int n)
{
    return n < 6 || (s->prop_revision != ISP_REV_1020 &&
                     s->prop_revision != ISP_REV_1040);
}

/* A reset of @busno (-1: all) / @target (-1: all): async narrow again. */
static void isp_neg_reset(ISPState *s, int busno, int target)
{
    int b, t;

    for (b = 0; b < ISP_MAX_BUSES; b++) {
        for (t = 0; t < ISP_MAX_TARGETS; t++) {
            if ((busno < 0 || b == busno) && (target < 0 || t == target)) {
                s->neg[b][t].pending = true;
                s->neg[b][t].wide = false;
                s->neg[b][t].sync = 0;
            }
        }
    }
}

static void isp_negotiate(ISPState *s, ISPRequest *r)
{
    ISPNegState *n = &s->neg[r->bus][r->target];
    ISPTargetParams *tp = &s->bus[r->bus].tgt[r->target];
    uint32_t bit = 1u << (r->bus * ISP_MAX_TARGETS + r->target);
    bool want_wide, want_sync;
    unsigned period, offset;

    if (!s->prop_negotiate) {
        return;
    }
    if (n->pending) {
        n->pending = false;
        want_wide = (tp->flags & ISP_TP_WIDE) &&
                    !(tp->flags & ISP_TP_FORCE_NARROW);
        want_sync = (tp->flags & ISP_TP_SYNC) &&
                    !(tp->flags & ISP_TP_FORCE_ASYNC) && (tp->sync >> 8);
        n->wide = false;
        n->sync = 0;
        if (want_wide && (s->prop_reject_wide & bit)) {
            r->neg_comp = CS_WIDE_FAILED;
        } else if (want_wide) {
            n->wide = !!(s->prop_offer_wide & bit);
        }
        if (want_sync && (s->prop_reject_sync & bit)) {
            r->neg_comp = r->neg_comp ? r->neg_comp : CS_SYNC_FAILED;
        } else if (want_sync && (s->prop_offer_sync & bit)) {
            period = MAX(tp->sync & 0xff, isp_rev_ultra(s) ?
                         s->chip->min_period : ISP_FAST10_PERIOD);
            offset = MIN(tp->sync >> 8, s->chip->max_offset);
            n->sync = offset << 8 | period;
        }
        if (want_wide || want_sync) {
            r->status_flags |= ISP_SF_NEGOTIATION;
            s->stat_negotiations++;
            trace_isp1040_negotiate(r->handle, r->bus, r->target, tp->flags,
                                    tp->sync, n->wide, n->sync, r->neg_comp);
        }
    }
    if (n->sync) {
        r->status_flags |= ISP_SF_SYNC;
    }
}

static void isp_risc_reset(ISPState *s, bool async)
{
    ISPRequest *r, *tmp;
    int b, t, l;

    isp_cancel_all(s, true, async, CS_RESET, 0, -1, -1, -1);
    isp_reset_wait(s);
    QTAILQ_FOREACH_SAFE(r, &s->done, next, tmp) {
        QTAILQ_REMOVE(&s->done, r, next);
        isp_request_free(r);
    }
    s->risc = ISP_RISC_ROM;
    s->doorbell = false;
    s->mbox_done_recheck = false;
    s->sema = 0;
    s->risc_int = false;
    s->async_head = s->async_count = 0;
    s->queues_ok = s->req_ok = s->rsp_ok = false;
    s->req_halted = false;
    s->sys_halted = false;
    memset(s->need_marker, 0, sizeof(s->need_marker));
    s->req_base = s->rsp_base = 0;
    s->req_len = s->rsp_len = 0;
    s->req_in = s->req_out = s->rsp_in = s->rsp_out = 0;
    s->fw_features = 0;
    s->clock_rate = 0;
    s->system_param = 0;
    s->overrun_recovery = 0;
    s->pci_control[0] = s->pci_control[1] = 0;
    for (b = 0; b < ISP_MAX_BUSES; b++) {
        ISPBus *bus = &s->bus[b];

        bus->initiator_id = s->prop_initiator_id;
        bus->selection_timeout = 250;
        bus->retry_count = 0;
        bus->retry_delay = 0;
        bus->async_setup = 6;
        bus->active_negation = 0;
        bus->tag_age = 8;
        for (t = 0; t < ISP_MAX_TARGETS; t++) {
            bus->tgt[t].flags = 0;
            bus->tgt[t].sync = 0;
            for (l = 0; l < ISP_MAX_LUNS; l++) {
                bus->tgt[t].queue_depth[l] = 32;
                bus->tgt[t].throttle[l] = 16;
            }
        }
    }
    isp_neg_reset(s, -1, -1);
    isp_rom_signature(s);
    if (s->resetting) {
        s->mbox_out[0] = MBS_BUSY;
    }
    timer_del(s->rsp_timer);
    timer_del(s->rsp_pub_timer);
    timer_del(s->cmd_timer);
    isp_update_irq(s);
}

static void isp_chip_reset(ISPState *s, bool async)
{
    trace_isp1040_chip_reset();
    isp_risc_reset(s, async);
    s->conf1 = 0;
    s->icr = 0;
    s->risc_paused = false;
    memset(s->dma_regs, 0, sizeof(s->dma_regs));
    memset(s->risc_regs, 0, sizeof(s->risc_regs));
    s->nv_reg = 0;
    s->nv_state = NV_IDLE;
    s->nv_do = false;
    isp_update_irq(s);
}

/* ------------------------------------------------------------------ */
/* NVRAM                                                               */
/* ------------------------------------------------------------------ */

/*
 * The 1040's NVRAM layout, over the chip's nvram_words with the checksum in
 * the last byte; a chip with another layout will want its own here.
 */
static void isp_nvram_init(ISPState *s)
{
    int nwords = s->chip->nvram_words;
    uint8_t *b = g_malloc0(ISP_NVRAM_WORDS * 2);    /* the layout fits */
    uint8_t sum = 0;
    int i, t;

    if (s->prop_nvram && !strcmp(s->prop_nvram, "blank")) {
        for (i = 0; i < nwords; i++) {
            s->nvram[i] = 0xffff;
        }
        g_free(b);
        return;
    }
    memcpy(b, "ISP ", 4);
    b[4] = 2;                                   /* version */
    b[5] = (s->prop_initiator_id & 0xf) << 4 |  /* initiator id */
           0x08 |                               /* host adapter enable */
           0x02;                                /* FIFO threshold 64 B */
    b[6] = 3;                                   /* bus reset delay, s */
    b[7] = 0;                                   /* retry count */
    b[8] = 1;                                   /* retry delay */
    b[9] = 6 | 0x10 | 0x20 | 0x40 | 0x80;       /* setup 6, negation, bursts */
    b[10] = 8;                                  /* tag age limit */
    b[11] = 0x01 | 0x02 | 0x08;                 /* termination, 60 MHz */
    stw_le_p(&b[12], 250);                      /* selection timeout, ms */
    stw_le_p(&b[14], 256);                      /* max queue depth */
    for (t = 0; t < ISP_MAX_TARGETS; t++) {
        uint8_t *p = &b[28 + 6 * t];

        p[0] = 0xfd;            /* all but stop-queue-on-check */
        p[1] = 16;              /* execution throttle */
        p[2] = 12;              /* sync period factor (Fast-20) */
        p[3] = 8 | 0x10;        /* offset 8, device enable */
    }
    for (i = 0; i < nwords * 2 - 1; i++) {
        sum += b[i];
    }
    b[nwords * 2 - 1] = -sum;
    if (s->prop_nvram && !strcmp(s->prop_nvram, "corrupt")) {
        b[nwords * 2 - 1] ^= 0x5a;              /* bad checksum */
    }
    for (i = 0; i < nwords; i++) {
        s->nvram[i] = lduw_le_p(&b[2 * i]);
    }
    g_free(b);
}

/* Microwire EEPROM: sample DI on the rising SK edge while CS is high. */
static void isp_nvram_write(ISPState *s, uint16_t val)
{
    bool rise = (val & NV_SK) && !(s->nv_reg & NV_SK);
    int abits = s->chip->nvram_addr_bits;

    s->nv_reg = val & (NV_SK | NV_CS | NV_DI);
    if (!(val & NV_CS)) {
        s->nv_state = NV_IDLE;
        s->nv_do = false;
        return;
    }
    if (!rise) {
        return;
    }
    switch (s->nv_state) {
    case NV_IDLE:
        if (val & NV_DI) {          /* start bit; leading zeros ignored */
            s->nv_state = NV_COMMAND;
            s->nv_shift = 0;
            s->nv_bits = 0;
        }
        break;
    case NV_COMMAND:
        s->nv_shift = (s->nv_shift << 1) | !!(val & NV_DI);
        if (++s->nv_bits == 2 + abits) {
            uint32_t op = s->nv_shift >> abits;
            uint32_t addr = s->nv_shift & ((1u << abits) - 1);

            if (op == 2) {          /* READ */
                s->nv_word = s->nvram[addr % s->chip->nvram_words];
                s->nv_outbit = 16;
                s->nv_state = NV_READING;
                s->nv_do = false;   /* dummy zero bit */
                trace_isp1040_nvram_read(addr, s->nv_word);
            } else {
                /* Model choice: write/erase are not modelled. */
                trace_isp1040_nvram_unsupported(op, addr);
                qemu_log_mask(LOG_UNIMP, "isp1040: NVRAM opcode %u (address "
                              "%u) not implemented\n", op, addr);
                s->nv_state = NV_IDLE;
            }
        }
        break;
    case NV_READING:
        if (s->nv_outbit > 0) {
            s->nv_outbit--;
            s->nv_do = (s->nv_word >> s->nv_outbit) & 1;
        } else {
            s->nv_do = false;
            s->nv_state = NV_IDLE;
        }
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Firmware in RISC RAM                                                */
/* ------------------------------------------------------------------ */

/* The image's word 3 is its length; all its words sum to zero. */
static bool isp_ram_checksum_ok(ISPState *s, uint16_t start)
{
    uint32_t len = s->ram[(uint16_t)(start + 3)];
    uint16_t sum = 0;
    uint32_t i;

    if (len < 4 || start + len > ISP_RAM_WORDS) {
        return false;
    }
    for (i = 0; i < len; i++) {
        sum += s->ram[start + i];
    }
    return sum == 0;
}

/* Firmware banners carry "Version MM.mm" in byte-swapped ASCII. */
static void isp_fw_identify(ISPState *s, uint16_t start)
{
    uint32_t len = s->ram[(uint16_t)(start + 3)];
    char text[256];
    uint32_t i, n = 0;
    const char *v;

    s->fw_major = s->fw_minor = s->fw_micro = 0;
    for (i = 4; i < len && n + 2 < sizeof(text); i++) {
        uint16_t w = s->ram[start + i];

        text[n++] = w >> 8;
        text[n++] = w & 0xff;
    }
    text[n] = 0;
    for (i = 0; i < n; i++) {
        if (!text[i]) {
            text[i] = ' ';
        }
    }
    v = strstr(text, "Version");
    if (v) {
        unsigned maj = 0, min = 0;

        if (sscanf(v, "Version %u.%u", &maj, &min) == 2) {
            s->fw_major = maj;
            s->fw_minor = min;
        }
    }
}

/*
 * Is [addr, addr + len) guest RAM?  The chip's DMA engine may only target
 * memory: a transfer aimed at device registers (our own BAR included) is
 * refused, so guest data can never turn into register writes.  The walk
 * advances by at least one byte per step; a step of zero ends it.
 */
static bool isp_dma_is_ram(ISPState *s, uint64_t addr, uint64_t len,
                           bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));

    if (len == 0 || addr + len < addr) {
        return false;
    }
    RCU_READ_LOCK_GUARD();
    while (len) {
        hwaddr xlat, l = len;
        MemoryRegion *mr = address_space_translate(as, addr, &xlat, &l,
                                                   is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!l || !memory_region_is_ram(mr) ||
            memory_region_is_ram_device(mr) ||
            (is_write && mr->readonly)) {
            return false;
        }
        addr += l;
        len -= l;
    }
    return true;
}

static uint64_t isp_mbox_addr(const uint16_t *mb, bool a64)
{
    uint64_t addr = (uint64_t)mb[2] << 16 | mb[3];

    if (a64) {
        addr |= (uint64_t)mb[7] << 32 | (uint64_t)mb[6] << 48;
    }
    return addr;
}

static uint16_t isp_mbc_load_dump(ISPState *s, const uint16_t *in, bool a64,
                                  bool load)
{
    PCIDevice *d = PCI_DEVICE(s);
    uint32_t risc = in[1];
    uint32_t count = in[4];
    uint64_t addr = isp_mbox_addr(in, a64);
    g_autofree uint16_t *buf = NULL;
    uint32_t i;

    if (count == 0 || risc + count > ISP_RAM_WORDS) {
        trace_isp1040_bad_mbox_param(in[0], risc, count);
        return MBS_PARAM_ERROR;
    }
    if (!isp_dma_is_ram(s, addr, count * 2, !load)) {
        trace_isp1040_dma_error(load ? "load_ram" : "dump_ram", addr,
                                count * 2);
        return MBS_HOST_IF_ERROR;
    }
    buf = g_new(uint16_t, count);
    if (load) {
        if (pci_dma_read(d, addr, buf, count * 2) != MEMTX_OK) {
            trace_isp1040_dma_error("load_ram", addr, count * 2);
            return MBS_HOST_IF_ERROR;
        }
        for (i = 0; i < count; i++) {
            s->ram[risc + i] = le16_to_cpu(buf[i]);
        }
        s->ram_written = true;
    } else {
        for (i = 0; i < count; i++) {
            buf[i] = cpu_to_le16(s->ram[risc + i]);
        }
        if (pci_dma_write(d, addr, buf, count * 2) != MEMTX_OK) {
            trace_isp1040_dma_error("dump_ram", addr, count * 2);
            return MBS_HOST_IF_ERROR;
        }
    }
    return MBS_COMPLETE;
}

/* ------------------------------------------------------------------ */
/* Queues                                                              */
/* ------------------------------------------------------------------ */

static bool isp_ring_valid(ISPState *s, uint64_t base, uint32_t len,
                           bool is_write)
{
    if (len < ISP_MIN_QUEUE_LEN || len > ISP_MAX_QUEUE_LEN) {
        return false;
    }
    return isp_dma_is_ram(s, base, (uint64_t)len * ISP_ENTRY_SIZE, is_write);
}

static uint16_t isp_mbc_init_queue(ISPState *s, const uint16_t *in,
                                   bool rsp, bool a64)
{
    uint16_t len = in[1];
    uint64_t base = isp_mbox_addr(in, a64);

    if (!isp_ring_valid(s, base, len, rsp)) {
        trace_isp1040_bad_queue(rsp, base, len);
        return MBS_PARAM_ERROR;
    }
    if (rsp) {
        if (in[5] >= len) {
            return MBS_PARAM_ERROR;
        }
        s->rsp_base = base;
        s->rsp_len = len;
        s->rsp_in = 0;
        s->rsp_out = in[5];
        s->rsp_ok = true;
        s->mbox_out[5] = s->rsp_in;
    } else {
        if (in[4] >= len) {
            return MBS_PARAM_ERROR;
        }
        s->req_base = base;
        s->req_len = len;
        s->req_out = 0;
        s->req_in = in[4];
        s->req_ok = true;
        s->req_halted = false;
        s->mbox_out[4] = s->req_out;
    }
    s->queues_ok = s->req_ok && s->rsp_ok;
    trace_isp1040_init_queue(rsp, base, len);
    return MBS_COMPLETE;
}

static bool isp_rsp_full(ISPState *s)
{
    return (s->rsp_in + 1) % s->rsp_len == s->rsp_out;
}

static bool isp_post_response(ISPState *s, const uint8_t *entry)
{
    uint64_t addr = s->rsp_base + (uint64_t)s->rsp_in * ISP_ENTRY_SIZE;

    if (pci_dma_write(PCI_DEVICE(s), addr, entry, ISP_ENTRY_SIZE) !=
        MEMTX_OK) {
        trace_isp1040_dma_error("response", addr, ISP_ENTRY_SIZE);
        qemu_log_mask(LOG_GUEST_ERROR, "isp1040: response queue entry at "
                      "0x%" PRIx64 " unwritable\n", addr);
        isp_queue_async(s, MBA_RSP_XFER_ERR, 0, 0, 0, 0);
        return false;
    }
    s->rsp_in = (s->rsp_in + 1) % s->rsp_len;
    if (!s->prop_rsp_in_delay) {
        s->mbox_out[5] = s->rsp_in;
    }
    s->stat_status_entries++;
    return true;
}

static void isp_build_status(ISPRequest *r, uint8_t *e)
{
    memset(e, 0, ISP_ENTRY_SIZE);
    e[0] = ET_STATUS;
    e[1] = 1;
    e[2] = r->sys_def;
    e[3] = r->entry_status;
    stl_le_p(&e[4], r->handle);
    stw_le_p(&e[8], r->scsi_status);
    stw_le_p(&e[10], r->comp_status);
    stw_le_p(&e[12], r->state_flags);
    stw_le_p(&e[14], r->status_flags);
    stw_le_p(&e[18], r->sense_len);
    stl_le_p(&e[20], r->residual);
    memcpy(&e[32], r->sense, r->sense_len);
}

static bool isp_fast_post_ok(ISPState *s, ISPRequest *r)
{
    return (s->fw_features & 1) && !r->entry_status &&
           r->comp_status == CS_COMPLETE && r->scsi_status == GOOD &&
           r->residual == 0;
}

/*
 * Response-in publication.  The RISC writes a status entry to host memory
 * first and updates outgoing mailbox 5 (response-in) afterwards, so a
 * driver that reads mailbox 5 may find valid entries beyond it, and must
 * not consume past it.  With x-rsp-in-delay (microseconds, default
 * ISP_RSP_IN_DELAY_US) the new index, and the interrupt that announces it,
 * follow the entries after that delay; entries posted meanwhile are
 * published together.  0 publishes the index with each entry.
 */
static void isp_rsp_posted(ISPState *s)
{
    if (!s->prop_rsp_in_delay) {
        isp_raise_risc_int(s);
        return;
    }
    if (!timer_pending(s->rsp_pub_timer)) {
        timer_mod(s->rsp_pub_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  (int64_t)s->prop_rsp_in_delay * SCALE_US);
    }
}

static void isp_rsp_publish(void *opaque)
{
    ISPState *s = opaque;

    if (!s->rsp_ok || s->mbox_out[5] == s->rsp_in || s->sys_halted) {
        return;
    }
    if (s->risc_paused) {
        /* the RISC publishes once it runs again */
        isp_rsp_posted(s);
        return;
    }
    trace_isp1040_rsp_publish(s->mbox_out[5], s->rsp_in);
    s->mbox_out[5] = s->rsp_in;
    isp_raise_risc_int(s);
}

/*
 * Post completed requests, oldest first: clean ones by fast posting when the
 * driver enabled it, all others as status entries.  Nothing is posted while
 * the previous RISC interrupt is unacknowledged (see isp_mbox_out_free).
 */
static void isp_flush_done(ISPState *s)
{
    ISPRequest *r;
    uint8_t e[ISP_ENTRY_SIZE];
    bool posted = false;

    if (s->sys_halted) {
        return;
    }
    while ((r = QTAILQ_FIRST(&s->done)) != NULL) {
        if (isp_fast_post_ok(s, r)) {
            uint16_t mb[ISP_NMBOX] = { MBA_FAST_POST, r->handle & 0xffff,
                                       r->handle >> 16 };

            if (posted || !isp_mbox_out_free(s)) {
                break;
            }
            if (s->f_corrupt_count && s->f_corrupt == 'h') {
                /* fault: a fast-posted handle the driver never issued */
                s->f_corrupt_count--;
                s->stat_faults++;
                mb[2] ^= 0x5a5a;
                trace_isp1040_fault("corrupt", r->handle);
            }
            QTAILQ_REMOVE(&s->done, r, next);
            trace_isp1040_fast_post(r->handle);
            isp_request_free(r);
            isp_post_mbox_event(s, mb, 0x07);
            s->stat_fastposts++;
            return;             /* one mailbox event per interrupt */
        }
        if (!s->rsp_ok || isp_rsp_full(s) || (s->risc_int && !posted)) {
            break;
        }
        isp_build_status(r, e);
        if (s->f_corrupt_count) {
            /* fault: an untrusted device garbles what it reports */
            s->f_corrupt_count--;
            s->stat_faults++;
            switch (s->f_corrupt) {
            case 'h':
                stl_le_p(&e[4], r->handle ^ 0x5a5a0000);
                break;
            case 't':
                e[0] = 0x33;
                break;
            case 'c':
                e[1] = 0;
                break;
            }
            trace_isp1040_fault("corrupt", r->handle);
        }
        trace_isp1040_status(r->handle, r->comp_status, r->scsi_status,
                             r->residual, r->entry_status);
        QTAILQ_REMOVE(&s->done, r, next);
        isp_request_free(r);
        /* on a DMA failure the entry is lost, as it would be on the chip */
        posted |= isp_post_response(s, e);
    }
    if (posted) {
        isp_rsp_posted(s);
    }
}

static void isp_complete_request(ISPState *s, ISPRequest *r)
{
    if (r->sreq || r->swallowed) {
        QTAILQ_REMOVE(&s->active, r, next);
        s->nactive--;
        if (r->sreq) {
            scsi_req_unref(r->sreq);
            r->sreq = NULL;
        }
        r->swallowed = false;
    }
    if (r->cancel_counted) {
        r->cancel_counted = false;
        isp_cancel_landed(s);
    }
    if (r->silent) {
        isp_request_free(r);
        return;
    }
    QTAILQ_INSERT_TAIL(&s->done, r, next);
    isp_schedule(s);
}

/* A request that never reached a device (bad entry, no target, ...). */
static void isp_reject(ISPState *s, const uint8_t *e, uint8_t entry_status,
                       uint16_t comp, uint16_t state)
{
    ISPRequest *r = g_new0(ISPRequest, 1);

    r->s = s;
    r->handle = ldl_le_p(&e[4]);
    r->entry_type = e[0];
    r->sys_def = e[2];
    r->entry_status = entry_status;
    r->comp_status = comp;
    r->state_flags = state;
    qemu_sglist_init(&r->qsg, DEVICE(s), 1, pci_get_address_space(
                         PCI_DEVICE(s)));
    if (entry_status) {
        s->stat_bad_entries++;
        trace_isp1040_bad_entry(e[0], e[1], entry_status, r->handle);
        qemu_log_mask(LOG_GUEST_ERROR, "isp1040: bad request entry type 0x%x "
                      "count %u handle 0x%x: entry status 0x%x\n", e[0], e[1],
                      r->handle, entry_status);
    }
    QTAILQ_INSERT_TAIL(&s->done, r, next);
}

static ISPBus *isp_decode_target(ISPState *s, uint8_t tbyte, int *bus,
                                 int *target)
{
    int b = 0, t = tbyte;

    if (s->chip->nbus > 1) {
        b = tbyte >> 7;
        t = tbyte & 0x7f;
    }
    if (t >= ISP_MAX_TARGETS) {
        return NULL;
    }
    *bus = b;
    *target = t;
    return &s->bus[b];
}

/* Append one data segment; false if it is not valid guest memory. */
static bool isp_add_segment(ISPState *s, ISPRequest *r, uint64_t addr,
                            uint32_t len, bool is_write)
{
    QEMUSGList *qsg = &r->qsg;

    if (len == 0) {
        return true;
    }
    if (!isp_dma_is_ram(s, addr, len, is_write)) {
        trace_isp1040_dma_error("segment", addr, len);
        qemu_log_mask(LOG_GUEST_ERROR, "isp1040: handle 0x%x: segment 0x%"
                      PRIx64 " length %u is not guest memory\n", r->handle,
                      addr, len);
        return false;
    }
    /* physically adjacent segments become one */
    if (qsg->nsg &&
        qsg->sg[qsg->nsg - 1].base + qsg->sg[qsg->nsg - 1].len == addr) {
        qsg->sg[qsg->nsg - 1].len += len;
        qsg->size += len;
        return true;
    }
    qemu_sglist_add(qsg, addr, len);
    return true;
}

/* Trim the list so that it describes exactly @len bytes. */
static void isp_sglist_truncate(QEMUSGList *qsg, uint64_t len)
{
    uint64_t total = 0;
    int i;

    for (i = 0; i < qsg->nsg; i++) {
        if (total + qsg->sg[i].len >= len) {
            qsg->sg[i].len = len - total;
            qsg->nsg = qsg->sg[i].len ? i + 1 : i;
            break;
        }
        total += qsg->sg[i].len;
    }
    qsg->size = len;
}

/*
 * Fault: send a READ/WRITE(10/12/16) to LBA + f_lba_shift instead, by
 * replacing the not yet enqueued request with one for the shifted CDB.
 */
static void isp_fault_wrong_lba(ISPState *s, ISPRequest *r)
{
    SCSIRequest *old = r->sreq;
    uint8_t cdb[ISP_MAX_EXT_CDB];
    int len = old->cmd.len;
    uint64_t lba = old->cmd.lba + s->f_lba_shift;

    switch (old->cmd.buf[0]) {
    case READ_10:
    case WRITE_10:
    case READ_12:
    case WRITE_12:
        stl_be_p(&cdb[2], lba);
        break;
    case READ_16:
    case WRITE_16:
        stq_be_p(&cdb[2], lba);
        break;
    default:
        return;
    }
    if (len <= 0 || len > sizeof(cdb)) {
        return;
    }
    memcpy(cdb, old->cmd.buf, 2);
    memcpy(&cdb[len == 16 ? 10 : 6], &old->cmd.buf[len == 16 ? 10 : 6],
           len - (len == 16 ? 10 : 6));
    s->f_wrong_lba--;
    s->stat_faults++;
    trace_isp1040_fault("wrong-lba", r->handle);
    r->sreq = scsi_req_new(old->dev, r->handle, r->lun, cdb, len, r);
    scsi_req_unref(old);
}

/*
 * Fault sense-bytes: CHECK CONDITION with the sense data a target would
 * return, any format and length.  The firmware's automatic REQUEST SENSE
 * fetches at most the 32 bytes a status entry carries (it never posts a
 * status continuation to a 1040 driver): a longer sense is cut to 32 and
 * its length reported as 32.  Nothing moved: the whole buffer is residual;
 * unless armed with "data" (a RECOVERED ERROR, a deferred error): then the
 * command runs, and if the target said GOOD its status becomes CHECK
 * CONDITION with the sense, the data moved.
 */
static bool isp_fault_rsense(ISPState *s, ISPRequest *r)
{
    uint32_t len = MIN(s->f_rsense_len, sizeof(r->sense));

    if (!s->f_rsense_count ||
        (s->f_rsense_op >= 0 && r->sreq->cmd.buf[0] != s->f_rsense_op)) {
        return false;
    }
    s->f_rsense_count--;
    s->stat_faults++;
    trace_isp1040_fault("sense-bytes", r->handle);
    if (s->f_rsense_data) {
        /* the command runs; isp_command_complete() adds the sense */
        memset(r->sense, 0, sizeof(r->sense));
        memcpy(r->sense, s->f_rsense, len);
        r->rsense_after = len + 1;
        return false;
    }
    r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB |
                     SS_GOT_STATUS | SS_XFER_COMPLETE;
    r->scsi_status = CHECK_CONDITION;
    memset(r->sense, 0, sizeof(r->sense));
    if (!(r->rflags & RF_NO_AUTOSENSE)) {
        r->sense_len = len;
        memcpy(r->sense, s->f_rsense, len);
        r->state_flags |= SS_GOT_SENSE;
    }
    r->residual = MIN(r->qsg.size + r->sg_extra, UINT32_MAX);
    r->comp_status = r->residual ? CS_DATA_UNDERRUN : CS_COMPLETE;
    scsi_req_unref(r->sreq);
    r->sreq = NULL;
    QTAILQ_INSERT_TAIL(&s->done, r, next);
    return true;
}

/*
 * Injected faults that replace a command's execution.  Returns true when
 * the request was consumed (completed or swallowed).
 */
static bool isp_fault_command(ISPState *s, ISPRequest *r)
{
    if (s->f_swallow) {
        s->f_swallow--;
        s->stat_faults++;
        r->swallowed = true;
        /*
         * The device never sees it: drop the SCSI request now, so that
         * nothing refers to a device that may be unplugged meanwhile.
         */
        scsi_req_unref(r->sreq);
        r->sreq = NULL;
        QTAILQ_INSERT_TAIL(&s->active, r, next);
        s->nactive++;
        trace_isp1040_fault("swallow", r->handle);
        return true;
    }
    if (isp_fault_rsense(s, r)) {
        return true;
    }
    if (s->f_status_count || s->f_sense_count) {
        r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB |
                         SS_GOT_STATUS | SS_XFER_COMPLETE;
        r->comp_status = CS_COMPLETE;
        if (s->f_status_count) {
            s->f_status_count--;
            r->scsi_status = s->f_status;
        } else {
            s->f_sense_count--;
            r->scsi_status = CHECK_CONDITION;
            memset(r->sense, 0, sizeof(r->sense));
            r->sense[0] = 0x70;
            r->sense[2] = s->f_sense[0];
            r->sense[7] = 10;
            r->sense[12] = s->f_sense[1];
            r->sense[13] = s->f_sense[2];
            r->sense_len = 18;
            r->state_flags |= SS_GOT_SENSE;
        }
        /* nothing moved: the whole buffer is residual */
        r->residual = MIN(r->qsg.size + r->sg_extra, UINT32_MAX);
        if (r->residual) {
            r->comp_status = CS_DATA_UNDERRUN;
        }
        s->stat_faults++;
        trace_isp1040_fault("status", r->handle);
        scsi_req_unref(r->sreq);
        r->sreq = NULL;
        QTAILQ_INSERT_TAIL(&s->done, r, next);
        return true;
    }
    if (s->f_drop_write && r->sreq->cmd.mode == SCSI_XFER_TO_DEV &&
        r->sreq->cmd.xfer > 0) {
        /* fault: the write is acknowledged, its data never written */
        s->f_drop_write--;
        s->stat_faults++;
        r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB |
                         SS_GOT_STATUS | SS_XFER_COMPLETE | SS_XFERRED_DATA;
        r->scsi_status = GOOD;
        r->residual = MIN(r->sg_extra, UINT32_MAX);
        r->comp_status = r->residual ? CS_DATA_UNDERRUN : CS_COMPLETE;
        trace_isp1040_fault("drop-write", r->handle);
        scsi_req_unref(r->sreq);
        r->sreq = NULL;
        QTAILQ_INSERT_TAIL(&s->done, r, next);
        return true;
    }
    if (s->f_wrong_lba) {
        isp_fault_wrong_lba(s, r);
    }
    return false;
}

/*
 * Command timeouts (x-cmd-timeout, default on).  A command still running
 * when its entry's timeout (bytes 16-17, seconds; 0: none) has passed
 * ends with completion status 0x06 and status flags timeout and bus reset:
 * the firmware resets the SCSI bus to get rid of it, so every other
 * command on that bus ends with 0x04, the devices report a unit attention,
 * the host gets async 0x8006 (mb6 = bus) and the bus wants a sync-all
 * marker (reference 9.1, 9.3; FreeBSD sends that marker on 0x8006).
 * Model choice: the firmware counts whole seconds on a one-second tick, so
 * a command times out between T and T + 1 s after it started; the model
 * takes T + 1 s, which leaves a driver's own timer of T seconds (Linux
 * rounds it up to a whole second) the first go.  The clock starts when the
 * command starts, not while it is held for a marker.
 */
static void isp_arm_timeout(ISPState *s, ISPRequest *r)
{
    if (!s->prop_cmd_timeout || !r->timeout) {
        return;
    }
    r->deadline = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  ((int64_t)r->timeout + 1) * NANOSECONDS_PER_SECOND;
    timer_mod_anticipate(s->cmd_timer, r->deadline);
}

static void isp_need_marker(ISPState *s, int busno, int target, int lun);
static void isp_reset_devices(ISPState *s, int busno, int target);

static void isp_timeout_reset(ISPState *s, ISPRequest *r)
{
    int busno = r->bus;

    s->stat_timeouts++;
    trace_isp1040_cmd_timeout(r->handle, busno, r->target, r->lun,
                              r->timeout);
    r->cancelling = true;
    r->cancel_comp = CS_TIMEOUT;
    r->cancel_flags = SF_TIMEOUT | SF_BUS_RESET;
    isp_cancel_one(r, true);
    isp_cancel_all(s, false, true, CS_RESET, SF_BUS_RESET, busno, -1, -1);
    isp_neg_reset(s, busno, -1);
    /*
     * Marked before the devices are reset: that waits for their I/O, and
     * the bottom half may fetch commands meanwhile; they wait for the
     * marker the reset calls for.
     */
    isp_need_marker(s, busno, -1, -1);
    isp_reset_devices(s, busno, -1);
    isp_queue_async(s, MBA_TIMEOUT_RESET, 0, 0, 0, busno);
}

static void isp_cmd_timer(void *opaque)
{
    ISPState *s = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t next;
    ISPRequest *r, *late;

    if (s->sys_halted) {
        return;                 /* a halted RISC times nothing out */
    }
    if (s->risc_paused) {
        timer_mod(s->cmd_timer, now + NANOSECONDS_PER_SECOND);
        return;
    }
    /* each pass cancels at least one request: this ends */
    do {
        late = NULL;
        next = INT64_MAX;
        QTAILQ_FOREACH(r, &s->active, next) {
            if (r->held || r->cancelling || !r->deadline) {
                continue;
            }
            if (r->deadline <= now) {
                late = r;
                break;
            }
            next = MIN(next, r->deadline);
        }
        if (late) {
            isp_timeout_reset(s, late);
        }
    } while (late);
    if (next != INT64_MAX) {
        timer_mod(s->cmd_timer, next);
    }
}

/*
 * Markers.  After a bus reset (mailbox BUS_RESET, another initiator's
 * reset, a timeout reset), ABORT_TARGET or ABORT_DEVICE the firmware
 * starts no new command for the devices the reset covered until the
 * driver queues a marker that covers them (reference 8.7 and 9.3): a
 * command for such a device is fetched and held, and so is every later
 * one for the same device, to keep the ring order.  A marker clears the
 * devices in its scope: sync-all the bus, sync-target one target's LUNs,
 * sync-device one LUN.  Model choice: a narrower marker than the reset's
 * clears its part (public sources say what drivers send, not what the
 * firmware checks); a firmware start needs no marker (Linux qla1280, with
 * the NVRAM's bus reset disabled, sends none before its first command).
 */
static void isp_need_marker(ISPState *s, int busno, int target, int lun)
{
    int t;

    if (!s->prop_markers) {
        return;
    }
    for (t = 0; t < ISP_MAX_TARGETS; t++) {
        if (target < 0 || t == target) {
            s->need_marker[busno][t] |= lun < 0 ? 0xff : 1u << lun;
        }
    }
    trace_isp1040_need_marker(busno, target, lun);
}

/*
 * Execution throttle (x-throttle, default on): the firmware keeps at most
 * the LUN's throttle (SET_DEVICE_QUEUE mb3), and no more than its queue
 * depth (mb2), commands at the device; further ones wait in the firmware,
 * held like commands waiting for a marker, until one ends.  0 means no
 * limit.
 */
static bool isp_may_start(ISPState *s, ISPRequest *r)
{
    ISPTargetParams *tp = &s->bus[r->bus].tgt[r->target];
    unsigned limit = tp->throttle[r->lun], depth = tp->queue_depth[r->lun];
    unsigned n = 0;
    ISPRequest *o;

    if (s->need_marker[r->bus][r->target] & (1u << r->lun)) {
        return false;
    }
    if (depth && (!limit || depth < limit)) {
        limit = depth;
    }
    if (!s->prop_throttle || !limit) {
        return true;
    }
    QTAILQ_FOREACH(o, &s->active, next) {
        n += o != r && !o->held && o->bus == r->bus &&
             o->target == r->target && o->lun == r->lun;
    }
    return n < limit;
}

/*
 * QUEUE FULL (x-queue-full=N, default 0: none): each target takes at most
 * N commands (all its LUNs) and answers one more with SCSI status TASK SET
 * FULL (0x28), nothing moved, so that a driver's queue-depth handling can
 * be tested.
 */
static bool isp_queue_full(ISPState *s, ISPRequest *r)
{
    unsigned n = 0;
    ISPRequest *o;

    if (!s->prop_queue_full) {
        return false;
    }
    QTAILQ_FOREACH(o, &s->active, next) {
        n += !o->held && o->bus == r->bus && o->target == r->target;
    }
    if (n < s->prop_queue_full) {
        return false;
    }
    s->stat_queue_full++;
    trace_isp1040_queue_full(r->handle, r->bus, r->target, n);
    r->scsi_status = ISP_TASK_SET_FULL;
    r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB |
                     SS_GOT_STATUS | SS_XFER_COMPLETE;
    r->residual = MIN(r->qsg.size + r->sg_extra, UINT32_MAX);
    r->comp_status = r->residual ? CS_DATA_UNDERRUN : CS_COMPLETE;
    scsi_req_unref(r->sreq);
    r->sreq = NULL;
    QTAILQ_INSERT_TAIL(&s->done, r, next);
    isp_schedule(s);
    return true;
}

static bool isp_hold_command(ISPState *s, ISPRequest *r)
{
    bool hold = !isp_may_start(s, r);
    ISPRequest *o;

    QTAILQ_FOREACH(o, &s->active, next) {
        hold |= o->held && o->bus == r->bus && o->target == r->target &&
                o->lun == r->lun;
    }
    if (!hold) {
        return false;
    }
    /* nothing reached the device: a cancel completes it at once */
    r->held = true;
    r->swallowed = true;
    QTAILQ_INSERT_TAIL(&s->active, r, next);
    s->nactive++;
    trace_isp1040_held(r->handle, r->bus, r->target, r->lun);
    return true;
}

/*
 * A command the firmware starts now (fetched, or released by its marker):
 * its timeout runs from here, it negotiates if it is the first since a
 * reset, and the injected faults and the QUEUE FULL limit may take it.
 * Return: true if it is on the active list and goes to the device
 * (isp_submit).
 */
static bool isp_admit(ISPState *s, ISPRequest *r)
{
    isp_arm_timeout(s, r);
    isp_negotiate(s, r);
    if (isp_fault_command(s, r) || isp_queue_full(s, r)) {
        return false;
    }
    QTAILQ_INSERT_TAIL(&s->active, r, next);
    s->nactive++;
    return true;
}

static void isp_submit(ISPRequest *r)
{
    /* @r may complete, and leave the active list, inside these calls */
    SCSIRequest *sreq = scsi_req_ref(r->sreq);

    if (scsi_req_enqueue(sreq)) {
        scsi_req_continue(sreq);
    }
    scsi_req_unref(sreq);
}

static void isp_release_held(ISPState *s, ISPRequest *r)
{
    QTAILQ_REMOVE(&s->active, r, next);
    s->nactive--;
    r->held = false;
    r->swallowed = false;
    trace_isp1040_released(r->handle, r->bus, r->target, r->lun);
    if (isp_admit(s, r)) {
        isp_submit(r);
    }
}

/*
 * Start held commands that may start now, oldest first.  A command that
 * must still wait keeps the later ones for its LUN waiting (they see the
 * same marker state and a count that only grows).  A release may complete
 * requests: rescan; each is released once.
 */
static void isp_release_ready(ISPState *s)
{
    ISPRequest *r;

again:
    QTAILQ_FOREACH(r, &s->active, next) {
        if (r->held && isp_may_start(s, r)) {
            isp_release_held(s, r);
            goto again;
        }
    }
}

/* Clear what the marker @e covers, then start what it released. */
static void isp_marker_sync(ISPState *s, const uint8_t *e)
{
    int busno = s->chip->nbus > 1 ? e[9] >> 7 : 0;
    int target = s->chip->nbus > 1 ? e[9] & 0x7f : e[9];
    uint8_t lun = e[8];

    switch (e[10]) {
    case MK_SYNC_ALL:
        memset(s->need_marker[busno], 0, sizeof(s->need_marker[busno]));
        break;
    case MK_SYNC_TARGET:
    case MK_SYNC_DEVICE:
        if (target >= ISP_MAX_TARGETS ||
            (e[10] == MK_SYNC_DEVICE && lun >= ISP_MAX_LUNS)) {
            trace_isp1040_bad_marker(e[9], lun, e[10]);
            return;
        }
        s->need_marker[busno][target] &= e[10] == MK_SYNC_TARGET ? 0 :
                                         ~(1u << lun);
        break;
    default:
        trace_isp1040_bad_marker(e[9], lun, e[10]);
        return;
    }
    isp_release_ready(s);
}

/*
 * Start a command described by @ents (command entry plus @n - 1
 * continuation entries, copied from the ring once and validated here).
 */
static void isp_start_command(ISPState *s, uint8_t (*ents)[ISP_ENTRY_SIZE],
                              int n)
{
    const uint8_t *e = ents[0];
    uint8_t type = e[0];
    bool a64 = type == ET_COMMAND_A64;
    bool ext = type == ET_EXT_COMMAND;
    uint8_t cont_type = a64 ? ET_CONT_A64 : ET_CONTINUATION;
    int inline_segs = a64 ? 2 : (ext ? 0 : 4);
    int cont_segs = a64 ? 5 : 7;
    uint16_t cdb_len = lduw_le_p(&e[10]);
    uint16_t rflags = lduw_le_p(&e[12]);
    uint32_t nseg = lduw_le_p(&e[18]);
    uint8_t cdb[ISP_MAX_EXT_CDB];
    uint32_t max_segs, i;
    bool is_write = false;
    int busno, target, lun = e[8];
    ISPBus *bus;
    SCSIDevice *sdev;
    ISPRequest *r;
    uint64_t total;
    uint64_t xfer;              /* 64-bit: never trust the SCSI layer's cap */

    s->stat_cmds++;
    /* continuation entries must all be of the matching type */
    for (i = 1; i < n; i++) {
        if (ents[i][0] != cont_type) {
            isp_reject(s, e, EF_BAD_HEADER, CS_COMPLETE, 0);
            return;
        }
    }
    s->stat_cont_entries += n - 1;
    max_segs = inline_segs + (n - 1) * cont_segs;
    if (nseg > max_segs) {
        isp_reject(s, e, EF_BAD_PAYLOAD, CS_COMPLETE, 0);
        return;
    }
    if (cdb_len == 0 || cdb_len > (ext ? ISP_MAX_EXT_CDB : ISP_MAX_CDB)) {
        isp_reject(s, e, EF_BAD_PAYLOAD, CS_COMPLETE, 0);
        return;
    }
    bus = isp_decode_target(s, e[9], &busno, &target);
    if (!bus || lun >= ISP_MAX_LUNS) {
        isp_reject(s, e, EF_BAD_PAYLOAD, CS_COMPLETE, 0);
        return;
    }
    memcpy(cdb, &e[20], cdb_len);

    sdev = scsi_device_find(&bus->bus, 0, target, lun);
    if (target == s->f_seltimeout) {
        s->stat_faults++;
        sdev = NULL;
    }
    if (!sdev || target == bus->initiator_id) {
        /* nobody answers selection */
        isp_reject(s, e, 0, CS_INCOMPLETE, SS_GOT_BUS);
        trace_isp1040_selection_timeout(busno, target, lun);
        return;
    }

    r = g_new0(ISPRequest, 1);
    r->s = s;
    r->handle = ldl_le_p(&e[4]);
    r->entry_type = type;
    r->sys_def = e[2];
    r->bus = busno;
    r->target = target;
    r->lun = lun;
    r->rflags = rflags;
    r->timeout = lduw_le_p(&e[16]);
    qemu_sglist_init(&r->qsg, DEVICE(s), MIN(nseg, 64) + 1,
                     pci_get_address_space(PCI_DEVICE(s)));

    r->sreq = scsi_req_new(sdev, r->handle, lun, cdb, cdb_len, r);
    xfer = r->sreq->cmd.xfer;
    if (r->sreq->cmd.mode == SCSI_XFER_TO_DEV) {
        is_write = false;       /* device reads guest memory */
    } else {
        is_write = true;
    }

    /* gather the segments */
    for (i = 0; i < nseg; i++) {
        uint64_t addr;
        uint32_t len;
        bool ok;

        if (i < inline_segs) {
            const uint8_t *p = a64 ? &e[40 + 12 * i] : &e[32 + 8 * i];

            addr = a64 ? ldq_le_p(p) : (uint32_t)ldl_le_p(p);
            len = ldl_le_p(p + (a64 ? 8 : 4));
        } else {
            uint32_t k = i - inline_segs;
            const uint8_t *c = ents[1 + k / cont_segs];
            const uint8_t *p = a64 ? &c[4 + 12 * (k % cont_segs)]
                                   : &c[8 + 8 * (k % cont_segs)];

            addr = a64 ? ldq_le_p(p) : (uint32_t)ldl_le_p(p);
            len = ldl_le_p(p + (a64 ? 8 : 4));
        }
        ok = isp_add_segment(s, r, addr, len, is_write);
        if (!ok) {
            scsi_req_unref(r->sreq);
            r->sreq = NULL;
            r->comp_status = CS_DMA_ERROR;
            r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB;
            QTAILQ_INSERT_TAIL(&s->done, r, next);
            return;
        }
    }
    s->stat_max_segs = MAX(s->stat_max_segs, nseg);
    s->stat_segs += nseg;
    total = r->qsg.size;

    /* direction and length against what the CDB asks for */
    if (xfer > 0) {
        bool dir_ok = r->sreq->cmd.mode == SCSI_XFER_FROM_DEV ?
                      (rflags & RF_DATA_IN) : (rflags & RF_DATA_OUT);

        if (!dir_ok) {
            trace_isp1040_direction_error(r->handle, rflags, xfer);
            qemu_log_mask(LOG_GUEST_ERROR, "isp1040: handle 0x%x: direction "
                          "flags 0x%x do not match a %" PRIu64 "-byte %s\n",
                          r->handle, rflags, xfer,
                          r->sreq->cmd.mode == SCSI_XFER_FROM_DEV ?
                          "read" : "write");
            scsi_req_unref(r->sreq);
            r->sreq = NULL;
            r->comp_status = CS_DMA_ERROR;
            r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB;
            QTAILQ_INSERT_TAIL(&s->done, r, next);
            return;
        }
        if (total < xfer) {
            /*
             * Model choice: the buffer cannot hold what the target would
             * move.  Report a data overrun without executing the command,
             * so that a short write buffer never writes partial data.
             */
            trace_isp1040_overrun(r->handle, total, xfer);
            qemu_log_mask(LOG_GUEST_ERROR, "isp1040: handle 0x%x: segments "
                          "hold %" PRIu64 " bytes, the command moves %" PRIu64
                          "\n", r->handle, total, xfer);
            scsi_req_unref(r->sreq);
            r->sreq = NULL;
            r->comp_status = CS_DATA_OVERRUN;
            r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB;
            QTAILQ_INSERT_TAIL(&s->done, r, next);
            return;
        }
        if (total > xfer) {
            r->sg_extra = total - xfer;
            isp_sglist_truncate(&r->qsg, xfer);
        }
        if (s->f_short_count && r->sreq->cmd.mode == SCSI_XFER_FROM_DEV &&
            xfer > s->f_short && !(r->qsg.nsg > IOV_MAX)) {
            /*
             * fault: the target stops f_short bytes short; the tail of the
             * buffer is never written and QEMU's SCSI layer reports the
             * bytes it could not move as the residual
             */
            s->f_short_count--;
            s->stat_faults++;
            isp_sglist_truncate(&r->qsg, xfer - s->f_short);
            trace_isp1040_fault("short", r->handle);
        }
    } else {
        r->sg_extra = total;
    }
    r->bounce = r->qsg.nsg > IOV_MAX;
    if (isp_hold_command(s, r)) {
        return;
    }
    if (!isp_admit(s, r)) {
        return;
    }
    trace_isp1040_command(r->handle, busno, target, lun, cdb[0], nseg,
                          total, n);
    isp_submit(r);
}

static void isp_marker(ISPState *s, const uint8_t *e)
{
    s->stat_markers++;
    trace_isp1040_marker(e[9], e[8], e[10]);
    isp_marker_sync(s, e);
}

/* Fetch and run request entries from OUT up to the host's IN. */
static void isp_process_requests(ISPState *s)
{
    PCIDevice *d = PCI_DEVICE(s);
    uint8_t (*ents)[ISP_ENTRY_SIZE] = NULL;
    unsigned fetched = 0;

    if (!s->queues_ok || s->req_halted || s->risc != ISP_RISC_FW ||
        s->risc_paused || s->mbox_deferred || s->sys_halted) {
        return;
    }
    while (s->req_out != s->req_in) {
        uint16_t avail = (s->req_in + s->req_len - s->req_out) % s->req_len;
        uint8_t head[ISP_ENTRY_SIZE];
        uint64_t addr = s->req_base + (uint64_t)s->req_out * ISP_ENTRY_SIZE;
        int count, i;

        if (s->nactive >= ISP_MAX_ACTIVE) {
            break;      /* resumes when commands complete */
        }
        if (fetched++ >= s->req_len) {
            isp_schedule(s);    /* bounded work per run: continue later */
            break;
        }
        /* back-pressure: completions must find their way out first */
        if (!QTAILQ_EMPTY(&s->done) && isp_rsp_full(s)) {
            break;
        }
        if (pci_dma_read(d, addr, head, sizeof(head)) != MEMTX_OK) {
            trace_isp1040_dma_error("request", addr, ISP_ENTRY_SIZE);
            qemu_log_mask(LOG_GUEST_ERROR, "isp1040: request queue entry at "
                          "0x%" PRIx64 " unreadable\n", addr);
            s->req_halted = true;
            isp_queue_async(s, MBA_REQ_XFER_ERR, 0, 0, 0, 0);
            break;
        }
        count = head[1];
        switch (head[0]) {
        case ET_COMMAND:
        case ET_COMMAND_A64:
        case ET_EXT_COMMAND:
            if (count == 0 || count >= s->req_len) {
                isp_reject(s, head, EF_BAD_HEADER, CS_COMPLETE, 0);
                count = 1;
                break;
            }
            if (count > avail) {
                /* the host has not posted the rest yet */
                goto out;
            }
            ents = g_realloc(ents, count * ISP_ENTRY_SIZE);
            memcpy(ents[0], head, ISP_ENTRY_SIZE);
            for (i = 1; i < count; i++) {
                uint16_t idx = (s->req_out + i) % s->req_len;

                addr = s->req_base + (uint64_t)idx * ISP_ENTRY_SIZE;
                if (pci_dma_read(d, addr, ents[i], ISP_ENTRY_SIZE) !=
                    MEMTX_OK) {
                    trace_isp1040_dma_error("request", addr, ISP_ENTRY_SIZE);
                    s->req_halted = true;
                    isp_queue_async(s, MBA_REQ_XFER_ERR, 0, 0, 0, 0);
                    goto out;
                }
            }
            isp_start_command(s, ents, count);
            break;
        case ET_MARKER:
            if (s->f_reject_marker) {
                /* fault: rejected as firmware does, handed back unused */
                s->f_reject_marker--;
                s->stat_faults++;
                trace_isp1040_fault("reject-marker", ldl_le_p(&head[4]));
                isp_reject(s, head, EF_BAD_HEADER, CS_COMPLETE, 0);
            } else {
                isp_marker(s, head);
            }
            count = 1;
            break;
        default:
            /* stray continuation, status or unknown entry types */
            isp_reject(s, head, EF_BAD_HEADER, CS_COMPLETE, 0);
            count = 1;
            break;
        }
        s->req_out = (s->req_out + count) % s->req_len;
        s->mbox_out[4] = s->req_out;
    }
out:
    g_free(ents);
}

/* ------------------------------------------------------------------ */
/* Mailbox commands                                                    */
/* ------------------------------------------------------------------ */

static ISPTargetParams *isp_mbox_target(ISPState *s, uint16_t word,
                                        int *lun, int *busno, int *target);

/* SET_TARGET_PARAMETERS: the target's next command negotiates again. */
static void isp_neg_set(ISPState *s, uint16_t word)
{
    int busno, target;

    if (isp_mbox_target(s, word & 0xff00, NULL, &busno, &target)) {
        s->neg[busno][target].pending = true;
    }
}

/*
 * GET_TARGET_PARAMETERS: mb2 holds the negotiated wide and sync bits,
 * mb3 the negotiated offset and period (0: async), mb6 the width.
 */
static void isp_neg_get(ISPState *s, uint16_t word, uint16_t *out)
{
    ISPNegState *n;
    int busno, target;

    if (!s->prop_negotiate ||
        !isp_mbox_target(s, word & 0xff00, NULL, &busno, &target)) {
        return;
    }
    n = &s->neg[busno][target];
    out[2] &= ~(ISP_TP_WIDE | ISP_TP_SYNC);
    out[2] |= (n->wide ? ISP_TP_WIDE : 0) | (n->sync ? ISP_TP_SYNC : 0);
    out[3] = n->sync;
    out[6] = n->wide;
}

static ISPTargetParams *isp_mbox_target(ISPState *s, uint16_t word,
                                        int *lun, int *busno, int *target)
{
    int b = 0, t = word >> 8;

    if (s->chip->nbus > 1) {
        b = word >> 15;
        t = (word >> 8) & 0x7f;
    }
    if (t >= ISP_MAX_TARGETS || (lun && (word & 0xff) >= ISP_MAX_LUNS)) {
        return NULL;
    }
    if (lun) {
        *lun = word & 0xff;
    }
    if (busno) {
        *busno = b;
    }
    if (target) {
        *target = t;
    }
    return &s->bus[b].tgt[t];
}

static void isp_reset_devices(ISPState *s, int busno, int target)
{
    BusChild *kid;

    QTAILQ_FOREACH(kid, &s->bus[busno].bus.qbus.children, sibling) {
        SCSIDevice *sdev = SCSI_DEVICE(kid->child);

        if (target < 0 || sdev->id == target) {
            device_cold_reset(DEVICE(sdev));
        }
    }
}

/*
 * A target or bus reset from a mailbox command: the devices are reset once
 * the cancelled requests have landed (isp_mbox_finish), never here, where
 * resetting a device would wait for its I/O inside the bottom half.
 */
static void isp_defer_device_reset(ISPState *s, int busno, int target)
{
    s->def_reset_bus = busno;
    s->def_reset_target = target;
}

static bool isp_abort_handle(ISPState *s, uint32_t handle, int busno,
                             int target, int lun)
{
    ISPRequest *r;

    QTAILQ_FOREACH(r, &s->active, next) {
        if (r->handle == handle && r->bus == busno && r->target == target &&
            r->lun == lun && !r->cancelling) {
            r->cancelling = true;
            r->cancel_comp = CS_ABORTED;
            r->cancel_flags = SF_ABORTED;
            isp_cancel_one(r, true);
            return true;
        }
    }
    return false;
}

/*
 * Parameters kept per SCSI bus that a SET command takes as mb1 (bus 0) and
 * mb2 (bus 1) and the matching GET command returns the same way.
 */
typedef struct ISPBusParam {
    uint8_t set_op, get_op;
    size_t offset;          /* of the uint16_t field in ISPBus */
} ISPBusParam;

static const ISPBusParam isp_bus_params[] = {
    { MBC_SET_SELECTION_TIMEOUT, MBC_GET_SELECT_TIMEOUT,
      offsetof(ISPBus, selection_timeout) },
    { MBC_SET_TAG_AGE_LIMIT, MBC_GET_TAG_AGE_LIMIT,
      offsetof(ISPBus, tag_age) },
    { MBC_SET_ACTIVE_NEGATION, MBC_GET_ACT_NEG_STATE,
      offsetof(ISPBus, active_negation) },
    { MBC_SET_ASYNC_DATA_SETUP, MBC_GET_ASYNC_DATA_SETUP,
      offsetof(ISPBus, async_setup) },
};

/* Serve @op if it is one of isp_bus_params; false otherwise. */
static bool isp_mbox_bus_param(ISPState *s, uint16_t op, const uint16_t *in,
                               uint16_t *out, uint32_t *out_mask)
{
    int i, b;

    for (i = 0; i < ARRAY_SIZE(isp_bus_params); i++) {
        const ISPBusParam *p = &isp_bus_params[i];

        if (op != p->set_op && op != p->get_op) {
            continue;
        }
        for (b = 0; b < ISP_MAX_BUSES; b++) {
            uint16_t *field = (uint16_t *)((uint8_t *)&s->bus[b] + p->offset);

            if (op == p->set_op) {
                *field = in[1 + b];
            } else {
                out[1 + b] = *field;
            }
        }
        if (op == p->get_op) {
            *out_mask |= 0x06;
        }
        return true;
    }
    return false;
}

/* Returns the mailbox status; @out holds the result registers. */
static uint16_t isp_mbox_command(ISPState *s, const uint16_t *in,
                                 uint16_t *out, uint32_t *out_mask)
{
    uint16_t op = in[0];
    bool fw = s->risc == ISP_RISC_FW;
    ISPTargetParams *tp;
    int lun, busno, target, i;
    uint16_t st;

    *out_mask = 0x01;
    switch (op) {
    /* boot ROM commands, also served by the operational firmware */
    case MBC_NOP:
        return MBS_COMPLETE;
    case MBC_MAILBOX_REG_TEST:
        for (i = 1; i < ISP_NMBOX; i++) {
            out[i] = in[i];
        }
        *out_mask = 0xff;
        return MBS_COMPLETE;
    case MBC_WRITE_RAM_WORD:
        s->ram[in[1]] = in[2];
        s->ram_written = true;
        return MBS_COMPLETE;
    case MBC_READ_RAM_WORD:
        out[2] = s->ram[in[1]];
        *out_mask |= 0x04;
        return MBS_COMPLETE;
    case MBC_LOAD_RAM:
    case MBC_DUMP_RAM:
        return isp_mbc_load_dump(s, in, false, op == MBC_LOAD_RAM);
    case MBC_LOAD_RAM_A64_ROM:
    case MBC_DUMP_RAM_A64_ROM:
        return isp_mbc_load_dump(s, in, true, op == MBC_LOAD_RAM_A64_ROM);
    case MBC_VERIFY_CHECKSUM:
        if (!isp_ram_checksum_ok(s, in[1])) {
            trace_isp1040_checksum_bad(in[1]);
            return MBS_CMD_ERROR;
        }
        return MBS_COMPLETE;
    case MBC_CHECK_FIRMWARE:
        out[2] = fw ? 1 : 0;
        *out_mask |= 0x04;
        return MBS_COMPLETE;
    case MBC_ABOUT_FIRMWARE:
        out[1] = s->fw_major;
        out[2] = s->fw_minor;
        out[3] = s->fw_micro;
        *out_mask |= 0x0e;
        return MBS_COMPLETE;
    case MBC_EXECUTE_FIRMWARE:
        if (fw) {
            return MBS_CMD_ERROR;
        }
        if (!s->ram_written) {
            /* nothing downloaded: run the firmware in the chip's ROM */
            s->fw_major = s->chip->rom_fw[0];
            s->fw_minor = s->chip->rom_fw[1];
            s->fw_micro = s->chip->rom_fw[2];
        } else if (isp_ram_checksum_ok(s, in[1])) {
            isp_fw_identify(s, in[1]);
        } else {
            /* Model choice: refuse to jump into a corrupt image. */
            trace_isp1040_checksum_bad(in[1]);
            return MBS_CMD_ERROR;
        }
        s->risc = ISP_RISC_FW;
        trace_isp1040_fw_start(s->fw_major, s->fw_minor, s->fw_micro,
                               !s->ram_written);
        return MBS_COMPLETE;
    default:
        break;
    }

    if (!fw) {
        qemu_log_mask(LOG_GUEST_ERROR, "isp1040: mailbox command 0x%02x "
                      "before the firmware runs\n", op);
        return MBS_INVALID_CMD;     /* the boot ROM knows no more */
    }
    if (isp_mbox_bus_param(s, op, in, out, out_mask)) {
        return MBS_COMPLETE;
    }

    switch (op) {
    case MBC_INIT_REQUEST_QUEUE:
    case MBC_INIT_REQUEST_QUEUE_A64:
        st = isp_mbc_init_queue(s, in, false,
                                op == MBC_INIT_REQUEST_QUEUE_A64);
        *out_mask = 0xff;
        return st;
    case MBC_INIT_RESPONSE_QUEUE:
    case MBC_INIT_RESPONSE_QUEUE_A64:
        st = isp_mbc_init_queue(s, in, true,
                                op == MBC_INIT_RESPONSE_QUEUE_A64);
        *out_mask = 0xff;
        return st;
    case MBC_WAKE_UP:
    case MBC_STOP_FIRMWARE:
    case MBC_SET_CLOCK_RATE:
        if (op == MBC_SET_CLOCK_RATE) {
            s->clock_rate = in[1];
        }
        return MBS_COMPLETE;
    case MBC_GET_CLOCK_RATE:
        out[1] = s->clock_rate;
        *out_mask |= 0x02;
        return MBS_COMPLETE;
    case MBC_ABORT:
        if (!isp_mbox_target(s, in[1], &lun, &busno, &target)) {
            return MBS_PARAM_ERROR;
        }
        if (s->f_fail_aborts) {
            s->f_fail_aborts--;
            s->stat_faults++;
            return MBS_CMD_ERROR;
        }
        if (!isp_abort_handle(s, (uint32_t)in[2] << 16 | in[3], busno,
                              target, lun)) {
            return MBS_CMD_ERROR;       /* not (or no longer) active */
        }
        s->stat_aborts++;
        return MBS_COMPLETE;
    case MBC_ABORT_DEVICE:
        if (!isp_mbox_target(s, in[1], &lun, &busno, &target)) {
            return MBS_PARAM_ERROR;
        }
        if (s->f_fail_resets) {
            s->f_fail_resets--;
            s->stat_faults++;
            return MBS_CMD_ERROR;
        }
        isp_cancel_all(s, false, true, CS_ABORTED, SF_ABORTED, busno, target,
                       lun);
        isp_need_marker(s, busno, target, lun);
        s->stat_device_resets++;
        return MBS_COMPLETE;
    case MBC_ABORT_TARGET:
        if (!isp_mbox_target(s, in[1] & 0xff00, NULL, &busno, &target)) {
            return MBS_PARAM_ERROR;
        }
        if (s->f_fail_resets) {
            s->f_fail_resets--;
            s->stat_faults++;
            return MBS_CMD_ERROR;
        }
        isp_cancel_all(s, false, true, CS_RESET, SF_DEVICE_RESET, busno,
                       target, -1);
        isp_defer_device_reset(s, busno, target);
        isp_neg_reset(s, busno, target);
        isp_need_marker(s, busno, target, -1);
        s->stat_device_resets++;
        return MBS_COMPLETE;
    case MBC_BUS_RESET:
        busno = s->chip->nbus > 1 ? in[2] : 0;
        if (busno >= s->chip->nbus) {
            return MBS_PARAM_ERROR;
        }
        trace_isp1040_bus_reset(busno, in[1]);
        isp_cancel_all(s, false, true, CS_RESET, SF_BUS_RESET, busno, -1,
                       -1);
        isp_neg_reset(s, busno, -1);
        isp_defer_device_reset(s, busno, -1);
        isp_need_marker(s, busno, -1, -1);
        s->stat_bus_resets++;
        return MBS_COMPLETE;
    case MBC_STOP_QUEUE:
    case MBC_START_QUEUE:
    case MBC_SINGLE_STEP_QUEUE:
    case MBC_ABORT_QUEUE:
        if (!isp_mbox_target(s, in[1], &lun, &busno, &target)) {
            return MBS_PARAM_ERROR;
        }
        if (op == MBC_ABORT_QUEUE) {
            isp_cancel_all(s, false, true, CS_ABORTED, SF_ABORTED, busno,
                           target, lun);
        }
        return MBS_COMPLETE;
    case MBC_GET_DEV_QUEUE_STATUS: {
        ISPRequest *r;
        int n = 0;

        if (!isp_mbox_target(s, in[1], &lun, &busno, &target)) {
            return MBS_PARAM_ERROR;
        }
        QTAILQ_FOREACH(r, &s->active, next) {
            n += r->bus == busno && r->target == target && r->lun == lun;
        }
        out[1] = 0;
        out[2] = n;
        out[3] = n;
        *out_mask |= 0x0e;
        return MBS_COMPLETE;
    }
    case MBC_GET_FIRMWARE_STATUS:
        out[1] = s->nactive;
        out[2] = ISP_MAX_ACTIVE;
        *out_mask |= 0x06;
        return MBS_COMPLETE;
    case MBC_GET_INIT_SCSI_ID:
        out[1] = s->bus[0].initiator_id;
        out[2] = s->bus[1].initiator_id;
        *out_mask |= 0x06;
        return MBS_COMPLETE;
    case MBC_SET_INITIATOR_ID:
        busno = s->chip->nbus > 1 ? (in[1] >> 7) & 1 : 0;
        if ((in[1] & 0x7f) >= ISP_MAX_TARGETS) {
            return MBS_PARAM_ERROR;
        }
        s->bus[busno].initiator_id = in[1] & 0xf;
        return MBS_COMPLETE;
    case MBC_SET_RETRY_COUNT:
        s->bus[0].retry_count = in[1];
        s->bus[0].retry_delay = in[2];
        s->bus[1].retry_count = in[6];
        s->bus[1].retry_delay = in[7];
        return MBS_COMPLETE;
    case MBC_GET_RETRY_COUNT:
        out[1] = s->bus[0].retry_count;
        out[2] = s->bus[0].retry_delay;
        out[6] = s->bus[1].retry_count;
        out[7] = s->bus[1].retry_delay;
        *out_mask |= 0xc6;
        return MBS_COMPLETE;
    case MBC_SET_PCI_CONTROL:
        s->pci_control[0] = in[1];
        s->pci_control[1] = in[2];
        return MBS_COMPLETE;
    case MBC_GET_PCI_PARAMS:
        out[1] = s->pci_control[0];
        out[2] = s->pci_control[1];
        *out_mask |= 0x06;
        return MBS_COMPLETE;
    case MBC_SET_TARGET_PARAMETERS:
        tp = isp_mbox_target(s, in[1] & 0xff00, NULL, NULL, NULL);
        if (!tp) {
            return MBS_PARAM_ERROR;
        }
        tp->flags = in[2];
        tp->sync = in[3];
        isp_neg_set(s, in[1]);
        return MBS_COMPLETE;
    case MBC_GET_TARGET_PARAMETERS:
        tp = isp_mbox_target(s, in[1] & 0xff00, NULL, NULL, NULL);
        if (!tp) {
            return MBS_PARAM_ERROR;
        }
        /* what "negotiation" settled on: sync only when asked for */
        out[2] = tp->flags;
        out[3] = (tp->flags & 0x1000) ? tp->sync : 0;
        out[6] = (tp->flags & 0x2000) ? 1 : 0;
        isp_neg_get(s, in[1], out);
        *out_mask |= 0x4c;
        return MBS_COMPLETE;
    case MBC_SET_DEVICE_QUEUE:
        tp = isp_mbox_target(s, in[1], &lun, NULL, NULL);
        if (!tp) {
            return MBS_PARAM_ERROR;
        }
        tp->queue_depth[lun] = in[2];
        tp->throttle[lun] = in[3];
        return MBS_COMPLETE;
    case MBC_GET_DEV_QUEUE_PARAMS:
        tp = isp_mbox_target(s, in[1], &lun, NULL, NULL);
        if (!tp) {
            return MBS_PARAM_ERROR;
        }
        out[2] = tp->queue_depth[lun];
        out[3] = tp->throttle[lun];
        *out_mask |= 0x0c;
        return MBS_COMPLETE;
    case MBC_SET_RESET_DELAY_PARAMS:
    case MBC_GET_RESET_DELAY_PARAMS:
        out[1] = 3;
        out[2] = 3;
        *out_mask |= op == MBC_GET_RESET_DELAY_PARAMS ? 0x06 : 0;
        return MBS_COMPLETE;
    case MBC_SET_SYSTEM_PARAMETER:
        s->system_param = in[1];
        return MBS_COMPLETE;
    case MBC_GET_SYSTEM_PARAMETER:
        out[1] = s->system_param;
        *out_mask |= 0x02;
        return MBS_COMPLETE;
    case MBC_SET_FIRMWARE_FEATURES:
        s->fw_features = in[1];
        return MBS_COMPLETE;
    case MBC_GET_FIRMWARE_FEATURES:
        out[1] = s->fw_features;
        *out_mask |= 0x02;
        return MBS_COMPLETE;
    case MBC_SET_DATA_OVERRUN_RECOVERY:
        s->overrun_recovery = in[1];
        return MBS_COMPLETE;
    case MBC_GET_DATA_OVERRUN_RECOVERY:
        out[1] = s->overrun_recovery;
        *out_mask |= 0x02;
        return MBS_COMPLETE;
    default:
        qemu_log_mask(LOG_UNIMP, "isp1040: mailbox command 0x%02x not "
                      "implemented\n", op);
        return MBS_INVALID_CMD;
    }
}

/* Requests a mailbox command cancelled whose status is not yet posted. */
static bool isp_mbox_cancels_unposted(ISPState *s)
{
    ISPRequest *r;

    if (!s->rsp_ok || isp_rsp_full(s)) {
        return false;   /* they cannot go out first: answer anyway */
    }
    QTAILQ_FOREACH(r, &s->done, next) {
        if (r->by_mbox) {
            return true;
        }
    }
    return false;
}

/*
 * A mailbox command that cancelled requests or resets devices is answered
 * once its cancels have landed, the devices are reset and the cancelled
 * requests' status entries are in the response queue.
 */
static bool isp_mbox_defer(ISPState *s, const uint16_t *out, uint32_t mask)
{
    if (!s->cancels_pending && s->def_reset_bus < 0 &&
        !isp_mbox_cancels_unposted(s)) {
        return false;
    }
    memcpy(s->mbox_def, out, sizeof(s->mbox_def));
    s->mbox_def_mask = mask;
    s->mbox_deferred = true;
    trace_isp1040_mbox_deferred(out[0], s->cancels_pending);
    /* every cancel may have landed already: nothing else runs us again */
    isp_schedule(s);
    return true;
}

static void isp_mbox_finish(ISPState *s)
{
    if (!s->mbox_deferred || s->cancels_pending || s->risc_paused) {
        return;
    }
    if (s->def_reset_bus >= 0) {
        /* nothing left on these devices to wait for */
        isp_reset_devices(s, s->def_reset_bus, s->def_reset_target);
        s->def_reset_bus = -1;
    }
    if (isp_mbox_cancels_unposted(s) || !isp_mbox_out_free(s)) {
        return;
    }
    s->mbox_deferred = false;
    isp_post_mbox_event(s, s->mbox_def, s->mbox_def_mask);
    s->mbox_done_recheck = true;
}

/* the syserr-mbox fault (see isp_fault_parse) */
static void isp_system_error(ISPState *s);
static void isp_syserr_halt(ISPState *s);

static void isp_run_mailbox(ISPState *s)
{
    uint16_t in[ISP_NMBOX], out[ISP_NMBOX];
    uint32_t mask;

    if (!s->doorbell || s->risc_paused || s->resetting || s->mbox_deferred ||
        s->sys_halted ||
        !isp_mbox_out_free(s)) {
        return;
    }
    memcpy(in, s->mbox_in, sizeof(in));     /* the RISC reads them once */
    s->doorbell = false;
    if (s->f_syserr_mbox && in[0] == s->f_syserr_mbox_op) {
        /* fault: the firmware fails on this command and never answers it */
        s->f_syserr_mbox--;
        s->stat_faults++;
        trace_isp1040_fault("syserr-mbox", in[0]);
        isp_system_error(s);
        isp_syserr_halt(s);
        return;
    }
    memcpy(out, s->mbox_out, sizeof(out));
    s->in_mbox = true;
    out[0] = isp_mbox_command(s, in, out, &mask);
    s->in_mbox = false;
    s->stat_mbox_cmds++;
    trace_isp1040_mbox(in[0], in[1], in[2], in[3], out[0]);
    if (out[0] == MBS_PARAM_ERROR || out[0] == MBS_HOST_IF_ERROR) {
        qemu_log_mask(LOG_GUEST_ERROR, "isp1040: mailbox command 0x%02x "
                      "(0x%04x 0x%04x 0x%04x 0x%04x): bad parameters, status "
                      "0x%04x\n", in[0], in[1], in[2], in[3], in[4], out[0]);
    }
    if (isp_mbox_defer(s, out, mask)) {
        return;
    }
    isp_post_mbox_event(s, out, mask);
    s->mbox_done_recheck = true;
}

static void isp_post_async(ISPState *s)
{
    if (!s->async_count || s->risc_paused || !isp_mbox_out_free(s)) {
        return;
    }
    isp_post_mbox_event(s, s->async_q[s->async_head], 0xcf);
    s->async_head = (s->async_head + 1) % ISP_ASYNC_QLEN;
    s->async_count--;
    s->stat_async_events++;
}

/*
 * A bounce copy failed or ran past the segment list: the request does not
 * continue (a write never reaches the medium with what was not read), and
 * the bottom half cancels it with @comp as its completion status.
 */
static void isp_xfer_failed(ISPRequest *r, uint16_t comp)
{
    r->xfer_error = comp;
    qemu_log_mask(LOG_GUEST_ERROR, "isp1040: handle 0x%x: data transfer "
                  "failed (%s), completion status 0x%x\n", r->handle,
                  comp == CS_DMA_ERROR ? "DMA error" : "past the segments",
                  comp);
    isp_schedule(r->s);
}

/* Cancel the requests isp_xfer_failed() stopped. */
static void isp_cancel_failed(ISPState *s)
{
    ISPRequest *r;

again:
    QTAILQ_FOREACH(r, &s->active, next) {
        if (r->xfer_error && !r->cancelling) {
            r->cancelling = true;
            r->cancel_comp = r->xfer_error;
            r->cancel_flags = 0;
            isp_cancel_one(r, true);
            goto again;
        }
    }
}

static void isp_bh(void *opaque)
{
    ISPState *s = opaque;

    if (s->in_bh) {
        /* an aio_poll() inside the bottom half: never run nested */
        s->bh_rerun = true;
        trace_isp1040_bh_nested();
        return;
    }
    if (s->risc_paused || s->mig_wait) {
        return;
    }
    s->in_bh = true;
    isp_cancel_failed(s);
    isp_mbox_finish(s);
    isp_run_mailbox(s);
    isp_post_async(s);
    if (!s->sys_halted) {
        isp_release_ready(s);   /* throttled commands, as others end */
    }
    isp_process_requests(s);
    isp_flush_done(s);
    s->in_bh = false;
    if (s->bh_rerun) {
        s->bh_rerun = false;
        isp_schedule(s);
    }
}

/*
 * Responses the host has not consumed when it acknowledged an interrupt
 * (Linux qla1280 skips them while a mailbox command is in flight) get a
 * new interrupt after a short delay.  Model choice: the real firmware's
 * rule is not documented.
 */
static void isp_rsp_timer(void *opaque)
{
    ISPState *s = opaque;

    if (s->rsp_ok && s->mbox_out[5] != s->rsp_out && !s->risc_int &&
        !s->risc_paused) {
        trace_isp1040_rsp_reraise(s->mbox_out[5], s->rsp_out);
        isp_raise_risc_int(s);
    }
}

/* ------------------------------------------------------------------ */
/* SCSI bus callbacks                                                  */
/* ------------------------------------------------------------------ */

static QEMUSGList *isp_get_sg_list(SCSIRequest *sreq)
{
    ISPRequest *r = sreq->hba_private;

    return r->bounce ? NULL : &r->qsg;
}

/*
 * Commands with more segments than the block layer takes in one I/O vector
 * move their data through the device's buffer, one chunk per call, copied
 * here to or from the segments.  The cursor makes each call linear in the
 * segments it touches.
 */
static void isp_transfer_data(SCSIRequest *sreq, uint32_t len)
{
    ISPRequest *r = sreq->hba_private;
    PCIDevice *d = PCI_DEVICE(r->s);
    uint8_t *buf = scsi_req_get_buf(sreq);
    bool to_guest = sreq->cmd.mode == SCSI_XFER_FROM_DEV;

    if (r->cancelling) {
        /* no DMA for a request being cancelled */
        scsi_req_continue(sreq);
        return;
    }
    while (len && r->cur_seg < r->qsg.nsg) {
        ScatterGatherEntry *e = &r->qsg.sg[r->cur_seg];
        uint64_t n = MIN(len, e->len - r->cur_off);
        dma_addr_t addr = e->base + r->cur_off;
        MemTxResult res = to_guest ? pci_dma_write(d, addr, buf, n)
                                   : pci_dma_read(d, addr, buf, n);

        if (res != MEMTX_OK) {
            trace_isp1040_dma_error("bounce", addr, n);
            isp_xfer_failed(r, CS_DMA_ERROR);
            return;
        }
        buf += n;
        len -= n;
        r->cur_off += n;
        if (r->cur_off == e->len) {
            r->cur_seg++;
            r->cur_off = 0;
        }
    }
    if (len) {
        /* the device moves more than the segments describe */
        isp_xfer_failed(r, CS_DATA_OVERRUN);
        return;
    }
    scsi_req_continue(sreq);
}

static void isp_command_complete(SCSIRequest *sreq, size_t resid)
{
    ISPRequest *r = sreq->hba_private;
    ISPState *s = r->s;
    uint64_t residual = resid + r->sg_extra;

    if (s->f_underrun_count && sreq->cmd.xfer > resid) {
        /* fault: the target stopped short (the data did move) */
        s->f_underrun_count--;
        s->stat_faults++;
        residual += MIN(s->f_underrun, sreq->cmd.xfer - resid);
        trace_isp1040_fault("underrun", r->handle);
    }
    if (s->f_resid_over_count && sreq->cmd.xfer > resid) {
        /* fault: a residual beyond the segments' length (the data moved) */
        s->f_resid_over_count--;
        s->stat_faults++;
        residual = sreq->cmd.xfer + r->sg_extra + s->f_resid_over;
        trace_isp1040_fault("resid-over", r->handle);
    }
    if (s->f_zero_resid && residual) {
        /* fault: an underrun reported as a complete transfer */
        s->f_zero_resid--;
        s->stat_faults++;
        residual = 0;
        trace_isp1040_fault("zero-resid", r->handle);
    }
    if (s->f_flip_read && sreq->cmd.mode == SCSI_XFER_FROM_DEV && !resid &&
        sreq->status == GOOD && r->qsg.nsg > 4) {
        /* fault: a byte of a chained read flips on its way to memory */
        dma_addr_t a = r->qsg.sg[r->qsg.nsg - 1].base;
        uint8_t b;

        s->f_flip_read--;
        s->stat_faults++;
        if (pci_dma_read(PCI_DEVICE(s), a, &b, 1) == MEMTX_OK) {
            b ^= 0xff;
            pci_dma_write(PCI_DEVICE(s), a, &b, 1);
        }
        trace_isp1040_fault("flip-read", r->handle);
    }

    r->scsi_status = sreq->status & 0xff;
    r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB |
                     SS_GOT_STATUS | SS_XFER_COMPLETE;
    if (sreq->cmd.xfer > resid) {
        r->state_flags |= SS_XFERRED_DATA;
    }
    if (sreq->host_status > 0) {
        r->comp_status = CS_TRANSPORT_ERROR;
    } else if (residual) {
        r->comp_status = CS_DATA_UNDERRUN;
    } else {
        r->comp_status = CS_COMPLETE;
    }
    if (r->comp_status == CS_COMPLETE) {
        r->comp_status = r->neg_comp;
    }
    r->residual = MIN(residual, UINT32_MAX);
    if (r->scsi_status == CHECK_CONDITION && !(r->rflags & RF_NO_AUTOSENSE)) {
        int n = scsi_req_get_sense(sreq, r->sense, sizeof(r->sense));

        if (n > 0) {
            r->sense_len = n;
            r->state_flags |= SS_GOT_SENSE;
        }
    }
    if (r->rsense_after && r->scsi_status == GOOD) {
        /* fault sense-bytes ... data (isp_fault_rsense) */
        r->scsi_status = CHECK_CONDITION;
        if (!(r->rflags & RF_NO_AUTOSENSE)) {
            r->sense_len = r->rsense_after - 1;
            r->state_flags |= SS_GOT_SENSE;
        }
    }
    isp_complete_request(s, r);
}

static void isp_request_cancelled(SCSIRequest *sreq)
{
    isp_cancel_done(sreq->hba_private);
}

static void isp_cancel_done(ISPRequest *r)
{
    /*
     * Cancelled by QEMU rather than by the chip (the device was unplugged
     * or reset underneath the command): on a real bus the target just
     * went away, an unexpected bus free.
     */
    r->comp_status = r->cancel_comp ? r->cancel_comp : CS_UNEXP_BUS_FREE;
    r->status_flags = r->cancel_flags;
    r->state_flags = SS_GOT_BUS | SS_GOT_TARGET | SS_SENT_CDB;
    trace_isp1040_cancelled(r->handle, r->comp_status, r->silent);
    isp_complete_request(r->s, r);
}

static void isp_save_request(QEMUFile *f, SCSIRequest *sreq);
static void *isp_load_request(QEMUFile *f, SCSIRequest *sreq);

static const struct SCSIBusInfo isp_scsi_info = {
    .tcq = true,
    .max_target = ISP_MAX_TARGETS - 1,
    .max_lun = ISP_MAX_LUNS - 1,
    .complete = isp_command_complete,
    .transfer_data = isp_transfer_data,
    .cancel = isp_request_cancelled,
    .get_sg_list = isp_get_sg_list,
    .save_request = isp_save_request,
    .load_request = isp_load_request,
};

/* ------------------------------------------------------------------ */
/* Registers                                                           */
/* ------------------------------------------------------------------ */

static bool isp_sxp_selected(ISPState *s)
{
    return s->conf1 & (CONF1_SXP_1040 | CONF1_SXP_ALT);
}

static uint64_t isp_reg_read(void *opaque, hwaddr addr, unsigned size)
{
    ISPState *s = opaque;
    uint16_t val = 0;
    bool high = addr & 1;   /* a byte read of the register's upper half */

    s->stat_reg_reads++;
    addr &= ISP_REG_SIZE - 2;
    switch (addr) {
    case R_ID_LO:
        val = PCI_VENDOR_ID_QLOGIC;
        break;
    case R_ID_HI:
        val = s->chip->device_id;
        break;
    case R_CONF0:
        val = s->prop_revision;
        break;
    case R_CONF1:
        val = s->conf1;
        break;
    case R_ICR:
        /* a soft reset reads as running until its cancels have landed */
        val = s->icr | (s->icr_resetting ? ICR_SOFT_RESET : 0);
        break;
    case R_ISR:
        val = s->risc_int ? (ISR_RISC_INT | ISR_GLOBAL_INT) : 0;
        break;
    case R_SEMA:
        val = s->sema;
        break;
    case R_NVRAM:
        val = s->nv_reg | (s->nv_do ? NV_DO : 0);
        break;
    case R_DMA_FIRST ... R_DMA_LAST - 1:
        val = s->dma_regs[(addr - R_DMA_FIRST) / 2];
        break;
    case R_MBOX0 ... R_MBOX7:
        if (isp_rev_has_mbox(s, (addr - R_MBOX0) / 2)) {
            val = s->mbox_out[(addr - R_MBOX0) / 2];
        }
        break;
    case R_HCCR:
        if (!isp_sxp_selected(s)) {
            val = (s->doorbell ? HCCR_HOST_INT : 0) |
                  (s->risc_paused ? HCCR_PAUSED : 0);
        }
        break;
    case R_RISC_FIRST ... R_HCCR - 2:
        /* SXP registers read as 0: never the dead-bus pattern 0x87ff */
        if (!isp_sxp_selected(s)) {
            val = s->risc_regs[(addr - R_RISC_FIRST) / 2];
            if (addr == R_RISC_PSR && isp_rev_ultra(s)) {
                val |= RISC_PSR_PCI_ULTRA;
            }
        }
        break;
    default:
        break;
    }
    trace_isp1040_reg_read(addr, val);
    /*
     * The memory core widens a byte read to this 16-bit access at the
     * byte's own (odd) address and keeps the low byte of what is returned.
     */
    return high ? val >> 8 : val;
}

static void isp_hccr_write(ISPState *s, uint16_t val)
{
    switch (val & HCCR_CMD_MASK) {
    case HCCR_CMD_RESET:
        isp_risc_reset(s, true);
        s->risc_paused = true;      /* held in reset until released */
        break;
    case HCCR_CMD_RST_REL:
        isp_risc_reset(s, true);
        s->risc_paused = false;
        break;
    case HCCR_CMD_PAUSE:
        s->risc_paused = true;
        break;
    case HCCR_CMD_RELEASE:
        s->risc_paused = false;
        isp_schedule(s);
        break;
    case HCCR_CMD_SET_HOST:
        s->doorbell = true;
        isp_schedule(s);
        break;
    case HCCR_CMD_CLR_HOST:
        s->doorbell = false;
        break;
    case HCCR_CMD_CLR_RISC:
        s->risc_int = false;
        isp_update_irq(s);
        if (s->rsp_ok && s->rsp_in != s->rsp_out) {
            timer_mod(s->rsp_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                      ISP_RSP_RECHECK_NS);
        }
        s->mbox_done_recheck = false;
        isp_schedule(s);
        break;
    case HCCR_CMD_NOP:
    case HCCR_CMD_STEP:
    case HCCR_CMD_BP:
    case HCCR_CMD_BIOS:
    case HCCR_CMD_PARITY:
        break;
    default:
        trace_isp1040_hccr_unknown(val);
        qemu_log_mask(LOG_GUEST_ERROR, "isp1040: unknown HCCR command 0x%04x\n",
                      val);
        break;
    }
}

static void isp_reg_write(void *opaque, hwaddr addr, uint64_t data,
                          unsigned size)
{
    ISPState *s = opaque;
    uint16_t val = data;

    s->stat_reg_writes++;
    addr &= ISP_REG_SIZE - 2;
    trace_isp1040_reg_write(addr, val);
    switch (addr) {
    case R_CONF1:
        if ((val & CONF1_FIFO_MASK) && s->prop_revision == ISP_REV_1040A) {
            qemu_log_mask(LOG_GUEST_ERROR, "isp1040: FIFO threshold 0x%x "
                          "written to a 1040A, whose FIFO threshold is "
                          "broken\n", val & CONF1_FIFO_MASK);
        }
        s->conf1 = val;
        break;
    case R_ICR:
        if (val & ICR_SOFT_RESET) {
            /* completes at once: the bit reads back clear */
            isp_chip_reset(s, true);
            s->icr_resetting = s->resetting;
            s->stat_chip_resets++;
            val &= ~ICR_SOFT_RESET;
        }
        s->icr = val;
        isp_update_irq(s);
        break;
    case R_SEMA:
        s->sema = val & SEMA_LOCK ? s->sema : 0;
        isp_schedule(s);
        break;
    case R_NVRAM:
        isp_nvram_write(s, val);
        break;
    case R_DMA_FIRST ... R_DMA_LAST - 1:
        s->dma_regs[(addr - R_DMA_FIRST) / 2] = val;
        break;
    case R_MBOX0 ... R_MBOX7: {
        int n = (addr - R_MBOX0) / 2;

        if (!isp_rev_has_mbox(s, n)) {
            break;
        }
        s->mbox_in[n] = val;
        if (n == 4 && s->queues_ok) {
            if (val >= s->req_len) {
                trace_isp1040_bad_index("request-in", val, s->req_len);
                qemu_log_mask(LOG_GUEST_ERROR, "isp1040: request-in %u out of "
                              "range (queue length %u)\n", val, s->req_len);
                break;
            }
            s->req_in = val;
            s->stat_doorbells++;
            isp_schedule(s);
        } else if (n == 5 && s->queues_ok) {
            if (val >= s->rsp_len) {
                trace_isp1040_bad_index("response-out", val, s->rsp_len);
                qemu_log_mask(LOG_GUEST_ERROR, "isp1040: response-out %u out "
                              "of range (queue length %u)\n", val, s->rsp_len);
                break;
            }
            s->rsp_out = val;
            isp_schedule(s);
        }
        break;
    }
    case R_HCCR:
        if (!isp_sxp_selected(s)) {
            isp_hccr_write(s, val);
        }
        break;
    case R_RISC_FIRST ... R_HCCR - 2:
        if (!isp_sxp_selected(s)) {
            s->risc_regs[(addr - R_RISC_FIRST) / 2] = val;
        }
        break;
    default:
        break;
    }
}

static const MemoryRegionOps isp_reg_ops = {
    .read = isp_reg_read,
    .write = isp_reg_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 2,
        .max_access_size = 2,
    },
};

/* ------------------------------------------------------------------ */
/* Device                                                              */
/* ------------------------------------------------------------------ */

/*
 * Fault injection for tests, through QMP/HMP at run time:
 *   qom-set <hba> x-fault "<what> [args]"
 * swallow N         the next N commands are accepted and never completed
 *                   (but see isp_arm_timeout)
 * fail-aborts N     the next N ABORT mailbox commands fail (0x4005)
 * fail-resets N     the next N ABORT_DEVICE/ABORT_TARGET commands fail
 * bus-reset         a SCSI bus reset by another initiator (async 0x8001)
 * system-error      firmware failure (async 0x8002); the RISC halts until
 *                   a chip reset (isp_syserr_halt)
 * syserr-mbox N OP  the next N mailbox commands with opcode OP are never
 *                   answered: the firmware fails on them as on system-error
 * seltimeout T      target T stops answering selection; T = -1 ends it
 * status S N        the next N commands end with SCSI status S (e.g. 0x28
 *                   TASK SET FULL, 0x08 BUSY), nothing transferred
 * sense K A Q N     the next N commands end with CHECK CONDITION, sense
 *                   key K, ASC A, ASCQ Q
 * sense-bytes N OP HEX  the next N commands (only those with opcode OP;
 *                   "any": all) end with CHECK CONDITION and the sense
 *                   bytes HEX (2..192 hex digits, any format); more than
 *                   32 bytes are cut to 32 (isp_fault_rsense)
 * sense-bytes N OP HEX data   the same, but the commands move their data
 *                   first
 * underrun B N      the next N data commands report B bytes not moved
 * short B N         the next N reads longer than B bytes stop B bytes
 *                   short: the last B bytes are not moved, residual B
 * resid-over B N    the next N data commands move their data and end with
 *                   status 0x15 and a residual B bytes beyond the length
 *                   of their segments
 * corrupt W N       the next N status entries carry a bad handle (W =
 *                   handle), entry type (type) or entry count (count)
 * Silent corruption (tests of the tests' data checks):
 * drop-write N      the next N writes complete GOOD, nothing written
 * wrong-lba N D     the next N READ/WRITE(10/12/16) go to LBA + D
 * flip-read N       the next N reads of more than 4 segments (chained
 *                   through continuation entries) get a byte flipped
 * zero-resid N      the next N underruns are reported complete, resid 0
 * reject-marker N   the next N marker entries are handed back with error
 *                   flags (bad header) and not acted on
 * clear             disarm everything
 * Reading the property shows what is still armed, every kind above but the
 * one-shot bus-reset and system-error.
 */
static void isp_fault_bus_reset(ISPState *s)
{
    isp_cancel_all(s, false, false, CS_RESET, SF_BUS_RESET, 0, -1, -1);
    isp_neg_reset(s, 0, -1);
    isp_need_marker(s, 0, -1, -1);     /* first: see isp_timeout_reset() */
    isp_reset_devices(s, 0, -1);
    isp_queue_async(s, MBA_BUS_RESET, 0, 0, 0, 0);
}

/*
 * The firmware halts: the commands in flight are dropped (nothing is
 * posted for them) and the async event goes out once the last of them has
 * landed, so that no request of before the error moves data after the
 * driver has been told.
 */
static void isp_system_error(ISPState *s)
{
    s->req_halted = true;
    isp_cancel_all(s, true, true, CS_RESET, 0, -1, -1, -1);
    s->syserr_pending = true;
    if (!s->cancels_pending) {
        isp_syserr_post(s);
    }
}

/*
 * A system error halts the RISC (x-syserr-halt, default on): after the
 * async 0x8002 (and events queued before it) nothing more happens until
 * a chip reset (HCCR reset, ICR soft reset): mailbox commands are not
 * taken (HCCR keeps showing the doorbell), the request queue is not
 * fetched, no response is posted, and the commands in flight stop
 * silently; the driver learns their fate by resetting the chip.
 */
static void isp_syserr_halt(ISPState *s)
{
    if (!s->prop_syserr_halt) {
        return;
    }
    s->sys_halted = true;
    trace_isp1040_syserr_halt(s->nactive);
}

/* sense-bytes N OP HEX (see the list above isp_fault_bus_reset) */
static bool isp_fault_parse_rsense(ISPState *s, char **w, Error **errp)
{
    unsigned long cnt, op;
    size_t len, i;

    if (!w[1] || !w[2] || !w[3] ||
        (w[4] && *w[4] && (strcmp(w[4], "data") || (w[5] && *w[5]))) ||
        qemu_strtoul(w[1], NULL, 0, &cnt) < 0 || cnt > UINT32_MAX) {
        error_setg(errp, "sense-bytes takes N OP HEX [data]");
        return false;
    }
    if (!strcmp(w[2], "any")) {
        op = ULONG_MAX;
    } else if (qemu_strtoul(w[2], NULL, 0, &op) < 0 || op > 0xff) {
        error_setg(errp, "sense-bytes: bad opcode '%s'", w[2]);
        return false;
    }
    len = strlen(w[3]);
    if (len < 2 || len % 2 || len / 2 > ISP_RSENSE_MAX) {
        error_setg(errp, "sense-bytes: want 1..%d bytes of hex",
                   ISP_RSENSE_MAX);
        return false;
    }
    for (i = 0; i < len; i++) {
        if (!g_ascii_isxdigit(w[3][i])) {
            error_setg(errp, "sense-bytes: bad hex '%s'", w[3]);
            return false;
        }
    }
    for (i = 0; i < len / 2; i++) {
        s->f_rsense[i] = g_ascii_xdigit_value(w[3][2 * i]) << 4 |
                         g_ascii_xdigit_value(w[3][2 * i + 1]);
    }
    s->f_rsense_len = len / 2;
    s->f_rsense_data = w[4] && *w[4];
    s->f_rsense_op = op == ULONG_MAX ? -1 : op;
    s->f_rsense_count = cnt;
    return true;
}

static bool isp_fault_parse(ISPState *s, const char *cmd, Error **errp)
{
    g_auto(GStrv) w = g_strsplit_set(cmd, " \t", -1);
    unsigned long a[4] = { 0 };
    int n = 0, i;
    long t;

    if (!w[0] || !*w[0]) {
        error_setg(errp, "empty fault command");
        return false;
    }
    for (i = 1; w[i] && *w[i]; i++) {
        if (n == ARRAY_SIZE(a)) {
            error_setg(errp, "too many fault arguments");
            return false;
        }
        if (!strcmp(w[0], "seltimeout") || !strcmp(w[0], "corrupt") ||
            !strcmp(w[0], "sense-bytes")) {
            break;      /* parsed below */
        }
        if (qemu_strtoul(w[i], NULL, 0, &a[n]) < 0 || a[n] > UINT32_MAX) {
            error_setg(errp, "bad fault argument '%s'", w[i]);
            return false;
        }
        n++;
    }
    if (!strcmp(w[0], "swallow") && n == 1) {
        s->f_swallow = a[0];
    } else if (!strcmp(w[0], "fail-aborts") && n == 1) {
        s->f_fail_aborts = a[0];
    } else if (!strcmp(w[0], "fail-resets") && n == 1) {
        s->f_fail_resets = a[0];
    } else if (!strcmp(w[0], "irq-lost") && n == 1 && a[0] <= 1) {
        s->f_irq_lost = a[0];
        isp_update_irq(s);
    } else if (!strcmp(w[0], "bus-reset") && n == 0) {
        isp_fault_bus_reset(s);
        s->stat_faults++;
    } else if (!strcmp(w[0], "system-error") && n == 0) {
        s->stat_faults++;
        isp_system_error(s);
        isp_syserr_halt(s);
    } else if (!strcmp(w[0], "syserr-mbox") && n == 2 && a[1] <= 0xff) {
        s->f_syserr_mbox = a[0];
        s->f_syserr_mbox_op = a[1];
    } else if (!strcmp(w[0], "seltimeout") && w[1] && !w[2]) {
        if (qemu_strtol(w[1], NULL, 0, &t) < 0 || t < -1 ||
            t >= ISP_MAX_TARGETS) {
            error_setg(errp, "seltimeout takes a target 0..15 or -1");
            return false;
        }
        s->f_seltimeout = t;
    } else if (!strcmp(w[0], "status") && n == 2 && a[0] <= 0xff) {
        s->f_status = a[0];
        s->f_status_count = a[1];
    } else if (!strcmp(w[0], "sense") && n == 4 && a[0] <= 0xf &&
               a[1] <= 0xff && a[2] <= 0xff) {
        s->f_sense[0] = a[0];
        s->f_sense[1] = a[1];
        s->f_sense[2] = a[2];
        s->f_sense_count = a[3];
    } else if (!strcmp(w[0], "sense-bytes")) {
        if (!isp_fault_parse_rsense(s, w, errp)) {
            return false;
        }
    } else if (!strcmp(w[0], "underrun") && n == 2) {
        s->f_underrun = a[0];
        s->f_underrun_count = a[1];
    } else if (!strcmp(w[0], "short") && n == 2) {
        s->f_short = a[0];
        s->f_short_count = a[1];
    } else if (!strcmp(w[0], "resid-over") && n == 2) {
        s->f_resid_over = a[0];
        s->f_resid_over_count = a[1];
    } else if (!strcmp(w[0], "corrupt") && w[1] && w[2] && !w[3] &&
               (!strcmp(w[1], "handle") || !strcmp(w[1], "type") ||
                !strcmp(w[1], "count"))) {
        unsigned long cnt;

        if (qemu_strtoul(w[2], NULL, 0, &cnt) < 0 || cnt > UINT32_MAX) {
            error_setg(errp, "bad fault count '%s'", w[2]);
            return false;
        }
        s->f_corrupt = w[1][0];
        s->f_corrupt_count = cnt;
    } else if (!strcmp(w[0], "drop-write") && n == 1) {
        s->f_drop_write = a[0];
    } else if (!strcmp(w[0], "wrong-lba") && n == 2) {
        s->f_wrong_lba = a[0];
        s->f_lba_shift = a[1];
    } else if (!strcmp(w[0], "flip-read") && n == 1) {
        s->f_flip_read = a[0];
    } else if (!strcmp(w[0], "zero-resid") && n == 1) {
        s->f_zero_resid = a[0];
    } else if (!strcmp(w[0], "reject-marker") && n == 1) {
        s->f_reject_marker = a[0];
    } else if (!strcmp(w[0], "clear") && n == 0) {
        s->f_drop_write = s->f_wrong_lba = 0;
        s->f_flip_read = s->f_zero_resid = 0;
        s->f_reject_marker = 0;
        s->f_swallow = s->f_fail_aborts = s->f_fail_resets = 0;
        s->f_status_count = s->f_sense_count = 0;
        s->f_rsense_count = 0;
        s->f_underrun_count = s->f_corrupt_count = 0;
        s->f_short_count = s->f_resid_over_count = 0;
        s->f_syserr_mbox = 0;
        s->f_seltimeout = -1;
        s->f_irq_lost = false;
        isp_update_irq(s);
    } else {
        error_setg(errp, "unknown fault command '%s'", cmd);
        return false;
    }
    trace_isp1040_fault(w[0], 0);
    isp_schedule(s);
    return true;
}

static char *isp_fault_get(Object *obj, Error **errp)
{
    ISPState *s = ISP_BASE(obj);

    return g_strdup_printf("swallow %u fail-aborts %u fail-resets %u "
                           "seltimeout %d status 0x%02x/%u sense %x/%02x/%02x/%u "
                           "underrun %u/%u corrupt %c/%u irq-lost %d "
                           "drop-write %u wrong-lba %u/%u flip-read %u "
                           "zero-resid %u sense-bytes %u/%d/%u reject-marker %u "
                           "short %u/%u resid-over %u/%u "
                           "syserr-mbox %u/0x%02x",
                           s->f_swallow, s->f_fail_aborts, s->f_fail_resets,
                           s->f_seltimeout, s->f_status, s->f_status_count,
                           s->f_sense[0], s->f_sense[1], s->f_sense[2],
                           s->f_sense_count, s->f_underrun,
                           s->f_underrun_count,
                           s->f_corrupt ? s->f_corrupt : '-',
                           s->f_corrupt_count, s->f_irq_lost,
                           s->f_drop_write, s->f_wrong_lba, s->f_lba_shift,
                           s->f_flip_read, s->f_zero_resid,
                           s->f_rsense_count, s->f_rsense_op,
                           s->f_rsense_len, s->f_reject_marker,
                           s->f_short, s->f_short_count,
                           s->f_resid_over, s->f_resid_over_count,
                           s->f_syserr_mbox, s->f_syserr_mbox_op);
}

static void isp_fault_set(Object *obj, const char *value, Error **errp)
{
    isp_fault_parse(ISP_BASE(obj), value, errp);
}

static void isp_add_stat(Object *obj, const char *name, const uint64_t *v)
{
    object_property_add_uint64_ptr(obj, name, v, OBJ_PROP_FLAG_READ);
}

/*
 * Read-only "fw-ready": the firmware runs and takes requests (queues set up,
 * not halted by a system error), i.e. a driver's recovery has finished.
 */
static bool isp_ready_get(Object *obj, Error **errp)
{
    ISPState *s = ISP_BASE(obj);

    return s->risc == ISP_RISC_FW && s->queues_ok && !s->req_halted;
}

static void isp_vm_change(void *opaque, bool running, RunState state);

static void isp_realize(PCIDevice *dev, Error **errp)
{
    ISPState *s = ISP_BASE(dev);
    Object *obj = OBJECT(dev);
    int b;

    if (s->prop_initiator_id >= ISP_MAX_TARGETS) {
        error_setg(errp, "initiator-id must be 0..15");
        return;
    }
    if (s->prop_nvram && strcmp(s->prop_nvram, "valid") &&
        strcmp(s->prop_nvram, "blank") && strcmp(s->prop_nvram, "corrupt")) {
        error_setg(errp, "nvram must be valid, blank or corrupt");
        return;
    }
    if (s->prop_revision < ISP_REV_1020 || s->prop_revision > ISP_REV_1040C) {
        error_setg(errp, "revision must be 1 (ISP1020) .. 6 (ISP1040C)");
        return;
    }
    s->chip = ISP_BASE_GET_CLASS(s)->chip;
    dev->config[PCI_INTERRUPT_PIN] = 1;
    dev->config[PCI_LATENCY_TIMER] = 0x40;
    dev->config[PCI_REVISION_ID] = s->prop_revision;

    memory_region_init_io(&s->io, obj, &isp_reg_ops, s, "isp1040-io",
                          ISP_REG_SIZE);
    memory_region_init_io(&s->mmio, obj, &isp_reg_ops, s, "isp1040-mmio",
                          ISP_REG_SIZE);
    pci_register_bar(dev, 0, PCI_BASE_ADDRESS_SPACE_IO, &s->io);
    pci_register_bar(dev, 1, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    s->ram = g_new0(uint16_t, ISP_RAM_WORDS);
    s->bh = qemu_bh_new_guarded(isp_bh, s, &DEVICE(dev)->mem_reentrancy_guard);
    s->rsp_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, isp_rsp_timer, s);
    s->rsp_pub_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, isp_rsp_publish, s);
    s->cmd_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, isp_cmd_timer, s);
    s->mig_ram_words = ISP_RAM_WORDS;
    s->vm_change = qemu_add_vm_change_state_handler(isp_vm_change, s);
    QTAILQ_INIT(&s->active);
    QTAILQ_INIT(&s->done);
    for (b = 0; b < s->chip->nbus; b++) {
        scsi_bus_init(&s->bus[b].bus, sizeof(s->bus[b].bus), DEVICE(dev),
                      &isp_scsi_info);
    }
    isp_nvram_init(s);
    isp_chip_reset(s, false);

    isp_add_stat(obj, "x-stat-cmds", &s->stat_cmds);
    isp_add_stat(obj, "x-stat-cont-entries", &s->stat_cont_entries);
    isp_add_stat(obj, "x-stat-markers", &s->stat_markers);
    isp_add_stat(obj, "x-stat-status-entries", &s->stat_status_entries);
    isp_add_stat(obj, "x-stat-fastposts", &s->stat_fastposts);
    isp_add_stat(obj, "x-stat-mbox-cmds", &s->stat_mbox_cmds);
    isp_add_stat(obj, "x-stat-bad-entries", &s->stat_bad_entries);
    isp_add_stat(obj, "x-stat-reg-reads", &s->stat_reg_reads);
    isp_add_stat(obj, "x-stat-reg-writes", &s->stat_reg_writes);
    isp_add_stat(obj, "x-stat-doorbells", &s->stat_doorbells);
    isp_add_stat(obj, "x-stat-irqs", &s->stat_irqs);
    isp_add_stat(obj, "x-stat-async-events", &s->stat_async_events);
    isp_add_stat(obj, "x-stat-max-segs", &s->stat_max_segs);
    isp_add_stat(obj, "x-stat-segs", &s->stat_segs);
    isp_add_stat(obj, "x-stat-faults", &s->stat_faults);
    isp_add_stat(obj, "x-stat-aborts", &s->stat_aborts);
    isp_add_stat(obj, "x-stat-device-resets", &s->stat_device_resets);
    isp_add_stat(obj, "x-stat-bus-resets", &s->stat_bus_resets);
    isp_add_stat(obj, "x-stat-chip-resets", &s->stat_chip_resets);
    isp_add_stat(obj, "x-stat-timeouts", &s->stat_timeouts);
    isp_add_stat(obj, "x-stat-queue-full", &s->stat_queue_full);
    isp_add_stat(obj, "x-stat-negotiations", &s->stat_negotiations);
    object_property_add_bool(obj, "fw-ready", isp_ready_get, NULL);
    s->f_seltimeout = -1;
    object_property_add_str(obj, "x-fault", isp_fault_get, isp_fault_set);
}

static void isp_exit(PCIDevice *dev)
{
    ISPState *s = ISP_BASE(dev);

    isp_risc_reset(s, false);
    if (s->cancels_pending) {
        /* cancels of an earlier chip reset must land before we go */
        bdrv_drain_all();
    }
    assert(!s->cancels_pending);
    qemu_del_vm_change_state_handler(s->vm_change);
    g_free(s->mig_reqs);
    qemu_bh_delete(s->bh);
    timer_free(s->rsp_timer);
    timer_free(s->rsp_pub_timer);
    timer_free(s->cmd_timer);
    g_free(s->ram);
}

static void isp_device_reset(DeviceState *dev)
{
    ISPState *s = ISP_BASE(dev);

    isp_chip_reset(s, false);
    s->ram_written = false;
    memset(s->ram, 0, ISP_RAM_WORDS * sizeof(uint16_t));
}

static ISPProperty isp_properties[] = {
    DEFINE_PROP_UINT8("initiator-id", ISPState, prop_initiator_id, 7),
    DEFINE_PROP_STRING("nvram", ISPState, prop_nvram),
    DEFINE_PROP_UINT32("x-rsp-in-delay", ISPState, prop_rsp_in_delay,
                       ISP_RSP_IN_DELAY_US),
    DEFINE_PROP_BOOL("x-markers", ISPState, prop_markers, true),
    DEFINE_PROP_BOOL("x-syserr-halt", ISPState, prop_syserr_halt, true),
    DEFINE_PROP_BOOL("x-cmd-timeout", ISPState, prop_cmd_timeout, true),
    DEFINE_PROP_BOOL("x-throttle", ISPState, prop_throttle, true),
    DEFINE_PROP_UINT32("x-queue-full", ISPState, prop_queue_full, 0),
    DEFINE_PROP_BOOL("x-negotiate", ISPState, prop_negotiate, true),
    DEFINE_PROP_UINT32("x-offer-wide", ISPState, prop_offer_wide, 0),
    DEFINE_PROP_UINT32("x-offer-sync", ISPState, prop_offer_sync,
                       0xffffffff),
    DEFINE_PROP_UINT32("x-reject-wide", ISPState, prop_reject_wide, 0),
    DEFINE_PROP_UINT32("x-reject-sync", ISPState, prop_reject_sync, 0),
    DEFINE_PROP_UINT8("revision", ISPState, prop_revision, ISP_REV_1040B),
    ISP_PROPS_END
};

/* ------------------------------------------------------------------ */
/* Migration and savevm                                                */
/* ------------------------------------------------------------------ */

/*
 * What the chip holds is migrated as it is: registers, mailboxes, RISC
 * RAM, NVRAM and its bit-bang state, the rings and their indexes, the
 * per-bus and per-target parameters, the negotiation and marker tables,
 * the async event queue, the deferred mailbox answer, the timers, and the
 * requests: those on the active list (running, held for a marker or the
 * throttle, swallowed by a fault) and those completed but not yet posted.
 *
 * A running request's SCSIRequest is migrated by its device, as QEMU's
 * other HBAs do it (vmstate_scsi_device): isp_save_request() writes only
 * the request's position in this device's stream, which comes first (the
 * HBA is realized before its disks), and isp_load_request() joins the two.
 * A held request's SCSIRequest was never enqueued, so no device carries
 * it: its CDB is sent here and the request is made again on load.
 *
 * A migration stream is untrusted input: every index, count and length is
 * checked on load, and a request is checked against its CDB as when it was
 * fetched.  Loaded state runs nothing (no fetch, no DMA, no posting) until
 * the VM runs: the disks' requests are loaded after this device.
 *
 * Cancels still landing cannot be migrated (the block layer's cancel is
 * not); vm_stop() drains all I/O before the state is saved, so with
 * QEMU's disks every cancel has landed.  If one has not, pre_save fails
 * the migration rather than drop the request or the mailbox answer that
 * waits for it.
 */
#define ISP_MIG_MAX_SEGS    (ISP_MAX_QUEUE_LEN * 7 + 4)
#define ISP_MIG_MAX_REQS    (ISP_MAX_ACTIVE + 2 * ISP_MAX_QUEUE_LEN)
#define ISP_MIG_END         0
#define ISP_MIG_OWN         1   /* no SCSIRequest (swallowed, completed) */
#define ISP_MIG_HELD        2   /* a SCSIRequest not enqueued: made again */
#define ISP_MIG_SCSI        3   /* enqueued: its device migrates it */

enum {
    ISP_MIGF_SILENT = 1, ISP_MIGF_CANCELLING = 2, ISP_MIGF_SWALLOWED = 4,
    ISP_MIGF_BY_MBOX = 8, ISP_MIGF_HELD = 16, ISP_MIGF_BOUNCE = 32,
};

static void isp_mig_error(ISPState *s, const char *what, uint32_t handle)
{
    error_report("isp1040: migration: %s (handle 0x%x)", what, handle);
}

/* Position of @r in the stream isp_put_requests() writes. */
static uint32_t isp_mig_index(ISPState *s, ISPRequest *r)
{
    ISPRequest *o;
    uint32_t i = 0;

    QTAILQ_FOREACH(o, &s->active, next) {
        if (o == r) {
            break;
        }
        i++;
    }
    return i;
}

static void isp_put_request(QEMUFile *f, ISPRequest *r, uint8_t kind)
{
    SCSIRequest *sreq = r->sreq;
    uint8_t flags = (r->silent ? ISP_MIGF_SILENT : 0) |
                    (r->cancelling ? ISP_MIGF_CANCELLING : 0) |
                    (r->swallowed ? ISP_MIGF_SWALLOWED : 0) |
                    (r->by_mbox ? ISP_MIGF_BY_MBOX : 0) |
                    (r->held ? ISP_MIGF_HELD : 0) |
                    (r->bounce ? ISP_MIGF_BOUNCE : 0);
    int i;

    qemu_put_byte(f, kind);
    qemu_put_be32(f, r->handle);
    qemu_put_byte(f, r->bus);
    qemu_put_byte(f, r->target);
    qemu_put_byte(f, r->lun);
    qemu_put_byte(f, flags);
    qemu_put_be16(f, r->rflags);
    qemu_put_be16(f, r->scsi_status);
    qemu_put_be16(f, r->comp_status);
    qemu_put_be16(f, r->state_flags);
    qemu_put_be16(f, r->status_flags);
    qemu_put_be32(f, r->residual);
    qemu_put_byte(f, r->sense_len);
    qemu_put_buffer(f, r->sense, ISP_SENSE_LEN);
    qemu_put_byte(f, r->entry_status);
    qemu_put_byte(f, r->entry_type);
    qemu_put_byte(f, r->sys_def);
    qemu_put_be16(f, r->cancel_comp);
    qemu_put_be16(f, r->cancel_flags);
    qemu_put_be16(f, r->xfer_error);
    qemu_put_be16(f, r->neg_comp);
    qemu_put_be16(f, r->timeout);
    qemu_put_be64(f, r->deadline);
    qemu_put_be64(f, r->sg_extra);
    qemu_put_be32(f, r->cur_seg);
    qemu_put_be64(f, r->cur_off);
    qemu_put_byte(f, r->rsense_after);
    if (kind != ISP_MIG_OWN) {
        uint8_t cdb[16] = { 0 };
        int len = MIN(MAX(sreq->cmd.len, 0), (int)sizeof(cdb));

        memcpy(cdb, sreq->cmd.buf, len);
        qemu_put_byte(f, len);
        qemu_put_buffer(f, cdb, sizeof(cdb));
    }
    if (kind == ISP_MIG_HELD) {
        /*
         * A request made while its device had a unit attention took it
         * (scsi_req_new): it will report it, and the device no longer has
         * it.  That travels with the request.
         */
        SCSISense ua = SENSE_CODE(NO_SENSE);
        bool has_ua;

        if (sreq->sense_len) {
            ua = scsi_parse_sense_buf(sreq->sense, sreq->sense_len);
        }
        has_ua = ua.key == UNIT_ATTENTION;

        qemu_put_byte(f, has_ua);
        qemu_put_byte(f, has_ua ? ua.asc : 0);
        qemu_put_byte(f, has_ua ? ua.ascq : 0);
    }
    qemu_put_be32(f, r->qsg.nsg);
    for (i = 0; i < r->qsg.nsg; i++) {
        qemu_put_be64(f, r->qsg.sg[i].base);
        qemu_put_be64(f, r->qsg.sg[i].len);
    }
}

static int isp_put_requests(QEMUFile *f, void *pv, size_t size,
                            const VMStateField *field, JSONWriter *vmdesc)
{
    ISPState *s = pv;
    ISPRequest *r;

    QTAILQ_FOREACH(r, &s->active, next) {
        isp_put_request(f, r, !r->sreq ? ISP_MIG_OWN :
                              r->held ? ISP_MIG_HELD : ISP_MIG_SCSI);
    }
    qemu_put_byte(f, ISP_MIG_END);
    QTAILQ_FOREACH(r, &s->done, next) {
        isp_put_request(f, r, ISP_MIG_OWN);
    }
    qemu_put_byte(f, ISP_MIG_END);
    return 0;
}

/*
 * The CDB's transfer against the segments, as isp_start_command() left
 * them: direction flags that match, exactly the transfer's length (extra
 * segment bytes in sg_extra), or, with no transfer, all of it extra.
 */
static bool isp_mig_sreq_ok(ISPRequest *r, SCSIRequest *sreq)
{
    uint64_t xfer = sreq->cmd.xfer;

    if (sreq->cmd.len != r->mig_cdb_len ||
        memcmp(sreq->cmd.buf, r->mig_cdb, r->mig_cdb_len)) {
        return false;
    }
    if (xfer == 0) {
        return r->qsg.size == r->sg_extra;
    }
    if (!(sreq->cmd.mode == SCSI_XFER_FROM_DEV ? (r->rflags & RF_DATA_IN) :
          (r->rflags & RF_DATA_OUT))) {
        return false;
    }
    return r->qsg.size == xfer;
}

/*
 * Make a held request's SCSIRequest again, as it was made on the source:
 * taking the unit attention it took there (mig_ua), and no other.
 */
static SCSIRequest *isp_mig_req_new(ISPRequest *r, SCSIDevice *sdev)
{
    SCSIBus *bus = &r->s->bus[r->bus].bus;
    SCSISense dev_ua = sdev->unit_attention, bus_ua = bus->unit_attention;
    SCSIRequest *sreq;

    sdev->unit_attention = r->mig_ua ? r->mig_sense : SENSE_CODE(NO_SENSE);
    bus->unit_attention = SENSE_CODE(NO_SENSE);
    sreq = scsi_req_new(sdev, r->handle, r->lun, r->mig_cdb, r->mig_cdb_len,
                        r);
    sdev->unit_attention = dev_ua;
    bus->unit_attention = bus_ua;
    return sreq;
}

/* Read and check one request; NULL on bad input. */
static ISPRequest *isp_get_request(ISPState *s, QEMUFile *f, uint8_t kind,
                                   bool done)
{
    ISPRequest *r = g_new0(ISPRequest, 1);
    bool pci_master = pci_get_word(PCI_DEVICE(s)->config + PCI_COMMAND) &
                      PCI_COMMAND_MASTER;
    uint64_t total = 0;
    uint32_t nsg, i;
    uint8_t flags, ua = 0;
    bool to_dev;

    r->s = s;
    r->handle = qemu_get_be32(f);
    r->bus = qemu_get_byte(f);
    r->target = qemu_get_byte(f);
    r->lun = qemu_get_byte(f);
    flags = qemu_get_byte(f);
    r->rflags = qemu_get_be16(f);
    r->scsi_status = qemu_get_be16(f);
    r->comp_status = qemu_get_be16(f);
    r->state_flags = qemu_get_be16(f);
    r->status_flags = qemu_get_be16(f);
    r->residual = qemu_get_be32(f);
    r->sense_len = qemu_get_byte(f);
    qemu_get_buffer(f, r->sense, ISP_SENSE_LEN);
    r->entry_status = qemu_get_byte(f);
    r->entry_type = qemu_get_byte(f);
    r->sys_def = qemu_get_byte(f);
    r->cancel_comp = qemu_get_be16(f);
    r->cancel_flags = qemu_get_be16(f);
    r->xfer_error = qemu_get_be16(f);
    r->neg_comp = qemu_get_be16(f);
    r->timeout = qemu_get_be16(f);
    r->deadline = qemu_get_be64(f);
    r->sg_extra = qemu_get_be64(f);
    r->cur_seg = qemu_get_be32(f);
    r->cur_off = qemu_get_be64(f);
    r->rsense_after = qemu_get_byte(f);
    r->silent = flags & ISP_MIGF_SILENT;
    r->cancelling = flags & ISP_MIGF_CANCELLING;
    r->swallowed = flags & ISP_MIGF_SWALLOWED;
    r->by_mbox = flags & ISP_MIGF_BY_MBOX;
    r->held = flags & ISP_MIGF_HELD;
    r->bounce = flags & ISP_MIGF_BOUNCE;
    if (kind != ISP_MIG_OWN) {
        r->mig_cdb_len = qemu_get_byte(f);
        qemu_get_buffer(f, r->mig_cdb, sizeof(r->mig_cdb));
    }
    if (kind == ISP_MIG_HELD) {
        ua = qemu_get_byte(f);
        r->mig_ua = ua == 1;
        r->mig_sense.key = r->mig_ua ? UNIT_ATTENTION : NO_SENSE;
        r->mig_sense.asc = qemu_get_byte(f);
        r->mig_sense.ascq = qemu_get_byte(f);
    }
    qemu_sglist_init(&r->qsg, DEVICE(s), 1,
                     pci_get_address_space(PCI_DEVICE(s)));
    nsg = qemu_get_be32(f);
    if (qemu_file_get_error(f) || nsg > ISP_MIG_MAX_SEGS) {
        isp_mig_error(s, "bad request or segment count", r->handle);
        goto bad;
    }
    /* a held request's direction is known only from its CDB: checked below */
    to_dev = r->rflags & RF_DATA_OUT;
    for (i = 0; i < nsg; i++) {
        uint64_t base = qemu_get_be64(f), len = qemu_get_be64(f);

        if (!len || len > UINT64_MAX - total || base + len < base ||
            (pci_master && !done && !isp_dma_is_ram(s, base, len, !to_dev))) {
            isp_mig_error(s, "bad data segment", r->handle);
            goto bad;
        }
        total += len;
        qemu_sglist_add(&r->qsg, base, len);
    }
    if (qemu_file_get_error(f) ||
        r->bus >= s->chip->nbus || r->target >= ISP_MAX_TARGETS ||
        r->lun >= ISP_MAX_LUNS || r->sense_len > ISP_SENSE_LEN ||
        r->rsense_after > ISP_SENSE_LEN + 1 ||
        r->cur_seg > nsg ||
        (r->cur_seg < nsg ? r->cur_off >= r->qsg.sg[r->cur_seg].len :
                            r->cur_off != 0) ||
        r->bounce != (nsg > IOV_MAX) || r->deadline < 0 ||
        (r->xfer_error && r->xfer_error != CS_DMA_ERROR &&
         r->xfer_error != CS_DATA_OVERRUN) ||
        (r->neg_comp && r->neg_comp != CS_WIDE_FAILED &&
         r->neg_comp != CS_SYNC_FAILED) ||
        (kind != ISP_MIG_OWN &&
         (r->mig_cdb_len == 0 || r->mig_cdb_len > sizeof(r->mig_cdb)))) {
        isp_mig_error(s, "request out of range", r->handle);
        goto bad;
    }
    /* what each list may hold (see isp_put_requests) */
    if (done ? (kind != ISP_MIG_OWN || r->held || r->swallowed) :
        (r->cancelling ||
         (kind == ISP_MIG_OWN && (!r->swallowed || r->held)) ||
         (kind == ISP_MIG_HELD && (!r->swallowed || !r->held)) ||
         (kind == ISP_MIG_SCSI && (r->swallowed || r->held)))) {
        isp_mig_error(s, "request in an impossible state", r->handle);
        goto bad;
    }
    if (kind == ISP_MIG_HELD) {
        SCSIDevice *sdev = scsi_device_find(&s->bus[r->bus].bus, 0,
                                            r->target, r->lun);

        if (!sdev) {
            isp_mig_error(s, "held request for a missing device", r->handle);
            goto bad;
        }
        if (ua > 1) {
            isp_mig_error(s, "bad unit attention flag", r->handle);
            goto bad;
        }
        r->sreq = isp_mig_req_new(r, sdev);
        if (!isp_mig_sreq_ok(r, r->sreq)) {
            isp_mig_error(s, "held request does not match its CDB",
                          r->handle);
            goto bad;
        }
        /* made again when the VM runs, when the disk's state is loaded */
        r->mig_remake = true;
    }
    r->mig_await = kind == ISP_MIG_SCSI;
    return r;

bad:
    if (r->sreq) {
        scsi_req_unref(r->sreq);
    }
    isp_request_free(r);
    return NULL;
}

/* Drop what a failed load built. */
static void isp_mig_discard(ISPState *s)
{
    ISPRequest *r, *tmp;

    QTAILQ_FOREACH_SAFE(r, &s->active, next, tmp) {
        QTAILQ_REMOVE(&s->active, r, next);
        if (r->sreq) {
            scsi_req_unref(r->sreq);
        }
        isp_request_free(r);
    }
    QTAILQ_FOREACH_SAFE(r, &s->done, next, tmp) {
        QTAILQ_REMOVE(&s->done, r, next);
        isp_request_free(r);
    }
    s->nactive = 0;
    g_free(s->mig_reqs);
    s->mig_reqs = NULL;
    s->mig_nreqs = 0;
}

static int isp_get_requests(QEMUFile *f, void *pv, size_t size,
                            const VMStateField *field)
{
    ISPState *s = pv;
    ISPRequest *r;
    uint8_t kind;
    uint32_t n = 0;
    int list;

    s->mig_reqs = g_new0(ISPRequest *, ISP_MIG_MAX_REQS);
    for (list = 0; list < 2; list++) {
        while ((kind = qemu_get_byte(f)) != ISP_MIG_END) {
            if (kind > ISP_MIG_SCSI || n == ISP_MIG_MAX_REQS ||
                qemu_file_get_error(f)) {
                isp_mig_error(s, "bad request list", 0);
                isp_mig_discard(s);
                return -EINVAL;
            }
            r = isp_get_request(s, f, kind, list);
            if (!r) {
                isp_mig_discard(s);
                return -EINVAL;
            }
            if (list) {
                QTAILQ_INSERT_TAIL(&s->done, r, next);
            } else {
                QTAILQ_INSERT_TAIL(&s->active, r, next);
                s->nactive++;
                s->mig_reqs[n] = r;
            }
            n++;
        }
    }
    s->mig_nreqs = n;
    return qemu_file_get_error(f) ? -EINVAL : 0;
}

static const VMStateInfo vmstate_info_isp_requests = {
    .name = "isp1040-requests",
    .get = isp_get_requests,
    .put = isp_put_requests,
};

static void isp_save_request(QEMUFile *f, SCSIRequest *sreq)
{
    ISPRequest *r = sreq->hba_private;

    qemu_put_be32(f, isp_mig_index(r->s, r));
    qemu_put_be32(f, r->handle);
}

/*
 * The device's SCSIRequest for a request this device's stream announced.
 * load_request cannot fail a migration: a SCSIRequest that matches no
 * request is kept as a stray and cancelled, silently, when the VM runs.
 */
static void *isp_load_request(QEMUFile *f, SCSIRequest *sreq)
{
    ISPState *s = ISP_BASE(sreq->bus->qbus.parent);
    uint32_t idx = qemu_get_be32(f), handle = qemu_get_be32(f);
    ISPRequest *r = NULL;

    if (s->mig_reqs && idx < s->mig_nreqs) {
        r = s->mig_reqs[idx];
    }
    if (r && r->mig_await && r->handle == handle && sreq->tag == handle &&
        sreq->bus == &s->bus[r->bus].bus && sreq->dev->id == r->target &&
        sreq->lun == r->lun && isp_mig_sreq_ok(r, sreq)) {
        r->mig_await = false;
        r->sreq = scsi_req_ref(sreq);
        return r;
    }
    isp_mig_error(s, "a disk's request matches no request", handle);
    r = g_new0(ISPRequest, 1);
    r->s = s;
    r->handle = handle;
    r->bus = sreq->bus == &s->bus[1].bus;
    r->target = sreq->dev->id;
    r->lun = sreq->lun;
    r->bounce = true;           /* no segments: nothing to move */
    r->silent = true;
    r->mig_stray = true;
    qemu_sglist_init(&r->qsg, DEVICE(s), 1,
                     pci_get_address_space(PCI_DEVICE(s)));
    r->sreq = scsi_req_ref(sreq);
    QTAILQ_INSERT_TAIL(&s->active, r, next);
    s->nactive++;
    return r;
}

/*
 * The VM runs (after a migration, a loadvm, or a stop): what a load left
 * to settle is settled, and the bottom half runs again.
 */
static void isp_vm_change(void *opaque, bool running, RunState state)
{
    ISPState *s = opaque;
    ISPRequest *r;

    if (!running) {
        return;
    }
again:
    QTAILQ_FOREACH(r, &s->active, next) {
        if (r->mig_await) {
            /* its disk did not bring it: as if the target went away */
            isp_mig_error(s, "a request's SCSI request never arrived",
                          r->handle);
            r->mig_await = false;
            r->swallowed = true;
            isp_cancel_done(r);
            goto again;
        }
        if (r->mig_stray && !r->cancelling) {
            r->cancelling = true;
            isp_cancel_one(r, true);
            goto again;
        }
        if (r->mig_remake) {
            /* made on load, before the disk's own state had arrived */
            SCSIRequest *old = r->sreq;

            r->mig_remake = false;
            r->sreq = isp_mig_req_new(r, old->dev);
            scsi_req_unref(old);
        }
    }
    g_free(s->mig_reqs);
    s->mig_reqs = NULL;
    s->mig_nreqs = 0;
    s->mig_wait = false;
    isp_schedule(s);
}

static int isp_pre_save(void *opaque)
{
    ISPState *s = opaque;

    if (s->cancels_pending) {
        error_report("isp1040: %u cancels still landing: cannot be migrated",
                     s->cancels_pending);
        return -EBUSY;
    }
    assert(!s->resetting && !s->syserr_pending && !s->in_bh);
    s->mig_risc = s->risc;
    s->mig_nv_state = s->nv_state;
    s->mig_corrupt = s->f_corrupt;
    return 0;
}

static int isp_pre_load(void *opaque)
{
    ISPState *s = opaque;

    /* a loadvm resets the machine first; nothing may be in flight */
    if (!QTAILQ_EMPTY(&s->active) || !QTAILQ_EMPTY(&s->done) ||
        s->cancels_pending) {
        error_report("isp1040: requests in flight: cannot load state");
        return -EBUSY;
    }
    g_free(s->mig_reqs);
    s->mig_reqs = NULL;
    s->mig_wait = true;
    return 0;
}

static bool isp_mig_ring_ok(bool ok, uint16_t len, uint16_t in, uint16_t out)
{
    if (!ok) {
        return true;
    }
    return len >= ISP_MIN_QUEUE_LEN && len <= ISP_MAX_QUEUE_LEN &&
           in < len && out < len;
}

static int isp_post_load(void *opaque, int version_id)
{
    ISPState *s = opaque;
    const char *bad = NULL;
    int b;

#define ISP_MIG_CHECK(cond) do {  \
        if (!bad && !(cond)) {      \
            bad = #cond;            \
        }                           \
    } while (0)
    ISP_MIG_CHECK(s->mig_risc <= ISP_RISC_FW);
    ISP_MIG_CHECK(s->f_rsense_len <= ISP_RSENSE_MAX);
    ISP_MIG_CHECK(s->f_rsense_op >= -1 && s->f_rsense_op <= 0xff);
    ISP_MIG_CHECK(s->mig_nv_state <= NV_READING);
    ISP_MIG_CHECK(s->async_head < ISP_ASYNC_QLEN);
    ISP_MIG_CHECK(s->async_count <= ISP_ASYNC_QLEN);
    ISP_MIG_CHECK(s->nv_bits >= 0 &&
                  s->nv_bits <= 2 + s->chip->nvram_addr_bits);
    ISP_MIG_CHECK(s->nv_outbit >= 0 && s->nv_outbit <= 16);
    ISP_MIG_CHECK(s->queues_ok == (s->req_ok && s->rsp_ok));
    ISP_MIG_CHECK(isp_mig_ring_ok(s->req_ok, s->req_len, s->req_in,
                                  s->req_out));
    ISP_MIG_CHECK(isp_mig_ring_ok(s->rsp_ok, s->rsp_len, s->rsp_in,
                                  s->rsp_out));
    ISP_MIG_CHECK(s->def_reset_bus >= -1 &&
                  s->def_reset_bus < s->chip->nbus);
    ISP_MIG_CHECK(s->def_reset_target >= -1 &&
                  s->def_reset_target < ISP_MAX_TARGETS);
    ISP_MIG_CHECK(s->f_seltimeout >= -1 &&
                  s->f_seltimeout < ISP_MAX_TARGETS);
    ISP_MIG_CHECK(!s->mig_corrupt || strchr("htc", s->mig_corrupt));
    ISP_MIG_CHECK(s->mbox_def_mask <= 0xff);
    for (b = 0; b < ISP_MAX_BUSES; b++) {
        ISP_MIG_CHECK(s->bus[b].initiator_id < ISP_MAX_TARGETS);
    }
#undef ISP_MIG_CHECK
    if (bad) {
        error_report("isp1040: migration: chip state out of range: %s",
                     bad);
        isp_mig_discard(s);
        return -EINVAL;
    }
    s->risc = s->mig_risc;
    s->nv_state = s->mig_nv_state;
    s->f_corrupt = s->mig_corrupt;
    s->sema &= SEMA_LOCK;
    /* the PCI core restores the pin; this is what it mirrors */
    s->irq_level = s->risc_int && (s->icr & ICR_ENABLE_ALL) &&
                   (s->icr & ICR_ENABLE_RISC);
    return 0;
}

static const VMStateDescription vmstate_isp_target = {
    .name = "isp1040/target",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(flags, ISPTargetParams),
        VMSTATE_UINT16(sync, ISPTargetParams),
        VMSTATE_UINT16_ARRAY(queue_depth, ISPTargetParams, ISP_MAX_LUNS),
        VMSTATE_UINT16_ARRAY(throttle, ISPTargetParams, ISP_MAX_LUNS),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_isp_bus = {
    .name = "isp1040/bus",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(initiator_id, ISPBus),
        VMSTATE_UINT16(selection_timeout, ISPBus),
        VMSTATE_UINT16(retry_count, ISPBus),
        VMSTATE_UINT16(retry_delay, ISPBus),
        VMSTATE_UINT16(async_setup, ISPBus),
        VMSTATE_UINT16(active_negation, ISPBus),
        VMSTATE_UINT16(tag_age, ISPBus),
        VMSTATE_STRUCT_ARRAY(tgt, ISPBus, ISP_MAX_TARGETS, 1,
                             vmstate_isp_target, ISPTargetParams),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_isp_neg = {
    .name = "isp1040/negotiation",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(pending, ISPNegState),
        VMSTATE_BOOL(wide, ISPNegState),
        VMSTATE_UINT16(sync, ISPNegState),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_isp = {
    .name = "isp1040",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = isp_pre_save,
    .pre_load = isp_pre_load,
    .post_load = isp_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, ISPState),
        /* registers and mailboxes */
        VMSTATE_UINT16(conf1, ISPState),
        VMSTATE_UINT16(icr, ISPState),
        VMSTATE_UINT16(sema, ISPState),
        VMSTATE_BOOL(risc_int, ISPState),
        VMSTATE_UINT16_ARRAY(dma_regs, ISPState,
                             (R_DMA_LAST - R_DMA_FIRST + 2) / 2),
        VMSTATE_UINT16_ARRAY(risc_regs, ISPState,
                             (R_HCCR - R_RISC_FIRST) / 2),
        VMSTATE_UINT32(mig_risc, ISPState),
        VMSTATE_BOOL(risc_paused, ISPState),
        VMSTATE_BOOL(doorbell, ISPState),
        VMSTATE_BOOL(mbox_done_recheck, ISPState),
        VMSTATE_UINT16_ARRAY(mbox_in, ISPState, ISP_NMBOX),
        VMSTATE_UINT16_ARRAY(mbox_out, ISPState, ISP_NMBOX),
        VMSTATE_UINT16_2DARRAY(async_q, ISPState, ISP_ASYNC_QLEN, ISP_NMBOX),
        VMSTATE_UINT32(async_head, ISPState),
        VMSTATE_UINT32(async_count, ISPState),
        /* RISC RAM and firmware */
        VMSTATE_VARRAY_UINT32(ram, ISPState, mig_ram_words, 0,
                              vmstate_info_uint16, uint16_t),
        VMSTATE_BOOL(ram_written, ISPState),
        VMSTATE_UINT8(fw_major, ISPState),
        VMSTATE_UINT8(fw_minor, ISPState),
        VMSTATE_UINT8(fw_micro, ISPState),
        VMSTATE_UINT16(fw_features, ISPState),
        VMSTATE_UINT16(clock_rate, ISPState),
        VMSTATE_UINT16(system_param, ISPState),
        VMSTATE_UINT16_ARRAY(pci_control, ISPState, 2),
        VMSTATE_UINT16(overrun_recovery, ISPState),
        /* NVRAM */
        VMSTATE_UINT16_ARRAY(nvram, ISPState, ISP_NVRAM_WORDS),
        VMSTATE_UINT16(nv_reg, ISPState),
        VMSTATE_UINT32(mig_nv_state, ISPState),
        VMSTATE_UINT32(nv_shift, ISPState),
        VMSTATE_INT32(nv_bits, ISPState),
        VMSTATE_UINT16(nv_word, ISPState),
        VMSTATE_INT32(nv_outbit, ISPState),
        VMSTATE_BOOL(nv_do, ISPState),
        /* rings */
        VMSTATE_BOOL(queues_ok, ISPState),
        VMSTATE_BOOL(req_ok, ISPState),
        VMSTATE_BOOL(rsp_ok, ISPState),
        VMSTATE_BOOL(req_halted, ISPState),
        VMSTATE_UINT64(req_base, ISPState),
        VMSTATE_UINT64(rsp_base, ISPState),
        VMSTATE_UINT16(req_len, ISPState),
        VMSTATE_UINT16(rsp_len, ISPState),
        VMSTATE_UINT16(req_in, ISPState),
        VMSTATE_UINT16(req_out, ISPState),
        VMSTATE_UINT16(rsp_in, ISPState),
        VMSTATE_UINT16(rsp_out, ISPState),
        /* per bus and target */
        VMSTATE_STRUCT_ARRAY(bus, ISPState, ISP_MAX_BUSES, 1,
                             vmstate_isp_bus, ISPBus),
        VMSTATE_UINT8_2DARRAY(need_marker, ISPState, ISP_MAX_BUSES,
                              ISP_MAX_TARGETS),
        VMSTATE_STRUCT_2DARRAY(neg, ISPState, ISP_MAX_BUSES, ISP_MAX_TARGETS,
                               1, vmstate_isp_neg, ISPNegState),
        /* deferred mailbox answer and device reset, a halted RISC */
        VMSTATE_BOOL(mbox_deferred, ISPState),
        VMSTATE_UINT16_ARRAY(mbox_def, ISPState, ISP_NMBOX),
        VMSTATE_UINT32(mbox_def_mask, ISPState),
        VMSTATE_INT32(def_reset_bus, ISPState),
        VMSTATE_INT32(def_reset_target, ISPState),
        VMSTATE_BOOL(sys_halted, ISPState),
        /* timers (QEMU_CLOCK_VIRTUAL, which migrates) */
        VMSTATE_TIMER_PTR(rsp_timer, ISPState),
        VMSTATE_TIMER_PTR(rsp_pub_timer, ISPState),
        VMSTATE_TIMER_PTR(cmd_timer, ISPState),
        /* the active and completed requests */
        {
            .name = "requests",
            .info = &vmstate_info_isp_requests,
            .flags = VMS_SINGLE,
            .size = 0,
            .offset = 0,
        },
        /* counters and armed faults (tests read them across a migration) */
        VMSTATE_UINT64(stat_cmds, ISPState),
        VMSTATE_UINT64(stat_cont_entries, ISPState),
        VMSTATE_UINT64(stat_markers, ISPState),
        VMSTATE_UINT64(stat_status_entries, ISPState),
        VMSTATE_UINT64(stat_fastposts, ISPState),
        VMSTATE_UINT64(stat_mbox_cmds, ISPState),
        VMSTATE_UINT64(stat_bad_entries, ISPState),
        VMSTATE_UINT64(stat_reg_reads, ISPState),
        VMSTATE_UINT64(stat_reg_writes, ISPState),
        VMSTATE_UINT64(stat_doorbells, ISPState),
        VMSTATE_UINT64(stat_irqs, ISPState),
        VMSTATE_UINT64(stat_async_events, ISPState),
        VMSTATE_UINT64(stat_max_segs, ISPState),
        VMSTATE_UINT64(stat_segs, ISPState),
        VMSTATE_UINT64(stat_faults, ISPState),
        VMSTATE_UINT64(stat_aborts, ISPState),
        VMSTATE_UINT64(stat_device_resets, ISPState),
        VMSTATE_UINT64(stat_bus_resets, ISPState),
        VMSTATE_UINT64(stat_chip_resets, ISPState),
        VMSTATE_UINT64(stat_timeouts, ISPState),
        VMSTATE_UINT64(stat_queue_full, ISPState),
        VMSTATE_UINT64(stat_negotiations, ISPState),
        VMSTATE_UINT32(f_swallow, ISPState),
        VMSTATE_UINT32(f_fail_aborts, ISPState),
        VMSTATE_UINT32(f_fail_resets, ISPState),
        VMSTATE_BOOL(f_irq_lost, ISPState),
        VMSTATE_UINT32(f_syserr_mbox, ISPState),
        VMSTATE_UINT8(f_syserr_mbox_op, ISPState),
        VMSTATE_UINT32(f_drop_write, ISPState),
        VMSTATE_UINT32(f_wrong_lba, ISPState),
        VMSTATE_UINT32(f_lba_shift, ISPState),
        VMSTATE_UINT32(f_flip_read, ISPState),
        VMSTATE_UINT32(f_zero_resid, ISPState),
        VMSTATE_INT32(f_seltimeout, ISPState),
        VMSTATE_UINT32(f_status_count, ISPState),
        VMSTATE_UINT8(f_status, ISPState),
        VMSTATE_UINT32(f_sense_count, ISPState),
        VMSTATE_UINT8_ARRAY(f_sense, ISPState, 3),
        VMSTATE_UINT32(f_underrun_count, ISPState),
        VMSTATE_UINT32(f_underrun, ISPState),
        VMSTATE_UINT32(f_short_count, ISPState),
        VMSTATE_UINT32(f_short, ISPState),
        VMSTATE_UINT32(f_resid_over_count, ISPState),
        VMSTATE_UINT32(f_resid_over, ISPState),
        VMSTATE_UINT32(f_corrupt_count, ISPState),
        VMSTATE_UINT32(f_reject_marker, ISPState),
        VMSTATE_UINT32(f_rsense_count, ISPState),
        VMSTATE_INT32(f_rsense_op, ISPState),
        VMSTATE_UINT32(f_rsense_len, ISPState),
        VMSTATE_BOOL(f_rsense_data, ISPState),
        VMSTATE_UINT8_ARRAY(f_rsense, ISPState, ISP_RSENSE_MAX),
        VMSTATE_UINT8(mig_corrupt, ISPState),
        VMSTATE_END_OF_LIST()
    },
};

static void isp_class_init(ObjectClass *oc, ISPClassData *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    k->realize = isp_realize;
    k->exit = isp_exit;
    k->vendor_id = PCI_VENDOR_ID_QLOGIC;
    k->class_id = PCI_CLASS_STORAGE_SCSI;
    k->subsystem_vendor_id = PCI_VENDOR_ID_QLOGIC;
    device_class_set_legacy_reset(dc, isp_device_reset);
    dc->vmsd = &vmstate_isp;
    device_class_set_props(dc, isp_properties);
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);
}

/* A chip of the family: @data is its ISPChipInfo. */
static void isp_chip_class_init(ObjectClass *oc, ISPClassData *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);
    ISPClass *ic = ISP_BASE_CLASS(oc);
    const ISPChipInfo *chip = data;

    assert(chip->nbus >= 1 && chip->nbus <= ISP_MAX_BUSES);
    /* at least the 64 words isp_nvram_init() lays out */
    assert(chip->nvram_words >= 64 && chip->nvram_words <= ISP_NVRAM_WORDS &&
           chip->nvram_words <= 1 << chip->nvram_addr_bits);
    ic->chip = chip;
    k->device_id = chip->device_id;
    k->subsystem_id = chip->subsystem_id;
    dc->desc = chip->desc;
}

static const TypeInfo isp_types[] = {
    {
        .name = TYPE_ISP_BASE,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(ISPState),
        .class_size = sizeof(ISPClass),
        .abstract = true,
        .class_init = isp_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    }, {
        .name = TYPE_ISP1040,
        .parent = TYPE_ISP_BASE,
        .class_init = isp_chip_class_init,
        .class_data = (void *)&isp_chip_1040b,
    },
};

DEFINE_TYPES(isp_types)
