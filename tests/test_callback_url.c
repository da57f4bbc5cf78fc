/* test_callback_url.c -- unit tests of callback URLs and JOULETRACE_CALLBACK_ALLOW
 * (shared/base/callback_url.c). */
#include <stdlib.h>

#include "unit_main.h"

#include "callback_url.h"
#include "config.h"
#include "job.h"
#include "job_json.h"
#include "job_msgpack.h"

#define ALLOW "http://127.0.0.1:9000/hooks/, https://hooks.example.com/"

/* url must be refused under allow, with a message containing needle. */
static void refused(const char *allow, const char *url, const char *needle)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_callback_url_check(allow, url, &err);
    if (st == JT_OK)
        fail_msg("accepted, should be refused: %s", url);
    assert_string_equal(err.path, "callback_url");
    if (strstr(err.message, needle) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", url, err.message, needle);
}

/* url must be allowed under allow and requested as canonical. */
static void allowed(const char *allow, const char *url, const char *canonical)
{
    char out[JT_CALLBACK_URL_MAX + 64];
    jt_error_t err;
    memset(&err, 0, sizeof err);
    if (jt_callback_url_check_canonical(allow, url, out, sizeof out, &err) != JT_OK)
        fail_msg("refused, should be allowed: %s (%s)", url, err.message);
    assert_string_equal(out, canonical);
}

