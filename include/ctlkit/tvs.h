/* Trust Verification Service (TVS) wire codec, without I/O
 * (docs/tvs-protocol.md).
 *
 * A message is a 10-byte header (protocol id 0x57, version 1, command,
 * reserved, u32 session id, u16 body length, all big-endian) followed by a
 * body of elements `tag (u8) | length (u16) | value`.
 *
 * Parsed messages point into the caller's bytes (no copies): keep the input
 * alive while using them. Every malformed input is an error (CK_EFORMAT, or
 * CK_ELIMIT for a size past a cap) naming the problem and its byte offset. */
#ifndef CTLKIT_TVS_H
#define CTLKIT_TVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/bytes.h"
#include "ctlkit/error.h"

#define CK_TVS_PROTO_ID 0x57
#define CK_TVS_VERSION 1
#define CK_TVS_HEADER_LEN 10
#define CK_TVS_MAX_BODY 65535u
/* Caps for what a server accepts (habit 4): a phone's certificate is 1-2 KiB;
 * 16 KiB leaves room for big RSA keys and many extensions. */
#define CK_TVS_MAX_CERT (16u * 1024u)
/* "CP-" + model + "-SEP" + 12 hex digits. */
#define CK_TVS_MAX_DEVICE 64u
/* A request frame a server must be ready to buffer: header, device name and
 * certificate elements. */
#define CK_TVS_MAX_REQUEST (CK_TVS_HEADER_LEN + 3u + 1u + CK_TVS_MAX_DEVICE + 3u + CK_TVS_MAX_CERT)
/* More roles than any trust list gives one certificate. */
#define CK_TVS_MAX_ROLES 32u
/* CUCM's answer: phones may cache a verdict for a day. */
#define CK_TVS_DEFAULT_TTL 86400u

enum ck_tvs_command {
    CK_TVS_VERIFY_REQ = 1,
    CK_TVS_VERIFY_RESP = 2,
    CK_TVS_QUERY_REQ = 3,
    CK_TVS_QUERY_RESP = 4,
};

enum ck_tvs_tag {
    CK_TVS_TAG_DEVICE = 1,
    CK_TVS_TAG_CERT = 2,
    CK_TVS_TAG_STATUS = 7,
    CK_TVS_TAG_ROLES = 8,
    CK_TVS_TAG_TTL = 9,
};

enum ck_tvs_status {
    CK_TVS_STATUS_VALID = 0,   /* trusted */
    CK_TVS_STATUS_INVALID = 1, /* unknown, or a request we do not answer */
};

typedef struct ck_tvs_header {
    uint8_t proto;      /* CK_TVS_PROTO_ID */
    uint8_t version;    /* CK_TVS_VERSION */
    uint8_t command;    /* enum ck_tvs_command */
    uint8_t reserved;
    uint32_t session;   /* echoed by the response */
    uint16_t body_len;
} ck_tvs_header;

/* "CP-7975"/"SEP001122334455" views into a device name. */
typedef struct ck_tvs_device {
    const char *name;   /* CP-<model>-SEP<mac>, not NUL-terminated */
    size_t name_len;
    const char *model;  /* <model> */
    size_t model_len;
    const char *mac;    /* the 12 hex digits */
} ck_tvs_device;

/* A parsed VERIFY or QUERY request. */
typedef struct ck_tvs_request {
    ck_tvs_header hdr;
    bool has_device;
    ck_tvs_device device;
    const uint8_t *cert; /* DER; NULL when absent (QUERY) */
    size_t cert_len;
} ck_tvs_request;

/* A parsed VERIFY or QUERY response. */
typedef struct ck_tvs_response {
    ck_tvs_header hdr;
    uint8_t status;          /* enum ck_tvs_status */
    const uint8_t *roles;    /* role codes, one byte each; NULL when absent */
    size_t n_roles;
    bool has_ttl;
    uint32_t ttl;
} ck_tvs_response;

/* Decodes and checks the 10-byte header at p (len >= CK_TVS_HEADER_LEN):
 * protocol id, version and a known command. It does not look at the body. */
int ck_tvs_parse_header(const uint8_t *p, size_t len, ck_tvs_header *h, ck_err *err);

/* --- streaming: where does the next frame end? --- */

typedef enum ck_tvs_frame {
    CK_TVS_FRAME_NEED_MORE = 0, /* keep reading */
    CK_TVS_FRAME_READY = 1,     /* *frame_len bytes at buf are one whole frame */
    CK_TVS_FRAME_BAD = -1,      /* err says why; drop the connection */
} ck_tvs_frame;

