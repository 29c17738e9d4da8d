// SPDX-License-Identifier: GPL-2.0-only
/*
 * qlisp - QLogic ISP1020/1040 PCI SCSI host adapter driver
 *
 * Request-queue side: ring space accounting, command entries built from a
 * scsi_dma_map() scatterlist, continuation chaining and markers.
 *
 * The Solaris isp driver this port started from bound each packet's buffer
 * with DDI_DMA_PARTIAL and walked it window by window, putting at most four
 * cookies into one request (tran_init_pkt/isp_i_dma_move).  Here the block
 * layer never hands down more than sg_tablesize segments of at most
 * max_segment_size bytes that do not cross dma_boundary, so a command
 * always goes out whole: four segments in the command entry and the rest
 * in type-2 continuation entries of seven segments each.
 */

#include <linux/kernel.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>

#include "qlisp.h"

static void *qlisp_req_entry(struct qlisp_host *ha, unsigned int idx)
{
	return ha->req_ring + idx * QLISP_ENTRY_SIZE;
}

static void qlisp_req_advance(struct qlisp_host *ha)
{
	ha->req_in++;
	if (ha->req_in == ha->req_len)
		ha->req_in = 0;
}

/* Entries free between request-in and request-out as last known. */
static unsigned int qlisp_req_room(struct qlisp_host *ha)
{
	return (ha->req_out + ha->req_len - ha->req_in - 1) % ha->req_len;
}

/**
 * qlisp_entries_for_cmd() - request entries needed for a command
 * @nseg: number of mapped data segments
 * @cdb_len: CDB length in bytes
 *
 * Return: for a CDB of up to 12 bytes (type-1 entry) 1 for up to four
 * segments, plus one continuation entry for every further seven; for a
 * longer CDB (type-5 entry, no in-line segments) 1 plus one continuation
 * entry for every seven segments.
 */
unsigned int qlisp_entries_for_cmd(unsigned int nseg, unsigned int cdb_len)
{
	if (cdb_len > QLISP_MAX_CDB)
		return 1 + DIV_ROUND_UP(nseg, CONT_ENTRY_SEGS);
	if (nseg <= CMD_ENTRY_SEGS)
		return 1;
	return 1 + DIV_ROUND_UP(nseg - CMD_ENTRY_SEGS, CONT_ENTRY_SEGS);
}

/**
 * qlisp_req_reserve() - make sure @n request entries are free
 * @ha: adapter
 * @n: entries needed
 *
 * Counts the free entries from the request-out index as last known (see
 * qlisp_req_retired()), and reads the firmware's index, outgoing mailbox
 * 4, only when that count is too small.  One entry always stays empty so
 * that a full ring is distinguishable from an empty one.  The index comes
 * from the device and is checked before use.  Caller holds @ha->lock.
 *
 * Return: true if @n entries can be filled now.
 */
bool qlisp_req_reserve(struct qlisp_host *ha, unsigned int n)
{
	u16 out;

	lockdep_assert_held(ha->lock);
	if (qlisp_req_room(ha) >= n)
		return true;
	out = qlisp_rd(ha, ISP_MBOX(4));
	if (out >= ha->req_len) {
		dev_warn_ratelimited(&ha->pdev->dev,
				     "request-out index %u out of range\n", out);
		return false;
	}
	ha->req_out = out;
	return qlisp_req_room(ha) >= n;
}

/**
 * qlisp_req_retired() - the firmware is done with a command's entries
 * @ha: adapter
 * @end: request-ring index just past the command's last entry
 *
 * The firmware fetches request entries in ring order, so a command it has
 * completed tells that every entry before @end is free again: a shadow of
 * the request-out index that costs no register read.  An @end outside the
 * entries in flight is ignored.  Caller holds @ha->lock.
 */
void qlisp_req_retired(struct qlisp_host *ha, u16 end)
{
	unsigned int ahead, used;

	lockdep_assert_held(ha->lock);
	ahead = (end + ha->req_len - ha->req_out) % ha->req_len;
	used = (ha->req_in + ha->req_len - ha->req_out) % ha->req_len;
	if (!ahead || ahead > used)
		return;
	ha->req_out = end;
}

/**
 * qlisp_req_post() - hand the filled entries to the firmware
 * @ha: adapter
 *
 * Writing the request-in index to mailbox 4 is the doorbell; writew()
 * orders it after the entries written to coherent memory.  One doorbell
 * hands over every entry filled since the last one, so the write is left
 * out when nothing new was filled.  No doorbell rings while the chip is
 * offline: bring-up and re-initialisation use mailbox 4 as a parameter
 * (LOAD_RAM, INIT_REQUEST_QUEUE) and start the rings afresh.  Caller holds
 * @ha->lock.
 */
void qlisp_req_post(struct qlisp_host *ha)
{
	lockdep_assert_held(ha->lock);
	if (!ha->online || ha->req_in == ha->req_posted)
		return;
	qlisp_wr(ha, ISP_MBOX(4), ha->req_in);
	ha->req_posted = ha->req_in;
}

