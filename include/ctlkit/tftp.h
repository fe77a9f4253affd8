/* TFTP wire codec, without I/O (RFC 1350, options RFC 2347/2348/2349/7440).
 *
 * Parsers read through a ck_cur and consume exactly; every malformed packet
 * fails with a ck_err saying what is wrong and at which byte, and with the
 * TFTP error code a server should answer (ck_tftp_packet.reply_code).
 * Parsed strings (file name, mode, error message) point into the caller's
 * packet, which must outlive the parsed struct; they are NUL-terminated
 * because the wire format is.
 *
 * Builders append to a ck_buf (checked once at the end, see bytes.h). */
#ifndef CTLKIT_TFTP_H
#define CTLKIT_TFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/bytes.h"
#include "ctlkit/error.h"

/* RFC 1350: "Data is transferred in blocks of 512 bytes". */
#define CK_TFTP_SEGSIZE 512u
/* RFC 2347: "the request packet ... must not exceed 512 octets". */
#define CK_TFTP_REQUEST_MAX 512u
/* RFC 2348: "Valid values range between 8 and 65464 octets, inclusive." */
#define CK_TFTP_BLKSIZE_MIN 8u
#define CK_TFTP_BLKSIZE_MAX 65464u
/* RFC 2349: "Valid values range between 1 and 255 seconds, inclusive." */
#define CK_TFTP_TIMEOUT_MIN 1u
#define CK_TFTP_TIMEOUT_MAX 255u
/* RFC 7440: "Valid values range MUST be between 1 and 65535 blocks, inclusive." */
#define CK_TFTP_WINDOW_MIN 1u
#define CK_TFTP_WINDOW_MAX 65535u
/* Largest packet any parser accepts: a DATA packet of the largest block. */
#define CK_TFTP_PACKET_MAX (4u + CK_TFTP_BLKSIZE_MAX)

typedef enum ck_tftp_opcode {
    CK_TFTP_RRQ = 1,
    CK_TFTP_WRQ = 2,
    CK_TFTP_DATA = 3,
    CK_TFTP_ACK = 4,
    CK_TFTP_ERROR = 5,
    CK_TFTP_OACK = 6 /* RFC 2347 */
} ck_tftp_opcode;

/* RFC 1350 error codes, plus 8 from RFC 2347. */
typedef enum ck_tftp_errcode {
    CK_TFTP_EUNDEF = 0,    /* Not defined, see error message */
    CK_TFTP_ENOTFOUND = 1, /* File not found */
    CK_TFTP_EACCESS = 2,   /* Access violation */
    CK_TFTP_ENOSPACE = 3,  /* Disk full or allocation exceeded */
    CK_TFTP_EBADOP = 4,    /* Illegal TFTP operation */
    CK_TFTP_EBADID = 5,    /* Unknown transfer ID */
    CK_TFTP_EEXISTS = 6,   /* File already exists */
    CK_TFTP_ENOUSER = 7,   /* No such user */
    CK_TFTP_EOPTNEG = 8    /* Option negotiation refused (RFC 2347) */
} ck_tftp_errcode;

/* RFC 1350's third mode, "mail", is obsolete and refused as unknown. */
typedef enum ck_tftp_mode { CK_TFTP_OCTET = 0, CK_TFTP_NETASCII = 1 } ck_tftp_mode;

/* Options this codec understands; ck_tftp_opts.present is a mask of them. */
#define CK_TFTP_OPT_BLKSIZE 0x1u    /* RFC 2348 */
#define CK_TFTP_OPT_TSIZE 0x2u      /* RFC 2349 */
#define CK_TFTP_OPT_TIMEOUT 0x4u    /* RFC 2349 */
#define CK_TFTP_OPT_WINDOWSIZE 0x8u /* RFC 7440 */

typedef struct ck_tftp_opts {
    unsigned present; /* CK_TFTP_OPT_* mask: which fields below are set */
    uint32_t blksize;
    uint64_t tsize;
    uint32_t timeout;
    uint32_t windowsize;
} ck_tftp_opts;

typedef struct ck_tftp_request {
    const char *filename; /* never empty, no NUL inside */
    size_t filename_len;
    ck_tftp_mode mode;
    ck_tftp_opts opts;    /* only valid, in-range options (see ck_tftp_parse) */
    unsigned ignored;     /* how many options were ignored (unknown or unusable) */
} ck_tftp_request;

