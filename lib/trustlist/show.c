/* `show ctl` / `show itl`: CUCM's text layout, and the same facts as JSON
 * (docs/json.md). Lines and words follow CUCM 10.5's output in the seed. */
#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/text.h"
#include "ctlkit/trustlist.h"
#include "tags.h"

#define ROW "%-8u%-20s%-8u"
#define ROW_END "%-8u%-20s%u\n" /* a row without a value: no trailing blanks */

static const char *kind_of(const ck_tl_file *f, const ck_tl_show_info *info)
{
    if (info && info->kind)
        return info->kind;
    return f && ck_tl_is_itl(f) ? "ITL" : "CTL";
}

static void checksums(const uint8_t *raw, size_t n, char md5[33], char sha1[41])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_Digest(raw, n, d, &dn, EVP_md5(), NULL);
    ck_hex(d, dn, 0, false, md5, 33);
    EVP_Digest(raw, n, d, &dn, EVP_sha1(), NULL);
    ck_hex(d, dn, 0, false, sha1, 41);
}

/* Names may hold anything in a foreign file: a malloc'd copy in printable
 * ASCII (NULL when out of memory). */
static char *printable_copy(ck_span s)
{
    char *tmp = malloc(s.n + 1);
    if (tmp)
        ck_printable(s.p, s.n, tmp, s.n + 1, CK_PRINTABLE_ASCII);
    return tmp;
}

static void print_span(FILE *out, ck_span s)
{
    char *tmp = printable_copy(s);
    if (tmp)
        fputs(tmp, out);
    free(tmp);
}

static void print_serial(FILE *out, ck_span s)
{
    for (size_t i = 0; i < s.n; i++)
        fprintf(out, "%s%02X", i ? ":" : "", s.p[i]);
}

static const uint8_t *elem_value(const ck_tl_file *f, const ck_tl_elem *e)
{
    return f->raw + e->off + 3;
}

static void show_header(FILE *out, const ck_tl_file *f)
{
    fprintf(out, "Version: %u.%u\n", f->ver_major, f->ver_minor);
    fprintf(out, "HeaderLength: %u (BYTES)\n\n", f->header_len);
    fprintf(out, "%-8s%-20s%-8s%s\n", "BYTEPOS", "TAG", "LENGTH", "VALUE");
    fprintf(out, "%-8s%-20s%-8s%s\n", "-------", "---", "------", "-----");
    for (size_t i = 0; i < f->header_elem_count; i++) {
        const ck_tl_elem *e = &f->elems[i];
        const uint8_t *v = elem_value(f, e);
        const char *label = ck_tl_header_label(e->tag);
        switch (e->tag) {
        case HDR_VERSION:
        case HDR_HEADERLENGTH:
        case HDR_PADDING:
            break; /* printed above, as CUCM does */
        case HDR_SIGNERID:
        case HDR_SIGNATUREINFO:
        case HDR_SIGNATUREALGOINFO:
            /* CUCM prints containers as "2 <length>". */
            fprintf(out, ROW "%u\n", e->tag, label, 2u, e->len);
            break;
        case HDR_SIGNERNAME:
        case HDR_CANAME:
            fprintf(out, ROW, e->tag, label, e->len);
            print_span(out, e->tag == HDR_SIGNERNAME ? f->signer_name : f->signer_issuer);
            fputc('\n', out);
            break;
        case HDR_SERIALNUMBER:
            fprintf(out, ROW, e->tag, label, e->len);
            print_serial(out, f->signer_serial);
            fputc('\n', out);
            break;
        case HDR_SIGNATURE:
            fprintf(out, ROW_END, e->tag, label, e->len);
            /* CUCM dumps the signature as unpadded lower-case hex. */
            for (size_t k = 0; k < e->len; k++)
                fprintf(out, "%x%s", v[k], (k + 1) % 16 == 0 || k + 1 == e->len ? "\n" : " ");
            break;
        case HDR_SIGNERVERSION:
            fprintf(out, ROW "%u.%u\n", e->tag, label, e->len, f->sv_major, f->sv_minor);
            break;
        default:
            fprintf(out, ROW_END, e->tag, label, e->len);
        }
    }
}

