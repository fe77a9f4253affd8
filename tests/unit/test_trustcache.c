/* Unit tests of the TVS trust cache (lib/cluster/trustcache.c): roles from
 * CTL records and DB certificates, CUCM's lookup order, serial + issuer
 * lookups, sealing, reference counting and refusals. */
#include "testutil.h"

#include <limits.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/cluster.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

typedef struct cert {
    X509 *x;
    EVP_PKEY *key;
    uint8_t *der;
    size_t len;
} cert;

static cert pub, sub, capf, stranger;

static void make(cert *c, const char *cn, int bits)
{
    ck_err err;
    ck_cert_params p = {.cn = cn, .ou = "TAC", .o = "Cisco", .l = "Krakow", .st = "Malopolska", .c = "PL",
                        .rsa_bits = bits};
    assert_int_equal(ck_cert_generate(&p, &c->x, &c->key, &err), 0);
    assert_int_equal(ck_cert_to_der(c->x, &c->der, &c->len, &err), 0);
}

static void unmake(cert *c)
{
    X509_free(c->x);
    EVP_PKEY_free(c->key);
    free(c->der);
}

static int setup(void **state)
{
    make(&pub, "cucm-1051-a-pub", 1024);
    make(&sub, "cucm-1051-a-sub1", 1024);
    make(&capf, "CAPF-e41e7d87", 1024);
    make(&stranger, "stranger", 1024);
    return 0;
}

static int teardown(void **state)
{
    unmake(&pub);
    unmake(&sub);
    unmake(&capf);
    unmake(&stranger);
    return 0;
}

/* The tokenless CTL of the seed's scenario 1: publisher CallManager as SAST
 * (signer) and as CCM+TFTP, CAPF, the subscriber's CallManager. */
static uint8_t *tokenless_ctl_bytes(size_t *len)
{
    ck_tl_entry e[4] = {
        {.role = CK_ROLE_SAST, .cert = pub.x},
        {.role = CK_ROLE_CCM_TFTP, .cert = pub.x},
        {.role = CK_ROLE_CAPF, .cert = capf.x},
        {.role = CK_ROLE_CCM_TFTP, .cert = sub.x},
    };
    ck_tl_signer s;
    ck_tl_signer_key(&s, pub.x, pub.key);
    ck_tl_build_opts o = {.filename = "CTLFile.tlv"};
    uint8_t *out = NULL;
    size_t n = 0;
    ck_err err;
    if (ck_tl_build(e, 4, &s, &o, &out, &n, &err) < 0)
        fail_msg("build: %s", err.msg);
    *len = n;
    return out;
}

static ck_tl_file *tokenless_ctl(void)
{
    size_t n = 0;
    uint8_t *out = tokenless_ctl_bytes(&n);
    ck_err err;
    ck_tl_file *f = NULL;
    if (ck_tl_parse(out, n, &f, &err) < 0)
        fail_msg("parse: %s", err.msg);
    free(out);
    return f;
}

static const ck_tc_entry *lookup(const ck_trustcache *tc, const cert *c, ck_tc_source *src)
{
    return ck_trustcache_lookup(tc, c->der, c->len, src);
}

static void test_ctl_roles(void **state)
{
    ck_err err;
    ck_trustcache *tc = ck_trustcache_new(&err);
    ck_tl_file *f = tokenless_ctl();
    assert_int_equal(ck_trustcache_add_ctl(tc, f, &err), 0);
    ck_tl_free(f);
    ck_trustcache_seal(tc);
    /* Four records, three certificates. */
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 3);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), 0);

    ck_tc_source src = CK_TC_DB;
    const ck_tc_entry *e = lookup(tc, &pub, &src);
    assert_non_null(e);
    assert_int_equal(src, CK_TC_CTL);
    assert_int_equal(e->n_roles, 2); /* "rolecount : 2" */
    assert_int_equal(e->roles[0], CK_ROLE_SAST);
    assert_int_equal(e->roles[1], CK_ROLE_CCM_TFTP);
    assert_string_equal(e->subject, "CN=cucm-1051-a-pub;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL");
    assert_string_equal(e->issuer, e->subject);
    char hex[200];
    ck_cert_serial_hex(pub.x, hex, sizeof hex);
    assert_string_equal(e->serial_hex, hex);
    char id[300];
    snprintf(id, sizeof id, "%s%s", hex, e->issuer);
    assert_string_equal(e->map_id, id); /* CUCM's "Unique MAP ID" */
    uint8_t md[20];
    SHA1(pub.der, pub.len, md);
    assert_memory_equal(e->sha1, md, 20);

    e = lookup(tc, &capf, &src);
    assert_non_null(e);
    assert_int_equal(e->n_roles, 1);
    assert_int_equal(e->roles[0], CK_ROLE_CAPF);
    e = lookup(tc, &sub, &src);
    assert_non_null(e);
    assert_int_equal(e->roles[0], CK_ROLE_CCM_TFTP);
    assert_null(lookup(tc, &stranger, &src));
    ck_trustcache_free(tc);
}

