/*
 * QLogic ISP1020/1040 family: registers, mailbox commands and queue entries
 *
 * What the chip and its firmware show a driver, shared by every chip the
 * model emulates (hw/scsi/isp1040.c): the register map of the BIU, DMA and
 * RISC windows, the mailbox command and status codes, and the request and
 * response queue entries (IOCBs) with their flags.  The model's own state
 * and choices stay in the .c file; what differs between members of the
 * family is in ISPChipInfo there, one per QOM subclass.
 *
 * Sources: the qlisp project's isp-hw-reference.md, which cites the public
 * drivers (Linux qla1280 and qlogicisp, FreeBSD isp, Solaris isp).
 *
 * Copyright (c) 2026 The qlisp authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_SCSI_ISP_REGS_H
#define HW_SCSI_ISP_REGS_H

/* ---- Register map (16-bit registers, offsets in both BARs) ---- */
#define ISP_REG_SIZE        0x100
#define R_ID_LO             0x00
#define R_ID_HI             0x02
#define R_CONF0             0x04
#define R_CONF1             0x06
#define R_ICR               0x08
#define R_ISR               0x0a
#define R_SEMA              0x0c
#define R_NVRAM             0x0e
#define R_DMA_FIRST         0x20    /* CDMA/DDMA block, plain storage */
#define R_DMA_LAST          0x63
#define R_MBOX0             0x70
#define R_MBOX7             0x7e
#define R_RISC_FIRST        0x80
#define R_HCCR              0xc0

#define ICR_SOFT_RESET      0x0001
#define ICR_ENABLE_ALL      0x0002
#define ICR_ENABLE_RISC     0x0004
#define ISR_GLOBAL_INT      0x0002
#define ISR_RISC_INT        0x0004
#define SEMA_LOCK           0x0001
#define CONF1_SXP_1040      0x0001  /* SXP bank select per Linux/qlogicisp */
#define CONF1_SXP_ALT       0x0008  /* SXP bank select per FreeBSD/Solaris */

#define HCCR_CMD_MASK       0xf000
#define HCCR_CMD_NOP        0x0000
#define HCCR_CMD_RESET      0x1000
#define HCCR_CMD_PAUSE      0x2000
#define HCCR_CMD_RELEASE    0x3000
#define HCCR_CMD_STEP       0x4000
#define HCCR_CMD_SET_HOST   0x5000
#define HCCR_CMD_CLR_HOST   0x6000
#define HCCR_CMD_CLR_RISC   0x7000
#define HCCR_CMD_BP         0x8000
#define HCCR_CMD_BIOS       0x9000
#define HCCR_CMD_PARITY     0xa000
#define HCCR_CMD_RST_REL    0xb000  /* Linux: reset|release|BIOS-off */
#define HCCR_HOST_INT       0x0080
#define HCCR_RESET          0x0040
#define HCCR_PAUSED         0x0020

#define NV_SK               0x0001
#define NV_CS               0x0002
#define NV_DI               0x0004
#define NV_DO               0x0008

