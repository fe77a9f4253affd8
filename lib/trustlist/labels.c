#include "tags.h"

/* CUCM's own labels, as `show ctl` prints them. */
const char *ck_tl_header_label(unsigned tag)
{
    switch (tag) {
    case HDR_VERSION: return "VERSION";
    case HDR_HEADERLENGTH: return "HEADERLENGTH";
    case HDR_SIGNERID: return "SIGNERID";
    case HDR_SIGNERNAME: return "SIGNERNAME";
    case HDR_SERIALNUMBER: return "SERIALNUMBER";
    case HDR_CANAME: return "CANAME";
    case HDR_SIGNATUREINFO: return "SIGNATUREINFO";
    case HDR_DIGESTALGORITHM: return "DIGESTALGORTITHM";
    case HDR_SIGNATUREALGOINFO: return "SIGNATUREALGOINFO";
    case HDR_SIGNATUREALGORITHM: return "SIGNATUREALGORTITHM";
    case HDR_SIGNATUREMODULUS: return "SIGNATUREMODULUS";
    case HDR_SIGNATURE: return "SIGNATURE";
    case HDR_PADDING: return "PADDING";
    case HDR_FILENAME: return "FILENAME";
    case HDR_TIMESTAMP: return "TIMESTAMP";
    case HDR_SIGNERVERSION: return "SIGNERVERSION";
    case ENC_INFO: return "ENCRYPTIONINFO";
    case ENC_IV_INFO: return "ENCRYPTIONIVINFO";
    case ENC_IV_FLAG: return "ENCRYPTIONIVFLAG";
    case ENC_IV: return "ENCRYPTIONIV";
    case ENC_PAD_LEN: return "ENCRYPTIONPADDING";
    case ENC_KEY_INFO: return "ENCRYPTIONKEYINFO";
    case ENC_KEY_FLAG: return "ENCRYPTIONKEYFLAG";
    case ENC_KEY_BITS: return "ENCRYPTIONKEYBITS";
    case ENC_KEY_ALG: return "ENCRYPTIONKEYALGORITHM";
    case ENC_KEY: return "ENCRYPTIONKEY";
    case ENC_DIGEST_ALG: return "CONTENTDIGESTALGORITHM";
    case ENC_DIGEST: return "CONTENTDIGEST";
    }
    return "?";
}

const char *ck_tl_record_label(unsigned tag)
{
    switch (tag) {
    case REC_RECORDLENGTH: return "RECORDLENGTH";
    case REC_DNSNAME: return "DNSNAME";
    case REC_SUBJECTNAME: return "SUBJECTNAME";
    case REC_FUNCTION: return "FUNCTION";
    case REC_ISSUERNAME: return "ISSUERNAME";
    case REC_SERIALNUMBER: return "SERIALNUMBER";
    case REC_PUBLICKEY: return "PUBLICKEY";
    case REC_SIGNATURE: return "SIGNATURE";
    case REC_CERTIFICATE: return "CERTIFICATE";
    case REC_IPADDRESS: return "IPADDRESS";
    case REC_CERTHASH: return "CERTHASH";
    case REC_HASHALGORITHM: return "HASHALGORITHM";
    }
    return "?";
}
