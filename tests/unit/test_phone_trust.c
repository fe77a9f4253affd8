/* Unit tests of the phone's trust rules (lib/phone/trust.c,
 * ctlkit/phone.h): leap of faith, same signer, unknown signer with and
 * without Security by Default, TVS answers and their TTL, tampering, and
 * the .sgn and TVS-server checks. */
#include "testutil.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/phone.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

/* pub: the publisher's CallManager; pub2: the same name after "set cert
 * regen CallManager"; sub: a subscriber; tvs: the publisher's TVS. */
static tu_keypair pub, pub2, sub, tvs;

static int setup(void **state)
{
    ck_cert_params p = {.cn = "cucm-1051-a-pub", .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    ck_cert_params s = {.cn = "cucm-1051-a-sub1", .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    ck_cert_params t = {.cn = "cucm-1051-a-pub-tvs", .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    tu_keypair_gen(&pub, &p);
    tu_keypair_gen(&pub2, &p);
    tu_keypair_gen(&sub, &s);
    tu_keypair_gen(&tvs, &t);
    return 0;
}

static int teardown(void **state)
{
    tu_keypair *const all[] = {&pub, &pub2, &sub, &tvs};
    tu_keypairs_free(all, 4);
    return 0;
}

/* The trust list `filename` of entries e, signed by signer at ts. */
static uint8_t *build_signed(const ck_tl_entry *e, size_t n, const tu_keypair *signer, const char *filename,
                             uint32_t ts, size_t *len)
{
    ck_tl_signer s;
    ck_tl_signer_key(&s, signer->cert, signer->key);
    ck_tl_build_opts o = {.filename = filename, .timestamp = ts};
    uint8_t *out = NULL;
    ck_err err = {0};
    if (ck_tl_build(e, n, &s, &o, &out, len, &err) < 0)
        fail_msg("build %s: %s", filename, err.msg);
    return out;
}

/* A tokenless CTL signed by signer: signer as SAST and CCM+TFTP, then the
 * subscriber. blank: the subscriber as a blank record (non-secure CTL). */
static uint8_t *make_ctl(const tu_keypair *signer, uint32_t ts, bool blank, size_t *len)
{
    ck_tl_entry e[3] = {
        {.role = CK_ROLE_SAST, .cert = signer->cert},
        {.role = CK_ROLE_CCM_TFTP, .cert = signer->cert},
        {.role = CK_ROLE_CCM_TFTP, .cert = blank ? NULL : sub.cert, .dns_name = blank ? "cucm-1051-a-sub1" : NULL},
    };
    return build_signed(e, 3, signer, "CTLFile.tlv", ts, len);
}

/* An ITL: signer as SAST and CCM+TFTP, the TVS, the subscriber. */
static uint8_t *make_itl(const tu_keypair *signer, uint32_t ts, size_t *len)
{
    ck_tl_entry e[4] = {
        {.role = CK_ROLE_SAST, .cert = signer->cert},
        {.role = CK_ROLE_CCM_TFTP, .cert = signer->cert},
        {.role = CK_ROLE_TVS, .cert = tvs.cert},
        {.role = CK_ROLE_CCM_TFTP, .cert = sub.cert},
    };
    return build_signed(e, 4, signer, "ITLFile.tlv", ts, len);
}

static ck_tl_file *parse(const uint8_t *p, size_t n) { return tu_tl_parse(p, n); }

/* The usual judgement's inputs: the phone holds a CTL signed by pub
 * (version 1000) and is offered a new one (version 2000) signed by signer. */
typedef struct ctl_pair {
    uint8_t *old, *new;
    size_t n_old, n_new;
    ck_tl_file *held;
} ctl_pair;

static ctl_pair pair_of(const tu_keypair *signer, bool blank)
{
    ctl_pair p = {0};
    p.old = make_ctl(&pub, 1000, false, &p.n_old);
    p.new = make_ctl(signer, 2000, blank, &p.n_new);
    p.held = parse(p.old, p.n_old);
    return p;
}

static void pair_free(ctl_pair *p)
{
    ck_tl_free(p->held);
    free(p->old);
    free(p->new);
}

static void sha1_of(X509 *c, uint8_t out[20])
{
    unsigned n = 0;
    assert_int_equal(ck_cert_fingerprint(c, "sha1", out, &n), 0);
    assert_int_equal(n, 20);
}

/* A fresh cache holding one TVS answer about cert (valid, with roles),
 * given at `at` for ttl seconds; h gets cert's SHA-1. */
static void cache_answer(ck_ph_cache *cache, X509 *cert, const uint8_t *roles, size_t n_roles, uint32_t ttl,
                         int64_t at, uint8_t h[20])
{
    ck_ph_cache_init(cache);
    sha1_of(cert, h);
    ck_ph_cache_put(cache, h, true, roles, n_roles, ttl, at);
}

/* Judges and checks verdict + reason; returns the decision (parsed freed). */
static ck_ph_decision judge(const ck_ph_input *in, ck_ph_verdict v, ck_ph_reason r)
{
    ck_ph_decision d;
    ck_err err = {0};
    assert_int_equal(ck_ph_judge(in, &d, &err), 0);
    if (d.verdict != v || d.reason != r)
        fail_msg("expected %s/%s, got %s/%s: %s", ck_ph_verdict_name(v), ck_ph_reason_name(r),
                 ck_ph_verdict_name(d.verdict), ck_ph_reason_name(d.reason), d.detail);
    ck_tl_free(d.parsed);
    d.parsed = NULL;
    return d;
}

static void test_leap_of_faith(void **state)
{
    size_t n;
    uint8_t *ctl = make_ctl(&pub, 1000, false, &n);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = false, .data = ctl, .len = n};
    judge(&in, CK_PH_INSTALL, CK_PH_R_LEAP_OF_FAITH);
    in.sbd = true; /* the same for SBD phones: nothing to ask about */
    ck_ph_decision d = judge(&in, CK_PH_INSTALL, CK_PH_R_LEAP_OF_FAITH);
    assert_false(d.via_tvs);
    free(ctl);
}

static void test_same_bytes_unchanged(void **state)
{
    size_t n;
    uint8_t *ctl = make_ctl(&pub, 1000, false, &n);
    ck_tl_file *held = parse(ctl, n);
    ck_ph_input in = {.kind = CK_PH_CTL, .held = held, .data = ctl, .len = n};
    judge(&in, CK_PH_UNCHANGED, CK_PH_R_SAME_BYTES);
    ck_tl_free(held);
    free(ctl);
}

static void test_same_signer_installs(void **state)
{
    ctl_pair p = pair_of(&pub, false);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = false, .held = p.held, .data = p.new, .len = p.n_new};
    ck_ph_decision d = judge(&in, CK_PH_INSTALL, CK_PH_R_KNOWN_SAST);
    assert_false(d.via_tvs);
    pair_free(&p);
}

/* A non-secure CTL whose other records are blank is still a valid update
 * when a known SAST signed it. */
static void test_blank_record_ctl(void **state)
{
    ctl_pair p = pair_of(&pub, true);
    ck_ph_input in = {.kind = CK_PH_CTL, .held = p.held, .data = p.new, .len = p.n_new};
    judge(&in, CK_PH_INSTALL, CK_PH_R_KNOWN_SAST);
    pair_free(&p);
}

static void test_unknown_signer_no_tvs_rejected(void **state)
{
    ctl_pair p = pair_of(&pub2, false);
    /* SBD phone, but no TVS answered */
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = true, .held = p.held, .data = p.new, .len = p.n_new,
                      .tvs_error = "no TVS server configured"};
    ck_ph_decision d = judge(&in, CK_PH_REJECT, CK_PH_R_TVS_UNAVAILABLE);
    assert_non_null(strstr(d.detail, "no TVS server configured"));
    pair_free(&p);
}