/* ---- Mailbox commands ---- */
#define MBC_NOP                     0x00
#define MBC_LOAD_RAM                0x01
#define MBC_EXECUTE_FIRMWARE        0x02
#define MBC_DUMP_RAM                0x03
#define MBC_WRITE_RAM_WORD          0x04
#define MBC_READ_RAM_WORD           0x05
#define MBC_MAILBOX_REG_TEST        0x06
#define MBC_VERIFY_CHECKSUM         0x07
#define MBC_ABOUT_FIRMWARE          0x08
#define MBC_LOAD_RAM_A64_ROM        0x09
#define MBC_DUMP_RAM_A64_ROM        0x0a
#define MBC_CHECK_FIRMWARE          0x0e
#define MBC_INIT_REQUEST_QUEUE      0x10
#define MBC_INIT_RESPONSE_QUEUE     0x11
#define MBC_WAKE_UP                 0x13
#define MBC_STOP_FIRMWARE           0x14
#define MBC_ABORT                   0x15
#define MBC_ABORT_DEVICE            0x16
#define MBC_ABORT_TARGET            0x17
#define MBC_BUS_RESET               0x18
#define MBC_STOP_QUEUE              0x19
#define MBC_START_QUEUE             0x1a
#define MBC_SINGLE_STEP_QUEUE       0x1b
#define MBC_ABORT_QUEUE             0x1c
#define MBC_GET_DEV_QUEUE_STATUS    0x1d
#define MBC_GET_FIRMWARE_STATUS     0x1f
#define MBC_GET_INIT_SCSI_ID        0x20
#define MBC_GET_SELECT_TIMEOUT      0x21
#define MBC_GET_RETRY_COUNT         0x22
#define MBC_GET_TAG_AGE_LIMIT       0x23
#define MBC_GET_CLOCK_RATE          0x24
#define MBC_GET_ACT_NEG_STATE       0x25
#define MBC_GET_ASYNC_DATA_SETUP    0x26
#define MBC_GET_PCI_PARAMS          0x27
#define MBC_GET_TARGET_PARAMETERS   0x28
#define MBC_GET_DEV_QUEUE_PARAMS    0x29
#define MBC_GET_RESET_DELAY_PARAMS  0x2a
#define MBC_SET_INITIATOR_ID        0x30
#define MBC_SET_SELECTION_TIMEOUT   0x31
#define MBC_SET_RETRY_COUNT         0x32
#define MBC_SET_TAG_AGE_LIMIT       0x33
#define MBC_SET_CLOCK_RATE          0x34
#define MBC_SET_ACTIVE_NEGATION     0x35
#define MBC_SET_ASYNC_DATA_SETUP    0x36
#define MBC_SET_PCI_CONTROL         0x37
#define MBC_SET_TARGET_PARAMETERS   0x38
#define MBC_SET_DEVICE_QUEUE        0x39
#define MBC_SET_RESET_DELAY_PARAMS  0x3a
#define MBC_SET_SYSTEM_PARAMETER    0x45
#define MBC_GET_SYSTEM_PARAMETER    0x46
#define MBC_SET_FIRMWARE_FEATURES   0x4a
#define MBC_GET_FIRMWARE_FEATURES   0x4b
#define MBC_INIT_REQUEST_QUEUE_A64  0x52
#define MBC_INIT_RESPONSE_QUEUE_A64 0x53
#define MBC_SET_DATA_OVERRUN_RECOVERY 0x5a
#define MBC_GET_DATA_OVERRUN_RECOVERY 0x5b

#define MBS_BUSY            0x0004  /* boot ROM self-test (reset) */
#define MBS_COMPLETE        0x4000
#define MBS_INVALID_CMD     0x4001
#define MBS_HOST_IF_ERROR   0x4002
#define MBS_TEST_FAILED     0x4003
#define MBS_CMD_ERROR       0x4005
#define MBS_PARAM_ERROR     0x4006

#define MBA_BUS_RESET       0x8001
#define MBA_SYSTEM_ERR      0x8002
#define MBA_REQ_XFER_ERR    0x8003
#define MBA_RSP_XFER_ERR    0x8004
#define MBA_TIMEOUT_RESET   0x8006
#define MBA_DEVICE_RESET    0x8007
#define MBA_FAST_POST       0x8020

/* ---- Queue entries ---- */
#define ISP_ENTRY_SIZE      64
#define ET_COMMAND          0x01
#define ET_CONTINUATION     0x02
#define ET_STATUS           0x03
#define ET_MARKER           0x04
#define ET_EXT_COMMAND      0x05
#define ET_COMMAND_A64      0x09
#define ET_CONT_A64         0x0a

#define EF_FULL             0x02
#define EF_BAD_HEADER       0x04
#define EF_BAD_PAYLOAD      0x08

#define RF_NO_DISCONNECT    0x0001
#define RF_HEAD_TAG         0x0002
#define RF_ORDERED_TAG      0x0004
#define RF_SIMPLE_TAG       0x0008
#define RF_DATA_IN          0x0020
#define RF_DATA_OUT         0x0040
#define RF_NO_AUTOSENSE     0x0100

/* Completion status (status entry bytes 10-11). */
#define CS_COMPLETE         0x00
#define CS_INCOMPLETE       0x01
#define CS_DMA_ERROR        0x02
#define CS_TRANSPORT_ERROR  0x03
#define CS_RESET            0x04
#define CS_ABORTED          0x05
#define CS_TIMEOUT          0x06
#define CS_DATA_OVERRUN     0x07
#define CS_UNEXP_BUS_FREE   0x14
#define CS_DATA_UNDERRUN    0x15

#define SS_GOT_BUS          0x0100
#define SS_GOT_TARGET       0x0200
#define SS_SENT_CDB         0x0400
#define SS_XFERRED_DATA     0x0800
#define SS_GOT_STATUS       0x1000
#define SS_GOT_SENSE        0x2000
#define SS_XFER_COMPLETE    0x4000

