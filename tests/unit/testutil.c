#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlkit/fileio.h"

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static const char *env_path(const char *var, const char *fallback, const char *name)
{
    static char buf[4096];
    const char *dir = getenv(var);
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : fallback, name);
    return buf;
}

const char *tu_vector(const char *name) { return env_path("CTLKIT_VECTORS", "tests/data/vectors", name); }
const char *tu_data(const char *name) { return env_path("CTLKIT_TEST_DATA", "tests/data", name); }

const char *tu_tmpdir(void)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/ctlkit-test-XXXXXX");
    if (!mkdtemp(buf))
        fail_msg("mkdtemp failed");
    return buf;
}

void tu_rmtree(const char *path)
{
    char cmd[512];
    if (strncmp(path, "/tmp/ctlkit-test-", 17) != 0)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

tu_cluster *tu_cluster_new(size_t n_nodes, bool mixed)
{
    tu_cluster *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->root, sizeof t->root, "%s", tu_tmpdir());
    snprintf(t->dir, sizeof t->dir, "%s/cl", t->root);
    ck_node_spec nodes[] = {{.name = TU_PUB, .ip = "127.0.0.11"}, {.name = TU_SUB, .ip = "127.0.0.12"}};
    ck_cluster_init_opts o = {.nodes = nodes, .n_nodes = n_nodes < 2 ? n_nodes : 2, .ou = "TAC", .o = "Cisco",
                              .l = "Krakow", .st = "Malopolska", .c = "PL", .rsa_bits = 1024, .who = "test"};
    ck_err err = {0};
    if (ck_cluster_create(t->dir, &o, &err) < 0 || ck_cluster_open(t->dir, "test", &t->c, &err) < 0 ||
        (mixed && ck_cluster_set_mixed_mode(t->c, TU_PUB, &err) < 0)) {
        fprintf(stderr, "test cluster: %s\n", err.msg);
        tu_cluster_free(t);
        return NULL;
    }
    return t;
}

void tu_cluster_free(tu_cluster *t)
{
    if (!t)
        return;
    ck_cluster_close(t->c);
    tu_rmtree(t->root);
    free(t);
}

int tu_cluster_setup_mixed(void **state)
{
    *state = tu_cluster_new(2, true);
    return *state ? 0 : -1;
}

int tu_cluster_teardown(void **state)
{
    tu_cluster_free(*state);
    *state = NULL;
    return 0;
}

uint8_t *tu_node_file(tu_cluster *t, const char *node, const char *name, size_t *len)
{
    char path[PATH_MAX];
    ck_cluster_node_path(t->c, node, "tftp", name, path, sizeof path);
    uint8_t *data = NULL;
    *len = 0;
    if (ck_read_file(path, 1u << 20, &data, len, NULL) < 0)
        return NULL;
    return data;
}