/* A 7960 never asks TVS, even when an answer that would pass is cached. */
static void test_non_sbd_never_asks_tvs(void **state)
{
    ctl_pair p = pair_of(&pub2, false);
    ck_ph_cache cache;
    uint8_t h[20], roles[] = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP};
    cache_answer(&cache, pub2.cert, roles, 2, 86400, 1000, h);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = false, .held = p.held, .data = p.new, .len = p.n_new, .cache = &cache,
                      .now = 1000};
    ck_ph_decision d = judge(&in, CK_PH_REJECT, CK_PH_R_UNKNOWN_SIGNER);
    assert_null(d.need_cert);
    pair_free(&p);
}

static void test_sbd_asks_then_installs_on_sast(void **state)
{
    ctl_pair p = pair_of(&pub2, false);
    ck_ph_cache cache;
    ck_ph_cache_init(&cache);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = true, .held = p.held, .data = p.new, .len = p.n_new, .cache = &cache,
                      .now = 1000};
    /* first judgement: ask TVS about the new signer's certificate */
    ck_ph_decision d;
    ck_err err = {0};
    assert_int_equal(ck_ph_judge(&in, &d, &err), 0);
    assert_int_equal(d.verdict, CK_PH_NEED_TVS);
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(ck_cert_to_der(pub2.cert, &der, &der_len, &err), 0);
    assert_true(d.need_cert && d.need_cert_len == der_len && memcmp(d.need_cert, der, der_len) == 0);
    uint8_t h[20];
    sha1_of(pub2.cert, h);
    assert_memory_equal(d.need_sha1, h, 20);
    ck_tl_free(d.parsed);
    free(der);
    /* TVS: valid, SAST + CCM+TFTP ("rolecount 2") */
    uint8_t roles[] = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP};
    ck_ph_cache_put(&cache, h, true, roles, 2, 86400, 1000);
    d = judge(&in, CK_PH_INSTALL, CK_PH_R_TVS_SAST);
    assert_true(d.via_tvs);
    assert_true(d.from_cache);
    ck_ph_cache_flush(&cache);
    assert_int_equal(cache.n, 0);
    pair_free(&p);
}

