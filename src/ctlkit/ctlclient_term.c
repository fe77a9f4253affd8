/* Terminal helpers of the CTL Client and the token commands: secrets
 * without echo, questions, the Security Token Information screen. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctlclient.h"
#include "ctlkit/bytes.h"
#include "ctlkit/x509.h"

static size_t chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return n;
}

int cc_read_secret(const char *prompt, const char *file, char *out, size_t outsz, ck_err *err)
{
    out[0] = '\0';
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f)
            return ck_fail(err, CK_EIO, "%s: %s", file, strerror(errno));
        bool ok = fgets(out, (int)outsz, f) != NULL;
        fclose(f);
        if (!ok)
            return ck_fail(err, CK_EINVAL, "%s is empty", file);
        if (!strchr(out, '\n') && strlen(out) == outsz - 1) {
            OPENSSL_cleanse(out, outsz);
            return ck_fail(err, CK_EINVAL, "%s: the secret is longer than %zu characters", file, outsz - 2);
        }
        return (int)chomp(out);
    }
    /* The terminal itself, not stdin: a secret never comes from a pipe by
     * accident, and echo can be switched off. */
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ck_fail(err, CK_EINVAL, "no terminal to ask for the %s (give it in a file)", prompt);
    struct termios old, quiet;
    bool tty = tcgetattr(fd, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0 || write(fd, ": ", 2) < 0) {
        /* nothing to do: the read below still works */
    }
    size_t n = 0;
    bool done = false;
    while (n + 1 < outsz) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r <= 0 || ch == '\n') {
            done = r > 0;
            break;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    if (tty)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* ignore */
    }
    close(fd);
    if (!done && n + 1 >= outsz) {
        OPENSSL_cleanse(out, outsz);
        return ck_fail(err, CK_EINVAL, "the %s is longer than %zu characters", prompt, outsz - 2);
    }
    return (int)chomp(out);
}

int cc_ask(const char *prompt, char *out, size_t outsz)
{
    fputs(prompt, stdout);
    fflush(stdout);
    if (!fgets(out, (int)outsz, stdin))
        return -1;
    chomp(out);
    char *p = out;
    while (*p == ' ')
        p++;
    memmove(out, p, strlen(p) + 1);
    return 0;
}

void cc_date(const ASN1_TIME *t, char *out, size_t outsz)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, outsz, "?");
        return;
    }
    snprintf(out, outsz, "%02d/%02d/%04d", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900);
}

void cc_show_token_cert(FILE *out, const ck_token_info *ti, X509 *cert)
{
    char *subj = ck_name_cucm(X509_get_subject_name(cert));
    char *iss = ck_name_cucm(X509_get_issuer_name(cert));
    char from[16], to[16], serial[80];
    cc_date(X509_get0_notBefore(cert), from, sizeof from);
    cc_date(X509_get0_notAfter(cert), to, sizeof to);
    uint8_t sb[32];
    int sn = ck_cert_serial(cert, sb, sizeof sb);
    ck_hex(sb, sn > 0 ? (size_t)sn : 0, ':', true, serial, sizeof serial);
    fprintf(out, "Security Token Information\n");
    if (ti)
        fprintf(out, "  Token:         %s (%s %s, serial %s)\n", ti->label, ti->manufacturer, ti->model, ti->serial);
    fprintf(out, "  Subject Name:  %s\n", subj ? subj : "?");
    fprintf(out, "  Issuer Name:   %s\n", iss ? iss : "?");
    fprintf(out, "  Serial Number: %s\n", serial);
    fprintf(out, "  Valid From:    %s\n", from);
    fprintf(out, "  Expires on:    %s\n", to);
    free(subj);
    free(iss);
}

const char *cc_module(const char *arg)
{
    if (arg)
        return arg;
    const char *env = getenv("CTLKIT_P11_MODULE");
    return env && *env ? env : NULL;
}
