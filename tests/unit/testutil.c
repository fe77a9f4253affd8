#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

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

void tu_keypair_gen(tu_keypair *kp, const ck_cert_params *p)
{
    ck_err err = {0};
    if (ck_cert_generate(p, &kp->cert, &kp->key, &err) < 0)
        fail_msg("generate %s: %s", p->cn, err.msg);
}

void tu_keypairs_free(tu_keypair *const *kps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        X509_free(kps[i]->cert);
        EVP_PKEY_free(kps[i]->key);
        kps[i]->cert = NULL;
        kps[i]->key = NULL;
    }
}

ck_tl_file *tu_tl_parse(const uint8_t *p, size_t n)
{
    ck_tl_file *f = NULL;
    ck_err err = {0};
    if (ck_tl_parse(p, n, &f, &err) < 0)
        fail_msg("parse: %s", err.msg);
    return f;
}

static char pg_admin_url[600];

bool tu_backend_from_args(int argc, char **argv)
{
    if (argc < 2)
        return true;
    if (argc > 2 || strcmp(argv[1], "pg") != 0) {
        fprintf(stderr, "usage: %s [pg]\n", argv[0]);
        return false;
    }
    if (!tu_use_pg(getenv("CTLKIT_TEST_PG_STATE"))) {
        fprintf(stderr, "%s pg: no server (CTLKIT_TEST_PG_STATE from tests/tools/pg_server.sh)\n", argv[0]);
        return false;
    }
    return true;
}

bool tu_use_pg(const char *state_file)
{
    FILE *f = state_file ? fopen(state_file, "r") : NULL;
    char line[600];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "url=", 4) == 0)
            snprintf(pg_admin_url, sizeof pg_admin_url, "%.*s", (int)strcspn(line + 4, "\n"), line + 4);
    if (f)
        fclose(f);
    return *pg_admin_url != '\0';
}

bool tu_pg(void) { return *pg_admin_url != '\0'; }

static bool pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(pg_admin_url);
    PGresult *r = c && PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "test cluster: %s: %s\n", sql, c ? PQerrorMessage(c) : "no connection");
    PQclear(r);
    PQfinish(c);
    return ok;
}

/* The publisher's folder root/pub and the subscriber's root/sub, each
 * opened from its own "host". */
static int new_pg_cluster(tu_cluster *t, const ck_cluster_init_opts *o, ck_err *err)
{
    static unsigned seq;
    snprintf(t->db, sizeof t->db, "ck_tu_%ld_%u", (long)getpid(), seq++);
    char sql[128], url[700], pub[PATH_MAX + 8], sub[PATH_MAX + 8];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->db);
    if (!pg_admin(sql)) {
        t->db[0] = '\0';
        return ck_fail(err, CK_EIO, "cannot create the test database");
    }
    const char *slash = strrchr(pg_admin_url, '/');
    snprintf(url, sizeof url, "%.*s/%s", (int)(slash - pg_admin_url), pg_admin_url, t->db);
    snprintf(pub, sizeof pub, "%s/pub", t->root);
    snprintf(sub, sizeof sub, "%s/sub", t->root);
    ck_cluster_where here = {.address = url, .dir = pub, .node = TU_PUB};
    if (ck_cluster_create_at(url, pub, o, err) < 0 || ck_cluster_open_at(&here, "test", &t->c, err) < 0)
        return -1;
    if (o->n_nodes < 2)
        return 0;
    here = (ck_cluster_where){.address = url, .dir = sub, .node = TU_SUB};
    if (ck_cluster_join(url, sub, TU_SUB, "test", err) < 0 || ck_cluster_open_at(&here, "test", &t->sub, err) < 0)
        return -1;
    /* The join changed the TVS certificates every ITL lists: the
     * publisher's daemon would re-sign its ITL now. */
    return ck_cluster_rebuild_itl(t->c, TU_PUB, err);
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
    int rc = tu_pg() ? new_pg_cluster(t, &o, &err)
                     : (ck_cluster_create(t->dir, &o, &err) < 0 ? -1 : ck_cluster_open(t->dir, "test", &t->c, &err));
    if (rc < 0 || (mixed && ck_cluster_set_mixed_mode(t->c, TU_PUB, &err) < 0)) {
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
    ck_cluster_close(t->sub);
    if (t->db[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", t->db);
        pg_admin(sql);
    }
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

ck_cluster *tu_host(tu_cluster *t, const char *node)
{
    return t->sub && strcmp(node, TU_SUB) == 0 ? t->sub : t->c;
}

uint8_t *tu_node_file(tu_cluster *t, const char *node, const char *name, size_t *len)
{
    char path[PATH_MAX];
    ck_cluster *c = t->c;
    if (t->sub && strcmp(node, TU_SUB) == 0) {
        ck_materialize_report r;
        ck_err err = {0};
        c = t->sub;
        if (ck_cluster_materialize_node(c, node, &r, &err) < 0)
            fail_msg("materializing %s: %s", node, err.msg);
    }
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    uint8_t *data = NULL;
    *len = 0;
    if (ck_read_file(path, 1u << 20, &data, len, NULL) < 0)
        return NULL;
    return data;
}
