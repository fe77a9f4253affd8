/* Certificate Authority Proxy Function (CAPF) wire codec, without I/O
 * (docs/capf.md).
 *
 * A message is an 8-byte header (protocol id 0x55, command, u32 session id,
 * u16 body length, all big-endian) followed by a body of elements
 * `tag (u8) | length (u16) | value`, in any order.
 *
 * One message type, ck_capf_msg, holds every element any command carries;
 * a per-command table says which elements a command may carry and which it
 * must carry. The parser and the builder share that table: the builder
 * parses what it built before handing it out, so the two cannot disagree.
 *
 * Parsed messages point into the caller's bytes (no copies): keep the input
 * alive while using them. Every malformed input is an error (CK_EFORMAT, or
 * CK_ELIMIT for a size past a cap) naming the problem and its byte offset. */
#ifndef CTLKIT_CAPF_H
#define CTLKIT_CAPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/bytes.h"
#include "ctlkit/error.h"

#define CK_CAPF_PROTO_ID 0x55
#define CK_CAPF_HEADER_LEN 8
#define CK_CAPF_MAX_BODY 65535u
#define CK_CAPF_MAX_FRAME (CK_CAPF_HEADER_LEN + CK_CAPF_MAX_BODY)
/* The only protocol version phones and servers speak; both refuse others. */
#define CK_CAPF_VERSION 3
/* "SEP" + 12 upper-case hex digits. */
#define CK_CAPF_DEVICE_LEN 15u
/* Authentication strings are 4-10 digits on CUCM, 4-16 in the reference
 * tools; 64 leaves room without letting a peer park kilobytes in a log. */
#define CK_CAPF_MAX_PASSWORD 64u

enum ck_capf_command {
    CK_CAPF_AUTH_REQ = 1,            /* server -> phone */
    CK_CAPF_AUTH_RESP = 2,           /* phone -> server */
    CK_CAPF_KEYGEN_REQ = 3,          /* server -> phone */
    CK_CAPF_KEYGEN_RESP = 4,         /* phone -> server */
    /* 5-8: encrypt/decrypt, layout unknown */
    CK_CAPF_STORE_CERT_REQ = 9,      /* server -> phone */
    CK_CAPF_STORE_CERT_RESP = 10,    /* phone -> server */
    CK_CAPF_FETCH_CERT_REQ = 11,     /* server -> phone */
    CK_CAPF_FETCH_CERT_RESP = 12,    /* phone -> server */
    CK_CAPF_DELETE_CERT_REQ = 13,    /* server -> phone */
    CK_CAPF_DELETE_CERT_RESP = 14,   /* phone -> server */
    CK_CAPF_END_SESSION = 15,        /* server -> phone, always last */
    CK_CAPF_RETRY_LATER = 16,        /* layout unknown */
    CK_CAPF_REQUEST_IN_PROGRESS = 17, /* phone -> server, while it makes a key */
    /* 18-23: status, abort, sign certificate; layout unknown */
    CK_CAPF_LAST_COMMAND = 23,
};

enum ck_capf_tag {
    CK_CAPF_TAG_REASON = 1,
    CK_CAPF_TAG_REASON_INFO = 2,
    CK_CAPF_TAG_CERT_TYPE = 3,
    CK_CAPF_TAG_CERT = 4,
    CK_CAPF_TAG_SIGNED_DATA = 6,
    CK_CAPF_TAG_VERSION = 7,
    CK_CAPF_TAG_AUTH_TYPE = 8,
    CK_CAPF_TAG_PUBLIC_KEY = 9,
    CK_CAPF_TAG_KEY_SIZE = 10,
    CK_CAPF_TAG_PASSWORD = 11,
    CK_CAPF_TAG_DEVICE = 13,
    CK_CAPF_TAG_SUDI = 16,
    CK_CAPF_TAG_KEY_TYPE = 17,
    CK_CAPF_TAG_CURVE = 18,
    CK_CAPF_TAG_SHA2_SIGNED_DATA = 20,
};

/* Bit of a tag in ck_capf_msg.present. */
#define CK_CAPF_BIT(tag) (1u << (tag))

enum ck_capf_reason {
    CK_CAPF_REASON_NO_ACTION = 0,
    CK_CAPF_REASON_UPDATE = 1,         /* success, "done" */
    CK_CAPF_REASON_INVALID = 7,        /* generic failure */
    CK_CAPF_REASON_UNKNOWN_DEVICE = 9,
};

enum ck_capf_auth_type {
    CK_CAPF_AUTH_NONE = 0,
    CK_CAPF_AUTH_STRING = 1,
    CK_CAPF_AUTH_NULL_STRING = 2,
    CK_CAPF_AUTH_LSC = 3,
    CK_CAPF_AUTH_MIC = 4,
};

enum ck_capf_cert_type { CK_CAPF_CERT_LSC = 1, CK_CAPF_CERT_MIC = 2 };
enum ck_capf_key_type { CK_CAPF_KEY_RSA = 0, CK_CAPF_KEY_EC = 1 };
enum ck_capf_curve { CK_CAPF_CURVE_P256 = 0, CK_CAPF_CURVE_P384 = 1, CK_CAPF_CURVE_P521 = 2 };
enum ck_capf_hash { CK_CAPF_HASH_SHA1 = 1, CK_CAPF_HASH_SHA256 = 2, CK_CAPF_HASH_SHA512 = 3 };

typedef struct ck_capf_header {
    uint8_t proto;    /* CK_CAPF_PROTO_ID */
    uint8_t command;  /* enum ck_capf_command */
    uint32_t session; /* chosen by the server, echoed by the phone */
    uint16_t body_len;
} ck_capf_header;

