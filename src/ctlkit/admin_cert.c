/* admin: show cert ..., set cert regen|import|delete. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin.h"
#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"

static void date_of(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, n, "%a %b %d %H:%M:%S %Z %Y", &tm);
}

int admin_show_cert_own(admin *a, int argc, char **argv)
{
    bool json = admin_take_json(a, &argc, argv), pem = false;
    const char *unit = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--pem") == 0)
            pem = true;
        else if (!unit)
            unit = argv[i];
        else
            return admin_fail("Unexpected argument '%s'", argv[i]);
    }
    if (!unit)
        return admin_fail("Usage: show cert own UNIT [--pem] [--json]");
    ck_cert_row row;
    ck_err err = {0};
    /* Units are case-insensitive at the prompt, as on CUCM. */
    if (ck_cluster_unit_name(unit))
        unit = ck_cluster_unit_name(unit);
    if (ck_store_get_cert(ck_cluster_store(a->c), a->node, unit, &row, &err) < 0)
        return admin_fail("%s", err.msg);
    int rc = CMD_OK;
    if (pem) {
        fputs(row.pem, stdout);
    } else {
        X509 *cert = NULL;
        if (ck_load_pem_mem(row.pem, strlen(row.pem), &cert, NULL, false, &err) < 0) {
            rc = admin_fail("%s", err.msg);
        } else if (json) {
            char exp[64];
            date_of(row.not_after, exp, sizeof exp);
            uint8_t d[32];
            unsigned dn = 0;
            char sha1[64];
            ck_cert_fingerprint(cert, "sha1", d, &dn);
            ck_hex(d, dn, ':', true, sha1, sizeof sha1);
            json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "node", a->node, "unit", unit, "serial",
                                  row.serial, "subject", row.subject, "issuer", row.issuer, "signature_algorithm",
                                  ck_cert_sigalg_name(cert), "sha1", sha1, "not_after", (json_int_t)row.not_after,
                                  "pem", row.pem);
            char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("%s\n", txt ? txt : "{}");
            free(txt);
            json_decref(j);
        } else {
            char *details = ck_cert_details(cert);
            printf("Certificate Details for %s, %s\nFile Name: %s.pem\nCertificate Purpose: %s\n%s", a->node, unit,
                   unit, unit, details ? details : "");
            free(details);
        }
        X509_free(cert);
    }
    ck_cert_row_clear(&row);
    return rc;
}

static int list_rows(admin *a, ck_cert_row *rows, size_t n, bool trust, bool json)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!trust && strcmp(rows[i].node, a->node) != 0)
            continue;
        char exp[64];
        date_of(rows[i].not_after, exp, sizeof exp);
        if (json) {
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "unit", rows[i].unit, "serial",
                                                 rows[i].serial, "subject", rows[i].subject, "issuer", rows[i].issuer,
                                                 "description", rows[i].description ? rows[i].description : "",
                                                 "not_after", (json_int_t)rows[i].not_after));
        } else if (trust) {
            printf("%s/%s: %s\n    serial %s, issuer %s, expires %s\n", rows[i].unit, rows[i].subject,
                   rows[i].description && *rows[i].description ? rows[i].description : "(no description)",
                   rows[i].serial, rows[i].issuer, exp);
        } else {
            printf("%s/%s.pem: %s\n    serial %s, expires %s\n", rows[i].unit, rows[i].unit, rows[i].subject,
                   rows[i].serial, exp);
        }
    }
    if (json) {
        char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "[]");
        free(txt);
    } else if (trust && n == 0) {
        printf("No trust certificates.\n");
    }
    json_decref(arr);
    return CMD_OK;
}

static int show_list(admin *a, int argc, char **argv, bool trust)
{
    bool json = admin_take_json(a, &argc, argv);
    ck_cert_row *rows = NULL;
    size_t n = 0;
    ck_err err = {0};
    if (argc)
        return admin_fail("Unexpected argument '%s'", argv[0]);
    ck_store *s = ck_cluster_store(a->c);
    if ((trust ? ck_store_list_trust(s, &rows, &n, &err) : ck_store_list_certs(s, &rows, &n, &err)) < 0)
        return admin_fail("%s", err.msg);
    int rc = list_rows(a, rows, n, trust, json);
    ck_cert_rows_free(rows, n);
    return rc;
}

