/* Unit tests of devices (lib/cluster/devices.c, device_config.c,
 * device_files.c): the rules of a device row, the operations with what
 * they refuse (a refused import leaves nothing), the configuration XML
 * field by field, and the files a node's TFTP folder gets (the .sgn in
 * mixed mode verifies with the node's CallManager certificate). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/capf_server.h"
#include "ctlkit/device.h"
#include "ctlkit/encsgn.h"
#include "ctlkit/store.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static void expect_fail(int rc, const ck_err *err, ck_code code, const char *needle)
{
    if (rc != -1)
        fail_msg("succeeded, expected %s with '%s'", ck_code_name(code), needle);
    if (err->code != code || !strstr(err->msg, needle))
        fail_msg("got %s '%s', expected %s with '%s'", ck_code_name(err->code), err->msg, ck_code_name(code), needle);
}

static void test_checks(void **state)
{
    ck_err err = {0};
    assert_int_equal(ck_device_check_name("SEP001122AABBCC", &err), 0);
    expect_fail(ck_device_check_name("SEP001122aabbcc", &err), &err, CK_EINVAL, "upper-case");
    expect_fail(ck_device_check_name("SEP001122AABB", &err), &err, CK_EINVAL, "not a device name");
    expect_fail(ck_device_check_name("ATA001122AABBCC", &err), &err, CK_EINVAL, "not a device name");
    expect_fail(ck_device_check_name("SEP001122AABBCG", &err), &err, CK_EINVAL, "not a device name");
    const char *m = NULL;
    assert_int_equal(ck_device_check_model("Cisco 7975", &m, &err), 0);
    assert_string_equal(m, "7975");
    expect_fail(ck_device_check_model("7999", &m, &err), &err, CK_EINVAL, "unknown phone model '7999'");
    assert_int_equal(ck_device_check_template("<device>\n<x/>\n</device>\n", &err), 0);
    expect_fail(ck_device_check_template("<devices></devices>", &err), &err, CK_EINVAL, "one <device>");
    expect_fail(ck_device_check_template("<device></device><device></device>", &err), &err, CK_EINVAL, "one <device>");
}

static void test_row_defaults_and_capf(void **state)
{
    ck_err err = {0};
    ck_device_row d;
    ck_device_add a = {.name = "SEP001122334455", .model = "7975"};
    assert_int_equal(ck_device_row_make(&a, &d, &err), 0);
    assert_string_equal(d.profile, "non-secure");
    assert_false(d.encrypted_config);
    assert_string_equal(d.operation, "none");
    assert_string_equal(d.auth_mode, "null");
    assert_string_equal(d.key_type, "rsa");
    assert_int_equal(d.key_size, 2048);
    assert_int_equal(d.completes_by, 0);

    /* A new operation completes by the end of today + the parameter's days. */
    int64_t now = 1800000000; /* 2027-01-15 08:00:00 UTC */
    ck_device_capf cp = {.operation = "install", .auth_string = "123456"};
    assert_int_equal(ck_device_row_apply_capf(&d, &cp, 10, now, &err), 0);
    assert_string_equal(d.auth_mode, "string");
    assert_string_equal(d.auth_string, "123456");
    assert_int_equal(d.completes_by, 1800000000 - 1800000000 % 86400 + 10 * 86400 + 86399);
    cp = (ck_device_capf){.completes_by = "2027-02-01"};
    assert_int_equal(ck_device_row_apply_capf(&d, &cp, 10, now, &err), 0);
    struct tm tm = {.tm_year = 127, .tm_mon = 1, .tm_mday = 1, .tm_hour = 23, .tm_min = 59, .tm_sec = 59};
    assert_int_equal(d.completes_by, (int64_t)timegm(&tm));

    /* Refusals name the problem. */
    cp = (ck_device_capf){.auth_string = "123"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "4 to 10 digits");
    cp = (ck_device_capf){.auth_string = "12345678901"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "4 to 10 digits");
    cp = (ck_device_capf){.auth_string = "12a4"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "4 to 10 digits");
    cp = (ck_device_capf){.key = "ec:384"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "RSA keys only");
    cp = (ck_device_capf){.key = "rsa:3072"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "unknown key 'rsa:3072'");
    cp = (ck_device_capf){.completes_by = "2020-01-01"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "in the past");
    cp = (ck_device_capf){.completes_by = "2027-02-30"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "YYYY-MM-DD");
    cp = (ck_device_capf){.operation = "upgrade"};
    expect_fail(ck_device_row_apply_capf(&d, &cp, 10, now, &err), &err, CK_EINVAL, "unknown certificate operation");
    /* Another mode drops the string; no operation drops the date. */
    cp = (ck_device_capf){.operation = "none", .auth = "mic"};
    assert_int_equal(ck_device_row_apply_capf(&d, &cp, 10, now, &err), 0);
    assert_string_equal(d.auth_string, "");
    assert_int_equal(d.completes_by, 0);
    /* By string without one: a random one of 6 digits. */
    cp = (ck_device_capf){.operation = "install", .auth = "string"};
    assert_int_equal(ck_device_row_apply_capf(&d, &cp, 10, now, &err), 0);
    assert_int_equal(strlen(d.auth_string), 6);
    assert_int_equal(strspn(d.auth_string, "0123456789"), 6);
    ck_device_row_clear(&d);

    ck_device_add enc = {.name = "SEP001122334455", .model = "8865", .encrypted_config = true};
    expect_fail(ck_device_row_make(&enc, &d, &err), &err, CK_EINVAL, "needs the encrypted profile");
    ck_device_row_clear(&d);
    enc.profile = "encrypted";
    assert_int_equal(ck_device_row_make(&enc, &d, &err), 0);
    cp = (ck_device_capf){.key = "ec:521"};
    assert_int_equal(ck_device_row_apply_capf(&d, &cp, 10, now, &err), 0);
    assert_string_equal(d.key_type, "ec");
    ck_device_row_clear(&d);
}