static void test_tvs_valid_without_sast_rejected(void **state)
{
    ctl_pair p = pair_of(&pub2, false);
    uint8_t h[20];
    sha1_of(pub2.cert, h);
    ck_ph_cache_entry fresh = {.valid = true, .roles = {CK_ROLE_CCM_TFTP}, .n_roles = 1};
    memcpy(fresh.sha1, h, 20);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = true, .held = p.held, .data = p.new, .len = p.n_new, .fresh = &fresh};
    judge(&in, CK_PH_REJECT, CK_PH_R_TVS_NOT_SAST);
    fresh.valid = false;
    fresh.n_roles = 0;
    judge(&in, CK_PH_REJECT, CK_PH_R_TVS_UNKNOWN);
    /* a fresh answer with TTL 0 still counts for this judgement */
    fresh.valid = true;
    fresh.roles[0] = CK_ROLE_SAST;
    fresh.n_roles = 1;
    judge(&in, CK_PH_INSTALL, CK_PH_R_TVS_SAST);
    pair_free(&p);
}

static void test_cache_ttl_expiry(void **state)
{
    ctl_pair p = pair_of(&pub2, false);
    ck_ph_cache cache;
    uint8_t h[20], roles[] = {CK_ROLE_SAST};
    cache_answer(&cache, pub2.cert, roles, 1, 100, 5000, h);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = true, .held = p.held, .data = p.new, .len = p.n_new, .cache = &cache};
    in.now = 5099; /* one second before expiry: the cached answer counts */
    ck_ph_decision d = judge(&in, CK_PH_INSTALL, CK_PH_R_TVS_SAST);
    assert_true(d.from_cache);
    in.now = 5100; /* expired: ask again */
    judge(&in, CK_PH_NEED_TVS, CK_PH_R_NONE);
    assert_non_null(ck_ph_cache_find(&cache, h, 5099));
    assert_int_equal(ck_ph_cache_expire(&cache, 5099), 0);
    assert_int_equal(ck_ph_cache_expire(&cache, 5100), 1);
    assert_int_equal(cache.n, 0);
    pair_free(&p);
}

static void test_cache_bounded(void **state)
{
    ck_ph_cache cache;
    ck_ph_cache_init(&cache);
    uint8_t h[20] = {0}, role = CK_ROLE_SAST;
    for (unsigned i = 0; i < CK_PH_CACHE_MAX + 5; i++) {
        h[0] = (uint8_t)i;
        ck_ph_cache_put(&cache, h, true, &role, 1, 60, 0);
    }
    assert_int_equal(cache.n, CK_PH_CACHE_MAX);
    h[0] = 0; /* the oldest went first */
    assert_null(ck_ph_cache_find(&cache, h, 1));
    h[0] = CK_PH_CACHE_MAX + 4;
    assert_non_null(ck_ph_cache_find(&cache, h, 1));
    /* a second answer for the same certificate replaces the first */
    ck_ph_cache_put(&cache, h, false, NULL, 0, 60, 0);
    assert_int_equal(cache.n, CK_PH_CACHE_MAX);
    assert_false(ck_ph_cache_find(&cache, h, 1)->valid);
}