static void test_vectors(void **state)
{
    static const struct {
        const char *file;
        const char *certs[4];
        unsigned roles[4];
        size_t n;
    } v[] = {
        {"CTLFile-sha1.tlv",
         {"sast.crt.pem", "ccm.crt.pem", "tvs-ec.crt.pem", "tvs.crt.pem"},
         {CK_ROLE_SAST, CK_ROLE_CCM_TFTP, CK_ROLE_TVS, CK_ROLE_CAPF},
         4},
        {"ITLFile-sha512-v1.1.tlv", {"sast.crt.pem", "ccm.crt.pem", "tvs.crt.pem"}, {CK_ROLE_SAST, CK_ROLE_CCM, CK_ROLE_TVS}, 3},
    };
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        uint8_t *raw = tu_read_file(tu_vector(v[k].file), &len);
        ck_tl_file *f = NULL;
        ck_err err;
        assert_int_equal(ck_tl_parse(raw, len, &f, &err), 0);
        ck_trustcache *tc = ck_trustcache_new(&err);
        assert_int_equal(ck_trustcache_add_ctl(tc, f, &err), 0);
        assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), v[k].n);
        for (size_t i = 0; i < v[k].n; i++) {
            X509 *x = NULL;
            uint8_t *der = NULL;
            size_t dl = 0;
            assert_int_equal(ck_load_pem(tu_vector(v[k].certs[i]), &x, NULL, false, &err), 0);
            assert_int_equal(ck_cert_to_der(x, &der, &dl, &err), 0);
            const ck_tc_entry *e = ck_trustcache_lookup(tc, der, dl, NULL);
            if (!e)
                fail_msg("%s: %s not found", v[k].file, v[k].certs[i]);
            assert_int_equal(e->n_roles, 1);
            assert_int_equal(e->roles[0], v[k].roles[i]);
            assert_int_equal(e->source, CK_TC_CTL);
            assert_ptr_equal(ck_trustcache_find_serial_issuer(tc, CK_TC_CTL, e->serial, e->serial_len, e->issuer), e);
            free(der);
            X509_free(x);
        }
        ck_trustcache_free(tc);
        ck_tl_free(f);
        free(raw);
    }
}

static void test_db_first(void **state)
{
    ck_err err;
    ck_trustcache *tc = ck_trustcache_new(&err);
    ck_tl_file *f = tokenless_ctl();
    assert_int_equal(ck_trustcache_add_ctl(tc, f, &err), 0);
    ck_tl_free(f);
    /* The same publisher certificate in the DB with its DB roles; the
     * stranger only in the DB as a Phone-SAST-trust (SAST). */
    const unsigned cm[2] = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP}, sast = CK_ROLE_SAST;
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, cm, 2, &err), 0);
    assert_int_equal(ck_trustcache_add_db(tc, stranger.der, stranger.len, &sast, 1, &err), 0);
    ck_tc_source src = CK_TC_CTL;
    const ck_tc_entry *e = lookup(tc, &pub, &src);
    assert_int_equal(src, CK_TC_DB); /* CUCM asks CertificateDBCache first */
    assert_int_equal(e->source, CK_TC_DB);
    assert_int_equal(e->n_roles, 2);
    e = lookup(tc, &stranger, &src);
    assert_int_equal(src, CK_TC_DB);
    assert_int_equal(e->roles[0], CK_ROLE_SAST);
    e = lookup(tc, &capf, &src);
    assert_int_equal(src, CK_TC_CTL);
    /* Both caches can still be asked one by one. */
    uint8_t md[20];
    SHA1(pub.der, pub.len, md);
    assert_non_null(ck_trustcache_find(tc, CK_TC_CTL, md, pub.der, pub.len));
    assert_non_null(ck_trustcache_find(tc, CK_TC_DB, md, pub.der, pub.len));
    assert_string_equal(ck_tc_source_name(CK_TC_DB), "CertificateDBCache");
    assert_string_equal(ck_tc_source_name(CK_TC_CTL), "CertificateCTLCache");
    ck_trustcache_free(tc);
}