/* The text of <tag>...</tag> in xml (static buffer), "" when absent. */
static const char *elem(const char *xml, const char *tag)
{
    static char out[512];
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open), *b = a ? strstr(a, close) : NULL;
    out[0] = 0;
    if (a && b)
        snprintf(out, sizeof out, "%.*s", (int)(b - a - strlen(open)), a + strlen(open));
    return out;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_config_xml_fields(void **state)
{
    ck_node nodes[2] = {{.name = "pub", .ip = "10.0.0.1", .tvs_port = 2445},
                        {.name = "sub", .ip = "10.0.0.2", .tvs_port = 2446}};
    ck_device_config_ctx ctx = {.mixed = true, .capf_host = "10.0.0.1", .capf_port = 3804, .nodes = nodes,
                                .n_nodes = 2,
                                .cluster_template = "<?xml version=\"1.0\"?>\n<device xsi:type=\"axl:XIPPhone\">\n"
                                                    "<fullConfig>true</fullConfig>\n"
                                                    "<deviceSecurityMode>1</deviceSecurityMode>\n"
                                                    "<capfList><capf><phonePort>1</phonePort></capf></capfList>\n"
                                                    "<sipProfile><x/></sipProfile>\n</device>\n"};
    ck_err err = {0};
    ck_device_row d;
    ck_device_add a = {.name = "SEP001122334455", .model = "7975", .profile = "encrypted"};
    assert_int_equal(ck_device_row_make(&a, &d, &err), 0);
    snprintf(d.operation, sizeof d.operation, "install");
    char *xml = NULL;
    size_t len = 0;
    assert_int_equal(ck_device_config_xml(&ctx, &d, &xml, &len, &err), 0);
    assert_int_equal(strlen(xml), len);
    assert_string_equal(elem(xml, "deviceSecurityMode"), "3");
    assert_string_equal(elem(xml, "capfAuthMode"), "2"); /* null string */
    assert_string_equal(elem(xml, "phonePort"), "3804");
    assert_string_equal(elem(elem(xml, "capfList"), "processNodeName"), "10.0.0.1");
    assert_string_equal(elem(xml, "certHash"), "");
    assert_string_equal(elem(xml, "encrConfig"), "false");
    /* The template's own copies are replaced, the rest kept. */
    assert_int_equal(count(xml, "<deviceSecurityMode>"), 1);
    assert_int_equal(count(xml, "<capfList>"), 1);
    assert_non_null(strstr(xml, "<sipProfile><x/></sipProfile>"));
    assert_non_null(strstr(xml, "<device xsi:type=\"axl:XIPPhone\">\n<deviceSecurityMode>"));
    /* TVS and CallManager lists: every node, in order. */
    assert_non_null(strstr(xml, "<TVS>\n<members>\n<member priority=\"0\">\n<port>2445</port>\n<address>10.0.0.1</address>"));
    assert_non_null(strstr(xml, "<member priority=\"1\">\n<port>2446</port>\n<address>10.0.0.2</address>"));
    assert_int_equal(count(xml, "<callManager>"), 2);
    assert_int_equal(count(xml, "<devicePool>"), 1);
    free(xml);

    /* A non-secure cluster: every phone mode 1; no operation: auth mode 0;
     * a per-device template with its own devicePool gets the group inside. */
    ctx.mixed = false;
    snprintf(d.operation, sizeof d.operation, "none");
    d.template_xml = strdup("<device>\n<devicePool uuid=\"x\">\n<dateTimeSetting/>\n<callManagerGroup>old"
                            "</callManagerGroup>\n</devicePool>\n</device>");
    assert_int_equal(ck_device_config_xml(&ctx, &d, &xml, &len, &err), 0);
    assert_string_equal(elem(xml, "deviceSecurityMode"), "1");
    assert_string_equal(elem(xml, "capfAuthMode"), "0");
    assert_null(strstr(xml, "old"));
    assert_non_null(strstr(xml, "<devicePool uuid=\"x\">\n<callManagerGroup>"));
    assert_int_equal(count(xml, "<devicePool"), 1);
    free(xml);
    snprintf(d.profile, sizeof d.profile, "authenticated");
    ctx.mixed = true;
    assert_int_equal(ck_device_config_xml(&ctx, &d, &xml, &len, &err), 0);
    assert_string_equal(elem(xml, "deviceSecurityMode"), "2");
    free(xml);
    ck_device_row_clear(&d);
}

static ck_store *store_of(tu_cluster *t) { return ck_cluster_store(t->c); }

/* Operations on a real cluster: add, duplicate, capf, remove, and the
 * files of each node's folder. */
