/* dashboard_assets.h -- the dashboard's files embedded at build time (generated
 * dashboard_assets.c). */
#ifndef JT_GW_DASHBOARD_ASSETS_H
#define JT_GW_DASHBOARD_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;         /* URL path, e.g. "/" or "/dashboard/app.js"; NULL ends the table */
    const char *content_type; /* e.g. "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} jt_dashboard_asset_t;

/* Every embedded file, ended by an entry with a NULL path; only that entry when the build has
 * no dashboard (-DJT_DASHBOARD=OFF). */
extern const jt_dashboard_asset_t jt_dashboard_assets[];

#endif
