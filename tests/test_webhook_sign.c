/* test_webhook_sign.c -- unit tests of the webhook signing secret and signature
 * (gateway/webhook_sign.c). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_main.h"

#include "temp_dir.h"
#include "webhook_sign.h"

#define KEY "0123456789abcdef0123456789abcdef"
#define STAMP "1700000000"
#define BODY "{\"task_id\":\"abc\",\"status\":\"completed\"}"
/* Computed independently when this test was written:
 *   printf '%s' '1700000000.{"task_id":"abc","status":"completed"}' \
 *     | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef */
#define BODY_SIGNATURE "sha256=182ac37cc6d9be2ca43dfd665e7ab14551d1fc874df11966bdfa632aa0af1fc0"
/*   printf '%s' '1.' | openssl dgst -sha256 -hmac 'a-much-longer-secret-with-sixteen+ bytes' */
#define EMPTY_KEY "a-much-longer-secret-with-sixteen+ bytes"
#define EMPTY_SIGNATURE "sha256=3ab6e167c84129ec491a01ecc0ce73479ad21d92f280a94efdb021991b629977"

/* A case's private directory and the secret file's path in it. */
typedef struct {
    char dir[128];
    char path[256];
} files_t;

static int make_files(void **state)
{
    files_t *f = calloc(1, sizeof *f);
    if (f == NULL || jt_temp_dir_make(f->dir, sizeof f->dir, "jt-hooksign") != 0) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/secret", f->dir);
    *state = f;
    return 0;
}

static int remove_files(void **state)
{
    files_t *f = *state;
    jt_temp_dir_remove(f->dir);
    free(f);
    return 0;
}

static void set_key(jt_webhook_secret_t *s, const char *key)
{
    memset(s, 0, sizeof *s);
    s->set = true;
    s->len = strlen(key);
    memcpy(s->key, key, s->len);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void known_vectors(void **state)
{
    (void)state;
    jt_webhook_secret_t s;
    char sig[JT_WEBHOOK_SIGNATURE_MAX];
    set_key(&s, KEY);
    assert_true(jt_webhook_sign(&s, STAMP, BODY, strlen(BODY), sig));
    assert_string_equal(sig, BODY_SIGNATURE);
    set_key(&s, EMPTY_KEY);
    assert_true(jt_webhook_sign(&s, "1", "", 0, sig));
    assert_string_equal(sig, EMPTY_SIGNATURE);
    /* any change of the timestamp, the body or the key changes the signature */
    set_key(&s, KEY);
    assert_true(jt_webhook_sign(&s, "1700000001", BODY, strlen(BODY), sig));
    assert_string_not_equal(sig, BODY_SIGNATURE);
    assert_true(jt_webhook_sign(&s, STAMP, BODY, strlen(BODY) - 1, sig));
    assert_string_not_equal(sig, BODY_SIGNATURE);
    s.key[0] ^= 1;
    assert_true(jt_webhook_sign(&s, STAMP, BODY, strlen(BODY), sig));
    assert_string_not_equal(sig, BODY_SIGNATURE);
    /* no secret: no signature */
    jt_webhook_secret_wipe(&s);
    assert_false(jt_webhook_sign(&s, STAMP, BODY, strlen(BODY), sig));
    assert_string_equal(sig, "");
}

static void secret_file(void **state)
{
    const files_t *files = *state;
    const char *dir = files->dir;
    char path[256];
    jt_webhook_secret_t s;
    jt_error_t err;
    char sig[JT_WEBHOOK_SIGNATURE_MAX];

    /* mode 600, one trailing newline: the key is the line */
    snprintf(path, sizeof path, "%s", files->path);
    write_file(path, KEY "\n", 0600);
    assert_int_equal(jt_webhook_secret_load(path, &s, &err), JT_OK);
    assert_true(s.set);
    assert_int_equal(s.len, strlen(KEY));
    assert_true(jt_webhook_sign(&s, STAMP, BODY, strlen(BODY), sig));
    assert_string_equal(sig, BODY_SIGNATURE);
    jt_webhook_secret_wipe(&s);
    assert_false(s.set);
    assert_int_equal(s.key[0], 0);

    /* readable by others or the group: refused, the secret never in the message */
    const mode_t loose[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        assert_int_equal(chmod(path, loose[i]), 0);
        memset(&err, 0, sizeof err);
        assert_int_equal(jt_webhook_secret_load(path, &s, &err), JT_ERR_CONFIG);
        assert_false(s.set);
        assert_string_equal(err.path, JT_WEBHOOK_SECRET_ENV);
        assert_non_null(strstr(err.message, "chmod 600"));
        assert_null(strstr(err.message, KEY));
    }

    /* too short, missing, not a regular file, unset */
    write_file(path, "short\n", 0600);
    assert_int_equal(jt_webhook_secret_load(path, &s, &err), JT_ERR_CONFIG);
    assert_non_null(strstr(err.message, "16.."));
    assert_null(strstr(err.message, "short"));
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(jt_webhook_secret_load(path, &s, &err), JT_ERR_CONFIG);
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(jt_webhook_secret_load(path, &s, &err), JT_ERR_CONFIG);
    assert_non_null(strstr(err.message, "regular"));
    assert_int_equal(jt_webhook_secret_load(dir, &s, &err), JT_ERR_CONFIG);
    assert_int_equal(jt_webhook_secret_load("", &s, &err), JT_ERR_CONFIG);
    assert_false(s.set);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(known_vectors),
    cmocka_unit_test_setup_teardown(secret_file, make_files, remove_files),
};

JT_UNIT_MAIN(tests)