static void test_operations_and_files(void **state)
{
    tu_cluster *t = tu_cluster_new(2, true);
    assert_non_null(t);
    ck_err err = {0};
    ck_device_add a = {.name = "SEP001122334455", .model = "7975", .profile = "encrypted"};
    assert_int_equal(ck_cluster_device_add(t->c, &a, &err), 0);
    expect_fail(ck_cluster_device_add(t->c, &a, &err), &err, CK_ESTATE, "already a device");
    ck_device_capf cp = {.operation = "install", .auth_string = "246810"};
    assert_int_equal(ck_cluster_device_capf(t->c, a.name, &cp, &err), 0);
    expect_fail(ck_cluster_device_capf(t->c, "SEP00112233445F", &cp, &err), &err, CK_ENOTFOUND, "no device");

    ck_device_row d;
    assert_int_equal(ck_store_get_device(store_of(t), a.name, &d, &err), 0);
    assert_string_equal(d.operation, "install");
    /* Default completion: the parameter's 10 days. */
    assert_true(d.completes_by > (int64_t)time(NULL) + 9 * 86400);
    assert_true(d.completes_by <= (int64_t)time(NULL) + 11 * 86400);
    ck_device_row_clear(&d);

    const char *nodes[] = {TU_PUB, TU_SUB};
    for (size_t i = 0; i < 2; i++) {
        size_t xl = 0, sl = 0;
        uint8_t *xml = tu_node_file(t, nodes[i], "SEP001122334455.cnf.xml", &xl);
        uint8_t *sgn = tu_node_file(t, nodes[i], "SEP001122334455.cnf.xml.sgn", &sl);
        assert_non_null(xml);
        assert_non_null(sgn);
        assert_non_null(strstr((char *)xml, "<deviceSecurityMode>3</deviceSecurityMode>"));
        assert_non_null(strstr((char *)xml, "<capfAuthMode>1</capfAuthMode>"));
        /* The .sgn carries the same bytes, signed by this node's CallManager. */
        ck_tl_file *f = NULL;
        assert_int_equal(ck_sgn_parse(sgn, sl, &f, &err), 0);
        assert_int_equal(f->content.n, xl);
        assert_memory_equal(f->content.p, xml, xl);
        assert_memory_equal(f->filename.p, "SEP001122334455.cnf.xml.sgn", 28);
        ck_cert_row cr;
        assert_int_equal(ck_store_get_cert(store_of(t), nodes[i], "CallManager", &cr, &err), 0);
        X509 *cert = NULL;
        assert_int_equal(ck_load_pem_mem(cr.pem, strlen(cr.pem), &cert, NULL, false, &err), 0);
        assert_int_equal(ck_tl_verify_with(f, cert, &err), 0);
        /* The other node's certificate does not verify it. */
        ck_cert_row other;
        assert_int_equal(ck_store_get_cert(store_of(t), nodes[1 - i], "CallManager", &other, &err), 0);
        X509 *ocert = NULL;
        assert_int_equal(ck_load_pem_mem(other.pem, strlen(other.pem), &ocert, NULL, false, &err), 0);
        assert_int_equal(ck_tl_verify_with(f, ocert, &err), -1);
        X509_free(cert);
        X509_free(ocert);
        ck_cert_row_clear(&cr);
        ck_cert_row_clear(&other);
        ck_tl_free(f);
        free(xml);
        free(sgn);
    }

    /* Materializing again changes nothing (no re-signing). */
    ck_materialize_report r;
    assert_int_equal(ck_cluster_materialize_node(t->c, TU_PUB, &r, &err), 0);
    assert_int_equal(r.n, 0);

    /* A hand-edited file is brought back. */
    char path[PATH_MAX];
    ck_cluster_node_path(t->c, TU_PUB, "tftp", "SEP001122334455.cnf.xml", path, sizeof path);
    FILE *fp = fopen(path, "w");
    fputs("<device/>", fp);
    fclose(fp);
    assert_int_equal(ck_cluster_materialize_node(t->c, TU_PUB, &r, &err), 0);
    assert_int_equal(r.n, 1);
    assert_non_null(strstr(r.lines[0], "1 device configuration file written"));

    /* Non-secure mode: the .sgn goes, the plain file says mode 1. */
    assert_int_equal(ck_cluster_set_nonsecure_mode(t->c, TU_PUB, &err), 0);
    size_t l = 0;
    assert_null(tu_node_file(t, TU_SUB, "SEP001122334455.cnf.xml.sgn", &l));
    uint8_t *xml = tu_node_file(t, TU_SUB, "SEP001122334455.cnf.xml", &l);
    assert_non_null(strstr((char *)xml, "<deviceSecurityMode>1</deviceSecurityMode>"));
    free(xml);

    /* Remove: the files go with the row; a file the admin put there by
     * hand for a phone ctlkit does not know stays. */
    ck_cluster_node_path(t->c, TU_PUB, "tftp", "SEP0000000000FF.cnf.xml", path, sizeof path);
    fp = fopen(path, "w");
    fputs("<device>by hand</device>", fp);
    fclose(fp);
    assert_int_equal(ck_cluster_device_remove(t->c, a.name, &err), 0);
    assert_null(tu_node_file(t, TU_PUB, "SEP001122334455.cnf.xml", &l));
    assert_null(tu_node_file(t, TU_SUB, "SEP001122334455.cnf.xml", &l));
    xml = tu_node_file(t, TU_PUB, "SEP0000000000FF.cnf.xml", &l);
    assert_non_null(xml);
    free(xml);
    expect_fail(ck_cluster_device_remove(t->c, a.name, &err), &err, CK_ENOTFOUND, "no device");
    tu_cluster_free(t);
}

/* Gives the device an LSC (as the CAPF service records one). */
static void set_lsc(tu_cluster *t, const char *name, X509 *lsc)
{
    ck_err err = {0};
    ck_device_row d;
    assert_int_equal(ck_store_get_device(store_of(t), name, &d, &err), 0);
    free(d.lsc_pem);
    d.lsc_pem = lsc ? ck_cert_to_pem(lsc) : NULL;
    snprintf(d.lsc_serial, sizeof d.lsc_serial, "%s", lsc ? "0A" : "");
    assert_int_equal(ck_store_put_device(store_of(t), &d, &err), 0);
    ck_device_row_clear(&d);
    ck_materialize_report r;
    assert_int_equal(ck_cluster_materialize_node(t->c, TU_PUB, &r, &err), 0);
}