static void test_tampered_rejected(void **state)
{
    ctl_pair p = pair_of(&pub, false);
    /* a byte of the last record's IP address: still parses, no longer verifies */
    p.new[p.n_new - 1] ^= 0x01;
    ck_ph_input in = {.kind = CK_PH_CTL, .held = p.held, .data = p.new, .len = p.n_new};
    judge(&in, CK_PH_REJECT, CK_PH_R_BAD_SIGNATURE);
    in.held = NULL; /* no leap of faith for a broken file either */
    judge(&in, CK_PH_REJECT, CK_PH_R_BAD_SIGNATURE);
    /* SBD: a tampered file never reaches TVS */
    in.held = p.held;
    in.sbd = true;
    size_t n2;
    uint8_t *new2 = make_ctl(&pub2, 2000, false, &n2);
    new2[n2 - 1] ^= 0x01;
    in.data = new2;
    in.len = n2;
    judge(&in, CK_PH_REJECT, CK_PH_R_BAD_SIGNATURE);
    /* truncated: malformed */
    in.len = n2 - 7;
    judge(&in, CK_PH_REJECT, CK_PH_R_MALFORMED);
    pair_free(&p);
    free(new2);
}

static void test_itl_rules_and_kind(void **state)
{
    size_t n1, n2, n3;
    uint8_t *old = make_itl(&pub, 1000, &n1);
    uint8_t *new = make_itl(&pub2, 2000, &n2);
    uint8_t *ctl = make_ctl(&pub, 1000, false, &n3);
    ck_tl_file *held = parse(old, n1);
    ck_ph_input in = {.kind = CK_PH_ITL, .sbd = true, .held = held, .data = new, .len = n2};
    judge(&in, CK_PH_NEED_TVS, CK_PH_R_NONE);
    /* a CTL served as ITLFile.tlv is refused */
    in.data = ctl;
    in.len = n3;
    judge(&in, CK_PH_REJECT, CK_PH_R_WRONG_KIND);
    /* the ITL names the TVS a phone may talk to */
    uint8_t *der = NULL;
    size_t dl = 0;
    ck_err err = {0};
    assert_int_equal(ck_cert_to_der(tvs.cert, &der, &dl, &err), 0);
    assert_true(ck_ph_itl_trusts_tvs(held, der, dl));
    free(der);
    assert_int_equal(ck_cert_to_der(pub.cert, &der, &dl, &err), 0);
    assert_false(ck_ph_itl_trusts_tvs(held, der, dl)); /* in the ITL, but not as TVS */
    assert_false(ck_ph_itl_trusts_tvs(NULL, der, dl));
    free(der);
    ck_tl_free(held);
    free(old);
    free(new);
    free(ctl);
}

/* A trust list must name itself CTLFile.tlv or ITLFile.tlv (any case).
 * The node's TFTP key, a SAST of every ITL and of tokenless CTLs, also
 * signs X.sgn for any file of its folder: a .sgn over a CTL's records,
 * signed by the very SAST the phone holds, is not a CTL. */
static void test_filename_names_the_kind(void **state)
{
    (void)state;
    size_t n_old, n_ctl;
    uint8_t *old = make_ctl(&pub, 1000, false, &n_old);
    uint8_t *ctl = make_ctl(&pub, 2000, false, &n_ctl);
    ck_tl_file *held = parse(old, n_old);
    ck_tl_file *f = parse(ctl, n_ctl);
    ck_tl_signer signer;
    ck_tl_signer_key(&signer, pub.cert, pub.key);
    ck_tl_build_opts o = {.filename = "SEP001122334455.cnf.xml.sgn"};
    uint8_t *sgn = NULL;
    size_t n_sgn = 0;
    ck_err err = {0};
    assert_int_equal(ck_sgn_build(ctl + f->header_len, n_ctl - f->header_len, &signer, &o, &sgn, &n_sgn, &err), 0);
    ck_ph_input in = {.kind = CK_PH_CTL, .sbd = true, .held = held, .data = sgn, .len = n_sgn};
    ck_ph_decision d = judge(&in, CK_PH_REJECT, CK_PH_R_WRONG_KIND);
    assert_non_null(strstr(d.detail, "names itself SEP001122334455.cnf.xml.sgn, not CTLFile.tlv"));
    in.held = NULL; /* nor by leap of faith */
    judge(&in, CK_PH_REJECT, CK_PH_R_WRONG_KIND);
    free(sgn);

    /* Another name of the right kind's prefix: refused; the case of the
     * name does not matter. */
    ck_tl_entry e[2] = {{.role = CK_ROLE_SAST, .cert = pub.cert}, {.role = CK_ROLE_CCM_TFTP, .cert = pub.cert}};
    uint8_t *other = build_signed(e, 2, &pub, "CTLFile.tlv.bak", 2000, &n_sgn);
    in.held = held;
    in.data = other;
    in.len = n_sgn;
    judge(&in, CK_PH_REJECT, CK_PH_R_WRONG_KIND);
    free(other);
    other = build_signed(e, 2, &pub, "ctlfile.tlv", 2000, &n_sgn);
    in.data = other;
    in.len = n_sgn;
    judge(&in, CK_PH_INSTALL, CK_PH_R_KNOWN_SAST);
    free(other);
    ck_tl_free(f);
    ck_tl_free(held);
    free(old);
    free(ctl);
}

