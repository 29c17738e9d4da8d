// SPDX-License-Identifier: GPL-2.0-only
/*
 * sgresid: one data-in command through SG_IO into a page-aligned buffer of
 * ALLOC bytes filled with 0xEE beforehand, so that what the device did not
 * write can be told from what it did (through a disk's node, sd's SG_IO
 * maps the user pages when ALLOC is a multiple of 512: the HBA writes into
 * them directly).
 *
 * Usage: sgresid DEV ALLOC FILE CDB-BYTE...   (CDB bytes in hex)
 * Prints "status S host H driver D resid R" and, if any, "sense HEX"; the
 * whole buffer (ALLOC bytes, the untouched tail included) goes to FILE.
 * Exit status 0 if the ioctl was done (whatever its outcome: the caller
 * checks the numbers), 1 if it failed, 2 on bad usage.  Built statically by
 * tests/guest/build-guest.sh.
 */
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned char cdb[16], sense[96];
	struct sg_io_hdr h;
	unsigned long alloc;
	unsigned char *buf;
	int fd, ffd, i, n;

	if (argc < 5 || argc - 4 > (int)sizeof(cdb)) {
		fprintf(stderr, "usage: sgresid DEV ALLOC FILE CDB-BYTE...\n");
		return 2;
	}
	alloc = strtoul(argv[2], NULL, 0);
	if (!alloc || alloc > (1UL << 20)) {
		fprintf(stderr, "sgresid: ALLOC 1..1048576\n");
		return 2;
	}
	n = argc - 4;
	for (i = 0; i < n; i++)
		cdb[i] = strtoul(argv[4 + i], NULL, 16);
	if (posix_memalign((void **)&buf, 4096, (alloc + 4095) & ~4095UL)) {
		perror("sgresid: memory");
		return 2;
	}
	memset(buf, 0xEE, alloc);
	memset(&h, 0, sizeof(h));
	memset(sense, 0, sizeof(sense));
	h.interface_id = 'S';
	h.dxfer_direction = SG_DXFER_FROM_DEV;
	h.cmd_len = n;
	h.cmdp = cdb;
	h.mx_sb_len = sizeof(sense);
	h.sbp = sense;
	h.dxfer_len = alloc;
	h.dxferp = buf;
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
	ffd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ffd < 0 || write(ffd, buf, alloc) != (ssize_t)alloc) {
		perror(argv[3]);
		return 1;
	}
	close(ffd);
	return 0;
}
