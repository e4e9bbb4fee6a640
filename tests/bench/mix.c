/* mix.c — see mix.h. */
#include "mix.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECENT 64            /* duplicates repeat one of the last reports */
#define JITTER_DEG 0.0004    /* about 40 m around the grid's point */
#define DUPLICATE_DEG 0.00005 /* about 5 m: well inside any duplicate radius */

typedef struct point { double lat, lon; } point;
typedef struct category { char code[48]; double weight; } category;

static point *points;
static size_t n_points;
static category *categories;
static size_t n_categories;
static double total_weight;
static unsigned duplicate_percent;
static uint64_t rng = 0x9e3779b97f4a7c15ULL; /* fixed seed */
static struct { double lat, lon; const char *category; } recent[RECENT];
static unsigned long long generated;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double uniform(void) /* [0, 1) */
{
    return (double)(next_random() >> 11) / 9007199254740992.0;
}

static int add_point(double lat, double lon)
{
    point *p = realloc(points, (n_points + 1) * sizeof *p);
    if (!p)
        return -1;
    points = p;
    points[n_points++] = (point){lat, lon};
    return 0;
}

static int add_category(const char *code, double weight)
{
    category *c = realloc(categories, (n_categories + 1) * sizeof *c);
    if (!c)
        return -1;
    categories = c;
    snprintf(categories[n_categories].code, sizeof categories[n_categories].code, "%s", code);
    categories[n_categories++].weight = weight;
    total_weight += weight;
    return 0;
}

int mix_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "load_post: cannot read the mix %s\n", path);
        return -1;
    }
    char line[256], code[48];
    double a, b;
    unsigned pct;
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "point %lf %lf", &a, &b) == 2)
            rc = add_point(a, b);
        else if (sscanf(line, "category %47s %lf", code, &a) == 2 && a > 0)
            rc = add_category(code, a);
        else if (sscanf(line, "duplicates %u", &pct) == 1 && pct <= 100)
            duplicate_percent = pct;
        else {
            fprintf(stderr, "load_post: %s:%d: not 'point LAT LON', 'category CODE WEIGHT' "
                            "or 'duplicates PERCENT'\n", path, lineno);
            rc = -1;
        }
    }
    fclose(f);
    if (rc == 0 && (!n_points || !n_categories)) {
        fprintf(stderr, "load_post: %s: a mix needs points and categories\n", path);
        rc = -1;
    }
    return rc;
}

static const char *draw_category(void)
{
    double x = uniform() * total_weight;
    for (size_t i = 0; i < n_categories; i++) {
        if (x < categories[i].weight)
            return categories[i].code;
        x -= categories[i].weight;
    }
    return categories[n_categories - 1].code;
}

int mix_body(unsigned long long n, char *buf, size_t len)
{
    double lat, lon;
    const char *cat;
    if (generated > 0 && next_random() % 100 < duplicate_percent) {
        unsigned slot = (unsigned)(next_random() % (generated < RECENT ? generated : RECENT));
        lat = recent[slot].lat + (uniform() - 0.5) * 2 * DUPLICATE_DEG;
        lon = recent[slot].lon + (uniform() - 0.5) * 2 * DUPLICATE_DEG;
        cat = recent[slot].category;
    } else {
        const point *p = &points[next_random() % n_points];
        lat = p->lat + (uniform() - 0.5) * 2 * JITTER_DEG;
        lon = p->lon + (uniform() - 0.5) * 2 * JITTER_DEG;
        cat = draw_category();
        recent[generated % RECENT].lat = lat;
        recent[generated % RECENT].lon = lon;
        recent[generated % RECENT].category = cat;
        generated++;
    }
    int w = snprintf(buf, len,
                     "{\"category\":\"%s\",\"lat\":%.6f,\"lon\":%.6f,"
                     "\"description\":\"bench %llu\",\"source\":\"patrol\"}",
                     cat, lat, lon, n);
    return w > 0 && (size_t)w < len ? w : -1;
}

void mix_free(void)
{
    free(points);
    free(categories);
    points = NULL;
    categories = NULL;
    n_points = n_categories = 0;
}
