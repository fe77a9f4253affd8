/* TFTP wire codec: RFC 1350 packets, RFC 2347 option extension, RFC 2348
 * blksize, RFC 2349 timeout and tsize, RFC 7440 windowsize. No I/O. */
#include "ctlkit/tftp.h"
#include "ctlkit/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Untrusted text for a message: the first 40 characters, in printable
 * ASCII (the message may go back to the client in an ERROR packet). */
static const char *shown(const char *s, size_t n, char out[48])
{
    return ck_printable(s, n, out, 44, CK_PRINTABLE_ASCII);
}

/* ASCII-only case-insensitive equality: RFC 2347 option names and RFC 1350
 * modes are case-insensitive, and the locale must not change that. */
static bool ascii_eq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)lit[i];
        if (b == '\0')
            return false;
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return lit[n] == '\0';
}

/* A plain decimal number: digits only (no sign, no blanks, at least one).
 * Values beyond UINT64_MAX set *huge and saturate, so that callers can
 * treat "very large" like any other too-large value. */
static bool parse_decimal(const char *s, size_t n, uint64_t *out, bool *huge)
{
    uint64_t v = 0;
    *huge = false;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            *huge = true;
            v = UINT64_MAX;
        } else if (!*huge) {
            v = v * 10 + d;
        }
    }
    *out = v;
    return true;
}