static void bypass_tricks_refused(void **state)
{
    (void)state;
    /* userinfo: the host would be "evil" for curl and browsers */
    refused(ALLOW, "http://127.0.0.1:9000@evil.example/hooks/x", "userinfo");
    refused(ALLOW, "http://user:pw@127.0.0.1:9000/hooks/x", "userinfo");
    refused(ALLOW, "https://hooks.example.com:443@evil.example/", "userinfo");
    refused(ALLOW, "http://evil.example#@127.0.0.1:9000/hooks/", "fragment");
    refused(ALLOW, "http://127.0.0.1:9000\\@evil.example/hooks/", "'\\'");
    /* numeric hosts a resolver reads as 127.0.0.1 */
    refused(ALLOW, "http://127.1:9000/hooks/x", "dotted quad");
    refused(ALLOW, "http://2130706433:9000/hooks/x", "dotted quad");
    refused(ALLOW, "http://0x7f.0.0.1:9000/hooks/x", "dotted quad");
    refused(ALLOW, "http://0177.0.0.1:9000/hooks/x", "dotted quad");
    refused(ALLOW, "http://127.0.0.01:9000/hooks/x", "dotted quad");
    /* percent-encoding and other characters in the host */
    refused(ALLOW, "http://%31%32%37.0.0.1:9000/hooks/x", "percent-encoding");
    refused(ALLOW, "https://hooks%2eexample.com/", "percent-encoding");
    refused(ALLOW, "http://127.0.0.1:9000 /hooks/x", "visible ASCII");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/x\r\nX-Evil: 1", "visible ASCII");
    refused(ALLOW, "https://hooks.exämple.com/", "visible ASCII");
    refused(ALLOW, "https://hooks..example.com/", "empty label");
    /* suffix and prefix look-alikes */
    refused(ALLOW, "https://hooks.example.com.evil.example/", "allowlist");
    refused(ALLOW, "https://evil-hooks.example.com/", "allowlist");
    refused(ALLOW, "https://xhooks.example.com/", "allowlist");
    /* scheme, port and path must all match */
    refused(ALLOW, "https://127.0.0.1:9000/hooks/x", "allowlist");
    refused(ALLOW, "http://127.0.0.1:9001/hooks/x", "allowlist");
    refused(ALLOW, "http://127.0.0.1/hooks/x", "allowlist");
    refused(ALLOW, "http://hooks.example.com/", "allowlist");
    refused(ALLOW, "https://hooks.example.com:8443/", "allowlist");
    refused(ALLOW, "http://127.0.0.1:9000/hooksx", "allowlist");
    refused(ALLOW, "http://127.0.0.1:9000/HOOKS/x", "allowlist");
    refused(ALLOW, "http://127.0.0.1:9000/", "allowlist");
    refused(ALLOW, "http://localhost:9000/hooks/x", "allowlist");
    /* paths that a client or the receiver would resolve elsewhere */
    refused(ALLOW, "http://127.0.0.1:9000/hooks/../admin", "'..'");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/./x", "'.'");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/%2e%2E/admin", "'..'");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/.%2e", "'..'");
    refused(ALLOW, "http://127.0.0.1:9000/hooks%2f..%2fadmin", "encoded '/'");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/%5c..%5cadmin", "encoded '/'");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/%00", "NUL");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/%zz", "two hex digits");
    refused(ALLOW, "http://127.0.0.1:9000/hooks/%4", "two hex digits");
    /* IPv6: another host, the IPv4-mapped form of an allowed one, zone ids */
    refused(ALLOW, "http://[::1]:9000/hooks/x", "allowlist");
    refused(ALLOW, "http://[::ffff:127.0.0.1]:9000/hooks/x", "allowlist");
    refused("http://[fe80::1]:9000/", "http://[fe80::1%25eth0]:9000/", "zone");
    refused(ALLOW, "http://[::1:9000/hooks/x", "IPv6");
    /* other schemes and shapes */
    refused(ALLOW, "ftp://127.0.0.1:9000/hooks/x", "http://");
    refused(ALLOW, "file:///etc/passwd", "http://");
    refused(ALLOW, "gopher://127.0.0.1:9000/hooks/", "http://");
    refused(ALLOW, "javascript:alert(1)", "http://");
    refused(ALLOW, "//127.0.0.1:9000/hooks/x", "http://");
    refused(ALLOW, "http:/127.0.0.1:9000/hooks/x", "http://");
    refused(ALLOW, "http:///hooks/x", "host is empty");
    refused(ALLOW, "http://127.0.0.1:/hooks/x", "port");
    refused(ALLOW, "http://127.0.0.1:0/hooks/x", "port");
    refused(ALLOW, "http://127.0.0.1:65536/hooks/x", "port");
    refused(ALLOW, "http://127.0.0.1:9000x/hooks/x", "port");
    refused(ALLOW, "", "http://");
    /* too long */
    char *long_url = malloc(JT_CALLBACK_URL_MAX + 2);
    assert_non_null(long_url);
    int n = snprintf(long_url, JT_CALLBACK_URL_MAX + 2, "http://127.0.0.1:9000/hooks/");
    memset(long_url + n, 'a', JT_CALLBACK_URL_MAX + 1 - (size_t)n);
    long_url[JT_CALLBACK_URL_MAX + 1] = '\0';
    jt_error_t err;
    assert_int_equal(jt_callback_url_check(ALLOW, long_url, &err), JT_ERR_TOO_LARGE);
    long_url[JT_CALLBACK_URL_MAX] = '\0'; /* exactly the limit: allowed */
    assert_int_equal(jt_callback_url_check(ALLOW, long_url, &err), JT_OK);
    /* at the limit without a path: the canonical form gains its "/" and would be one byte over
     * (a fuzz finding: that form did not parse again) */
    n = snprintf(long_url, JT_CALLBACK_URL_MAX + 2, "http://127.0.0.1:9000?");
    memset(long_url + n, 'q', JT_CALLBACK_URL_MAX - (size_t)n);
    long_url[JT_CALLBACK_URL_MAX] = '\0';
    jt_callback_url_t u;
    assert_int_equal(jt_callback_url_parse(long_url, &u, &err), JT_ERR_TOO_LARGE);
    assert_non_null(strstr(err.message, "canonical form"));
    long_url[JT_CALLBACK_URL_MAX - 1] = '\0'; /* one byte less: its canonical form fits */
    assert_int_equal(jt_callback_url_parse(long_url, &u, &err), JT_OK);
    char canonical[JT_CALLBACK_URL_MAX + 64];
    assert_int_equal(jt_callback_url_format(&u, canonical, sizeof canonical), JT_CALLBACK_URL_MAX);
    assert_int_equal(jt_callback_url_parse(canonical, &u, &err), JT_OK);
    free(long_url);
}

static void empty_allowlist_refuses_all(void **state)
{
    (void)state;
    refused(NULL, "http://127.0.0.1:9000/hooks/x", "not enabled");
    refused("", "http://127.0.0.1:9000/hooks/x", "not enabled");
    refused(" , ", "https://hooks.example.com/", "not enabled");
    /* a malformed list (a program would not have started with it) allows nothing either */
    refused("ftp://x", "http://127.0.0.1:9000/hooks/x", "malformed");
}