static void show_record(FILE *out, const ck_tl_file *f, size_t index, const char *kind)
{
    const ck_tl_record *r = &f->records[index];
    fprintf(out, "\n%s Record #:%zu\n----\n", kind, index + 1);
    fprintf(out, "%-8s%-20s%-8s%s\n", "BYTEPOS", "TAG", "LENGTH", "VALUE");
    fprintf(out, "%-8s%-20s%-8s%s\n", "-------", "---", "------", "-----");
    for (size_t i = r->elem_first; i < r->elem_first + r->elem_count; i++) {
        const ck_tl_elem *e = &f->elems[i];
        const char *label = ck_tl_record_label(e->tag);
        bool has_value = e->tag == REC_RECORDLENGTH || e->tag == REC_DNSNAME || e->tag == REC_SUBJECTNAME ||
                         e->tag == REC_ISSUERNAME || e->tag == REC_SERIALNUMBER || e->tag == REC_FUNCTION ||
                         e->tag == REC_CERTIFICATE;
        if (!has_value) {
            fprintf(out, ROW_END, e->tag, label, e->len);
            continue;
        }
        fprintf(out, ROW, e->tag, label, e->len);
        switch (e->tag) {
        case REC_RECORDLENGTH: fprintf(out, "%u", r->length); break;
        case REC_DNSNAME: print_span(out, r->dns_name); break;
        case REC_SUBJECTNAME: print_span(out, r->subject); break;
        case REC_ISSUERNAME: print_span(out, r->issuer); break;
        case REC_SERIALNUMBER: print_serial(out, r->serial); break;
        case REC_FUNCTION: {
            const char *l = ck_role_label(r->function);
            if (l)
                fputs(l, out);
            else
                fprintf(out, "Unknown (%u)", r->function);
            break;
        }
        case REC_CERTIFICATE: {
            uint8_t d[SHA_DIGEST_LENGTH];
            SHA1(r->cert.p, r->cert.n, d);
            for (size_t k = 0; k < sizeof d; k++)
                fprintf(out, "%02X ", d[k]);
            fputs("(SHA1 Hash HEX)", out);
            break;
        }
        default: break;
        }
        fputc('\n', out);
    }
    if (r->function == CK_ROLE_SAST)
        fprintf(out, "This etoken was %s to sign the %s file.\n", (int)index == f->signer_index ? "used" : "not used",
                kind);
}

void ck_tl_show_missing(FILE *out, const char *kind)
{
    fprintf(out, "Length of %s file: 0\n", kind);
    fprintf(out, "%s File not found. Please run CTLClient plugin or run the CLI - utils %s.. to generate the %s file.\n",
            kind, strcmp(kind, "ITL") == 0 ? "itl" : "ctl", kind);
    fprintf(out, "Error parsing the %s File.\n", kind);
}

void ck_tl_show_text(FILE *out, const uint8_t *raw, size_t raw_len, const ck_tl_file *f,
                     const ck_tl_show_info *info, const char *parse_error)
{
    const char *kind = kind_of(f, info);
    char md5[33], sha1[41];
    checksums(raw, raw_len, md5, sha1);
    fprintf(out, "The checksum value of the %s file:\n%s(MD5)\n%s(SHA1)\n", kind, md5, sha1);
    fprintf(out, "Length of %s file: %zu\n", kind, raw_len);
    if (info && info->mtime) {
        char when[64];
        struct tm tm;
        localtime_r(&info->mtime, &tm);
        strftime(when, sizeof when, "%a %b %d %H:%M:%S %Z %Y", &tm);
        fprintf(out, "The %s File was last modified on %s\n", kind, when);
    }
    fprintf(out, "\nParse %s File\n----------------\n\n", kind);
    if (!f) {
        fprintf(out, "Error parsing the %s File: %s\n", kind, parse_error ? parse_error : "unknown error");
        return;
    }
    show_header(out, f);
    for (size_t i = 0; i < f->n_records; i++)
        show_record(out, f, i, kind);
    fputc('\n', out);
    if (info && info->verified)
        fprintf(out, "The %s file was verified successfully.\n", kind);
    else
        fprintf(out, "The %s file could not be verified: %s.\n", kind,
                info && info->verify_error ? info->verify_error : "not checked");
}

static json_t *span_str(ck_span s)
{
    if (!s.p)
        return json_null();
    char *tmp = printable_copy(s);
    if (!tmp)
        return json_null();
    json_t *j = json_string(tmp);
    free(tmp);
    return j;
}

static json_t *span_hex(ck_span s, char sep)
{
    if (!s.p)
        return json_null();
    size_t cap = s.n * 3 + 1;
    char *tmp = malloc(cap);
    if (!tmp)
        return json_null();
    ck_hex(s.p, s.n, sep, true, tmp, cap);
    json_t *j = json_string(tmp);
    free(tmp);
    return j;
}

