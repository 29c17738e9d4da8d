/*
 * insn-count: a QEMU TCG plugin for make bench.  Counts the guest
 * instructions executed, split by whether the translation block starts at
 * a kernel (upper-half) or a user address, and writes
 *   kernel=N user=N
 * to the file given as out=PATH when QEMU exits.  Run QEMU with
 * -accel tcg,thread=single so that the inline counters are not raced.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t kernel_insns;
static uint64_t user_insns;
static char out_path[256];

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    uint64_t *ctr = (qemu_plugin_tb_vaddr(tb) >> 63) ? &kernel_insns
                                                      : &user_insns;

    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                             ctr, qemu_plugin_tb_n_insns(tb));
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    FILE *f = fopen(out_path, "w");

    if (!f) {
        qemu_plugin_outs("insn-count: cannot write the output file\n");
        return;
    }
    fprintf(f, "kernel=%" PRIu64 " user=%" PRIu64 "\n", kernel_insns,
            user_insns);
    fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                           const qemu_info_t *info,
                                           int argc, char **argv)
{
    int i;

    for (i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4) &&
            strlen(argv[i] + 4) < sizeof(out_path)) {
            strcpy(out_path, argv[i] + 4);
        }
    }
    if (!out_path[0]) {
        fprintf(stderr, "insn-count: out=PATH is required\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