static void allowed_forms_accepted(void **state)
{
    (void)state;
    allowed(ALLOW, "http://127.0.0.1:9000/hooks/x", "http://127.0.0.1:9000/hooks/x");
    allowed(ALLOW, "HTTP://127.0.0.1:9000/hooks/", "http://127.0.0.1:9000/hooks/");
    allowed(ALLOW, "http://127.0.0.1:9000/hooks", "http://127.0.0.1:9000/hooks");
    allowed(ALLOW, "http://127.0.0.1:9000/hooks?x=1", "http://127.0.0.1:9000/hooks?x=1");
    allowed(ALLOW, "http://127.0.0.1:9000/hooks/a%7eb%2d?x=%2f&y=%aB",
            "http://127.0.0.1:9000/hooks/a~b-?x=%2F&y=%AB");
    allowed(ALLOW, "http://127.0.0.1:9000/hooks/a%20b", "http://127.0.0.1:9000/hooks/a%20b");
    allowed(ALLOW, "http://127.0.0.1:9000/hooks/..x/.y", "http://127.0.0.1:9000/hooks/..x/.y");
    allowed(ALLOW, "https://HOOKS.Example.COM/Any/Path", "https://hooks.example.com/Any/Path");
    allowed(ALLOW, "https://hooks.example.com:443/x", "https://hooks.example.com/x");
    allowed(ALLOW, "https://hooks.example.com./x", "https://hooks.example.com/x");
    allowed(ALLOW, "https://hooks.example.com", "https://hooks.example.com/");
    allowed(ALLOW, "https://hooks.example.com?a=b", "https://hooks.example.com/?a=b");

    /* host[:port] and *.domain entries: both schemes, the default port unless one is named */
    const char *hosts = "hooks.internal:8443,*.example.org,[::1]:9000,192.0.2.7";
    allowed(hosts, "https://hooks.internal:8443/a", "https://hooks.internal:8443/a");
    allowed(hosts, "http://hooks.internal:8443/b", "http://hooks.internal:8443/b");
    refused(hosts, "https://hooks.internal/a", "allowlist");
    allowed(hosts, "https://a.example.org/x", "https://a.example.org/x");
    allowed(hosts, "http://b.c.EXAMPLE.org./", "http://b.c.example.org/");
    refused(hosts, "https://example.org/", "allowlist");
    refused(hosts, "https://aexample.org/", "allowlist");
    refused(hosts, "https://a.example.org:8443/", "allowlist");
    allowed(hosts, "http://[0:0:0:0:0:0:0:1]:9000/x", "http://[::1]:9000/x");
    refused(hosts, "http://[::1]/x", "allowlist");
    allowed(hosts, "http://192.0.2.7/", "http://192.0.2.7/");
    allowed(hosts, "https://192.0.2.7/", "https://192.0.2.7/");
    refused(hosts, "http://192.0.2.7:8080/", "allowlist");

    /* an entry written with a trailing dot, upper case and a default port names the same */
    allowed("HTTPS://Hooks.Example.com.:443/in/", "https://hooks.example.com/in/x",
            "https://hooks.example.com/in/x");
    /* "/" allows every path */
    allowed("http://10.0.0.1:81/", "http://10.0.0.1:81/any/thing", "http://10.0.0.1:81/any/thing");
}

static void allowlist_validation(void **state)
{
    (void)state;
    jt_error_t err;
    const char *good[] = {"",
                          " ",
                          ",",
                          "http://h/",
                          "https://h.example:8443/p/q",
                          "h.example",
                          "h.example:1",
                          "*.example.org",
                          "[::1]",
                          "[2001:db8::1]:443",
                          "192.0.2.1, http://[::1]:9000/hooks",
                          NULL};
    for (int i = 0; good[i] != NULL; i++)
        if (jt_callback_allow_validate(good[i], &err) != JT_OK)
            fail_msg("\"%s\" refused: %s", good[i], err.message);
    const char *bad[] = {"ftp://h/",
                         "http://u@h/",
                         "h/path",
                         "http://h/?q=1",
                         "http://h/#f",
                         "[::1",
                         "h:0",
                         "h:",
                         "*.",
                         "*.192.0.2.1",
                         "a..b",
                         "127.1",
                         "http://h/a/../b",
                         "ok.example, bad host",
                         "*",
                         "h*.example",
                         NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        memset(&err, 0, sizeof err);
        if (jt_callback_allow_validate(bad[i], &err) != JT_ERR_CONFIG)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_string_equal(err.path, "JOULETRACE_CALLBACK_ALLOW");
        assert_non_null(strstr(err.message, "entry"));
    }
}