static void test_signed_config(void **state)
{
    static const char cfg[] = "<device><fullConfig>true</fullConfig></device>\n";
    size_t n;
    uint8_t *ctl = make_ctl(&pub, 1000, false, &n);
    ck_tl_file *held = parse(ctl, n);
    ck_tl_signer s;
    ck_tl_signer_key(&s, sub.cert, sub.key); /* the subscriber's TFTP signs its configs */
    ck_tl_build_opts o = {.filename = "SEP001122334455.cnf.xml"};
    uint8_t *sgn = NULL;
    size_t sl = 0;
    ck_err err = {0};
    assert_int_equal(ck_sgn_build((const uint8_t *)cfg, sizeof cfg - 1, &s, &o, &sgn, &sl, &err), 0);
    const uint8_t *content = NULL;
    size_t cl = 0;
    assert_int_equal(ck_ph_check_sgn(held, NULL, NULL, sgn, sl, &content, &cl, &err), 0);
    assert_int_equal(cl, sizeof cfg - 1);
    assert_memory_equal(content, cfg, cl);
    /* Its signed FILENAME is the file asked for (either case)... */
    assert_int_equal(ck_ph_check_sgn(held, NULL, "SEP001122334455.cnf.xml", sgn, sl, &content, &cl, &err), 0);
    assert_int_equal(ck_ph_check_sgn(held, NULL, "sep001122334455.CNF.XML", sgn, sl, &content, &cl, &err), 0);
    /* ... so another phone's file, as well signed, served under this
     * phone's name is refused (and so is a prefix of the name). */
    assert_int_equal(ck_ph_check_sgn(held, NULL, "SEP00AABBCCDDEE.cnf.xml", sgn, sl, &content, &cl, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);
    assert_non_null(strstr(err.msg, "names itself SEP001122334455.cnf.xml"));
    assert_int_equal(ck_ph_check_sgn(held, NULL, "SEP001122334455.cnf.xm", sgn, sl, &content, &cl, &err), -1);
    sgn[sl - 2] ^= 0x20; /* altered configuration */
    assert_int_equal(ck_ph_check_sgn(held, NULL, NULL, sgn, sl, &content, &cl, &err), -1);
    assert_int_equal(err.code, CK_ESIGNATURE);
    free(sgn);
    /* signed by a certificate the lists do not carry as TFTP */
    ck_tl_signer_key(&s, tvs.cert, tvs.key);
    assert_int_equal(ck_sgn_build((const uint8_t *)cfg, sizeof cfg - 1, &s, &o, &sgn, &sl, &err), 0);
    assert_int_equal(ck_ph_check_sgn(held, NULL, NULL, sgn, sl, &content, &cl, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    free(sgn);
    ck_tl_free(held);
    free(ctl);
}

static void test_names(void **state)
{
    assert_string_equal(ck_ph_verdict_name(CK_PH_REJECT), "rejected");
    assert_string_equal(ck_ph_reason_name(CK_PH_R_UNKNOWN_SIGNER), "unknown-signer");
    assert_string_equal(ck_ph_reason_name(CK_PH_R_TVS_UNAVAILABLE), "tvs-unavailable");
    ck_ph_decision d;
    ck_err err = {0};
    assert_int_equal(ck_ph_judge(NULL, &d, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leap_of_faith),
        cmocka_unit_test(test_same_bytes_unchanged),
        cmocka_unit_test(test_same_signer_installs),
        cmocka_unit_test(test_blank_record_ctl),
        cmocka_unit_test(test_unknown_signer_no_tvs_rejected),
        cmocka_unit_test(test_non_sbd_never_asks_tvs),
        cmocka_unit_test(test_sbd_asks_then_installs_on_sast),
        cmocka_unit_test(test_tvs_valid_without_sast_rejected),
        cmocka_unit_test(test_cache_ttl_expiry),
        cmocka_unit_test(test_cache_bounded),
        cmocka_unit_test(test_tampered_rejected),
        cmocka_unit_test(test_itl_rules_and_kind),
        cmocka_unit_test(test_filename_names_the_kind),
        cmocka_unit_test(test_signed_config),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
