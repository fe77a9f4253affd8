#include "tlvfile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/fileio.h"

int tlv_load(const char *path, tlv_loaded *t, ck_err *err)
{
    memset(t, 0, sizeof *t);
    if (ck_read_file(path, CK_TL_MAX_PARSE, &t->raw, &t->len, err) < 0)
        return -1;
    struct stat st;
    if (stat(path, &st) == 0)
        t->info.mtime = st.st_mtime;
    if (ck_tl_parse(t->raw, t->len, &t->file, &t->parse_error) < 0)
        return 0; /* callers name the file themselves */
    t->info.verified = ck_tl_verify(t->file, &t->verify_error) == 0;
    t->info.verify_error = t->info.verified ? NULL : t->verify_error.msg;
    return 0;
}

void tlv_unload(tlv_loaded *t)
{
    ck_tl_free(t->file);
    free(t->raw);
    memset(t, 0, sizeof *t);
}

void tlv_print(FILE *out, tlv_loaded *t, bool json, const char *kind)
{
    t->info.kind = kind;
    const char *perr = t->file ? NULL : t->parse_error.msg;
    if (json) {
        char *s = ck_tl_show_json(t->raw, t->len, t->file, &t->info, perr);
        if (s) {
            fprintf(out, "%s\n", s);
            free(s);
        }
    } else {
        ck_tl_show_text(out, t->raw, t->len, t->file, &t->info, perr);
    }
}