static void config_settings(void **state)
{
    (void)state;
    jt_config_t cfg;
    jt_error_t err;
    unsetenv("JOULETRACE_CALLBACK_ALLOW");
    unsetenv("JOULETRACE_CALLBACK_SECRET_FILE");
    unsetenv("JOULETRACE_CALLBACK_BACKOFF_MS");
    assert_int_equal(jt_config_load(&cfg, &err), JT_OK);
    assert_string_equal(cfg.callback_allow, "");
    assert_string_equal(cfg.callback_secret_file, "");
    assert_int_equal(cfg.callback_backoff_ms, 1000);

    setenv("JOULETRACE_CALLBACK_ALLOW", ALLOW, 1);
    setenv("JOULETRACE_CALLBACK_SECRET_FILE", "/run/secrets/hooks", 1);
    setenv("JOULETRACE_CALLBACK_BACKOFF_MS", "50", 1);
    assert_int_equal(jt_config_load(&cfg, &err), JT_OK);
    assert_string_equal(cfg.callback_allow, ALLOW);
    assert_string_equal(cfg.callback_secret_file, "/run/secrets/hooks");
    assert_int_equal(cfg.callback_backoff_ms, 50);

    setenv("JOULETRACE_CALLBACK_ALLOW", "http://u@h/", 1);
    assert_int_equal(jt_config_load(&cfg, &err), JT_ERR_CONFIG);
    assert_string_equal(err.path, "JOULETRACE_CALLBACK_ALLOW");
    setenv("JOULETRACE_CALLBACK_ALLOW", ALLOW, 1);
    setenv("JOULETRACE_CALLBACK_BACKOFF_MS", "0", 1);
    assert_int_equal(jt_config_load(&cfg, &err), JT_ERR_CONFIG);
    assert_string_equal(err.path, "JOULETRACE_CALLBACK_BACKOFF_MS");
    unsetenv("JOULETRACE_CALLBACK_ALLOW");
    unsetenv("JOULETRACE_CALLBACK_SECRET_FILE");
    unsetenv("JOULETRACE_CALLBACK_BACKOFF_MS");
}

#define JOB_BODY(cb)                                                                               \
    "{\"candidate_code\": \"def solve(x):\\n  return x\\n\", \"test_cases\": [{\"inputs\": [1], "  \
    "\"expected_output\": 1}]" cb "}"

/* The job's callback_url: parsed from JSON, carried through msgpack, checked for shape. */
static void job_field(void **state)
{
    (void)state;
    jt_job_t job, back;
    jt_error_t err;
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    const char *ok = JOB_BODY(", \"callback_url\": \"https://hooks.example.com/x\"");
    jt_job_init(&job);
    jt_job_init(&back);
    assert_int_equal(jt_job_from_json(&job, ok, strlen(ok), &err), JT_OK);
    assert_string_equal(job.callback_url, "https://hooks.example.com/x");
    assert_int_equal(jt_job_to_msgpack(&job, &wire, &wire_len), JT_OK);
    assert_int_equal(jt_job_from_msgpack(&back, wire, wire_len, &err), JT_OK);
    assert_string_equal(back.callback_url, "https://hooks.example.com/x");
    free(wire);
    jt_job_cleanup(&back);
    jt_job_cleanup(&job);

    const char *none = JOB_BODY("");
    assert_int_equal(jt_job_from_json(&job, none, strlen(none), &err), JT_OK);
    assert_null(job.callback_url);
    jt_job_cleanup(&job);

    const char *bad[] = {JOB_BODY(", \"callback_url\": \"ftp://h/\""),
                         JOB_BODY(", \"callback_url\": \"http://u@h/\""),
                         JOB_BODY(", \"callback_url\": 7"), NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        memset(&err, 0, sizeof err);
        assert_int_not_equal(jt_job_from_json(&job, bad[i], strlen(bad[i]), &err), JT_OK);
        assert_string_equal(err.path, "callback_url");
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(bypass_tricks_refused),  cmocka_unit_test(empty_allowlist_refuses_all),
    cmocka_unit_test(allowed_forms_accepted), cmocka_unit_test(allowlist_validation),
    cmocka_unit_test(config_settings),        cmocka_unit_test(job_field),
};

JT_UNIT_MAIN(tests)