/* Looks at the have bytes buffered so far. Checks each header byte as soon
 * as it arrives (garbage is refused after one byte, not after ten), and
 * refuses a frame longer than max_frame (pass CK_TVS_MAX_REQUEST on a server)
 * before its body arrives, so a reader never buffers more than max_frame. */
ck_tvs_frame ck_tvs_frame_check(const uint8_t *buf, size_t have, size_t max_frame, size_t *frame_len,
                                ck_err *err);

/* --- requests --- */

/* Parses one whole request frame (header + body, nothing after it):
 * VERIFY must carry exactly one device name and one certificate (1 ..
 * CK_TVS_MAX_CERT bytes) and nothing else. QUERY's layout is not public: its
 * elements must be well-formed and a device name, when present, valid; the
 * rest is skipped. Does not look inside the certificate (see
 * ck_tvs_cert_peek). */
int ck_tvs_parse_request(const uint8_t *frame, size_t len, ck_tvs_request *req, ck_err *err);

/* Checks a device name value without its 0x01 prefix: CP-<model>-SEP<12 hex>,
 * model non-empty of letters, digits, '_' or '-'. Fills dev (may be NULL). */
int ck_tvs_parse_device(const char *s, size_t n, ck_tvs_device *dev, ck_err *err);

/* Appends a request (command VERIFY or QUERY) to out. device must be a valid
 * device name; cert may be NULL for QUERY. */
int ck_tvs_build_request(uint8_t command, uint32_t session, const char *device, const uint8_t *cert,
                         size_t cert_len, ck_buf *out, ck_err *err);

/* --- responses --- */

/* Appends a response to out. command is VERIFY_RESP or QUERY_RESP; a valid
 * status carries roles (at least one, at most CK_TVS_MAX_ROLES) and the TTL;
 * an invalid one carries only the status. */
int ck_tvs_build_response(uint8_t command, uint32_t session, uint8_t status, const uint8_t *roles,
                          size_t n_roles, uint32_t ttl, ck_buf *out, ck_err *err);

/* Parses one whole response frame: exactly one status element (0 or 1);
 * when valid, exactly one roles element and one 4-byte TTL; unknown tags and
 * duplicates are errors. */
int ck_tvs_parse_response(const uint8_t *frame, size_t len, ck_tvs_response *resp, ck_err *err);

/* --- the certificate element --- */

/* The parts of a DER certificate a TVS logs and keys on, as spans into it. */
typedef struct ck_tvs_cert_view {
    const uint8_t *serial;   /* INTEGER contents, leading sign zero removed */
    size_t serial_len;
    const uint8_t *issuer;   /* the whole issuer Name TLV (d2i_X509_NAME input) */
    size_t issuer_len;
    const uint8_t *subject;  /* the whole subject Name TLV */
    size_t subject_len;
} ck_tvs_cert_view;

/* Walks the frame of an X.509 certificate in strict DER without building any
 * object (a full d2i_X509 costs about a third of an RSA-2048 signature with
 * OpenSSL 3, which a TVS cannot afford per request): Certificate ::=
 * SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING },
 * tbsCertificate fields in RFC 5280 order with optional version and
 * [1]/[2]/[3] tails, definite minimal lengths, nothing trailing anywhere.
 * Inner values (names, keys, extensions) are not decoded. */
int ck_tvs_cert_peek(const uint8_t *der, size_t len, ck_tvs_cert_view *view, ck_err *err);

/* Writes a DER Name (a view's issuer or subject) the way ck_name_cucm does
 * ("CN=..;OU=..;O=..;L=..;ST=..;C=.." then other attributes by OpenSSL's
 * short name), straight from the bytes: no OpenSSL objects, no allocation,
 * about a microsecond, so logging an unknown certificate costs no more than
 * logging a known one. Returns 0, or -1 when the name holds something this
 * path does not render the same way (an attribute or string type outside
 * the common set, bad UTF-8, or a name longer than outsz): decode it with
 * d2i_X509_NAME and ck_name_cucm then. */
int ck_tvs_name_text(const uint8_t *der, size_t len, char *out, size_t outsz);

/* "VERIFY", "VERIFY response", ...; "unknown" otherwise. */
const char *ck_tvs_command_name(uint8_t command);

#endif
