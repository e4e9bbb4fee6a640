/*
 * static.c — the console's files (GET /, GET /console/...) and the two
 * browser libraries it uses, Leaflet and Chart.js, from Debian's
 * libjs-leaflet and libjs-chart.js (GET /javascript/{lib}/...). Main thread.
 *
 * Where from: config `console = { dir; javascript_dir; tiles; }`: dir holds
 * index.html, *.css and the ES modules (installed as
 * $(datadir)/citygrid/console, contrib/console in the source tree);
 * javascript_dir is Debian's /usr/share/javascript. Nothing of the
 * libraries is copied into the project.
 *
 * Safety, in this order: the route patterns give one or two path segments;
 * http.c has refused "." and ".." segments already, and every segment here
 * must also be a plain name ([A-Za-z0-9_-] and inner dots, no leading dot),
 * so no path can leave its root. Only the libraries the console uses are
 * served from javascript_dir, only known extensions (each with its MIME
 * type), only regular files. Symbolic links are followed: Debian links
 * parts of /usr/share/javascript into /usr/share/nodejs, and the roots are
 * the admin's choice, not the client's.
 *
 * Caching: a strong ETag from the file's inode, size and mtime answers
 * If-None-Match with 304. The console's own files are "no-cache" (always
 * revalidated, so an upgrade shows at the next load); the libraries may be
 * kept a day.
 *
 * Every answer carries a Content-Security-Policy that allows scripts,
 * styles, fetches and fonts from this server only (no inline script, no
 * eval), images also as data: and blob: URLs (Leaflet's CSS icons, photos
 * fetched with the token and shown as blobs), plus the tile server's origin
 * when map tiles are configured. And X-Content-Type-Options: nosniff.
 */
#include "http/api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/log.h"

#define STATIC_PATH_MAX 4096
#define CSP_MAX 768

/* The libraries under javascript_dir the console loads. */
static const char *const served_libraries[] = {"leaflet", "chart.js", NULL};

typedef struct mime_type {
    const char *ext;
    const char *type;
} mime_type;

static const mime_type mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"webp", "image/webp"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
};

/* The MIME type of a file name by its extension, or NULL (not served). */
static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
        if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
            return mime_types[i].type;
    return NULL;
}

/* A plain file or folder name: letters, digits, '_', '-', '.', not starting
 * with a dot, no "..". */
static int plain_name(const char *s)
{
    if (!s || !*s || *s == '.' || strstr(s, ".."))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

static const char *console_dir(const cg_app *app)
{
    return app->config->console.dir;
}

static const char *javascript_dir(const cg_app *app)
{
    return app->config->console.javascript_dir;
}

/* The origin (scheme://host[:port]) of a tile URL template, or "" when none
 * or when it is not an http(s) URL. */
static void tiles_origin(const cg_app *app, char *out, size_t outlen)
{
    const char *t = app->config->console.tiles;
    out[0] = '\0';
    if (!t || (strncmp(t, "https://", 8) != 0 && strncmp(t, "http://", 7) != 0))
        return;
    const char *host = strstr(t, "//") + 2;
    size_t n = (size_t)(host - t) + strcspn(host, "/");
    /* A template may put {s} in the host (a.tile..., b.tile...): allow the
     * parent domain's subdomains then. */
    const char *brace = memchr(host, '{', n - (size_t)(host - t));
    if (brace) {
        const char *dot = memchr(brace, '.', n - (size_t)(brace - t));
        if (!dot)
            return;
        snprintf(out, outlen, "%.*s*%.*s", (int)(host - t), t, (int)(n - (size_t)(dot - t)), dot);
        return;
    }
    snprintf(out, outlen, "%.*s", (int)n, t);
}

static void security_headers(cg_api_ctx *ctx)
{
    char tiles[256], csp[CSP_MAX];
    tiles_origin(ctx->app, tiles, sizeof tiles);
    snprintf(csp, sizeof csp,
             "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
             "img-src 'self' data: blob:%s%s; font-src 'self'; manifest-src 'self'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
             tiles[0] ? " " : "", tiles);
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    evhttp_add_header(h, "Content-Security-Policy", csp);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
}

/* "If-None-Match" lists `etag` (or is "*")? */
static int etag_matches(struct evhttp_request *req, const char *etag)
{
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (!inm)
        return 0;
    if (strcmp(inm, "*") == 0)
        return 1;
    size_t n = strlen(etag);
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag)) {
        /* a weak validator W/"..." matches too (RFC 9110 weak comparison) */
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return 1;
    }
    return 0;
}