/**
 * qlisp_put_marker() - queue a marker entry
 * @ha: adapter
 * @target: SCSI target (for MK_SYNC_DEVICE and MK_SYNC_TARGET)
 * @lun: logical unit (for MK_SYNC_DEVICE)
 * @modifier: MK_SYNC_DEVICE, MK_SYNC_TARGET or MK_SYNC_ALL
 *
 * After a reset the firmware waits for a marker before it resumes the
 * affected queues.  Caller holds @ha->lock and has reserved one entry;
 * the caller also posts it with qlisp_req_post().
 */
void qlisp_put_marker(struct qlisp_host *ha, u8 target, u8 lun, u8 modifier)
{
	struct qlisp_marker_entry *m = qlisp_req_entry(ha, ha->req_in);

	lockdep_assert_held(ha->lock);
	memset(m, 0, sizeof(*m));
	m->hdr.type = ET_MARKER;
	m->hdr.count = 1;
	m->target = target;
	m->lun = lun;
	m->modifier = modifier;
	qlisp_req_advance(ha);
}

static void qlisp_set_dseg(struct qlisp_dseg *d, struct scatterlist *sg)
{
	/* the DMA mask is 32 bits: the address fits the 32-bit field */
	d->addr = cpu_to_le32(lower_32_bits(sg_dma_address(sg)));
	d->len = cpu_to_le32(sg_dma_len(sg));
}

/**
 * qlisp_build_command() - write a command and its continuation entries
 * @ha: adapter
 * @cmd: SCSI command, already mapped with scsi_dma_map()
 * @nseg: number of mapped segments (0 for no data)
 * @handle: handle the firmware returns on completion (the blk-mq tag)
 *
 * A CDB of up to 12 bytes goes in a type-1 command entry with the first
 * four segments; a longer one (up to QLISP_MAX_CMD_LEN, checked by the
 * caller) in a type-5 extended command entry, which has room for the CDB
 * only, and every segment goes in continuation entries.  Caller holds
 * @ha->lock and has reserved qlisp_entries_for_cmd() entries; the entries
 * become visible to the chip with qlisp_req_post().
 *
 * Return: number of request entries used.
 */
int qlisp_build_command(struct qlisp_host *ha, struct scsi_cmnd *cmd,
			int nseg, u32 handle)
{
	struct scsi_device *sdev = cmd->device;
	struct qlisp_cmd_entry *e = qlisp_req_entry(ha, ha->req_in);
	struct qlisp_ext_cmd_entry *x = qlisp_req_entry(ha, ha->req_in);
	unsigned int count = qlisp_entries_for_cmd(nseg, cmd->cmd_len);
	bool ext = cmd->cmd_len > QLISP_MAX_CDB;
	unsigned int inline_segs = ext ? 0 : CMD_ENTRY_SEGS;
	unsigned int timeout = scsi_cmd_to_rq(cmd)->timeout / HZ;
	struct qlisp_cont_entry *c = NULL;
	struct scatterlist *sg;
	u16 flags = 0;
	int i, slot = 0;

	lockdep_assert_held(ha->lock);
	BUILD_BUG_ON(sizeof(*x) != QLISP_ENTRY_SIZE);
	BUILD_BUG_ON(offsetof(struct qlisp_ext_cmd_entry, seg_count) !=
		     offsetof(struct qlisp_cmd_entry, seg_count));
	/* the type-1 and type-5 entries share bytes 0-19 */
	memset(e, 0, QLISP_ENTRY_SIZE);
	e->hdr.type = ext ? ET_EXT_COMMAND : ET_COMMAND;
	e->hdr.count = count;
	e->handle = cpu_to_le32(handle);
	e->lun = sdev->lun;
	e->target = sdev->id;
	e->cdb_len = cpu_to_le16(cmd->cmd_len);
	if (ext)
		memcpy(x->cdb, cmd->cmnd, min_t(unsigned int, cmd->cmd_len,
						QLISP_EXT_CDB));
	else
		memcpy(e->cdb, cmd->cmnd, min_t(unsigned int, cmd->cmd_len,
						QLISP_MAX_CDB));
	if (cmd->sc_data_direction == DMA_FROM_DEVICE)
		flags |= RF_DATA_IN;
	else if (cmd->sc_data_direction == DMA_TO_DEVICE)
		flags |= RF_DATA_OUT;
	else if (cmd->sc_data_direction == DMA_BIDIRECTIONAL)
		flags |= RF_DATA_IN | RF_DATA_OUT;
	if (sdev->simple_tags)
		flags |= RF_SIMPLE_TAG;
	e->flags = cpu_to_le16(flags);
	/* the firmware gives up a little after the midlayer would */
	e->timeout = cpu_to_le16(min_t(unsigned int, timeout + 2, 0xffff));
	e->seg_count = cpu_to_le16(nseg);
	qlisp_req_advance(ha);

	scsi_for_each_sg(cmd, sg, nseg, i) {
		if (i < inline_segs) {
			qlisp_set_dseg(&e->seg[i], sg);
			continue;
		}
		if (!c || slot == CONT_ENTRY_SEGS) {
			c = qlisp_req_entry(ha, ha->req_in);
			memset(c, 0, sizeof(*c));
			c->hdr.type = ET_CONTINUATION;
			c->hdr.count = 1;
			qlisp_req_advance(ha);
			slot = 0;
		}
		qlisp_set_dseg(&c->seg[slot++], sg);
	}
	return count;
}