static X509 *node_cm_cert(tu_cluster *t, const char *node)
{
    ck_err err = {0};
    ck_cert_row cr;
    assert_int_equal(ck_store_get_cert(store_of(t), node, "CallManager", &cr, &err), 0);
    X509 *cert = NULL;
    assert_int_equal(ck_load_pem_mem(cr.pem, strlen(cr.pem), &cert, NULL, false, &err), 0);
    ck_cert_row_clear(&cr);
    return cert;
}

/* Encrypted config: with an RSA LSC on record the folder holds the
 * .enc.sgn for that LSC and the stub .sgn, no plaintext; materializing
 * again rewrites nothing; a new LSC re-encrypts; without an LSC (or with
 * an EC one, or another profile) the full signed configuration is back. */
static void test_encrypted_config_files(void **state)
{
    tu_cluster *t = tu_cluster_new(1, true);
    assert_non_null(t);
    ck_err err = {0};
    ck_device_add a = {.name = "SEP001122334466", .model = "8865", .profile = "encrypted", .encrypted_config = true};
    assert_int_equal(ck_cluster_device_add(t->c, &a, &err), 0);
    size_t l = 0;
    /* No LSC yet: the signed full configuration, so the phone reaches CAPF. */
    assert_null(tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &l));
    uint8_t *plain = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml", &l);
    assert_non_null(plain);
    size_t plain_len = l;

    ck_cert_params p = {.cn = "SEP001122334466", .o = "CAPF", .rsa_bits = 1024};
    X509 *lsc = NULL, *lsc2 = NULL, *ec = NULL;
    EVP_PKEY *key = NULL, *key2 = NULL, *eckey = NULL;
    assert_int_equal(ck_cert_generate(&p, &lsc, &key, &err), 0);
    assert_int_equal(ck_cert_generate(&p, &lsc2, &key2, &err), 0);
    ck_cert_params pe = {.cn = "SEP001122334466", .o = "CAPF", .curve = "P-256"};
    assert_int_equal(ck_cert_generate(&pe, &ec, &eckey, &err), 0);
    X509 *cm = node_cm_cert(t, TU_PUB);

    set_lsc(t, a.name, lsc);
    assert_null(tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml", &l));
    size_t el = 0, sl = 0;
    uint8_t *enc = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &el);
    uint8_t *sgn = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.sgn", &sl);
    assert_non_null(enc);
    assert_non_null(sgn);
    ck_tl_file *f = NULL, *g = NULL;
    assert_int_equal(ck_sgn_parse(enc, el, &f, &err), 0);
    assert_true(f->enc.present);
    assert_int_equal(ck_tl_verify_with(f, cm, &err), 0);
    uint8_t *out = NULL;
    size_t ol = 0;
    assert_int_equal(ck_encsgn_decrypt(f, key, &out, &ol, &err), 0);
    assert_int_equal(ol, plain_len);
    assert_memory_equal(out, plain, ol);
    free(out);
    assert_int_equal(ck_encsgn_decrypt(f, key2, &out, &ol, &err), -1);
    /* The stub: signed, encrConfig true, certHash = MD5 of the LSC. */
    assert_int_equal(ck_sgn_parse(sgn, sl, &g, &err), 0);
    assert_int_equal(ck_tl_verify_with(g, cm, &err), 0);
    char *stub = strndup((const char *)g->content.p, g->content.n);
    assert_non_null(strstr(stub, "<encrConfig>true</encrConfig>"));
    assert_non_null(strstr(stub, "<fullConfig>false</fullConfig>"));
    unsigned char md[16];
    unsigned ml = 0;
    assert_int_equal(X509_digest(lsc, EVP_md5(), md, &ml), 1);
    char hash[48] = "<certHash>";
    for (unsigned i = 0; i < 16; i++)
        snprintf(hash + 10 + 2 * i, 3, "%02x", md[i]);
    assert_non_null(strstr(stub, hash));
    free(stub);
    ck_tl_free(f);
    ck_tl_free(g);
    free(sgn);

    /* Nothing changed: nothing rewritten (the .enc.sgn is not re-encrypted). */
    ck_materialize_report r;
    assert_int_equal(ck_cluster_materialize_node(t->c, TU_PUB, &r, &err), 0);
    assert_int_equal(r.n, 0);
    uint8_t *again = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &l);
    assert_int_equal(l, el);
    assert_memory_equal(again, enc, el);
    free(again);
    free(enc);

    /* A new LSC: encrypted for it. */
    set_lsc(t, a.name, lsc2);
    enc = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &el);
    assert_int_equal(ck_sgn_parse(enc, el, &f, &err), 0);
    assert_int_equal(ck_encsgn_decrypt(f, key2, &out, &ol, &err), 0);
    free(out);
    ck_tl_free(f);
    free(enc);

    /* An EC LSC, and no LSC: the full signed configuration, no .enc.sgn. */
    X509 *lscs[] = {ec, NULL};
    for (int i = 0; i < 2; i++) {
        set_lsc(t, a.name, lscs[i]);
        assert_null(tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &l));
        uint8_t *x = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml", &l);
        assert_non_null(x);
        free(x);
        sgn = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.sgn", &sl);
        assert_int_equal(ck_sgn_parse(sgn, sl, &g, &err), 0);
        assert_non_null(memmem(g->content.p, g->content.n, "<encrConfig>false</encrConfig>", 30));
        ck_tl_free(g);
        free(sgn);
    }

    /* The LSC back, then non-secure mode: only the plain file stays. */
    set_lsc(t, a.name, lsc);
    assert_non_null((enc = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &l)));
    free(enc);
    assert_int_equal(ck_cluster_set_nonsecure_mode(t->c, TU_PUB, &err), 0);
    assert_null(tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.enc.sgn", &l));
    assert_null(tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml.sgn", &l));
    uint8_t *x = tu_node_file(t, TU_PUB, "SEP001122334466.cnf.xml", &l);
    assert_non_null(x);
    free(x);

    free(plain);
    X509_free(cm);
    X509_free(lsc);
    X509_free(lsc2);
    X509_free(ec);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);
    EVP_PKEY_free(eckey);
    tu_cluster_free(t);
}