static void test_serial_issuer(void **state)
{
    ck_err err;
    ck_trustcache *tc = ck_trustcache_new(&err);
    const unsigned r = CK_ROLE_TVS;
    assert_int_equal(ck_trustcache_add_db(tc, sub.der, sub.len, &r, 1, &err), 0);
    const ck_tc_entry *e = ck_trustcache_entry(tc, CK_TC_DB, 0);
    assert_non_null(e);
    assert_null(ck_trustcache_entry(tc, CK_TC_DB, 1));
    assert_ptr_equal(ck_trustcache_find_serial_issuer(tc, CK_TC_DB, e->serial, e->serial_len, e->issuer), e);
    assert_null(ck_trustcache_find_serial_issuer(tc, CK_TC_CTL, e->serial, e->serial_len, e->issuer));
    assert_null(ck_trustcache_find_serial_issuer(tc, CK_TC_DB, e->serial, e->serial_len, "CN=someone else"));
    assert_null(ck_trustcache_find_serial_issuer(tc, CK_TC_DB, e->serial, e->serial_len - 1, e->issuer));
    assert_null(ck_trustcache_find_serial_issuer(tc, CK_TC_DB, e->serial, e->serial_len, NULL));
    ck_trustcache_free(tc);
}

/* The hash only finds the slot: the DER itself must match, so a SHA-1
 * collision cannot borrow another certificate's roles. */
static void test_der_must_match(void **state)
{
    ck_err err;
    ck_trustcache *tc = ck_trustcache_new(&err);
    const unsigned r = CK_ROLE_SAST;
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, &r, 1, &err), 0);
    uint8_t md[20];
    SHA1(pub.der, pub.len, md);
    assert_non_null(ck_trustcache_find(tc, CK_TC_DB, md, pub.der, pub.len));
    assert_null(ck_trustcache_find(tc, CK_TC_DB, md, stranger.der, stranger.len));
    assert_null(ck_trustcache_find(tc, CK_TC_DB, md, pub.der, pub.len - 1));
    ck_trustcache_free(tc);
}

static void test_merge_and_refusals(void **state)
{
    ck_err err;
    ck_trustcache *tc = ck_trustcache_new(&err);
    const unsigned a[2] = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP}, b[3] = {CK_ROLE_CCM_TFTP, CK_ROLE_TVS, CK_ROLE_TVS};
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, a, 2, &err), 0);
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, b, 3, &err), 0);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), 1);
    const ck_tc_entry *e = lookup(tc, &pub, NULL);
    assert_int_equal(e->n_roles, 3);
    assert_int_equal(e->roles[2], CK_ROLE_TVS);

    /* Refusals change nothing. */
    const unsigned big = 256;
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, &big, 1, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_int_equal(e->n_roles, 3);
    unsigned many[CK_TC_MAX_ROLES];
    for (unsigned i = 0; i < CK_TC_MAX_ROLES; i++)
        many[i] = 100 + i;
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, many, CK_TC_MAX_ROLES, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_int_equal(e->n_roles, 3);
    assert_int_equal(ck_trustcache_add_db(tc, pub.der, pub.len, a, 0, &err), -1);
    assert_int_equal(ck_trustcache_add_db(tc, NULL, 0, a, 1, &err), -1);
    const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(ck_trustcache_add_db(tc, junk, sizeof junk, a, 1, &err), -1);
    assert_non_null(strstr(err.msg, "DB certificate"));
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), 1);

    /* Sealed: immutable. */
    assert_false(ck_trustcache_sealed(tc));
    ck_trustcache_seal(tc);
    ck_trustcache_seal(tc);
    assert_true(ck_trustcache_sealed(tc));
    assert_int_equal(ck_trustcache_add_db(tc, capf.der, capf.len, a, 1, &err), -1);
    assert_int_equal(err.code, CK_ESTATE);
    ck_tl_file *f = tokenless_ctl();
    assert_int_equal(ck_trustcache_add_ctl(tc, f, &err), -1);
    ck_tl_free(f);
    ck_trustcache_free(tc);
    ck_trustcache_free(NULL);
}