static int fail_at(ck_tftp_packet *out, ck_tftp_errcode code, ck_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(ck_tftp_packet *out, ck_tftp_errcode code, ck_err *err, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->reply_code = code;
    return ck_fail(err, CK_EFORMAT, "TFTP %s", msg);
}

/* Option name/value pairs up to the end of the packet (RFC 2347):
 *   +-------+---~~---+---+---~~---+---+---~~---+---+---~~---+---+
 *   |  opc  |filename| 0 |  mode  | 0 |  opt1  | 0 | value1 | 0 | ...
 *   +-------+---~~---+---+---~~---+---+---~~---+---+---~~---+---+
 * For a request, values the server cannot use are lowered or ignored as
 * the header explains; for an OACK (is_oack) the server's answer must be
 * within range and only known options may appear. */
static int parse_options(ck_cur *c, bool is_oack, const char *what, ck_tftp_opts *opts,
                         unsigned *ignored, ck_tftp_packet *out, ck_err *err)
{
    char sh[48];
    memset(opts, 0, sizeof *opts);
    *ignored = 0;
    while (ck_cur_remaining(c) > 0) {
        const char *name, *val;
        size_t name_len, val_len;
        size_t at = ck_cur_offset(c);
        /* Some embedded clients pad their requests with NULs: nothing but
         * NULs left is the end of a request's options, not an empty option
         * name. (An OACK stays strict: it must carry what it acknowledges.) */
        size_t k = c->pos;
        while (!is_oack && k < c->len && c->data[k] == 0)
            k++;
        if (!is_oack && k == c->len)
            break;
        if (!ck_cur_cstr(c, ck_cur_remaining(c), &name, &name_len))
            return fail_at(out, CK_TFTP_EBADOP, err, "%s: option name at byte %zu is not NUL-terminated",
                           what, at);
        if (name_len == 0)
            return fail_at(out, CK_TFTP_EBADOP, err, "%s: empty option name at byte %zu", what, at);
        size_t vat = ck_cur_offset(c);
        if (ck_cur_remaining(c) == 0)
            return fail_at(out, CK_TFTP_EOPTNEG, err, "%s: option '%s' at byte %zu has no value", what,
                           shown(name, name_len, sh), at);
        if (!ck_cur_cstr(c, ck_cur_remaining(c), &val, &val_len))
            return fail_at(out, CK_TFTP_EOPTNEG, err,
                           "%s: value of option '%s' at byte %zu is not NUL-terminated", what,
                           shown(name, name_len, sh), vat);

        unsigned flag;
        if (ascii_eq(name, name_len, "blksize"))
            flag = CK_TFTP_OPT_BLKSIZE;
        else if (ascii_eq(name, name_len, "tsize"))
            flag = CK_TFTP_OPT_TSIZE;
        else if (ascii_eq(name, name_len, "timeout"))
            flag = CK_TFTP_OPT_TIMEOUT;
        else if (ascii_eq(name, name_len, "windowsize"))
            flag = CK_TFTP_OPT_WINDOWSIZE;
        else if (is_oack)
            return fail_at(out, CK_TFTP_EOPTNEG, err, "%s: unrequested option '%s' at byte %zu", what,
                           shown(name, name_len, sh), at);
        else {
            /* RFC 2347: "Options which the server does not support should
             * be omitted from the OACK; they must not cause an ERROR". */
            (*ignored)++;
            continue;
        }
        if (opts->present & flag)
            return fail_at(out, CK_TFTP_EOPTNEG, err, "%s: option '%s' given twice (byte %zu)", what,
                           shown(name, name_len, sh), at);

        uint64_t v;
        bool huge;
        char nm[48];
        if (!parse_decimal(val, val_len, &v, &huge))
            return fail_at(out, CK_TFTP_EOPTNEG, err,
                           "%s: value '%s' of option '%s' at byte %zu is not a decimal number", what,
                           shown(val, val_len, sh), shown(name, name_len, nm), vat);
        switch (flag) {
        case CK_TFTP_OPT_BLKSIZE:
            if (v < CK_TFTP_BLKSIZE_MIN || (is_oack && v > CK_TFTP_BLKSIZE_MAX))
                return fail_at(out, CK_TFTP_EOPTNEG, err,
                               "%s: blksize %s at byte %zu is outside 8..65464 (RFC 2348)", what,
                               shown(val, val_len, sh), vat);
            /* RFC 2348: the server's OACK value "must be less than or
             * equal to the value specified by the client", so a larger
             * request can be granted the largest valid size. */
            opts->blksize = v > CK_TFTP_BLKSIZE_MAX ? CK_TFTP_BLKSIZE_MAX : (uint32_t)v;
            break;
        case CK_TFTP_OPT_TSIZE:
            if (huge || v > INT64_MAX)
                return fail_at(out, CK_TFTP_EOPTNEG, err, "%s: tsize %s at byte %zu is too large", what,
                               shown(val, val_len, sh), vat);
            opts->tsize = v;
            break;
        case CK_TFTP_OPT_TIMEOUT:
            if (v < CK_TFTP_TIMEOUT_MIN || v > CK_TFTP_TIMEOUT_MAX) {
                if (is_oack)
                    return fail_at(out, CK_TFTP_EOPTNEG, err,
                                   "%s: timeout %s at byte %zu is outside 1..255 (RFC 2349)", what,
                                   shown(val, val_len, sh), vat);
                /* RFC 2349 lets the server only echo the client's timeout
                 * or leave it out; an unusable one is left out. */
                (*ignored)++;
                continue;
            }
            opts->timeout = (uint32_t)v;
            break;
        case CK_TFTP_OPT_WINDOWSIZE:
            if (v < CK_TFTP_WINDOW_MIN || (is_oack && v > CK_TFTP_WINDOW_MAX))
                return fail_at(out, CK_TFTP_EOPTNEG, err,
                               "%s: windowsize %s at byte %zu is outside 1..65535 (RFC 7440)", what,
                               shown(val, val_len, sh), vat);
            /* RFC 7440: the server "MAY reply with a smaller windowsize". */
            opts->windowsize = v > CK_TFTP_WINDOW_MAX ? CK_TFTP_WINDOW_MAX : (uint32_t)v;
            break;
        }
        opts->present |= flag;
    }
    return 0;
}

/* RFC 1350 RRQ/WRQ:
 *   2 bytes     string    1 byte     string   1 byte
 *   ------------------------------------------------
 *  | Opcode |  Filename  |   0  |    Mode    |   0  |
 *   ------------------------------------------------ */
static int parse_request(ck_cur *c, ck_tftp_packet *out, ck_err *err)
{
    const char *what = out->opcode == CK_TFTP_RRQ ? "RRQ" : "WRQ";
    ck_tftp_request *r = &out->u.req;
    char sh[48];
    const char *mode;
    size_t mode_len;

    if (c->len > CK_TFTP_REQUEST_MAX)
        return fail_at(out, CK_TFTP_EBADOP, err, "%s of %zu bytes: longer than the %u bytes RFC 2347 allows",
                       what, c->len, CK_TFTP_REQUEST_MAX);
    if (ck_cur_remaining(c) == 0)
        return fail_at(out, CK_TFTP_EBADOP, err, "%s: no file name", what);
    if (!ck_cur_cstr(c, ck_cur_remaining(c), &r->filename, &r->filename_len))
        return fail_at(out, CK_TFTP_EBADOP, err, "%s: file name at byte 2 is not NUL-terminated", what);
    if (r->filename_len == 0)
        return fail_at(out, CK_TFTP_EBADOP, err, "%s: empty file name", what);
    size_t mat = ck_cur_offset(c);
    if (ck_cur_remaining(c) == 0)
        return fail_at(out, CK_TFTP_EBADOP, err, "%s: no transfer mode after the file name (byte %zu)", what,
                       mat);
    if (!ck_cur_cstr(c, ck_cur_remaining(c), &mode, &mode_len))
        return fail_at(out, CK_TFTP_EBADOP, err, "%s: transfer mode at byte %zu is not NUL-terminated", what,
                       mat);
    if (ascii_eq(mode, mode_len, "octet"))
        r->mode = CK_TFTP_OCTET;
    else if (ascii_eq(mode, mode_len, "netascii"))
        r->mode = CK_TFTP_NETASCII;
    else
        return fail_at(out, CK_TFTP_EBADOP, err, "%s: unknown transfer mode '%s' at byte %zu", what,
                       shown(mode, mode_len, sh), mat);
    return parse_options(c, false, what, &r->opts, &r->ignored, out, err);
}

int ck_tftp_parse(const void *pkt, size_t len, ck_tftp_packet *out, ck_err *err)
{
    ck_cur c;
    uint16_t op;
    memset(out, 0, sizeof *out);
    out->reply_code = CK_TFTP_EBADOP;
    ck_cur_init(&c, pkt, len);
    if (!ck_cur_u16(&c, &op))
        return fail_at(out, CK_TFTP_EBADOP, err, "packet of %zu bytes is too short for an opcode", len);
    out->opcode = (ck_tftp_opcode)op;
    switch (op) {
    case CK_TFTP_RRQ:
    case CK_TFTP_WRQ:
        return parse_request(&c, out, err);
    case CK_TFTP_DATA: {
        /* RFC 1350: | 03 | Block # | Data (0..blksize bytes) | */
        if (!ck_cur_u16(&c, &out->u.data.block))
            return fail_at(out, CK_TFTP_EBADOP, err, "DATA of %zu bytes is too short for a block number", len);
        out->u.data.len = ck_cur_remaining(&c);
        if (out->u.data.len > CK_TFTP_BLKSIZE_MAX)
            return fail_at(out, CK_TFTP_EBADOP, err, "DATA carries %zu bytes, more than the %u of RFC 2348",
                           out->u.data.len, CK_TFTP_BLKSIZE_MAX);
        ck_cur_bytes(&c, out->u.data.len, &out->u.data.data);
        return 0;
    }
    case CK_TFTP_ACK:
        return ck_tftp_parse_ack(pkt, len, &out->u.ack_block, err) == 0
                   ? 0
                   : (out->reply_code = CK_TFTP_EBADOP, -1);
    case CK_TFTP_ERROR: {
        /* RFC 1350: | 05 | ErrorCode | ErrMsg | 0 | */
        if (!ck_cur_u16(&c, &out->u.error.code))
            return fail_at(out, CK_TFTP_EBADOP, err, "ERROR of %zu bytes is too short for an error code", len);
        if (!ck_cur_cstr(&c, ck_cur_remaining(&c), &out->u.error.msg, &out->u.error.msg_len))
            return fail_at(out, CK_TFTP_EBADOP, err, "ERROR: message at byte 4 is not NUL-terminated");
        if (ck_cur_remaining(&c) != 0)
            return fail_at(out, CK_TFTP_EBADOP, err, "ERROR: %zu unexpected bytes after the message (byte %zu)",
                           ck_cur_remaining(&c), ck_cur_offset(&c));
        return 0;
    }
    case CK_TFTP_OACK: {
        unsigned ignored;
        if (ck_cur_remaining(&c) == 0)
            return fail_at(out, CK_TFTP_EOPTNEG, err, "OACK without any option");
        return parse_options(&c, true, "OACK", &out->u.oack, &ignored, out, err);
    }
    default:
        return fail_at(out, CK_TFTP_EBADOP, err, "unknown opcode %u", op);
    }
}

int ck_tftp_parse_ack(const void *pkt, size_t len, uint16_t *block, ck_err *err)
{
    /* RFC 1350: | 04 | Block # | -- exactly four bytes. */
    ck_cur c;
    uint16_t op;
    ck_cur_init(&c, pkt, len);
    if (!ck_cur_u16(&c, &op))
        return ck_fail(err, CK_EFORMAT, "TFTP packet of %zu bytes is too short for an opcode", len);
    if (op != CK_TFTP_ACK)
        return ck_fail(err, CK_EFORMAT, "TFTP %s where an ACK was expected", ck_tftp_opcode_name(op));
    if (!ck_cur_u16(&c, block))
        return ck_fail(err, CK_EFORMAT, "TFTP ACK of %zu bytes is too short for a block number", len);
    if (ck_cur_remaining(&c) != 0)
        return ck_fail(err, CK_EFORMAT, "TFTP ACK has %zu unexpected bytes after the block number",
                       ck_cur_remaining(&c));
    return 0;
}

static int buf_result(ck_buf *b, const char *what, ck_err *err)
{
    if (b->failed)
        return ck_fail(err, CK_ENOMEM, "cannot build TFTP %s: out of memory or over the buffer limit", what);
    return 0;
}

static void put_cstr(ck_buf *b, const char *s) { ck_buf_bytes(b, s, strlen(s) + 1); }

static void put_option(ck_buf *b, const char *name, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    put_cstr(b, name);
    put_cstr(b, num);
}

static void put_options(ck_buf *b, const ck_tftp_opts *o)
{
    if (o->present & CK_TFTP_OPT_BLKSIZE)
        put_option(b, "blksize", o->blksize);
    if (o->present & CK_TFTP_OPT_TSIZE)
        put_option(b, "tsize", o->tsize);
    if (o->present & CK_TFTP_OPT_TIMEOUT)
        put_option(b, "timeout", o->timeout);
    if (o->present & CK_TFTP_OPT_WINDOWSIZE)
        put_option(b, "windowsize", o->windowsize);
}

static int check_opts(const ck_tftp_opts *o, ck_err *err)
{
    if ((o->present & CK_TFTP_OPT_BLKSIZE) &&
        (o->blksize < CK_TFTP_BLKSIZE_MIN || o->blksize > CK_TFTP_BLKSIZE_MAX))
        return ck_fail(err, CK_EINVAL, "TFTP blksize %u is outside 8..65464", o->blksize);
    if ((o->present & CK_TFTP_OPT_TIMEOUT) &&
        (o->timeout < CK_TFTP_TIMEOUT_MIN || o->timeout > CK_TFTP_TIMEOUT_MAX))
        return ck_fail(err, CK_EINVAL, "TFTP timeout %u is outside 1..255", o->timeout);
    if ((o->present & CK_TFTP_OPT_WINDOWSIZE) &&
        (o->windowsize < CK_TFTP_WINDOW_MIN || o->windowsize > CK_TFTP_WINDOW_MAX))
        return ck_fail(err, CK_EINVAL, "TFTP windowsize %u is outside 1..65535", o->windowsize);
    return 0;
}

int ck_tftp_build_request(ck_buf *b, ck_tftp_opcode op, const char *filename, ck_tftp_mode mode,
                          const ck_tftp_opts *opts, ck_err *err)
{
    if (op != CK_TFTP_RRQ && op != CK_TFTP_WRQ)
        return ck_fail(err, CK_EINVAL, "TFTP request opcode must be RRQ or WRQ, not %u", (unsigned)op);
    if (!filename || !*filename)
        return ck_fail(err, CK_EINVAL, "TFTP request needs a file name");
    if (opts && check_opts(opts, err) < 0)
        return -1;
    size_t start = b->len;
    ck_buf_u16(b, (uint16_t)op);
    put_cstr(b, filename);
    put_cstr(b, ck_tftp_mode_name(mode));
    if (opts)
        put_options(b, opts);
    if (buf_result(b, "request", err) < 0)
        return -1;
    if (b->len - start > CK_TFTP_REQUEST_MAX) {
        b->len = start;
        return ck_fail(err, CK_ELIMIT, "TFTP request would be longer than %u bytes (RFC 2347)",
                       CK_TFTP_REQUEST_MAX);
    }
    return 0;
}

void ck_tftp_data_header(uint8_t out[4], uint16_t block)
{
    out[0] = 0;
    out[1] = CK_TFTP_DATA;
    out[2] = (uint8_t)(block >> 8);
    out[3] = (uint8_t)block;
}

int ck_tftp_build_data(ck_buf *b, uint16_t block, const void *data, size_t len, ck_err *err)
{
    if (len > CK_TFTP_BLKSIZE_MAX)
        return ck_fail(err, CK_EINVAL, "TFTP DATA of %zu bytes is larger than 65464", len);
    uint8_t h[4];
    ck_tftp_data_header(h, block);
    ck_buf_bytes(b, h, 4);
    ck_buf_bytes(b, data, len);
    return buf_result(b, "DATA", err);
}

int ck_tftp_build_ack(ck_buf *b, uint16_t block, ck_err *err)
{
    ck_buf_u16(b, CK_TFTP_ACK);
    ck_buf_u16(b, block);
    return buf_result(b, "ACK", err);
}

int ck_tftp_build_oack(ck_buf *b, const ck_tftp_opts *opts, ck_err *err)
{
    if (!opts || !opts->present)
        return ck_fail(err, CK_EINVAL, "TFTP OACK needs at least one option");
    if (check_opts(opts, err) < 0)
        return -1;
    ck_buf_u16(b, CK_TFTP_OACK);
    put_options(b, opts);
    return buf_result(b, "OACK", err);
}

int ck_tftp_build_error(ck_buf *b, uint16_t code, const char *msg, ck_err *err)
{
    /* Messages are cut at 500 bytes so that an ERROR always fits the 512
     * bytes every TFTP peer can receive. */
    const char *m = msg ? msg : ck_tftp_error_text(code);
    size_t n = strnlen(m, 500);
    ck_buf_u16(b, CK_TFTP_ERROR);
    ck_buf_u16(b, code);
    ck_buf_bytes(b, m, n);
    ck_buf_u8(b, 0);
    return buf_result(b, "ERROR", err);
}

size_t ck_tftp_netascii_len(const void *in, size_t len)
{
    const uint8_t *p = in;
    size_t n = len;
    for (size_t i = 0; i < len; i++)
        n += (p[i] == '\n' || p[i] == '\r');
    return n;
}

int ck_tftp_netascii_encode(const void *in, size_t len, ck_buf *out, ck_err *err)
{
    const uint8_t *p = in;
    size_t run = 0;
    if (len == 0) /* in may be NULL then, and NULL + 0 is undefined */
        return buf_result(out, "netascii", err);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n' && p[i] != '\r')
            continue;
        ck_buf_bytes(out, p + run, i - run);
        /* RFC 764: "the sequence CR LF must be treated as a single 'new
         * line' character", and "CR NUL" stands for a bare CR. */
        static const uint8_t crlf[2] = {'\r', '\n'}, crnul[2] = {'\r', '\0'};
        ck_buf_bytes(out, p[i] == '\n' ? crlf : crnul, 2);
        run = i + 1;
    }
    ck_buf_bytes(out, p + run, len - run);
    return buf_result(out, "netascii", err);
}