#define SF_BUS_RESET        0x0008
#define SF_DEVICE_RESET     0x0010
#define SF_ABORTED          0x0020
#define SF_TIMEOUT          0x0040

#define ISP_TASK_SET_FULL   0x28    /* SCSI status */

#define MK_SYNC_DEVICE      0
#define MK_SYNC_TARGET      1
#define MK_SYNC_ALL         2

/*
 * Entry layouts, little-endian byte offsets in a 64-byte entry.  Every entry
 * starts with a header: 0 type (ET_*), 1 entry count, 2 system defined
 * (echoed), 3 entry status (EF_*).
 *
 * Command (ET_COMMAND, ET_COMMAND_A64, ET_EXT_COMMAND):
 *   4 handle (32 bits), 8 LUN, 9 target (dual-bus chips: bit 7 bus),
 *   10 CDB length, 12 request flags (RF_*), 16 timeout in seconds,
 *   18 segment count, 20 CDB (ISP_MAX_CDB bytes; ET_EXT_COMMAND:
 *   ISP_MAX_EXT_CDB, no segments), then segments: ET_COMMAND 4 at 32
 *   (32-bit address, 32-bit length), ET_COMMAND_A64 2 at 40 (64-bit address,
 *   32-bit length).
 * Continuation: ET_CONTINUATION 7 segments at 8 (32-bit address and
 *   length), ET_CONT_A64 5 at 4 (64-bit address, 32-bit length).
 * Marker (ET_MARKER): 8 LUN, 9 target (as in a command), 10 modifier
 *   (MK_SYNC_*).
 * Status (ET_STATUS): 4 handle, 8 SCSI status, 10 completion status (CS_*),
 *   12 state flags (SS_*), 14 status flags (SF_*), 18 sense length,
 *   20 residual (32 bits), 32 sense data (ISP_SENSE_LEN bytes).
 */

/* ---- Sizes and limits ---- */
#define ISP_NMBOX           8
#define ISP_RAM_WORDS       0x10000
#define ISP_CODE_ORG        0x1000
#define ISP_MAX_BUSES       2
#define ISP_MAX_TARGETS     16
#define ISP_MAX_LUNS        8
#define ISP_MIN_QUEUE_LEN   2
#define ISP_MAX_QUEUE_LEN   1024
#define ISP_MAX_ACTIVE      256     /* reported by GET_FIRMWARE_STATUS */
#define ISP_MAX_CDB         12
#define ISP_MAX_EXT_CDB     44
#define ISP_SENSE_LEN       32      /* sense bytes a status entry carries */
#define ISP_DMA_CHUNK_WORDS 0x10000 /* LOAD/DUMP_RAM count limit (mb4) */

/*
 * Transfer negotiation: SET/GET_TARGET_PARAMETERS flags (mailbox 2), status
 * flags of the negotiating command, completion status of a rejected one.
 */
#define ISP_TP_WIDE         0x2000
#define ISP_TP_SYNC         0x1000
#define ISP_TP_FORCE_NARROW 0x0080
#define ISP_TP_FORCE_ASYNC  0x0040
#define ISP_SF_SYNC         0x0002
#define ISP_SF_NEGOTIATION  0x0080
#define CS_WIDE_FAILED      0x1f
#define CS_SYNC_FAILED      0x20

/*
 * Chip revisions (property "revision", the BIU CONF0 value; the PCI
 * revision ID is set to the same number, a model choice: no source maps
 * one onto the other).  1 ISP1020, 2 1020A, 3 1040, 4 1040A, 5 1040B,
 * 6 1040C (FreeBSD isp, qlogicisp).  What differs where a driver can tell:
 * - Ultra (Fast-20) only on the 1040B and 1040C: RISC PSR bit 0x0080 reads
 *   set there (FreeBSD tests it), and elsewhere negotiation goes no faster
 *   than Fast-10 (period factor 25) whatever the host asks for;
 * - pre-A 1020 and 1040 have mailboxes 0-5 only: mailbox 6 and 7 read 0
 *   and ignore writes;
 * - the 1040A's CONF1 FIFO threshold is broken: drivers program only the
 *   burst bit there, and a threshold written is logged as a guest error.
 */
#define ISP_REV_1020        1
#define ISP_REV_1040        3
#define ISP_REV_1040A       4
#define ISP_REV_1040B       5
#define ISP_REV_1040C       6
#define R_RISC_PSR          0xa0
#define RISC_PSR_PCI_ULTRA  0x0080
#define CONF1_FIFO_MASK     0x0070
#define ISP_FAST10_PERIOD   25

#endif
