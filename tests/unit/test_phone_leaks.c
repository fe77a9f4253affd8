/* ctlkit-phone's error paths free what they hold (src/ctlkit-phone):
 * - ph_pool_intern takes over the parsed list it is given and must free it
 *   when hashing fails (MD5 made to fail here by wrapping EVP_Digest);
 * - a fleet run in which one phone's boot cannot start lets the boots
 *   already in flight finish (each would otherwise leak with its transfer).
 * Seen here through a wrapped ck_tl_free and the fleet's summary, and
 * under `make sanitize` by LeakSanitizer. */
#include "testutil.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "report.h"
#include "state.h"

/* --- wrapped functions (tests/CMakeLists.txt: -Wl,--wrap=...) --- */

int __real_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type,
                      ENGINE *impl);
int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type,
                      ENGINE *impl);
void __real_ck_tl_free(ck_tl_file *f);
void __wrap_ck_tl_free(ck_tl_file *f);

static bool md5_fails;
static const ck_tl_file *watched;
static unsigned watched_frees;

int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type,
                      ENGINE *impl)
{
    if (md5_fails && EVP_MD_get_type(type) == NID_md5)
        return 0;
    return __real_EVP_Digest(data, count, md, size, type, impl);
}

void __wrap_ck_tl_free(ck_tl_file *f)
{
    if (f && f == watched)
        watched_frees++;
    __real_ck_tl_free(f);
}

static void test_intern_md5_failure_frees_parsed(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *data = tu_read_file(tu_vector("CTLFile-sha1.tlv"), &len);
    ck_tl_file *parsed = tu_tl_parse(data, len);
    ph_pool pool = {0};
    ck_err err = {0};
    watched = parsed;
    watched_frees = 0;
    md5_fails = true;
    ph_list *l = ph_pool_intern(&pool, data, len, parsed, &err);
    md5_fails = false;
    assert_null(l);
    assert_non_null(strstr(err.msg, "cannot hash"));
    assert_null(pool.head);
    assert_int_equal(watched_frees, 1); /* taken over, so freed */
    watched = NULL;

    /* The same bytes intern fine once MD5 works. */
    l = ph_pool_intern(&pool, data, len, NULL, &err);
    assert_non_null(l);
    ph_pool_unref(&pool, l);
    ph_pool_free(&pool);
    free(data);
}

/* Phone 1 boots against a TFTP port nobody listens on (it fails after its
 * short timeouts); phone 2 has no model, so its boot cannot start. */
static void test_fleet_boot_fails_to_start(void **state)
{
    (void)state;
    ph_fleet f;
    memset(&f, 0, sizeof f);
    f.phones = calloc(2, sizeof *f.phones);
    assert_non_null(f.phones);
    f.n = 2;
    ck_err err = {0};
    assert_int_equal(ph_addr_parse("127.0.0.1:9", &f.tftp[0], &err), 0);
    f.n_tftp = 1;
    for (size_t i = 0; i < 2; i++) {
        ck_ph_cache_init(&f.phones[i].cache);
        snprintf(f.phones[i].mac, sizeof f.phones[i].mac, "00112233445%zu", i);
    }
    f.phones[0].model = ph_model_find("7975");
    assert_non_null(f.phones[0].model);
    ph_fleet_opts o = {.concurrency = 4,
                       .tftp_params = {.timeout_ms = 20, .retries = 0, .deadline_ms = 5000, .max_size = 1 << 20},
                       .tvs_timeout_ms = 1000,
                       .tvs_deadline_ms = 2000,
                       .no_config = true};
    ph_summary *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(ph_fleet_run(&f, &o, s, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "a boot could not start"));
    assert_int_equal(s->total, 1); /* phone 1's boot ran to its end */
    ph_fleet_free(&f);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_md5_failure_frees_parsed),
        cmocka_unit_test(test_fleet_boot_fails_to_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