/* A hash-tagged signature: hash id | u16 length | signature. */
typedef struct ck_capf_sig {
    uint8_t hash_id; /* enum ck_capf_hash */
    const uint8_t *sig;
    size_t sig_len;
} ck_capf_sig;

/* SUDI_DATA: 00 | u16 | DER certificate, then two hash-tagged proofs. */
typedef struct ck_capf_sudi {
    const uint8_t *cert;
    size_t cert_len;
    ck_capf_sig proof1; /* SHA-1 proof in every capture */
    ck_capf_sig proof2; /* must say SHA-512 to the reference server */
} ck_capf_sudi;

/* One message. An element's field means something only when its bit is set
 * in present (CK_CAPF_BIT(tag)). */
typedef struct ck_capf_msg {
    ck_capf_header hdr;
    uint32_t present;
    uint8_t reason;       /* any value: unknown codes are the peer's to explain */
    const char *reason_info; /* without its NUL */
    size_t reason_info_len;
    uint8_t cert_type;    /* CERTIFICATE_TYPE: enum ck_capf_cert_type */
    uint8_t cert_wrap_type; /* the type byte inside the CERTIFICATE wrapper (1 or 2) */
    const uint8_t *cert;  /* DER, without the 5-byte wrapper */
    size_t cert_len;
    const uint8_t *signed_data; /* SHA-1 proof of possession */
    size_t signed_data_len;
    uint8_t version;      /* CK_CAPF_VERSION */
    uint8_t auth_type;    /* enum ck_capf_auth_type */
    const uint8_t *public_key; /* DER SubjectPublicKeyInfo (not decoded here) */
    size_t public_key_len;
    uint16_t key_size;    /* RSA bits: 512, 1024, 2048, 3072 or 4096 */
    const char *password; /* without its NUL; may be empty (null string) */
    size_t password_len;
    const char *device;   /* SEP + 12 upper-case hex, not NUL-terminated */
    ck_capf_sudi sudi;
    uint8_t key_type;     /* enum ck_capf_key_type */
    uint8_t curve;        /* enum ck_capf_curve */
    ck_capf_sig sha2_signed; /* SHA2_SIGNED_DATA */
} ck_capf_msg;

/* "AUTH_REQUEST", ... as CUCM's traces name them; "unknown" otherwise. */
const char *ck_capf_command_name(uint8_t command);
/* "UPDATE_CERTIFICATE", ...; "unknown" otherwise. */
const char *ck_capf_reason_name(uint8_t reason);
/* True for the commands whose body layout is known (and this codec speaks). */
bool ck_capf_command_known(uint8_t command);

/* Decodes and checks the 8-byte header at p (len >= CK_CAPF_HEADER_LEN):
 * protocol id and a command number in 1..23. Does not look at the body. */
int ck_capf_parse_header(const uint8_t *p, size_t len, ck_capf_header *h, ck_err *err);

/* --- streaming: where does the next frame end? --- */

typedef enum ck_capf_frame {
    CK_CAPF_FRAME_NEED_MORE = 0, /* keep reading */
    CK_CAPF_FRAME_READY = 1,     /* *frame_len bytes at buf are one whole frame */
    CK_CAPF_FRAME_BAD = -1,      /* err says why; drop the connection */
} ck_capf_frame;

/* Looks at the have bytes buffered so far; checks each header byte as soon
 * as it arrives and refuses a frame longer than max_frame before its body
 * arrives. */
ck_capf_frame ck_capf_frame_check(const uint8_t *buf, size_t have, size_t max_frame, size_t *frame_len,
                                  ck_err *err);

/* --- whole messages --- */

/* Parses one whole frame (header + body, nothing after it) of a command
 * whose layout is known. Refused: a body length that does not match, an
 * element that runs past the body, an element the command does not carry
 * (tags 5, 12, 19 and unknown tags included), a repeated element, a missing
 * required element, a value of the wrong length or outside its enumeration,
 * a C string without its final NUL or with an inner one, a device name not
 * SEP + 12 upper-case hex, a certificate or signature wrapper whose inner
 * length disagrees with the element's. */
int ck_capf_parse(const uint8_t *frame, size_t len, ck_capf_msg *msg, ck_err *err);

/* Starts a message: zeroes msg and sets the command and session. */
void ck_capf_msg_init(ck_capf_msg *msg, uint8_t command, uint32_t session);

/* Appends msg (header + the elements whose bit is set in present, in the
 * order the reference phone and server emit them) to out as one frame, and
 * checks it with ck_capf_parse: a message the parser would refuse is not
 * built (CK_EINVAL, out unchanged). VERSION is what the caller set. */
int ck_capf_build(const ck_capf_msg *msg, ck_buf *out, ck_err *err);

/* The common server messages. */
int ck_capf_build_auth_request(uint32_t session, ck_buf *out, ck_err *err);
int ck_capf_build_end_session(uint32_t session, uint8_t reason, ck_buf *out, ck_err *err);
/* KEY_GENERATE_REQUEST: key_type RSA with bits, or EC with curve. */
int ck_capf_build_keygen_request(uint32_t session, uint8_t key_type, uint16_t bits, uint8_t curve,
                                 ck_buf *out, ck_err *err);
/* STORE_CERTIFICATE_REQUEST for an LSC's DER. */
int ck_capf_build_store_request(uint32_t session, const uint8_t *der, size_t der_len, ck_buf *out,
                                ck_err *err);

#endif