static void test_template(void **state)
{
    tu_cluster *t = tu_cluster_new(1, false);
    assert_non_null(t);
    ck_err err = {0};
    ck_device_add a = {.name = "SEP0011223344AA", .model = "8841"};
    assert_int_equal(ck_cluster_device_add(t->c, &a, &err), 0);
    expect_fail(ck_cluster_device_template_set(t->c, "<phone/>", &err), &err, CK_EINVAL, "one <device>");
    assert_int_equal(ck_cluster_device_template_set(t->c, "<device>\n<userLocale>Polish</userLocale>\n</device>\n", &err), 0);
    size_t l = 0;
    uint8_t *xml = tu_node_file(t, TU_PUB, "SEP0011223344AA.cnf.xml", &l);
    assert_non_null(xml);
    assert_non_null(strstr((char *)xml, "<userLocale>Polish</userLocale>"));
    free(xml);
    char *tmpl = NULL;
    assert_int_equal(ck_cluster_device_template_set(t->c, NULL, &err), 0);
    assert_int_equal(ck_cluster_device_template_get(t->c, &tmpl, &err), 0);
    assert_non_null(strstr(tmpl, "<fullConfig>true</fullConfig>"));
    free(tmpl);
    tu_cluster_free(t);
}

static void test_import(void **state)
{
    tu_cluster *t = tu_cluster_new(1, false);
    assert_non_null(t);
    ck_err err = {0};
    size_t added = 99;
    const char bad[] = "name,model,profile,operation,string\n"
                       "SEP000000000001,7975,encrypted,install,1234\n"
                       "\n"
                       "SEP000000000002,7999,,,\n";
    expect_fail(ck_cluster_device_import_csv(t->c, bad, strlen(bad), &added, &err), &err, CK_EINVAL,
                "line 4: unknown phone model '7999'");
    assert_int_equal(added, 0);
    ck_device_row *rows = NULL;
    size_t n = 9;
    assert_int_equal(ck_store_list_devices(store_of(t), &rows, &n, &err), 0);
    assert_int_equal(n, 0); /* all or nothing */
    ck_device_rows_free(rows, n);
    size_t l = 0;
    assert_null(tu_node_file(t, TU_PUB, "SEP000000000001.cnf.xml", &l));

    const char dup[] = "model,name\r\n7975,SEP000000000001\r\n7975,SEP000000000001\r\n";
    expect_fail(ck_cluster_device_import_csv(t->c, dup, strlen(dup), &added, &err), &err, CK_ESTATE,
                "line 3: SEP000000000001 is already");
    const char cols[] = "name,model,colour\n";
    expect_fail(ck_cluster_device_import_csv(t->c, cols, strlen(cols), &added, &err), &err, CK_EINVAL,
                "line 1: unknown column 'colour'");
    const char fields[] = "name,model\nSEP000000000001,7975,x\n";
    expect_fail(ck_cluster_device_import_csv(t->c, fields, strlen(fields), &added, &err), &err, CK_EINVAL,
                "line 2: ");

    const char good[] = "# exported from BAT\nname,model,profile,encrypted-config,operation,auth,string,key\n"
                        "SEP000000000001,7975,encrypted,true,install,string,1234,rsa:2048\n"
                        "SEP000000000002, Cisco 8865 ,authenticated,,install,null,,ec:384\n";
    assert_int_equal(ck_cluster_device_import_csv(t->c, good, strlen(good), &added, &err), 0);
    assert_int_equal(added, 2);
    ck_device_row d;
    assert_int_equal(ck_store_get_device(store_of(t), "SEP000000000002", &d, &err), 0);
    assert_string_equal(d.model, "8865");
    assert_string_equal(d.key_type, "ec");
    assert_true(d.completes_by > 0);
    ck_device_row_clear(&d);
    uint8_t *xml = tu_node_file(t, TU_PUB, "SEP000000000001.cnf.xml", &l);
    assert_non_null(xml);
    free(xml);
    tu_cluster_free(t);
}

/* Imports n authenticated 8865s, SEP000000000001 upwards, each armed
 * for an install by null string (what the CAPF cost tests start from). */
static void import_install_devices(tu_cluster *t, int n)
{
    ck_err err = {0};
    ck_buf csv;
    ck_buf_init(&csv, 0);
    const char head[] = "name,model,profile,operation,auth\n";
    ck_buf_bytes(&csv, head, strlen(head));
    for (int i = 1; i <= n; i++) {
        char line[64];
        int len = snprintf(line, sizeof line, "SEP%012X,8865,authenticated,install,null\n", i);
        ck_buf_bytes(&csv, line, (size_t)len);
    }
    size_t added = 0;
    assert_int_equal(ck_cluster_device_import_csv(t->c, (const char *)csv.data, csv.len, &added, &err), 0);
    assert_int_equal(added, (size_t)n);
    ck_buf_free(&csv);
}

/* A CAPF session's update of one device (issue 12's benchmark): only that
 * device's files are rebuilt, however many devices there are, and the
 * daemons learn that only it changed (so they skip their full pass); any
 * other change means the full pass again. */