/* Send root/a[/b] or a 404. */
static void send_file(cg_api_ctx *ctx, const char *root, const char *a, const char *b,
                      const char *cache_control)
{
    char path[STATIC_PATH_MAX];
    const char *name = b ? b : a;
    const char *type = mime_of(name);
    int n = b ? snprintf(path, sizeof path, "%s/%s/%s", root, a, b)
              : snprintf(path, sizeof path, "%s/%s", root, a);
    security_headers(ctx);
    if (!plain_name(a) || (b && !plain_name(b)) || !type || n < 0 || (size_t)n >= sizeof path) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no such file");
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
            CG_WARN("http", "cannot open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        cg_http_reply_error(ctx->req, 404, "not_found", "no such file");
        return;
    }
    char etag[96];
    snprintf(etag, sizeof etag, "\"%jx-%jx-%jx.%lx\"", (uintmax_t)st.st_ino, (uintmax_t)st.st_size,
             (uintmax_t)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    evhttp_add_header(h, "ETag", etag);
    evhttp_add_header(h, "Cache-Control", cache_control);
    if (etag_matches(ctx->req, etag)) {
        close(fd);
        evhttp_send_reply(ctx->req, 304, "Not Modified", NULL);
        return;
    }
    evhttp_add_header(h, "Content-Type", type);
    struct evbuffer *buf = evbuffer_new();
    /* evbuffer_add_file takes the fd (closes it), also on failure. */
    if (!buf || evbuffer_add_file(buf, fd, 0, st.st_size) < 0) {
        if (!buf)
            close(fd);
        evbuffer_free(buf);
        evhttp_remove_header(h, "ETag");
        evhttp_remove_header(h, "Content-Type");
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the file");
        return;
    }
    evhttp_send_reply(ctx->req, 200, "OK", buf);
    evbuffer_free(buf);
}

/* GET / */
void cg_api_console_index(cg_api_ctx *ctx)
{
    send_file(ctx, console_dir(ctx->app), "index.html", NULL, "no-cache");
}

/* GET /console/{file}, /console/{dir}/{file} */
void cg_api_console_file(cg_api_ctx *ctx)
{
    const cg_path_params *p = ctx->params;
    send_file(ctx, console_dir(ctx->app), p->value[0], p->n > 1 ? p->value[1] : NULL, "no-cache");
}

/* GET /javascript/{lib}/{file}, /javascript/{lib}/{dir}/{file} */
void cg_api_javascript_file(cg_api_ctx *ctx)
{
    const cg_path_params *p = ctx->params;
    int known = 0;
    for (const char *const *l = served_libraries; *l; l++)
        if (strcmp(p->value[0], *l) == 0)
            known = 1;
    if (!known || p->n < 2) {
        security_headers(ctx);
        cg_http_reply_error(ctx->req, 404, "not_found", "no such library");
        return;
    }
    char root[STATIC_PATH_MAX];
    int n = snprintf(root, sizeof root, "%s/%s", javascript_dir(ctx->app), p->value[0]);
    if (n < 0 || (size_t)n >= sizeof root) {
        security_headers(ctx);
        cg_http_reply_error(ctx->req, 404, "not_found", "no such file");
        return;
    }
    send_file(ctx, root, p->value[1], p->n > 2 ? p->value[2] : NULL, "public, max-age=86400");
}

/* GET /console/settings.json: what the page needs to know from the config
 * (only the tile URL today; "" means no tiles: the offline city network). */
void cg_api_console_settings(cg_api_ctx *ctx)
{
    const char *tiles = ctx->app->config->console.tiles ? ctx->app->config->console.tiles : "";
    security_headers(ctx);
    evhttp_add_header(evhttp_request_get_output_headers(ctx->req), "Cache-Control", "no-cache");
    cg_http_reply_json(ctx->req, 200, json_pack("{s:s}", "tiles", tiles));
}