int admin_show_cert_list_own(admin *a, int argc, char **argv) { return show_list(a, argc, argv, false); }
int admin_show_cert_list_trust(admin *a, int argc, char **argv) { return show_list(a, argc, argv, true); }

int admin_cert_regen(admin *a, int argc, char **argv)
{
    if (!ck_cluster_unit_name(argv[0]))
        return admin_fail("Unknown certificate unit '%s' (CallManager, TVS, CAPF, ITLRecovery)", argv[0]);
    /* ctlkit's addition: CUCM 10.5 regenerates with SHA256withRSA; --digest
     * sha1 rehearses a cluster that kept the SHA1withRSA originals' style. */
    const char *digest = NULL;
    if (argc == 3 && strcmp(argv[1], "--digest") == 0)
        digest = argv[2];
    else if (argc != 1)
        return admin_fail("Usage: set cert regen UNIT [--digest sha256|sha1]");
    if (ck_cluster_digest_problem(digest))
        return admin_fail("%s, not '%s'", ck_cluster_digest_problem(digest), digest);
    char q[256];
    snprintf(q, sizeof q,
             "WARNING: This operation will regenerate the %s certificate of %s with a new key and serial. Do you "
             "want to continue?",
             argv[0], a->node);
    if (!admin_confirm(a, q))
        return CMD_FAILED;
    char warning[2048];
    ck_err err = {0};
    if (ck_cluster_regen_cert(a->c, a->node, argv[0], digest, warning, sizeof warning, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("Successfully Regenerated Certificate for %s.\n%s", argv[0], warning);
    return CMD_OK;
}

int admin_cert_import(admin *a, int argc, char **argv)
{
    const char *purpose = argv[0], *path = argv[1];
    if (!ck_cluster_trust_purpose(purpose))
        return admin_fail("Unknown trust store '%s' (" CK_TRUST_PURPOSE_NAMES ")", purpose);
    char desc[256] = "";
    for (int i = 2; i < argc; i++)
        snprintf(desc + strlen(desc), sizeof desc - strlen(desc), "%s%s", i > 2 ? " " : "", argv[i]);
    uint8_t *pem = NULL;
    size_t len = 0;
    ck_err err = {0};
    if (ck_read_file(path, 1u << 20, &pem, &len, &err) < 0)
        return admin_fail("%s", err.msg);
    char *text = malloc(len + 1);
    if (!text) {
        free(pem);
        return admin_fail("out of memory");
    }
    memcpy(text, pem, len);
    text[len] = '\0';
    free(pem);
    printf("Warning: Uploading a cluster-wide certificate will distribute it to all servers in this cluster\n");
    int rc = CMD_FAILED;
    if (admin_confirm(a, "Do you want to upload it?")) {
        if (ck_cluster_import_trust(a->c, a->node, purpose, text, desc, &err) < 0)
            rc = admin_fail("%s", err.msg);
        else {
            printf("Success: Certificate Uploaded to %s\n", purpose);
            rc = CMD_OK;
        }
    }
    free(text);
    return rc;
}

int admin_cert_delete(admin *a, int argc, char **argv)
{
    if (!ck_cluster_trust_purpose(argv[0]))
        return admin_fail("Unknown trust store '%s'", argv[0]);
    char q[256];
    snprintf(q, sizeof q, "Delete the %s certificate with serial %s?", argv[0], argv[1]);
    if (!admin_confirm(a, q))
        return CMD_FAILED;
    int deleted = 0;
    ck_err err = {0};
    if (ck_cluster_delete_trust(a->c, a->node, argv[0], argv[1], &deleted, &err) < 0)
        return admin_fail("%s", err.msg);
    if (deleted == 0)
        return admin_fail("No certificate with serial %s in %s", argv[1], argv[0]);
    printf("Deleted: %d certificate(s) from %s\n", deleted, argv[0]);
    return CMD_OK;
}