/* Many certificates: every one found, with its own roles; strangers not. */
static void test_many(void **state)
{
    enum { N = 300 };
    ck_err err;
    ck_trustcache *tc = ck_trustcache_new(&err);
    static cert c[N];
    for (int i = 0; i < N; i++) {
        char cn[32];
        snprintf(cn, sizeof cn, "node-%d", i);
        ck_cert_params p = {.cn = cn, .curve = "P-256"};
        assert_int_equal(ck_cert_generate(&p, &c[i].x, &c[i].key, &err), 0);
        assert_int_equal(ck_cert_to_der(c[i].x, &c[i].der, &c[i].len, &err), 0);
        const unsigned role = (unsigned)(i % 200);
        if (i % 2 == 0)
            assert_int_equal(ck_trustcache_add_db(tc, c[i].der, c[i].len, &role, 1, &err), 0);
    }
    ck_trustcache_seal(tc);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), N / 2);
    for (int i = 0; i < N; i++) {
        const ck_tc_entry *e = lookup(tc, &c[i], NULL);
        if (i % 2 == 0) {
            assert_non_null(e);
            assert_int_equal(e->roles[0], (unsigned)(i % 200));
        } else {
            assert_null(e);
        }
        unmake(&c[i]);
    }
    ck_trustcache_free(tc);
}

static ck_trustcache *shared;

static void *reader(void *arg)
{
    for (int i = 0; i < 20000; i++) {
        ck_trustcache *tc = ck_trustcache_ref(shared);
        if (!ck_trustcache_lookup(tc, pub.der, pub.len, NULL) || ck_trustcache_lookup(tc, sub.der, sub.len, NULL))
            return (void *)1;
        ck_trustcache_free(tc);
    }
    return NULL;
}

/* A sealed cache is read by many threads at once without locks. */
static void test_threads(void **state)
{
    ck_err err;
    shared = ck_trustcache_new(&err);
    const unsigned r = CK_ROLE_SAST;
    assert_int_equal(ck_trustcache_add_db(shared, pub.der, pub.len, &r, 1, &err), 0);
    ck_trustcache_seal(shared);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    ck_trustcache_free(shared);
}

/* --- ck_trustcache_build: the one builder of both TVS modes --- */

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *pem_of(const cert *c)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(b, c->x), 1);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = strndup(p, (size_t)n);
    BIO_free(b);
    return out;
}

/* A CTL at path; tampered: one byte of the last record's certificate
 * flipped, so that it still parses but no longer verifies. */
static void write_ctl(const char *path, bool tampered)
{
    size_t n = 0;
    uint8_t *ctl = tokenless_ctl_bytes(&n);
    if (tampered)
        ctl[n - 40] ^= 0x01;
    write_bytes(path, ctl, n);
    free(ctl);
}

/* Standalone's input: one DB certificate from a PEM file, one from DER
 * bytes in memory (the store gives PEM text the same way), and the CTL. */
static void test_build_files_and_memory(void **state)
{
    char dir[256], pem[300], ctl[300];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(pem, sizeof pem, "%s/pub.pem", dir);
    snprintf(ctl, sizeof ctl, "%s/CTLFile.tlv", dir);
    char *text = pem_of(&pub);
    write_bytes(pem, text, strlen(text));
    free(text);
    write_ctl(ctl, false);

    ck_tc_db_cert db[2] = {
        {.path = pem, .roles = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP}, .n_roles = 2},
        {.label = "CAPF", .data = capf.der, .len = capf.len, .roles = {CK_ROLE_CAPF}, .n_roles = 1},
    };
    ck_trustcache *tc = NULL;
    ck_tc_report rep;
    ck_err err = {0};
    assert_int_equal(ck_trustcache_build(db, 2, ctl, &tc, &rep, &err), 0);
    assert_true(ck_trustcache_sealed(tc));
    assert_int_equal(rep.ctl, CK_TC_CTL_LOADED);
    assert_string_equal(rep.ctl_problem, "");
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), 2);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 3);
    ck_tc_source src = CK_TC_CTL;
    const ck_tc_entry *e = lookup(tc, &pub, &src);
    assert_non_null(e);
    assert_int_equal(src, CK_TC_DB); /* DB first, as CUCM */
    assert_int_equal(e->n_roles, 2);
    assert_non_null(lookup(tc, &sub, &src));
    assert_int_equal(src, CK_TC_CTL);
    assert_null(lookup(tc, &stranger, NULL));
    ck_trustcache_free(tc);

    /* No file at the CTL path: a non-secure cluster, nothing to say. */
    char none[300];
    snprintf(none, sizeof none, "%s/absent.tlv", dir);
    assert_int_equal(ck_trustcache_build(db, 2, none, &tc, &rep, &err), 0);
    assert_int_equal(rep.ctl, CK_TC_CTL_NONE);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 0);
    ck_trustcache_free(tc);

    /* A DB certificate that does not load fails the build, naming it. */
    ck_tc_db_cert bad = {.path = none, .roles = {CK_ROLE_SAST}, .n_roles = 1};
    tc = NULL;
    assert_int_equal(ck_trustcache_build(&bad, 1, NULL, &tc, &rep, &err), -1);
    assert_null(tc);
    assert_non_null(strstr(err.msg, "absent.tlv"));
    tu_rmtree(dir);
}

