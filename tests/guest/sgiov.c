// SPDX-License-Identifier: GPL-2.0-only
/*
 * sgiov: one READ(10) or WRITE(10) through SG_IO with an iovec of NSEG
 * elements of 512 bytes, each at byte OFFSET of a page of its own, so that
 * no two elements can be physically contiguous (OFFSET is not 0 mod 512 of
 * the next page's start) and the block layer cannot merge them: the
 * command reaches the HBA with exactly NSEG segments, each starting
 * mid-page -- if the SG_IO path maps the user pages (the block device's
 * SG_IO does; sg's own copies into its reserve buffer).
 *
 * Usage: sgiov DEV r|w LBA NSEG OFFSET FILE
 *   w: FILE (NSEG * 512 bytes) is written; r: what is read goes to FILE.
 * Prints "status S host H driver D resid R", and "sense HEX" with the
 * sense bytes the kernel handed up (up to 96); exit status 0 only if
 * status, host, driver and resid are all 0.  Built statically by tests/guest/build-guest.sh.
 */
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096
#define SEG 512

int main(int argc, char **argv)
{
	unsigned char cdb[10] = { 0 }, sense[96];
	struct sg_io_hdr h;
	struct iovec *iov;
	unsigned long lba, nseg, off, i;
	unsigned char *mem;
	int fd, wr, ffd;

	if (argc != 7 || (argv[2][0] != 'r' && argv[2][0] != 'w')) {
		fprintf(stderr, "usage: sgiov DEV r|w LBA NSEG OFFSET FILE\n");
		return 2;
	}
	wr = argv[2][0] == 'w';
	lba = strtoul(argv[3], NULL, 0);
	nseg = strtoul(argv[4], NULL, 0);
	off = strtoul(argv[5], NULL, 0);
	if (!nseg || nseg > 1024 || off + SEG > PAGE) {
		fprintf(stderr, "sgiov: bad NSEG or OFFSET\n");
		return 2;
	}
	/* every other page: the elements are not even virtually adjacent */
	mem = mmap(NULL, 2 * PAGE * nseg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	iov = calloc(nseg, sizeof(*iov));
	if (mem == MAP_FAILED || !iov) {
		perror("sgiov: memory");
		return 2;
	}
	ffd = wr ? open(argv[6], O_RDONLY) :
		   open(argv[6], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ffd < 0) {
		perror(argv[6]);
		return 2;
	}
	for (i = 0; i < nseg; i++) {
		iov[i].iov_base = mem + 2 * PAGE * i + off;
		iov[i].iov_len = SEG;
		memset(iov[i].iov_base, 0xEE, SEG);
		if (wr && read(ffd, iov[i].iov_base, SEG) != SEG) {
			fprintf(stderr, "sgiov: %s too short\n", argv[6]);
			return 2;
		}
	}
	cdb[0] = wr ? 0x2a : 0x28;
	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	cdb[7] = nseg >> 8;
	cdb[8] = nseg;
	memset(&h, 0, sizeof(h));
	memset(sense, 0xA5, sizeof(sense));
	h.interface_id = 'S';
	h.dxfer_direction = wr ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
	h.cmd_len = sizeof(cdb);
	h.cmdp = cdb;
	h.mx_sb_len = sizeof(sense);
	h.sbp = sense;
	h.iovec_count = nseg;
	h.dxfer_len = nseg * SEG;
	h.dxferp = iov;
	h.timeout = 60000;
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || ioctl(fd, SG_IO, &h) < 0) {
		perror(argv[1]);
		return 1;
	}
	printf("status %d host %d driver %d resid %d\n", h.status,
	       h.host_status, h.driver_status, h.resid);
	if (h.sb_len_wr) {
		printf("sense ");
		for (i = 0; i < h.sb_len_wr; i++)
			printf("%02x", sense[i]);
		printf("\n");
	}
	if (!wr)
		for (i = 0; i < nseg; i++)
			if (write(ffd, iov[i].iov_base, SEG) != SEG) {
				perror(argv[6]);
				return 1;
			}
	close(ffd);
	return h.status || h.host_status || h.driver_status || h.resid;
}
