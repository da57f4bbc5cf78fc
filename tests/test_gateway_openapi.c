/* test_gateway_openapi.c -- GET /openapi.json: the built-in document, open without a token. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

#include "gateway_http.h"

#define TOKEN "openapi-token-3b9d0c7e52a1f486"
#define AUTH "Authorization: Bearer " TOKEN

/* The bytes of the document in the source tree (NUL-terminated) and their count; fails the
 * case when it cannot be read. */
static char *read_doc(size_t *len)
{
    FILE *f = fopen(JT_SOURCE_DIR "/docs/openapi.json", "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0 && n < (long)JT_CURL_RESP_MAX);
    rewind(f);
    char *doc = malloc((size_t)n + 1);
    assert_non_null(doc);
    assert_int_equal(fread(doc, 1, (size_t)n, f), (size_t)n);
    doc[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return doc;
}

/* Whether the headers of r hold line ("Name: value\r\n"). */
static bool has_header(const jt_curl_resp_t *r, const char *line)
{
    return strstr(r->headers, line) != NULL;
}

/* GET answers the repository's file byte for byte as application/json; it describes every
 * route capabilities lists; other methods are 405. */
static void served_as_built(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r, caps;
    size_t len;
    char *doc = read_doc(&len);

    assert_int_equal(http(fx, "GET", "/openapi.json", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: application/json\r\n"));
    assert_int_equal(r.len, len);
    assert_memory_equal(r.body, doc, len);
    assert_string_equal(jstr(r.json, "openapi"), "3.1.0");

    /* Every route of GET /api/v1/capabilities is a path and method of the document. */
    const json_t *paths = json_object_get(r.json, "paths");
    assert_int_equal(http(fx, "GET", "/api/v1/capabilities", NULL, 0, NULL, &caps), 0);
    assert_int_equal(caps.status, 200);
    size_t i, n_checked = 0;
    json_t *route;
    json_array_foreach(json_object_get(caps.json, "routes"), i, route)
    {
        const char *method = jstr(route, "method"), *path = jstr(route, "path");
        char lower[16];
        if (strcmp(method, "OPTIONS") == 0)
            continue;
        size_t k = 0;
        for (; method[k] != '\0' && k < sizeof lower - 1; k++)
            lower[k] = (char)(method[k] - 'A' + 'a');
        lower[k] = '\0';
        if (json_object_get(json_object_get(paths, path), lower) == NULL)
            fail_msg("capabilities lists %s %s; docs/openapi.json lacks it", method, path);
        n_checked++;
    }
    assert_true(n_checked >= 18);
    jt_curl_resp_free(&caps);
    jt_curl_resp_free(&r);

    assert_int_equal(http(fx, "DELETE", "/openapi.json", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    assert_true(has_header(&r, "Allow: GET, HEAD\r\n"));
    check_envelope(&r, "method_not_allowed", NULL);
    jt_curl_resp_free(&r);
    free(doc);
}

/* With API tokens: GET /openapi.json needs none, like /ping; the routes it describes do. */
static void open_without_token(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    static const char *const auth[] = {AUTH, NULL};

    assert_int_equal(http(fx, "GET", "/openapi.json", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "paths"));
    jt_curl_resp_free(&r);

    assert_int_equal(http(fx, "GET", "/api/v1/capabilities", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 401);
    check_envelope(&r, "unauthorized", NULL);
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "GET", "/api/v1/capabilities", NULL, 0, auth, &r), 0);
    assert_int_equal(r.status, 200);
    jt_curl_resp_free(&r);

    /* only GET and HEAD are open: another method is judged by the token first */
    assert_int_equal(http(fx, "POST", "/openapi.json", "{}", -1, NULL, &r), 0);
    assert_int_equal(r.status, 401);
    jt_curl_resp_free(&r);
}

static int setup_tokens(void **state)
{
    static const char *const extra[] = {"JOULETRACE_API_TOKENS=" TOKEN, NULL};
    return gateway_setup_auth(state, extra, AUTH);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(served_as_built, gateway_setup, gateway_teardown),
    cmocka_unit_test_setup_teardown(open_without_token, setup_tokens, gateway_teardown),
};

JT_UNIT_MAIN(tests)