static void test_capf_update_cost(void **state)
{
    (void)state;
    enum { N = 200 };
    tu_cluster *t = tu_cluster_new(2, true);
    assert_non_null(t);
    ck_err err = {0};
    import_install_devices(t, N);

    const char *name = "SEP000000000064";
    size_t before_len = 0, after_len = 0;
    uint8_t *before = tu_node_file(t, TU_PUB, "SEP000000000064.cnf.xml", &before_len);
    assert_non_null(before);
    int64_t seen = ck_store_change_counter(store_of(t));
    ck_capf_devices devs;
    ck_cluster_capf_devices(t->c, &devs);
    ck_capf_update u = {.clear_operation = true, .at = 1};
    snprintf(u.result, sizeof u.result, "success");
    size_t work = ck_cluster_devices_materialized(t->c);
    assert_int_equal(devs.update(devs.arg, name, &u, &err), 0);
    /* One device, once for each node this handle materializes (both on
     * SQLite, the publisher's on PostgreSQL): not N. */
    size_t done = ck_cluster_devices_materialized(t->c) - work;
    assert_true(done >= 1 && done <= 2);
    uint8_t *after = tu_node_file(t, TU_PUB, "SEP000000000064.cnf.xml", &after_len);
    assert_non_null(after);
    assert_false(before_len == after_len && memcmp(before, after, before_len) == 0);
    free(before);
    free(after);

    /* A daemon that saw the counter before: only this device changed. */
    int64_t now = ck_store_change_counter(store_of(t));
    ck_device_changes d;
    assert_true(ck_cluster_device_changes_since(t->c, seen, now, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], name);
    /* A second update extends the run. */
    assert_int_equal(devs.update(devs.arg, "SEP000000000001", &u, &err), 0);
    int64_t now2 = ck_store_change_counter(store_of(t));
    assert_false(ck_cluster_device_changes_since(t->c, seen, now, &d)); /* now is not the latest */
    assert_true(ck_cluster_device_changes_since(t->c, now, now2, &d));
    assert_true(ck_cluster_device_changes_since(t->c, seen, now2, &d));
    assert_int_equal(d.n, 2);
    ck_materialize_report r;
    /* The watcher of this same process: the devices whose files this
     * process wrote after its commits are skipped
     * (lib/cluster/device_written.c): the second at the current counter,
     * the first at an older one, but only the second's device-only change
     * (which the record covers) came since. */
    work = ck_cluster_devices_materialized(t->c);
    assert_int_equal(ck_cluster_materialize_devices(t->c, TU_PUB, &d, &r, &err), 0);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 0);
    assert_int_equal(r.n, 0); /* already up to date */
    /* Anything committed since (here a parameter): both are checked, and
     * a file removed by hand comes back. */
    assert_int_equal(ck_store_set_param(store_of(t), "CAPFPhonePort", "3804", &err), 0);
    char gone[PATH_MAX];
    ck_cluster_node_path(t->c, TU_PUB, "tftp", "SEP000000000001.cnf.xml", gone, sizeof gone);
    assert_int_equal(unlink(gone), 0);
    work = ck_cluster_devices_materialized(t->c);
    assert_int_equal(ck_cluster_materialize_devices(t->c, TU_PUB, &d, &r, &err), 0);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 2);
    assert_int_equal(access(gone, F_OK), 0);

    /* Any other change: the full pass. */
    assert_int_equal(ck_cluster_device_template_set(t->c, NULL, &err), 0);
    int64_t now3 = ck_store_change_counter(store_of(t));
    assert_false(ck_cluster_device_changes_since(t->c, seen, now3, &d));
    assert_false(ck_cluster_device_changes_since(t->c, now2, now3, &d));
    tu_cluster_free(t);
}

/* The path of the lock a node's daemon takes to materialize its folder. */
static void lock_path(tu_cluster *t, char *out, size_t outsz)
{
    if (tu_pg())
        ck_cluster_node_path(t->c, TU_PUB, "run", "node.lock", out, outsz);
    else
        snprintf(out, outsz, "%s/cluster.lock", t->dir);
}

/* A watcher a few enrolments behind, while a CAPF session holds the
 * cluster lock (its commit and device pass): the devices this process's
 * CAPF sessions wrote since are up to date, so the watcher's device pass
 * needs neither the lock nor any work. Before, every one of them but the
 * latest was rebuilt under the lock; the lock was held, so the watcher
 * kept what it had seen and fell further behind, until the record no
 * longer covered it and it made a full pass over every device
 * (docs/benchmarks.md, "Watcher's full passes"). */
static void test_device_pass_behind(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(1, true);
    assert_non_null(t);
    ck_err err = {0};
    import_install_devices(t, 8);
    ck_capf_devices devs;
    ck_cluster_capf_devices(t->c, &devs);
    ck_capf_update u = {.clear_operation = true, .at = 1};
    snprintf(u.result, sizeof u.result, "success");
    int64_t seen = ck_store_change_counter(store_of(t));
    for (int i = 1; i <= 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "SEP%012X", i);
        assert_int_equal(devs.update(devs.arg, name, &u, &err), 0);
    }
    int64_t now = ck_store_change_counter(store_of(t));
    ck_device_changes d;
    assert_true(ck_cluster_device_changes_since(t->c, seen, now, &d));
    assert_int_equal(d.n, 5);

    char path[PATH_MAX];
    lock_path(t, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    ck_materialize_report r;
    size_t work = ck_cluster_devices_materialized(t->c);
    assert_int_equal(ck_cluster_materialize_devices(t->c, TU_PUB, &d, &r, &err), 0);
    assert_false(r.busy);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 0);
    /* Another CAPF session committed since the watcher read the record:
     * the record read again says it changed another device only. */
    assert_int_equal(flock(fd, LOCK_UN), 0);
    assert_int_equal(devs.update(devs.arg, "SEP000000000006", &u, &err), 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    work = ck_cluster_devices_materialized(t->c); /* the update's own pass counted */
    assert_int_equal(ck_cluster_materialize_devices(t->c, TU_PUB, &d, &r, &err), 0);
    assert_false(r.busy);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 0);

    /* A record read before the counter moved on says nothing about what
     * came after: once anything else is committed, the devices written
     * before it are checked again (here under the lock, so: busy). */
    assert_int_equal(ck_store_set_param(store_of(t), "CAPFPhonePort", "3804", &err), 0);
    assert_int_equal(ck_cluster_materialize_devices(t->c, TU_PUB, &d, &r, &err), 0);
    assert_true(r.busy);
    close(fd);
    work = ck_cluster_devices_materialized(t->c);
    assert_int_equal(ck_cluster_materialize_devices(t->c, TU_PUB, &d, &r, &err), 0);
    assert_false(r.busy);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 5);
    tu_cluster_free(t);
}

