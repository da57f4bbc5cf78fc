/* calibration_write.c -- the calibration record as JSON, written to its file atomically. */
#include "calibration.h"
#include "calibration_record.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- struct -> JSON ------------------------------------------------------ */

/* json_object_set_new that remembers a failure instead of returning it, so the
 * builder reads as the file does. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static json_t *to_json(const jt_calibration_t *c, const char *ts)
{
    bool ok = true;
    json_t *root = json_object();
    json_t *domains = json_object();
    if (root == NULL || domains == NULL) {
        json_decref(root);
        json_decref(domains);
        return NULL;
    }
    put(root, "socket_id", json_integer(c->socket_id), &ok);
    put(root, "measurement_core", json_integer(c->measurement_core), &ok);
    put(root, "meter_type", json_string(c->meter_type), &ok);
    put(root, "idle_power_watts", json_real(c->idle_power_watts), &ok);
    for (size_t i = 0; i < c->n_domains; i++) {
        const jt_calibration_domain_t *d = &c->domains[i];
        json_t *dj = json_object();
        if (dj != NULL) {
            put(dj, "median_watts", json_real(d->median_watts), &ok);
            put(dj, "mean_watts", json_real(d->mean_watts), &ok);
            put(dj, "stddev_watts", json_real(d->stddev_watts), &ok);
        }
        put(domains, d->name, dj, &ok);
    }
    put(root, "domains", domains, &ok);
    put(root, "cv_percent", json_real(c->cv_percent), &ok);
    put(root, "samples", json_integer(c->samples), &ok);
    put(root, "duration_seconds", json_real(c->duration_seconds), &ok);
    put(root, "timestamp", json_string(ts), &ok);
    put(root, "valid_until_days", json_integer(c->valid_until_days), &ok);
    put(root, "host", json_string(c->host), &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static jt_status_t write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return JT_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return JT_OK;
}

/* Makes the rename itself durable; best effort (some filesystems refuse). */
static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

jt_status_t jt_calibration_save(const char *path, const jt_calibration_t *c, jt_error_t *err)
{
    jt_status_t s;
    json_t *root = NULL;
    char *text = NULL;
    int fd = -1;
    char tmp[PATH_MAX];
    bool tmp_made = false;

    /* Never write a file that jt_calibration_load would refuse. */
    if ((s = jt_calibration_validate(c, err)) != JT_OK)
        return s;
    char ts[32];
    jt_calibration_format_timestamp(c->timestamp, ts, sizeof ts); /* cannot fail after the checks */
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return jt_error_set(err, JT_ERR_IO, "", "path %s is too long", path);

    root = to_json(c, ts);
    /* 17 significant digits: numbers read back are the numbers written. */
    text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
                : NULL;
    if (text == NULL) {
        s = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory encoding the calibration");
        goto out;
    }
    /* A leftover from a crashed writer with our pid is ours to replace;
     * O_EXCL then refuses to follow anything planted at that name. */
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    if (write_all(fd, text, strlen(text)) != JT_OK || write_all(fd, "\n", 1) != JT_OK) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot close %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot rename %s to %s: %s", tmp, path,
                         strerror(errno));
        goto out;
    }
    tmp_made = false;
    sync_parent_dir(path);
    s = JT_OK;
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        (void)unlink(tmp);
    free(text);
    json_decref(root);
    return s;
}