typedef struct ck_tftp_packet {
    ck_tftp_opcode opcode;
    /* On failure: the TFTP error code to answer with (EBADOP for malformed
     * packets, EOPTNEG for a refused option value). */
    ck_tftp_errcode reply_code;
    union {
        ck_tftp_request req; /* RRQ, WRQ */
        struct {
            uint16_t block;
            const uint8_t *data;
            size_t len;
        } data;               /* DATA */
        uint16_t ack_block;   /* ACK */
        struct {
            uint16_t code;
            const char *msg;
            size_t msg_len;
        } error;              /* ERROR */
        ck_tftp_opts oack;    /* OACK */
    } u;
} ck_tftp_packet;

/* Parses any TFTP packet. Requests: file name and mode must be NUL
 * terminated, the mode "octet" or "netascii" in any case, the whole request
 * at most CK_TFTP_REQUEST_MAX bytes. Options (names in any case, RFC 2347):
 *   - a value that is not a plain decimal number, an option without a
 *     value, or the same option twice: malformed, reply_code EOPTNEG;
 *   - blksize below 8 or windowsize 0: refused, EOPTNEG;
 *   - blksize above 65464 or windowsize above 65535: lowered to the maximum
 *     (RFC 2348 and RFC 7440 let the server answer a smaller value);
 *   - timeout outside 1..255: ignored (RFC 2349: the server must answer the
 *     client's value or nothing, so it answers nothing);
 *   - unknown options: ignored (RFC 2347).
 * DATA: at most CK_TFTP_BLKSIZE_MAX bytes of data. ACK: exactly 4 bytes.
 * ERROR: message NUL terminated, nothing after it. OACK: as request options,
 * but unknown options are an error (a client must not get options it did
 * not ask for, RFC 2347). */
int ck_tftp_parse(const void *pkt, size_t len, ck_tftp_packet *out, ck_err *err);

/* The server's fast path for the one packet it gets per block: an ACK of
 * exactly 4 bytes. Other packets go through ck_tftp_parse. */
int ck_tftp_parse_ack(const void *pkt, size_t len, uint16_t *block, ck_err *err);

/* Builders. Each returns 0, or -1 when the buffer failed (allocation or
 * its limit). Strings must not be empty where the RFC forbids it. */
int ck_tftp_build_request(ck_buf *b, ck_tftp_opcode op, const char *filename, ck_tftp_mode mode,
                          const ck_tftp_opts *opts, ck_err *err);
/* The 4-byte DATA header, for senders that gather header and payload. */
void ck_tftp_data_header(uint8_t out[4], uint16_t block);
int ck_tftp_build_data(ck_buf *b, uint16_t block, const void *data, size_t len, ck_err *err);
int ck_tftp_build_ack(ck_buf *b, uint16_t block, ck_err *err);
/* Options in the order blksize, tsize, timeout, windowsize; only those in
 * opts->present. An OACK with no option is refused (RFC 2347: send one only
 * when an option is acknowledged). */
int ck_tftp_build_oack(ck_buf *b, const ck_tftp_opts *opts, ck_err *err);
/* msg may be NULL: the RFC 1350 text for the code is used. */
int ck_tftp_build_error(ck_buf *b, uint16_t code, const char *msg, ck_err *err);

/* netascii (RFC 764, as used by RFC 1350): "CR LF" ends a line and "CR NUL"
 * is a bare CR. encode: LF -> CR LF, CR -> CR NUL. decode is the reverse and
 * refuses a CR followed by anything else, or a CR at the very end. */
int ck_tftp_netascii_encode(const void *in, size_t len, ck_buf *out, ck_err *err);
int ck_tftp_netascii_decode(const void *in, size_t len, ck_buf *out, ck_err *err);
/* Length of the netascii encoding of in, without building it. */
size_t ck_tftp_netascii_len(const void *in, size_t len);

const char *ck_tftp_opcode_name(unsigned op);   /* "RRQ", ..., "unknown" */
const char *ck_tftp_mode_name(ck_tftp_mode m);  /* "octet", "netascii" */
const char *ck_tftp_error_text(unsigned code);  /* RFC 1350 text, "Not defined" */

#endif
