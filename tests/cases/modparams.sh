#!/bin/sh
# modparams: qlisp's module parameters and firmware files that change the
# bring-up, each on a fresh load with the data checked after it:
# - firmware=rom: the chip's ROM firmware runs (fw_version says rom);
# - a corrupt firmware file (one byte flipped: checksum bad) and a
#   truncated one: with firmware=auto the driver says why it refuses the
#   file and runs the ROM firmware; with firmware=file it refuses the
#   adapter (no SCSI host) instead of running other firmware;
# - bus_reset=0: no bus reset at attach: the model counts none and no LUN
#   reports a unit attention; with the default, one bus reset, its marker
#   and a unit attention from every LUN.
# (qlisp only: qla1280 has none of these parameters.)
. /qlisp/lib.sh
is_qlisp || fail "modparams checks qlisp's module parameters"
need_disks
fw=/lib/firmware/qlogic/1040.bin
[ -s $fw ] || fail "no $fw in the guest"
cp $fw /tmp/fw.good
restore_fw() { cp /tmp/fw.good $fw; }
# load_with ARGS...: rmmod, then modprobe with the suite's and these
# parameters (the disks are not waited for)
load_with() {
	driver_loaded && must rmmod "$VMT_DRIVER"
	# shellcheck disable=SC2046
	modprobe "$VMT_DRIVER" $(echo "${VMT_MODARGS:-}" | tr ':' ' ') "$@" >/tmp/mp.out 2>&1
}
reload_with() {
	load_with "$@" || { restore_fw; fail "modprobe with '$*' failed: $(cat /tmp/mp.out)"; }
	wait_disks 60 || { restore_fw; fail "disks did not come back with '$*'"; }
}
fw_source() { sed 's/.* //' "/sys/class/scsi_host/host$(hba_host)/fw_version"; }
# fresh data on disk A, and on disk B through the other target, read back
data_ok() {
	rw_check 0 "$1" 256 64 || { restore_fw; fail "$2: $RW_WHY"; }
	rw_check 1 "$1" 64 16 || { restore_fw; fail "$2: $RW_WHY"; }
}
# flip_byte FILE OFFSET: xor one byte with 0x01
flip_byte() {
	_b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	# shellcheck disable=SC2059
	printf "\\$(printf %03o $((_b ^ 1)))" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}

# --- firmware=rom ---------------------------------------------------------
reset_begin rom
reload_with firmware=rom
[ "$(fw_source)" = rom ] || fail "firmware=rom: fw_version says '$(fw_source)'"
dmesg_since_mark rom | grep -q 'firmware [0-9.]* (ROM)' || fail "firmware=rom: attach line does not say ROM"
data_ok 1000 "firmware=rom"

# --- a corrupt firmware file ------------------------------------------------
flip_byte $fw 1000
cmp -s $fw /tmp/fw.good && fail "the firmware file did not change"
reset_begin fwbad
reload_with
dmesg_since_mark fwbad | grep -q 'firmware image checksum bad$' ||
	{ restore_fw; fail "corrupt firmware file: no 'checksum bad' message"; }
[ "$(fw_source)" = rom ] || { restore_fw; fail "corrupt firmware file: fw_version says '$(fw_source)', want rom"; }
data_ok 2000 "corrupt firmware file, ROM firmware"
# firmware=file: the file or nothing
reset_begin fwfile
load_with firmware=file
hba_host >/dev/null && { restore_fw; fail "firmware=file with a corrupt file: a SCSI host was registered"; }
dmesg_since_mark fwfile | grep -q 'firmware image checksum bad$' ||
	{ restore_fw; fail "firmware=file with a corrupt file: no 'checksum bad' message"; }
dmesg_since_mark fwfile | grep -q 'probe of .* failed with error -2$' ||
	{ restore_fw; fail "firmware=file with a corrupt file: the probe did not fail with -ENOENT"; }
# a truncated file
head -c 13 /tmp/fw.good >$fw
reset_begin fwshort
reload_with
dmesg_since_mark fwshort | grep -q 'firmware image has a bad size 13$' ||
	{ restore_fw; fail "truncated firmware file: no 'bad size' message"; }
[ "$(fw_source)" = rom ] || { restore_fw; fail "truncated firmware file: fw_version says '$(fw_source)'"; }
data_ok 3000 "truncated firmware file, ROM firmware"
restore_fw
reset_begin fwgood
reload_with
[ "$(fw_source)" = qlogic/1040.bin ] || fail "good firmware file: fw_version says '$(fw_source)'"
data_ok 4000 "firmware file back"

# --- bus_reset=0 ------------------------------------------------------------
# shellcheck disable=SC2046
expect_reset_effects fwgood 0 $(all_disks)
[ "$(reset_grew fwgood x-stat-bus-resets)" -eq 1 ] ||
	fail "default load: $(reset_grew fwgood x-stat-bus-resets) bus resets, want 1"
reset_begin nobr
reload_with bus_reset=0
[ "$(reset_grew nobr x-stat-bus-resets)" -eq 0 ] ||
	fail "bus_reset=0: the model counted $(reset_grew nobr x-stat-bus-resets) bus resets"
# shellcheck disable=SC2046
expect_no_ua nobr $(all_disks)
data_ok 5000 "bus_reset=0"
# back to the suite's parameters for the cases after this one
reload_with
dmesg_allow 'firmware image checksum bad$|firmware image has a bad size 13$|cannot load qlogic/1040.bin|probe of [0-9a-f:.]+ failed with error -2$'
check_dmesg_clean
pass "firmware=rom, corrupt and truncated files (ROM fallback, firmware=file refused), bus_reset=0 (no bus reset, no unit attention)"
