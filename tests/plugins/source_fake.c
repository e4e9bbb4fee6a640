/*
 * source_fake.c — a test data-source plugin (ABI 1.4, name "source_fake",
 * bureau "bureau-test"): the six sources of API.md with a few fixed,
 * obviously fake rows, so the integration tests can check permissions,
 * masking, the grid filter of spatial sources and the audit. The real
 * sources are the datahub plugin's (plugins/datahub).
 *
 * A query's params.q picks rows: "" all, else the rows any of whose values
 * contains it. Two values of q act instead of matching:
 *   "hang"  query() sleeps until 2 s after the query's deadline (a source
 *           that does not answer in time; the core must not wait);
 *   "down"  query() returns CITYGRID_E_RETRY (the source is down: 503).
 *
 * Spatial rows sit at grid offices of contrib/lishui: 33110200100101
 * (119.928065, 28.455478), its neighbour 33110200100102 (119.931934,
 * 28.455108), and 33110200622701 (119.917088, 28.381868).
 */
#include <citygrid/plugin.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

static const citygrid_host *host;

static const citygrid_source_field person_fields[] = {
    {"name", "name"}, {"id_number", "id_number"}, {"phone", "phone"}, {"address", "address"}};
static const citygrid_source_field vehicle_fields[] = {
    {"plate", "plate"}, {"owner_name", "name"}, {"owner_id_number", "id_number"},
    {"owner_phone", "phone"}, {"model", "public"}};
static const citygrid_source_field company_fields[] = {
    {"name", "public"}, {"credit_code", "public"}, {"licence_no", "public"},
    {"legal_person", "name"}, {"phone", "phone"}};
static const citygrid_source_field offender_fields[] = {
    {"name", "name"}, {"id_number", "id_number"}, {"decision", "public"}};
static const citygrid_source_field owner_fields[] = {
    {"owner_name", "name"}, {"owner_id_number", "id_number"}, {"address", "address"},
    {"lat", "public"}, {"lon", "public"}};
static const citygrid_source_field camera_fields[] = {
    {"name", "public"}, {"stream_url", "public"}, {"lat", "public"}, {"lon", "public"}};

#define SOURCE(var, name_, title, fields_, spatial_)                                        \
    static const citygrid_source var = {.struct_size = sizeof(citygrid_source),             \
                                        .name = name_,                                      \
                                        .title_zh = title,                                  \
                                        .fields = fields_,                                  \
                                        .n_fields = sizeof fields_ / sizeof fields_[0],     \
                                        .spatial = spatial_}
SOURCE(persons, "persons", "人口信息（测试）", person_fields, 0);
SOURCE(vehicles, "vehicles", "车辆信息（测试）", vehicle_fields, 0);
SOURCE(companies, "companies", "法人信息（测试）", company_fields, 0);
SOURCE(offenders, "offenders", "违法当事人（测试）", offender_fields, 0);
SOURCE(owners, "property_owners", "违建业主（测试）", owner_fields, 1);
SOURCE(cameras, "cameras", "视频监控（测试）", camera_fields, 1);
static const citygrid_source *const all_sources[] = {&persons,   &vehicles, &companies,
                                                     &offenders, &owners,   &cameras, NULL};

/* Rows: one string per field, in the order of the source's fields. */
static const char *const person_rows[][4] = {
    {"张三丰", "331102199001011234", "13812345678", "丽水市莲都区紫金街道测试路1号"},
    {"李四", "33110219850505432X", "13900001111", "丽水市莲都区岩泉街道测试路2号"},
};
static const char *const vehicle_rows[][5] = {
    {"浙K12345", "张三丰", "331102199001011234", "13812345678", "测试牌轿车"},
};
static const char *const company_rows[][5] = {
    {"丽水测试商贸有限公司", "91331102MA2A0TEST1", "331102000012345", "王五", "057812345678"},
};
static const char *const offender_rows[][3] = {
    {"赵六", "331102197803033210", "丽莲综执罚决字〔2026〕第1号（测试）"},
};
static const char *const owner_rows[][5] = {
    {"钱七", "331102196606066543", "丽水市莲都区岩泉街道测试路3号", "28.455478", "119.928065"},
    {"孙八", "331102196707076654", "丽水市莲都区岩泉街道测试路4号", "28.455108", "119.931934"},
};
static const char *const camera_rows[][4] = {
    {"测试摄像头甲", "rtsp://camera.invalid/a", "28.455478", "119.928065"},
    {"测试摄像头乙", "rtsp://camera.invalid/b", "28.455108", "119.931934"},
    {"测试摄像头丙", "rtsp://camera.invalid/c", "28.381868", "119.917088"},
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send every row of `rows` (n rows of nf values) that matches q. */
static int answer(citygrid_plugin_ctx *ctx, const citygrid_query *q, const char *const *rows,
                  size_t n, size_t nf)
{
    for (size_t i = 0; i < n; i++) {
        const char *const *row = rows + i * nf;
        int match = !*q->q;
        for (size_t k = 0; k < nf && !match; k++)
            match = row[k] && strstr(row[k], q->q) != NULL;
        if (match && host->query_row(ctx, q, row) != CITYGRID_OK)
            break; /* max_rows reached */
    }
    return CITYGRID_OK;
}

#define ROWS(table) (const char *const *)(table), sizeof(table) / sizeof(table)[0], \
                    sizeof(table)[0] / sizeof(table)[0][0]

static int fake_query(citygrid_plugin_ctx *ctx, const citygrid_query *q)
{
    if (strcmp(q->q, "hang") == 0) {
        int64_t until = q->deadline_ms + 2000;
        for (int64_t now = now_ms(); now < until; now = now_ms()) {
            int64_t left = until - now;
            struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        return CITYGRID_OK;
    }
    if (strcmp(q->q, "down") == 0)
        return CITYGRID_E_RETRY;
    if (strcmp(q->source, "persons") == 0)
        return answer(ctx, q, ROWS(person_rows));
    if (strcmp(q->source, "vehicles") == 0)
        return answer(ctx, q, ROWS(vehicle_rows));
    if (strcmp(q->source, "companies") == 0)
        return answer(ctx, q, ROWS(company_rows));
    if (strcmp(q->source, "offenders") == 0)
        return answer(ctx, q, ROWS(offender_rows));
    if (strcmp(q->source, "property_owners") == 0)
        return answer(ctx, q, ROWS(owner_rows));
    if (strcmp(q->source, "cameras") == 0)
        return answer(ctx, q, ROWS(camera_rows));
    return CITYGRID_E_NOTFOUND;
}

static int fake_init(citygrid_plugin_ctx *ctx, const citygrid_host *h)
{
    (void)ctx;
    if (!h || h->size < sizeof(citygrid_host))
        return CITYGRID_E_INVALID;
    host = h;
    return CITYGRID_OK;
}

/* A bureau gets no cases; should one come, it is refused. */
static int fake_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    (void)ctx;
    (void)c;
    return CITYGRID_E_INVALID;
}

static void fake_shutdown(citygrid_plugin_ctx *ctx) { (void)ctx; }

static const char *const no_categories[] = {NULL};
static const citygrid_plugin fake_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = "source_fake",
    .version = "1.0.0",
    .department = "bureau-test",
    .department_zh = "数据局（测试）",
    .categories = no_categories,
    .init = fake_init,
    .handle = fake_handle,
    .shutdown = fake_shutdown,
    .sources = all_sources,
    .query = fake_query,
};
CITYGRID_PLUGIN_DEFINE(fake_plugin)
