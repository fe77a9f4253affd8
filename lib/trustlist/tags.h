/* Element tags of the trust-list format (docs/trustlist-format.md) and the
 * labels CUCM's `show ctl` prints for them (misspellings included: admins'
 * scripts grep for DIGESTALGORTITHM). Private to lib/trustlist. */
#ifndef CTLKIT_TRUSTLIST_TAGS_H
#define CTLKIT_TRUSTLIST_TAGS_H

enum {
    HDR_VERSION = 1,
    HDR_HEADERLENGTH = 2,
    HDR_SIGNERID = 3,
    HDR_SIGNERNAME = 4,
    HDR_SERIALNUMBER = 5,
    HDR_CANAME = 6,
    HDR_SIGNATUREINFO = 7,
    HDR_DIGESTALGORITHM = 8,
    HDR_SIGNATUREALGOINFO = 9,
    HDR_SIGNATUREALGORITHM = 10,
    HDR_SIGNATUREMODULUS = 11,
    HDR_SIGNATURE = 12,
    HDR_PADDING = 13,
    HDR_FILENAME = 14,
    HDR_TIMESTAMP = 15,
    HDR_SIGNERVERSION = 28,
};

/* The .enc.sgn encryption block (docs/capf.md). 16, 17 and 21 are
 * containers; 16, 26 and 27 stand at the header's top level. */
enum {
    ENC_INFO = 16,
    ENC_IV_INFO = 17,
    ENC_IV_FLAG = 18,
    ENC_IV = 19,
    ENC_PAD_LEN = 20,
    ENC_KEY_INFO = 21,
    ENC_KEY_FLAG = 22,
    ENC_KEY_BITS = 23,
    ENC_KEY_ALG = 24,
    ENC_KEY = 25,
    ENC_DIGEST_ALG = 26,
    ENC_DIGEST = 27,
};

enum {
    REC_RECORDLENGTH = 1,
    REC_DNSNAME = 2,
    REC_SUBJECTNAME = 3,
    REC_FUNCTION = 4,
    REC_ISSUERNAME = 5,
    REC_SERIALNUMBER = 6,
    REC_PUBLICKEY = 7,
    REC_SIGNATURE = 8,
    REC_CERTIFICATE = 9,
    REC_IPADDRESS = 10,
    REC_CERTHASH = 11,
    REC_HASHALGORITHM = 12,
};

/* Label of a header tag (depth-independent) or record tag; "?" if unknown. */
const char *ck_tl_header_label(unsigned tag);
const char *ck_tl_record_label(unsigned tag);

#endif
