# qlisp top-level Makefile.
#
#   make           build drivers/scsi/qlisp/qlisp.ko against Debian's
#                  linux-headers-amd64 (KDIR=... to use another tree)
#   make qemu      build Debian's QEMU with the ISP1040 model
#                  (build/qemu-system-x86_64, cached in ~/.cache/qlisp)
#   make qemu-trixie  the same with Debian trixie's QEMU 10.0
#                  (build/qemu-system-x86_64-trixie)
#   make demo      boot the guest: model, two disks, qlisp attach and I/O
#   make check     static checks and every test (what CI runs), including
#                  the fault suites of both drivers and qlisp on the debug
#                  kernel (tests/kdebug, built once and cached), and the
#                  builds and boots on trixie and sid, DKMS and in-tree
#   make check-quick  the edit-test loop: static gates without the slow
#                  ones, qtests, key guest cases on qlisp and qla1280
#   make fault-table  both drivers through every fault case, as a table
#   make kdebug    just build the debug guest kernel
#   make bench     fio on qlisp, qla1280 and other HBAs (bench/bench.py)
#   make clean

KDIR ?= $(shell scripts/kernel-headers.sh)
MDIR := $(CURDIR)/drivers/scsi/qlisp

.PHONY: all module qemu qemu-trixie demo check check-quick fault-table kdebug bench clean

all: module

module:
	$(MAKE) -C $(KDIR) M=$(MDIR) CONFIG_SCSI_QLISP=m modules

qemu:
	emu/build-qemu.sh

qemu-trixie:
	QEMU_RELEASE=trixie emu/build-qemu.sh

demo: module qemu
	tests/demo.sh

check:
	tests/run.sh --module --static --portability qla1280 qlisp qlisp-swiotlb \
		qlisp-2hba qla1280-2hba qlisp-nvram qlisp-cdb16 qlisp-neg qlisp-revs \
		qlisp-faults qla1280-faults qlisp-debug qlisp-topo qla1280-topo

QUICK_CASES := attach chan_race sg_basic sg_dd continuation eyes_dropwrite eyes_wronglba \
	eyes_flipread eyes_zeroresid

check-quick:
	tests/run.sh --module --static-quick $(foreach c,$(QUICK_CASES),--case $(c)) \
		qlisp qla1280

fault-table: module qemu
	tests/fault-table.sh

kdebug:
	tests/kdebug/build-kernel.sh

bench: module qemu
	tests/guest/build-guest.sh $(MDIR)/qlisp.ko >/dev/null
	bench/bench.py $(BENCH_ARGS)

clean:
	-$(MAKE) -C $(KDIR) M=$(MDIR) clean
	rm -rf build
