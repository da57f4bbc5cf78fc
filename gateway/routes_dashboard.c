/* routes_dashboard.c -- GET / and /dashboard/...: the dashboard's static files, embedded at
 * build time (dashboard_assets.h).
 *
 * Runs on civetweb worker threads; reads only the constant table of the generated
 * dashboard_assets.c.
 */
#include <string.h>

#include "dashboard_assets.h"
#include "gateway.h"

#define DASHBOARD_PREFIX "/dashboard/"

/* The page's own policy: scripts, styles and connections to this origin only (uPlot sets
 * element styles, hence 'unsafe-inline' for styles alone), no framing, no referrer. */
#define DASHBOARD_HEADERS                                                                          \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self' "            \
    "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "                 \
    "form-action 'none'; frame-ancestors 'none'\r\n"                                               \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "X-Frame-Options: DENY\r\n"

bool jt_dashboard_path(const char *path)
{
    if (jt_dashboard_assets[0].path == NULL)
        return false; /* built without the dashboard */
    return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
           strncmp(path, DASHBOARD_PREFIX, strlen(DASHBOARD_PREFIX)) == 0;
}

static const jt_dashboard_asset_t *find_asset(const char *path)
{
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (const jt_dashboard_asset_t *a = jt_dashboard_assets; a->path != NULL; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

void jt_route_dashboard(jt_gw_t *gw, jt_req_t *req)
{
    (void)gw;
    const jt_dashboard_asset_t *asset =
        strcmp(req->path, req->raw_path) == 0 ? find_asset(req->path) : NULL;
    if (asset == NULL) {
        jt_http_reply_error(req, 404, "not_found", NULL, json_pack("{s:s}", "path", req->path),
                            "no such file of the dashboard");
        return;
    }
    req->route = JT_ROUTE_CAPABILITIES; /* counted as capabilities: a description of the service */
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        jt_http_reply_raw(req, 200, asset->content_type, (const char *)asset->data, asset->len,
                          DASHBOARD_HEADERS);
    else if (strcmp(req->method, "OPTIONS") == 0)
        jt_http_reply_raw(req, 204, "text/plain", "", 0, "Allow: GET, HEAD, OPTIONS\r\n");
    else
        jt_http_reply_method_not_allowed(req, "GET, HEAD");
}
