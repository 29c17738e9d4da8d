/*
 * insn-count: a QEMU TCG plugin for make bench.  Counts the guest
 * instructions executed, split by whether the translation block starts at
 * a kernel (upper-half) or a user address, and, for the x86-64 module
 * area, per 4 KiB page, so that one module's own instructions can be told
 * apart.  Writes
 *   kernel=N user=N snaps=K:U,K:U,...
 *   modpage SNAP ADDR N          (one line per page that ran, per snapshot)
 * to the file given as out=PATH when QEMU exits.  Run QEMU with
 * -accel tcg,thread=single so that the inline counters are not raced.
 *
 * SIGUSR2 takes a snapshot of the counters (up to MAX_SNAPS), so that a run
 * can count the instructions between points the guest asks for
 * (tests/run-vm.py: "@@QMP snap").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* x86-64 MODULES_VADDR .. MODULES_END */
#define MOD_START   UINT64_C(0xffffffffc0000000)
#define MOD_END     UINT64_C(0xffffffffff000000)
#define MOD_PAGES   ((MOD_END - MOD_START) >> 12)
#define MAX_SNAPS   4
/* translated kernel blocks counted one by one; the rest are summed */
#define MAX_TBS     (1 << 19)

static uint64_t kernel_insns;
static uint64_t user_insns;
static uint64_t mod_insns[MOD_PAGES];
static char out_path[256];

static uint64_t snaps[MAX_SNAPS][2];
static uint64_t mod_snaps[MAX_SNAPS][MOD_PAGES];
static volatile sig_atomic_t nsnaps;

static char prof_path[256];
static uint64_t tb_va[MAX_TBS + 1];     /* the last slot: overflow */
static uint64_t tb_count[MAX_TBS + 1];
static uint64_t tb_snaps[MAX_SNAPS][MAX_TBS + 1];
static unsigned int n_tbs;

static void on_sigusr2(int sig)
{
    if (nsnaps < MAX_SNAPS) {
        snaps[nsnaps][0] = kernel_insns;
        snaps[nsnaps][1] = user_insns;
        memcpy(mod_snaps[nsnaps], mod_insns, sizeof(mod_insns));
        if (prof_path[0]) {
            memcpy(tb_snaps[nsnaps], tb_count, sizeof(tb_count));
        }
        nsnaps++;
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    uint64_t va = qemu_plugin_tb_vaddr(tb);
    size_t n = qemu_plugin_tb_n_insns(tb);

    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                             (va >> 63) ? &kernel_insns
                                                        : &user_insns, n);
    if (va >= MOD_START && va < MOD_END) {
        qemu_plugin_register_vcpu_tb_exec_inline(
            tb, QEMU_PLUGIN_INLINE_ADD_U64, &mod_insns[(va - MOD_START) >> 12],
            n);
    }
    if (prof_path[0] && (va >> 63)) {
        /* a block translated again gets a slot of its own: summed later */
        unsigned int slot = n_tbs < MAX_TBS ? n_tbs++ : MAX_TBS;

        tb_va[slot] = slot < MAX_TBS ? va : 0;
        qemu_plugin_register_vcpu_tb_exec_inline(
            tb, QEMU_PLUGIN_INLINE_ADD_U64, &tb_count[slot], n);
    }
}

static void write_prof(void)
{
    FILE *f = fopen(prof_path, "w");
    unsigned int t;
    int i;

    if (!f) {
        qemu_plugin_outs("insn-count: cannot write the profile\n");
        return;
    }
    for (t = 0; t <= MAX_TBS && t <= n_tbs; t++) {
        if (!nsnaps || !tb_snaps[nsnaps - 1][t]) {
            continue;
        }
        fprintf(f, "0x%" PRIx64, tb_va[t]);
        for (i = 0; i < nsnaps; i++) {
            fprintf(f, " %" PRIu64, tb_snaps[i][t]);
        }
        fprintf(f, "\n");
    }
    fclose(f);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    FILE *f = fopen(out_path, "w");
    uint64_t pg;
    int i;

    if (!f) {
        qemu_plugin_outs("insn-count: cannot write the output file\n");
        return;
    }
    fprintf(f, "kernel=%" PRIu64 " user=%" PRIu64 " snaps=", kernel_insns,
            user_insns);
    for (i = 0; i < nsnaps; i++) {
        fprintf(f, "%s%" PRIu64 ":%" PRIu64, i ? "," : "", snaps[i][0],
                snaps[i][1]);
    }
    fprintf(f, "\n");
    for (i = 0; i < nsnaps; i++) {
        for (pg = 0; pg < MOD_PAGES; pg++) {
            if (mod_snaps[i][pg]) {
                fprintf(f, "modpage %d 0x%" PRIx64 " %" PRIu64 "\n", i,
                        MOD_START + (pg << 12), mod_snaps[i][pg]);
            }
        }
    }
    fclose(f);
    if (prof_path[0]) {
        write_prof();
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
                                           const qemu_info_t *info,
                                           int argc, char **argv)
{
    struct sigaction sa;
    int i;

    for (i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4) &&
            strlen(argv[i] + 4) < sizeof(out_path)) {
            strcpy(out_path, argv[i] + 4);
        }
        if (!strncmp(argv[i], "prof=", 5) &&
            strlen(argv[i] + 5) < sizeof(prof_path)) {
            strcpy(prof_path, argv[i] + 5);
        }
    }
    if (!out_path[0]) {
        fprintf(stderr, "insn-count: out=PATH is required\n");
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigusr2;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