static json_t *iso_time(time_t t)
{
    char buf[32];
    return json_string(ck_utc((int64_t)t, CK_UTC_ISO, buf, sizeof buf));
}

static json_t *record_json(const ck_tl_file *f, size_t i)
{
    const ck_tl_record *r = &f->records[i];
    json_t *j = json_object();
    json_object_set_new(j, "index", json_integer((json_int_t)i + 1));
    json_object_set_new(j, "offset", json_integer((json_int_t)r->offset));
    json_object_set_new(j, "length", json_integer(r->length));
    json_object_set_new(j, "function", json_integer(r->function));
    const char *name = ck_role_name(r->function);
    json_object_set_new(j, "role", name ? json_string(name) : json_null());
    json_object_set_new(j, "dns_name", span_str(r->dns_name));
    json_object_set_new(j, "subject", span_str(r->subject));
    json_object_set_new(j, "issuer", span_str(r->issuer));
    json_object_set_new(j, "serial", span_hex(r->serial, ':'));
    json_object_set_new(j, "public_key_length", json_integer((json_int_t)r->pubkey.n));
    json_object_set_new(j, "signature_length", json_integer((json_int_t)r->cert_signature.n));
    json_object_set_new(j, "certificate_length", json_integer((json_int_t)r->cert.n));
    if (r->cert.p) {
        uint8_t d[SHA_DIGEST_LENGTH];
        SHA1(r->cert.p, r->cert.n, d);
        json_object_set_new(j, "certificate_sha1", span_hex((ck_span){d, sizeof d}, ':'));
    } else {
        json_object_set_new(j, "certificate_sha1", json_null());
    }
    if (r->has_ip) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, r->ip, ip, sizeof ip);
        json_object_set_new(j, "ip_address", json_string(ip));
    } else {
        json_object_set_new(j, "ip_address", json_null());
    }
    json_object_set_new(j, "signer", json_boolean((int)i == f->signer_index));
    return j;
}

char *ck_tl_show_json(const uint8_t *raw, size_t raw_len, const ck_tl_file *f, const ck_tl_show_info *info,
                      const char *parse_error)
{
    json_t *root = json_object();
    char md5[33], sha1[41];
    checksums(raw, raw_len, md5, sha1);
    json_object_set_new(root, "kind", json_string(kind_of(f, info)));
    json_object_set_new(root, "length", json_integer((json_int_t)raw_len));
    json_object_set_new(root, "md5", json_string(md5));
    json_object_set_new(root, "sha1", json_string(sha1));
    json_object_set_new(root, "modified", info && info->mtime ? iso_time(info->mtime) : json_null());
    json_object_set_new(root, "parsed", json_boolean(f != NULL));
    json_object_set_new(root, "parse_error", f ? json_null() : json_string(parse_error ? parse_error : "unknown"));
    if (f) {
        json_t *h = json_object();
        char v[16];
        snprintf(v, sizeof v, "%u.%u", f->ver_major, f->ver_minor);
        json_object_set_new(h, "version", json_string(v));
        json_object_set_new(h, "header_length", json_integer(f->header_len));
        if (f->has_signer_version) {
            snprintf(v, sizeof v, "%u.%u", f->sv_major, f->sv_minor);
            json_object_set_new(h, "signer_version", json_string(v));
        } else {
            json_object_set_new(h, "signer_version", json_null());
        }
        json_object_set_new(h, "signer_name", span_str(f->signer_name));
        json_object_set_new(h, "signer_serial", span_hex(f->signer_serial, ':'));
        json_object_set_new(h, "signer_issuer", span_str(f->signer_issuer));
        json_object_set_new(h, "digest", json_string(ck_digest_name(f->digest_alg)));
        json_object_set_new(h, "signature_algorithm", json_string("RSA"));
        json_object_set_new(h, "signature_length", json_integer((json_int_t)f->signature.n));
        json_object_set_new(h, "filename", span_str(f->filename));
        json_object_set_new(h, "timestamp", f->has_timestamp ? json_integer(f->timestamp) : json_null());
        json_object_set_new(root, "header", h);
        json_t *recs = json_array();
        for (size_t i = 0; i < f->n_records; i++)
            json_array_append_new(recs, record_json(f, i));
        json_object_set_new(root, "records", recs);
        json_object_set_new(root, "signer_record", f->signer_index >= 0 ? json_integer(f->signer_index + 1) : json_null());
    }
    json_object_set_new(root, "verified", json_boolean(info && info->verified));
    json_object_set_new(root, "verify_error",
                        info && !info->verified && info->verify_error ? json_string(info->verify_error) : json_null());
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}