/* The daemon's periodic check without the device files (they cost a read
 * and a signature check each, and only a hand edit makes them differ):
 * the managed files come back, the device files are left to the full
 * pass. */
static void test_materialize_without_devices(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(1, true);
    assert_non_null(t);
    ck_err err = {0};
    import_install_devices(t, 4);
    char itl[PATH_MAX], dev[PATH_MAX];
    ck_cluster_node_path(t->c, TU_PUB, "tftp", CK_ITL_NAME, itl, sizeof itl);
    ck_cluster_node_path(t->c, TU_PUB, "tftp", "SEP000000000001.cnf.xml.sgn", dev, sizeof dev);
    assert_int_equal(unlink(itl), 0);
    assert_int_equal(unlink(dev), 0);
    ck_materialize_report r;
    size_t work = ck_cluster_devices_materialized(t->c);
    assert_int_equal(ck_cluster_materialize_node_files(t->c, TU_PUB, &r, &err), 0);
    assert_false(r.busy);
    assert_int_equal(access(itl, F_OK), 0);
    assert_int_not_equal(access(dev, F_OK), 0);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 0);
    assert_int_equal(ck_cluster_materialize_node(t->c, TU_PUB, &r, &err), 0);
    assert_int_equal(access(dev, F_OK), 0);
    assert_int_equal(ck_cluster_devices_materialized(t->c) - work, 4);
    tu_cluster_free(t);
}

/* The record of device-only changes keeps the latest CK_DEVICE_CHANGES_MAX
 * devices, each with the counter of its last change: a daemon learns only
 * the devices changed after what it has seen, and a long run of CAPF
 * updates never sends it back to the full pass over every device (before,
 * a run that reached 64 devices was dropped whole). */
