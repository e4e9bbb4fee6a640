/*
 * migrations.c — the versioned schema (see migrations.h). Times are unix
 * milliseconds (INTEGER). Statuses and levels are checked by the database so
 * that no code path can store a value the API does not know.
 */
#include "migrations.h"

/* Version 1: members and tokens, cases with their history, the dispatch
 * outbox. AUTOINCREMENT on the two seq columns: case and dispatch ids are
 * made from seq, and an id must never be handed out twice, even after the
 * newest outbox row has been deleted (plain rowids would reuse it). */
static const char schema_v1[] =
    "CREATE TABLE members ("
    "  id TEXT PRIMARY KEY,"
    "  login TEXT UNIQUE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  name_zh TEXT,"
    "  department TEXT,"
    "  password_hash TEXT,"
    "  is_admin INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE tokens ("
    "  token_hash TEXT PRIMARY KEY," /* hex SHA-256 of the token */
    "  member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,"
    "  label TEXT,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX tokens_by_member ON tokens(member_id);"
    "CREATE TABLE cases ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT UNIQUE NOT NULL,"
    "  category TEXT NOT NULL,"
    "  department TEXT NOT NULL,"
    "  grid TEXT,"
    "  lat REAL,"
    "  lon REAL,"
    "  has_location INTEGER NOT NULL DEFAULT 0,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  source TEXT NOT NULL DEFAULT 'patrol',"
    "  reporter TEXT,"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('reported','dispatched','accepted','handled','closed','cancelled')),"
    "  level TEXT NOT NULL DEFAULT 'grid' CHECK (level IN ('grid','community','joint','city')),"
    "  assignee TEXT,"
    "  needs_penalty INTEGER NOT NULL DEFAULT 0,"
    "  handled_on_site INTEGER NOT NULL DEFAULT 0,"
    "  sla_hours REAL,"
    "  rework INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  expected_at INTEGER,"
    "  extra TEXT"
    ");"
    /* cg_cases_list: each equality filter walks its index newest first
     * (seq is the implicit last column of every index). */
    "CREATE INDEX cases_by_grid ON cases(grid);"
    "CREATE INDEX cases_by_status ON cases(status);"
    "CREATE INDEX cases_by_department ON cases(department);"
    "CREATE INDEX cases_by_assignee ON cases(assignee);"
    "CREATE INDEX cases_by_level ON cases(level);"
    "CREATE INDEX cases_by_created ON cases(created_at);"
    /* overdue: only open cases with a deadline; the WHERE must match the
     * one in cases.c for the planner to use it. */
    "CREATE INDEX cases_open_by_expected ON cases(expected_at)"
    "  WHERE status IN ('reported','dispatched','accepted');"
    "CREATE TABLE case_history ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id TEXT NOT NULL REFERENCES cases(id),"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  from_status TEXT,"
    "  to_status TEXT,"
    "  note TEXT"
    ");"
    "CREATE INDEX case_history_by_case ON case_history(case_id, id);"
    "CREATE TABLE outbox ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT UNIQUE NOT NULL,"
    "  case_id TEXT NOT NULL REFERENCES cases(id),"
    "  department TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX outbox_by_case ON outbox(case_id);";

/* Version 2: the place hierarchy (city -> district/zone -> subdistrict ->
 * community/village), the grids with their boundaries (GeoJSON as
 * imported, plus one R*Tree box per polygon part for locate), and who serves
 * where (assignments: one person may serve many grids, a grid has many
 * people; at most one leader per grid). Members gain a terminal and the
 * department-level account flag (sees its department's cases city-wide). */
static const char schema_v2[] =
    "CREATE TABLE places ("
    "  code TEXT PRIMARY KEY,"
    "  level TEXT NOT NULL CHECK (level IN ('city','district','zone','subdistrict','community','village')),"
    "  parent TEXT REFERENCES places(code),"
    "  name_zh TEXT NOT NULL,"
    "  name_en TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE INDEX places_by_parent ON places(parent);"
    "CREATE TABLE grids ("
    "  code TEXT PRIMARY KEY CHECK (length(code) = 14),"
    "  name TEXT NOT NULL,"
    "  type TEXT NOT NULL CHECK (type IN ('community','village')),"
    "  district TEXT NOT NULL REFERENCES places(code),"
    "  subdistrict TEXT NOT NULL REFERENCES places(code),"
    "  community TEXT NOT NULL REFERENCES places(code)," /* community or village */
    "  office_lat REAL NOT NULL,"
    "  office_lon REAL NOT NULL,"
    "  external_id TEXT,"  /* the political-legal 'all-purpose grid' it lines up with */
    "  geometry TEXT NOT NULL" /* GeoJSON Polygon or MultiPolygon, as imported */
    ");"
    "CREATE INDEX grids_by_district ON grids(district);"
    "CREATE INDEX grids_by_subdistrict ON grids(subdistrict);"
    "CREATE INDEX grids_by_community ON grids(community);"
    "CREATE TABLE grid_parts ("
    "  id INTEGER PRIMARY KEY," /* = grid_boxes.id */
    "  grid TEXT NOT NULL REFERENCES grids(code) ON DELETE CASCADE,"
    "  part INTEGER NOT NULL" /* 0-based polygon index in the geometry */
    ");"
    "CREATE INDEX grid_parts_by_grid ON grid_parts(grid);"
    "CREATE VIRTUAL TABLE grid_boxes USING rtree(id, min_lon, max_lon, min_lat, max_lat);"
    "ALTER TABLE members ADD COLUMN name_pinyin TEXT;"
    "ALTER TABLE members ADD COLUMN terminal_id TEXT;"
    "ALTER TABLE members ADD COLUMN department_account INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN updated_at INTEGER;"
    "CREATE UNIQUE INDEX members_by_terminal ON members(terminal_id) WHERE terminal_id IS NOT NULL;"
    "CREATE TABLE assignments ("
    "  member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,"
    "  grid TEXT NOT NULL REFERENCES grids(code) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('leader','instructor','fulltime','professional','optional')),"
    "  department TEXT," /* for professional and optional members: whom they serve for */
    "  PRIMARY KEY (member_id, grid, role),"
    "  CHECK (role NOT IN ('professional','optional') OR department IS NOT NULL)"
    ");"
    "CREATE INDEX assignments_by_grid ON assignments(grid, role, department);"
    "CREATE UNIQUE INDEX one_leader_per_grid ON assignments(grid) WHERE role = 'leader';";

/* Dead letters (plugin runtime): outbox rows the bus gave up on after
 * bus.max_attempts failed deliveries, moved here with the reason so that a
 * restart does not deliver them again (deadletter.c). */
static const char schema_dead_letters[] =
    "CREATE TABLE dead_letters ("
    "  id TEXT PRIMARY KEY," /* the dispatch id */
    "  case_id TEXT NOT NULL REFERENCES cases(id),"
    "  department TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL," /* when the dispatch was made */
    "  dead_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX dead_letters_by_department ON dead_letters(department);"
    "CREATE INDEX dead_letters_by_case ON dead_letters(case_id);";

const cg_migration cg_migrations[] = {
    {"cases, history, outbox, members, tokens", schema_v1},
    {"places, grids, grid boxes, assignments", schema_v2},
    {"dead letters", schema_dead_letters},
};

const size_t cg_migrations_count = sizeof cg_migrations / sizeof cg_migrations[0];
