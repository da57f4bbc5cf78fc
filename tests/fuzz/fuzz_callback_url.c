/* fuzz_callback_url.c -- libFuzzer target: callback URLs, the allowlist, and webhook messages.
 *
 * The input is "allowlist\nurl" (without a newline: the whole input is the URL, judged against
 * a fixed allowlist). It goes through jt_callback_allow_validate, jt_callback_url_parse and
 * jt_callback_url_check_canonical (shared/base callback_url.c); the whole input also through
 * jt_webhook_msg_decode (shared/bus webhook_queue.c). Invariants: errors carry their code and a
 * message; a parsed URL's canonical form parses again to the same canonical form, holds no
 * userinfo, blank or control character; a URL the allowlist accepts is accepted again in its
 * canonical form; a decoded message holds valid names and a URL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callback_url.h"
#include "fuzz_check.h"
#include "webhook_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALLOW "http://127.0.0.1:9000/hooks/, https://hooks.example.com/, *.example.org, [::1]:8443"
#define TEXT_MAX (JT_CALLBACK_ALLOW_MAX + JT_CALLBACK_URL_MAX + 16)
#define CANONICAL_MAX (JT_CALLBACK_URL_MAX + 64)

/* The canonical form of a parsed URL is a fixed point and names its host plainly. */
static void check_canonical(const jt_callback_url_t *u)
{
    static char first[CANONICAL_MAX], second[CANONICAL_MAX];
    static jt_callback_url_t again;
    jt_error_t err;
    if (jt_callback_url_format(u, first, sizeof first) == 0)
        abort();
    if (jt_callback_url_parse(first, &again, &err) != JT_OK)
        abort();
    if (jt_callback_url_format(&again, second, sizeof second) == 0 || strcmp(first, second) != 0)
        abort();
    const char *authority = strstr(first, "://") + 3;
    size_t auth_len = strcspn(authority, "/?");
    if (memchr(authority, '@', auth_len) != NULL || u->port < 1 || u->port > 65535 ||
        u->target[0] != '/')
        abort();
    for (const char *p = first; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\' || *p == '#')
            abort();
}

static void check_url(const char *allow, const char *url)
{
    static jt_callback_url_t u;
    static char canonical[CANONICAL_MAX], twice[CANONICAL_MAX];
    jt_error_t err;
    jt_status_t st = jt_callback_url_parse(url, &u, &err);
    if (st != JT_OK)
        fuzz_check_error(st, &err);
    else
        check_canonical(&u);
    st = jt_callback_url_check_canonical(allow, url, canonical, sizeof canonical, &err);
    if (st != JT_OK) {
        fuzz_check_error(st, &err);
        return;
    }
    if (jt_callback_url_check_canonical(allow, canonical, twice, sizeof twice, &err) != JT_OK ||
        strcmp(canonical, twice) != 0)
        abort();
}

static void check_message(const uint8_t *data, size_t size)
{
    jt_webhook_msg_t m;
    jt_error_t err;
    jt_status_t st = jt_webhook_msg_decode(data, size, &m, &err);
    if (st != JT_OK) {
        fuzz_check_error_text(st, &err);
        return;
    }
    if (!jt_webhook_names_valid(m.kind, m.id, m.event) || m.url[0] == '\0' ||
        strnlen(m.url, sizeof m.url) == sizeof m.url ||
        strnlen(m.queued_at, sizeof m.queued_at) == sizeof m.queued_at)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[TEXT_MAX + 1];
    check_message(data, size);
    if (size > TEXT_MAX)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) != size)
        return 0; /* a NUL: neither a setting nor a JSON string holds one */
    char *newline = strchr(text, '\n');
    const char *allow = ALLOW, *url = text;
    if (newline != NULL) {
        *newline = '\0';
        allow = text;
        url = newline + 1;
        jt_error_t err;
        jt_status_t st = jt_callback_allow_validate(allow, &err);
        if (st != JT_OK && st != JT_ERR_CONFIG)
            abort();
        if (st != JT_OK)
            fuzz_check_error_text(st, &err);
    }
    check_url(allow, url);
    return 0;
}