static void test_device_changes_window(void **state)
{
    (void)state;
    enum { N = 80, UPDATES = 70, MARK = 10 };
    tu_cluster *t = tu_cluster_new(1, true);
    assert_non_null(t);
    ck_err err = {0};
    import_install_devices(t, N);
    ck_capf_devices devs;
    ck_cluster_capf_devices(t->c, &devs);
    ck_capf_update u = {.clear_operation = true, .at = 1};
    snprintf(u.result, sizeof u.result, "success");
    int64_t seen0 = ck_store_change_counter(store_of(t)), mark = -1, before_last = -1;
    for (int i = 1; i <= UPDATES; i++) {
        char name[16];
        snprintf(name, sizeof name, "SEP%012X", i);
        if (i == UPDATES)
            before_last = ck_store_change_counter(store_of(t));
        assert_int_equal(devs.update(devs.arg, name, &u, &err), 0);
        if (i == MARK)
            mark = ck_store_change_counter(store_of(t));
    }
    int64_t now = ck_store_change_counter(store_of(t));
    ck_device_changes d;
    /* Seen after the 10th: the 60 after it, oldest first. */
    assert_true(ck_cluster_device_changes_since(t->c, mark, now, &d));
    assert_int_equal(d.n, UPDATES - MARK);
    assert_string_equal(d.names[0], "SEP00000000000B");
    assert_string_equal(d.names[d.n - 1], "SEP000000000046");
    /* Seen before the last: that one only. */
    assert_true(ck_cluster_device_changes_since(t->c, before_last, now, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "SEP000000000046");
    /* Seen before the first: 70 devices changed, more than the record
     * keeps, so the full pass. */
    assert_false(ck_cluster_device_changes_since(t->c, seen0, now, &d));
    /* A listed device changed again moves to the end, once. */
    assert_int_equal(devs.update(devs.arg, "SEP00000000000B", &u, &err), 0);
    int64_t now2 = ck_store_change_counter(store_of(t));
    assert_true(ck_cluster_device_changes_since(t->c, now, now2, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "SEP00000000000B");
    assert_true(ck_cluster_device_changes_since(t->c, mark, now2, &d));
    assert_int_equal(d.n, UPDATES - MARK);
    assert_string_equal(d.names[0], "SEP00000000000C");
    assert_string_equal(d.names[d.n - 1], "SEP00000000000B");
    /* Any other change: the full pass, from anywhere in the run. */
    assert_int_equal(ck_store_set_param(store_of(t), "CAPFPhonePort", "3804", &err), 0);
    int64_t now3 = ck_store_change_counter(store_of(t));
    assert_false(ck_cluster_device_changes_since(t->c, now2, now3, &d));
    tu_cluster_free(t);
}

/* The CAPF issuer and the node's CallManager signer are decoded once per
 * handle and used while the store's certificate row and the key file stay
 * the same (lib/cluster/unit_cache.c): a second CAPF session or device
 * pass reads no key file; `set cert regen` of either unit is picked up on
 * the next use, and a new CAPF-trust root too. */
static void test_kept_keys(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(1, true);
    assert_non_null(t);
    ck_err err = {0};
    ck_capf_issuer a, b;
    assert_int_equal(ck_cluster_capf_issuer(t->c, TU_PUB, 0, &a, &err), 0);
    size_t k = ck_cluster_keys_loaded(t->c);
    assert_int_equal(ck_cluster_capf_issuer(t->c, TU_PUB, 0, &b, &err), 0);
    assert_int_equal(ck_cluster_keys_loaded(t->c), k); /* no key file read again */
    assert_ptr_equal(a.key, b.key);
    X509 *old = X509_dup(a.cert);
    ck_capf_issuer_clear(&a);
    ck_capf_issuer_clear(&b);

    /* set cert regen CAPF: the next session gets the new certificate and key. */
    char warning[512];
    assert_int_equal(ck_cluster_regen_cert(t->c, TU_PUB, "CAPF", NULL, warning, sizeof warning, &err), 0);
    assert_int_equal(ck_cluster_capf_issuer(t->c, TU_PUB, 0, &a, &err), 0);
    assert_int_not_equal(X509_cmp(a.cert, old), 0);
    assert_int_equal(X509_check_private_key(a.cert, a.key), 1);
    ck_cert_row cr;
    assert_int_equal(ck_store_get_cert(store_of(t), TU_PUB, "CAPF", &cr, &err), 0);
    X509 *row = NULL;
    assert_int_equal(ck_load_pem_mem(cr.pem, strlen(cr.pem), &row, NULL, false, &err), 0);
    ck_cert_row_clear(&cr);
    assert_int_equal(X509_cmp(a.cert, row), 0);
    X509_free(row);
    size_t roots = a.n_mic_roots;
    ck_capf_issuer_clear(&a);

    /* A new CAPF-trust root counts from the next session on. */
    ck_cert_params p = {.cn = "Test MIC CA", .o = "Maker", .rsa_bits = 1024};
    X509 *ca = NULL;
    EVP_PKEY *cakey = NULL;
    assert_int_equal(ck_cert_generate(&p, &ca, &cakey, &err), 0);
    char *pem = ck_cert_to_pem(ca);
    assert_int_equal(ck_cluster_import_trust(t->c, TU_PUB, "CAPF-trust", pem, "test MIC CA", &err), 0);
    free(pem);
    k = ck_cluster_keys_loaded(t->c);
    assert_int_equal(ck_cluster_capf_issuer(t->c, TU_PUB, 0, &a, &err), 0);
    assert_int_equal(a.n_mic_roots, roots + 1);
    assert_int_equal(ck_cluster_keys_loaded(t->c), k);
    ck_capf_issuer_clear(&a);

    /* The CallManager signer across device passes: a new LSC each time,
     * a new .enc.sgn signed each time, the key read once. */
    ck_device_add d = {.name = "SEP001122334477", .model = "8865", .profile = "encrypted", .encrypted_config = true};
    assert_int_equal(ck_cluster_device_add(t->c, &d, &err), 0);
    ck_cert_params lp = {.cn = "SEP001122334477", .o = "CAPF", .rsa_bits = 1024};
    X509 *lsc[3] = {0};
    EVP_PKEY *lkey[3] = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(ck_cert_generate(&lp, &lsc[i], &lkey[i], &err), 0);
    set_lsc(t, d.name, lsc[0]);
    k = ck_cluster_keys_loaded(t->c);
    set_lsc(t, d.name, lsc[1]);
    size_t el = 0;
    uint8_t *enc = tu_node_file(t, TU_PUB, "SEP001122334477.cnf.xml.enc.sgn", &el);
    ck_tl_file *f = NULL;
    assert_non_null(enc);
    assert_int_equal(ck_sgn_parse(enc, el, &f, &err), 0);
    uint8_t *out = NULL;
    size_t ol = 0;
    assert_int_equal(ck_encsgn_decrypt(f, lkey[1], &out, &ol, &err), 0); /* rewritten for the new LSC */
    free(out);
    ck_tl_free(f);
    free(enc);
    assert_int_equal(ck_cluster_keys_loaded(t->c), k);

    /* set cert regen CallManager: the next file is signed with the new key. */
    assert_int_equal(ck_cluster_regen_cert(t->c, TU_PUB, "CallManager", NULL, warning, sizeof warning, &err), 0);
    set_lsc(t, d.name, lsc[2]);
    X509 *cm = node_cm_cert(t, TU_PUB);
    enc = tu_node_file(t, TU_PUB, "SEP001122334477.cnf.xml.enc.sgn", &el);
    assert_non_null(enc);
    assert_int_equal(ck_sgn_parse(enc, el, &f, &err), 0);
    assert_int_equal(ck_tl_verify_with(f, cm, &err), 0);
    ck_tl_free(f);
    free(enc);
    X509_free(cm);
    for (int i = 0; i < 3; i++) {
        X509_free(lsc[i]);
        EVP_PKEY_free(lkey[i]);
    }
    X509_free(ca);
    EVP_PKEY_free(cakey);
    X509_free(old);
    tu_cluster_free(t);
}

int main(int argc, char **argv)
{
    if (!tu_backend_from_args(argc, argv))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks),         cmocka_unit_test(test_row_defaults_and_capf),
        cmocka_unit_test(test_config_xml_fields), cmocka_unit_test(test_operations_and_files),
        cmocka_unit_test(test_encrypted_config_files),
        cmocka_unit_test(test_template),       cmocka_unit_test(test_import),
        cmocka_unit_test(test_capf_update_cost), cmocka_unit_test(test_device_pass_behind),
        cmocka_unit_test(test_device_changes_window), cmocka_unit_test(test_materialize_without_devices),
        cmocka_unit_test(test_kept_keys),
    };
    return cmocka_run_group_tests_name("devices", tests, NULL, NULL);
}
