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

const cg_migration cg_migrations[] = {
    {"cases, history, outbox, members, tokens", schema_v1},
};

const size_t cg_migrations_count = sizeof cg_migrations / sizeof cg_migrations[0];