/* The one rule: a CTL that does not verify vouches for nothing; the build
 * succeeds with the DB cache and says why. Garbage the same. */
static void test_build_ctl_not_verifying(void **state)
{
    char dir[256], ctl[300];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(ctl, sizeof ctl, "%s/CTLFile.tlv", dir);
    ck_tc_db_cert db = {.data = capf.der, .len = capf.len, .roles = {CK_ROLE_CAPF}, .n_roles = 1};
    ck_trustcache *tc = NULL;
    ck_tc_report rep;
    ck_err err = {0};

    write_ctl(ctl, true);
    assert_int_equal(ck_trustcache_build(&db, 1, ctl, &tc, &rep, &err), 0);
    assert_int_equal(rep.ctl, CK_TC_CTL_REJECTED);
    assert_non_null(strstr(rep.ctl_problem, ctl));
    assert_non_null(strstr(rep.ctl_problem, "signature"));
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 0);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), 1);
    assert_null(lookup(tc, &pub, NULL));
    ck_trustcache_free(tc);

    write_bytes(ctl, "not a CTL", 9);
    assert_int_equal(ck_trustcache_build(&db, 1, ctl, &tc, &rep, &err), 0);
    assert_int_equal(rep.ctl, CK_TC_CTL_REJECTED);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 0);
    ck_trustcache_free(tc);
    tu_rmtree(dir);
}

/* Cluster mode's input (the store and the node's CTLFile.tlv) through the
 * same builder: the tampered CTL that standalone rejects is rejected the
 * same way, with the same report, and the store's certificates answer. */
static void test_cluster_same_rule(void **state)
{
    char dir[256], cdir[300], ctl[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(cdir, sizeof cdir, "%s/cluster", dir);
    ck_node_spec node = {.name = "cucm-1051-a-pub", .ip = "127.0.0.1"};
    ck_cluster_init_opts o = {.nodes = &node, .n_nodes = 1, .o = "Cisco", .rsa_bits = 2048, .who = "test"};
    ck_err err = {0};
    ck_cluster *c = NULL;
    if (ck_cluster_create(cdir, &o, &err) < 0 || ck_cluster_open(cdir, "test", &c, &err) < 0)
        fail_msg("cluster: %s", err.msg);
    ck_cluster_node_path(c, node.name, "tftp", CK_CTL_NAME, ctl, sizeof ctl);

    ck_trustcache *tc = NULL;
    ck_tc_report rep;
    assert_int_equal(ck_cluster_build_trustcache(c, node.name, &tc, &rep, &err), 0);
    assert_int_equal(rep.ctl, CK_TC_CTL_NONE); /* non-secure: no CTL yet */
    size_t n_db = ck_trustcache_count(tc, CK_TC_DB);
    assert_true(n_db >= 4); /* CallManager, TVS, CAPF, ITLRecovery */
    ck_trustcache_free(tc);

    write_ctl(ctl, true);
    assert_int_equal(ck_cluster_build_trustcache(c, node.name, &tc, &rep, &err), 0);
    assert_int_equal(rep.ctl, CK_TC_CTL_REJECTED);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 0);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_DB), n_db);
    ck_trustcache_free(tc);

    ck_tc_report alone;
    assert_int_equal(ck_trustcache_build(NULL, 0, ctl, &tc, &alone, &err), 0);
    assert_int_equal(alone.ctl, rep.ctl);
    assert_string_equal(alone.ctl_problem, rep.ctl_problem);
    ck_trustcache_free(tc);

    write_ctl(ctl, false);
    assert_int_equal(ck_cluster_build_trustcache(c, node.name, &tc, &rep, &err), 0);
    assert_int_equal(rep.ctl, CK_TC_CTL_LOADED);
    assert_int_equal(ck_trustcache_count(tc, CK_TC_CTL), 3);
    ck_trustcache_free(tc);
    ck_cluster_close(c);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_roles),      cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_db_first),       cmocka_unit_test(test_serial_issuer),
        cmocka_unit_test(test_der_must_match), cmocka_unit_test(test_merge_and_refusals),
        cmocka_unit_test(test_many),           cmocka_unit_test(test_threads),
        cmocka_unit_test(test_build_files_and_memory), cmocka_unit_test(test_build_ctl_not_verifying),
        cmocka_unit_test(test_cluster_same_rule),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