int ck_tftp_netascii_decode(const void *in, size_t len, ck_buf *out, ck_err *err)
{
    const uint8_t *p = in;
    size_t run = 0;
    if (len == 0)
        return buf_result(out, "netascii", err);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\r')
            continue;
        if (i + 1 == len)
            return ck_fail(err, CK_EFORMAT, "netascii: CR at the end of the data (byte %zu)", i);
        if (p[i + 1] != '\n' && p[i + 1] != '\0')
            return ck_fail(err, CK_EFORMAT, "netascii: CR followed by 0x%02x at byte %zu, not LF or NUL",
                           p[i + 1], i);
        ck_buf_bytes(out, p + run, i - run);
        ck_buf_u8(out, p[i + 1] == '\n' ? '\n' : '\r');
        run = i + 2;
        i++;
    }
    ck_buf_bytes(out, p + run, len - run);
    return buf_result(out, "netascii", err);
}

const char *ck_tftp_opcode_name(unsigned op)
{
    static const char *const names[] = {NULL, "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"};
    return op >= 1 && op <= 6 ? names[op] : "unknown";
}

const char *ck_tftp_mode_name(ck_tftp_mode m) { return m == CK_TFTP_NETASCII ? "netascii" : "octet"; }

const char *ck_tftp_error_text(unsigned code)
{
    static const char *const text[] = {
        "Not defined, see error message", "File not found", "Access violation",
        "Disk full or allocation exceeded", "Illegal TFTP operation", "Unknown transfer ID",
        "File already exists", "No such user", "Option negotiation refused",
    };
    return code < sizeof text / sizeof text[0] ? text[code] : "Not defined";
}
