/*
 * migrations.c — the versioned schema (see migrations.h). Times are unix
 * milliseconds (INTEGER). Statuses and levels are checked by the database so
 * that no code path can store a value the API does not know.
 */
#include "store/migrations.h"

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
    /* The CHECKs and the partial index below are OR chains, not IN lists:
     * SQLite evaluates a constant IN list of more than two values through a
     * temporary b-tree built for every row written, which was a third of
     * the CPU of storing a case. */
    "  status TEXT NOT NULL CHECK (status = 'reported' OR status = 'dispatched'"
    "    OR status = 'accepted' OR status = 'handled' OR status = 'closed'"
    "    OR status = 'cancelled'),"
    "  level TEXT NOT NULL DEFAULT 'grid' CHECK (level = 'grid' OR level = 'community'"
    "    OR level = 'joint' OR level = 'city'),"
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
    /* overdue: only open cases with a deadline; the WHERE must match
     * OPEN_STATUS_TERM in cases.c, term for term, for the planner to use it. */
    "CREATE INDEX cases_open_by_expected ON cases(expected_at)"
    "  WHERE (status = 'reported' OR status = 'dispatched' OR status = 'accepted');"
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

/* Attendance: check-ins at the grid office, the duty rota, patrols
 * with their track points and the patrol time per member, grid and city day
 * (patrol_days, kept up to date as points arrive so the weekly rule is an
 * indexed query), the device registry, grid meetings with their attendees
 * and the tasks claimed there. Days are city dates 'YYYY-MM-DD' (citydate.h). */
static const char schema_attendance[] =
    "CREATE TABLE checkins ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  member TEXT NOT NULL REFERENCES members(id),"
    "  grid TEXT NOT NULL REFERENCES grids(code),"
    "  at INTEGER NOT NULL,"
    "  day TEXT NOT NULL,"
    "  lat REAL NOT NULL,"
    "  lon REAL NOT NULL,"
    "  distance_m REAL NOT NULL,"
    "  terminal TEXT"
    ");"
    "CREATE INDEX checkins_by_member ON checkins(member, grid, day);"
    "CREATE INDEX checkins_by_grid ON checkins(grid, at);"
    "CREATE INDEX checkins_by_at ON checkins(at);"
    "CREATE TABLE duty_rota ("
    "  grid TEXT NOT NULL REFERENCES grids(code) ON DELETE CASCADE,"
    "  day TEXT NOT NULL,"
    "  member TEXT NOT NULL REFERENCES members(id),"
    "  updated_by TEXT,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (grid, day)"
    ") WITHOUT ROWID;"
    "CREATE INDEX duty_rota_by_member ON duty_rota(member, day);"
    "CREATE TABLE patrols ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  member TEXT NOT NULL REFERENCES members(id),"
    "  grid TEXT NOT NULL REFERENCES grids(code),"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  n_points INTEGER NOT NULL DEFAULT 0,"
    "  last_at INTEGER,"     /* the newest point, to join the next request's first */
    "  last_inside INTEGER,"
    "  inside_ms INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX patrols_by_member ON patrols(member, started_at);"
    "CREATE TABLE patrol_points ("
    "  patrol INTEGER NOT NULL REFERENCES patrols(id),"
    "  seq INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  lat REAL NOT NULL,"
    "  lon REAL NOT NULL,"
    "  inside INTEGER NOT NULL,"
    "  PRIMARY KEY (patrol, seq)"
    ") WITHOUT ROWID;"
    "CREATE TABLE patrol_days ("
    "  member TEXT NOT NULL,"
    "  grid TEXT NOT NULL,"
    "  day TEXT NOT NULL,"
    "  inside_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (member, grid, day)"
    ") WITHOUT ROWID;"
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  type TEXT NOT NULL CHECK (type IN ('terminal','body_camera')),"
    "  serial TEXT NOT NULL UNIQUE,"
    "  holder TEXT REFERENCES members(id),"
    "  issued_at INTEGER,"
    "  returned_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX devices_by_holder ON devices(holder);"
    "CREATE TABLE meetings ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  grid TEXT NOT NULL REFERENCES grids(code),"
    "  day TEXT NOT NULL,"
    "  chair TEXT NOT NULL REFERENCES members(id),"
    "  study_topic TEXT NOT NULL DEFAULT '',"
    "  briefings TEXT NOT NULL DEFAULT '[]',"  /* JSON array of strings */
    "  work_report TEXT NOT NULL DEFAULT '',"
    "  problems TEXT NOT NULL DEFAULT '[]',"   /* JSON array of strings */
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX meetings_by_grid ON meetings(grid, day);"
    "CREATE TABLE meeting_attendees ("
    "  meeting INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,"
    "  member TEXT NOT NULL REFERENCES members(id),"
    "  PRIMARY KEY (meeting, member)"
    ") WITHOUT ROWID;"
    "CREATE INDEX meeting_attendees_by_member ON meeting_attendees(member);"
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  meeting INTEGER REFERENCES meetings(id),"
    "  grid TEXT NOT NULL REFERENCES grids(code),"
    "  title TEXT NOT NULL,"
    "  claimed_by TEXT NOT NULL REFERENCES members(id),"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done')),"
    "  created_at INTEGER NOT NULL,"
    "  done_at INTEGER,"
    "  done_by TEXT"
    ");"
    "CREATE INDEX tasks_by_assignee ON tasks(claimed_by, status);"
    "CREATE INDEX tasks_by_grid ON tasks(grid, status);"
    "CREATE INDEX tasks_by_meeting ON tasks(meeting);";

/* Workflow: the next automatic escalation time (deadlines.c arms
 * one timer for the smallest; the partial index is the sorted set), whether
 * an approved postponement moved the deadline, transfers counted as
 * misroutes, the citizen's rating, the business licence a plugin linked,
 * what the handle verb must carry (comma list, e.g. "penalty_decision"),
 * who reported back. Event deliveries (transitions, escalations) to plugins
 * ride the outbox with event = 1. */
static const char schema_workflow[] =
    "ALTER TABLE cases ADD COLUMN escalate_at INTEGER;"
    "ALTER TABLE cases ADD COLUMN postponed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cases ADD COLUMN misroutes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cases ADD COLUMN satisfaction INTEGER;"
    "ALTER TABLE cases ADD COLUMN licence_no TEXT;"
    "ALTER TABLE cases ADD COLUMN requires TEXT;"
    "ALTER TABLE cases ADD COLUMN handled_by TEXT;"
    "UPDATE cases SET escalate_at = expected_at WHERE expected_at IS NOT NULL"
    "  AND (status = 'reported' OR status = 'dispatched' OR status = 'accepted');"
    "CREATE INDEX cases_by_escalate_at ON cases(escalate_at) WHERE escalate_at IS NOT NULL;"
    "ALTER TABLE outbox ADD COLUMN event INTEGER NOT NULL DEFAULT 0;";

/* Evidence and duplicates: photos attached to a case (the bytes
 * live in STATE_DIR/evidence/ by SHA-256; a photo attached twice at the same
 * stage is one row), and the index the duplicate check walks: open cases by
 * category and place. Its WHERE is OPEN_STATUS_TERM of cases.c, term for
 * term (duplicates.c repeats it), so the planner can use it; closing a case
 * takes it out of the index by itself. */
static const char schema_evidence[] =
    "CREATE TABLE case_photos ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id TEXT NOT NULL REFERENCES cases(id),"
    "  stage TEXT NOT NULL CHECK (stage = 'before' OR stage = 'after'),"
    "  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
    "  content_type TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  uploader TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  UNIQUE (case_id, stage, sha256)"
    ");"
    "CREATE INDEX case_photos_by_sha256 ON case_photos(sha256);"
    /* Covering (created_at, id, status): the duplicate check reads no table row. */
    "CREATE INDEX cases_open_by_place ON cases(category, lat, lon, created_at, id, status)"
    "  WHERE (status = 'reported' OR status = 'dispatched' OR status = 'accepted');";

/* Assessment (assessment.h): the facts the monthly indicators need
 * per case, kept up to date by cg_cases_apply_change in the same
 * transaction as the verb: when it was last handled (handled_at; an on-site
 * case keeps NULL and counts as handled when reported), how often it was
 * reopened, how many reports were cancelled as its duplicates. Existing
 * cases get them from their history. cases_by_due is what the monthly
 * report ranges over: a case is due at its deadline, or when it was
 * reported if it has none (assessment.c repeats the expression exactly, so
 * the planner can use the index). */
static const char schema_assessment[] =
    "ALTER TABLE cases ADD COLUMN handled_at INTEGER;"
    "ALTER TABLE cases ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cases ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;"
    "UPDATE cases SET handled_at = (SELECT max(h.at) FROM case_history h"
    "  WHERE h.case_id = cases.id AND h.action = 'handle')"
    "  WHERE status = 'handled' OR status = 'closed';"
    "UPDATE cases SET reopens = (SELECT count(*) FROM case_history h"
    "  WHERE h.case_id = cases.id AND h.action = 'reopen');"
    "UPDATE cases SET duplicates = (SELECT count(*) FROM case_history h"
    "  WHERE h.case_id = cases.id AND h.action = 'duplicate');"
    "CREATE INDEX cases_by_due ON cases(coalesce(expected_at, created_at));";

/* Escalation details: which city body a case at level `city` went
 * to (citybody.h: city_enforcement_bureau, civilisation_office,
 * district_government, zone_committee), and which departments a joint task
 * convened (JSON array text). Subscribers' event copies ride the outbox
 * with event = 2 (no schema change). */
static const char schema_escalation[] =
    "ALTER TABLE cases ADD COLUMN city_body TEXT;"
    "ALTER TABLE cases ADD COLUMN joint_departments TEXT;";

/* Each member's open cases (reported, dispatched, accepted), kept by
 * triggers in the transaction that moves the case, so that a dispatch can
 * carry every candidate's workload without counting their cases (which
 * grows with the backlog: counting made intake fall with every open case). */
#define OPEN_CASE(row) \
    "(" row ".status = 'reported' OR " row ".status = 'dispatched' OR " row ".status = 'accepted')"
static const char schema_member_load[] =
    "CREATE TABLE member_open_cases ("
    "  member_id TEXT PRIMARY KEY,"
    "  n INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO member_open_cases(member_id, n)"
    "  SELECT assignee, count(*) FROM cases c"
    "  WHERE assignee IS NOT NULL AND " OPEN_CASE("c") " GROUP BY assignee;"
    "CREATE TRIGGER member_open_after_insert AFTER INSERT ON cases"
    "  WHEN NEW.assignee IS NOT NULL AND " OPEN_CASE("NEW") " BEGIN"
    "  INSERT INTO member_open_cases(member_id, n) VALUES (NEW.assignee, 1)"
    "    ON CONFLICT(member_id) DO UPDATE SET n = n + 1;"
    "  END;"
    "CREATE TRIGGER member_open_after_update AFTER UPDATE OF assignee, status ON cases"
    "  WHEN (OLD.assignee IS NOT NEW.assignee) OR (" OPEN_CASE("OLD") ") <> (" OPEN_CASE("NEW") ") BEGIN"
    "  UPDATE member_open_cases SET n = n - 1"
    "    WHERE member_id = OLD.assignee AND " OPEN_CASE("OLD") ";"
    "  INSERT INTO member_open_cases(member_id, n)"
    "    SELECT NEW.assignee, 1 WHERE NEW.assignee IS NOT NULL AND " OPEN_CASE("NEW")
    "    ON CONFLICT(member_id) DO UPDATE SET n = n + 1;"
    "  END;"
    "CREATE TRIGGER member_open_after_delete AFTER DELETE ON cases"
    "  WHEN OLD.assignee IS NOT NULL AND " OPEN_CASE("OLD") " BEGIN"
    "  UPDATE member_open_cases SET n = n - 1 WHERE member_id = OLD.assignee;"
    "  END;";
#undef OPEN_CASE

/* Which grids a member serves and manages: the scope rule, written once.
 * One row per (member, grid) they have any assignment in; `manages` when
 * they are its leader or instructor, `leads` when its leader. Every "the
 * grids of member X" query (scope.c, the routine lists, members.c) reads
 * this view: `grid IN (SELECT grid FROM member_grids WHERE member_id = ?)`.
 * SQLite pushes the member_id term into the GROUP BY, so it stays a lookup
 * on the assignments primary key. */
static const char schema_member_grids[] =
    "CREATE VIEW member_grids(member_id, grid, manages, leads) AS"
    "  SELECT member_id, grid, max(role = 'leader' OR role = 'instructor'), max(role = 'leader')"
    "  FROM assignments GROUP BY member_id, grid;";

/* Open311 (GeoReport v2): the API keys of the platforms that report through
 * it (only the SHA-256 of a key is stored; a key is a named source, and its
 * cases carry source = 'open311:NAME'), and the contact details a report
 * came with, kept apart from the case row so that no case listing can show
 * them by accident. cases_by_source serves the updates feed of one key. */
static const char schema_open311[] =
    "CREATE TABLE open311_keys ("
    "  name TEXT PRIMARY KEY,"
    "  key_hash TEXT UNIQUE NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE TABLE case_contacts ("
    "  case_id TEXT PRIMARY KEY REFERENCES cases(id),"
    "  contact TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX cases_by_source ON cases(source);";

/* Data-source queries (sources/audit.h): the audit is append-only. Every
 * row is chained to the previous by hash (sources/chain.h); the triggers
 * refuse any UPDATE, and any DELETE but the retention purge's: a row may go
 * only once a purge row (audit_purges, itself append-only) covers its seq,
 * and that purge is anchored on the hash of the last row it removed, so the
 * rows that stay still verify. members.auditor: may read the audit. */
static const char schema_query_audit[] =
    "CREATE TABLE query_audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"            /* unix ms */
    "  kind TEXT NOT NULL,"             /* query, purge */
    "  member_id TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  department TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  params TEXT NOT NULL,"           /* JSON object */
    "  reason TEXT NOT NULL,"
    "  case_id TEXT,"
    "  outcome TEXT NOT NULL,"          /* ok, timeout, unavailable, error */
    "  rows INTEGER NOT NULL,"
    "  unmasked TEXT NOT NULL,"         /* JSON array of field names */
    "  instance TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ");"
    "CREATE INDEX query_audit_by_member ON query_audit(member_id, at);"
    "CREATE TABLE audit_purges ("
    "  upto INTEGER PRIMARY KEY,"       /* rows with seq <= upto were purged */
    "  anchor TEXT NOT NULL,"           /* the hash of row `upto` */
    "  at INTEGER NOT NULL"
    ");"
    "CREATE TRIGGER query_audit_no_update BEFORE UPDATE ON query_audit"
    "  BEGIN SELECT RAISE(ABORT, 'query_audit is append-only'); END;"
    "CREATE TRIGGER query_audit_no_delete BEFORE DELETE ON query_audit"
    "  WHEN OLD.seq > (SELECT coalesce(max(upto), 0) FROM audit_purges)"
    "  BEGIN SELECT RAISE(ABORT, 'query_audit is append-only'); END;"
    "CREATE TRIGGER audit_purges_no_update BEFORE UPDATE ON audit_purges"
    "  BEGIN SELECT RAISE(ABORT, 'audit_purges is append-only'); END;"
    "CREATE TRIGGER audit_purges_no_delete BEFORE DELETE ON audit_purges"
    "  BEGIN SELECT RAISE(ABORT, 'audit_purges is append-only'); END;"
    "ALTER TABLE members ADD COLUMN auditor INTEGER NOT NULL DEFAULT 0;";

/* A member can be deactivated (PATCH /v1/members/{id} {"active": false}):
 * the row and its history stay, but no login or token lets them in. */
static const char schema_member_active[] =
    "ALTER TABLE members ADD COLUMN active INTEGER NOT NULL DEFAULT 1;";

/* The requests that reported a case, by a key that names each (a signed
 * inbound request's signature), written in the case's transaction: a
 * replay is refused after a restart as before it. Rows older than twice
 * the replay window are dropped as new ones come (at_s is unix seconds). */
static const char schema_request_keys[] =
    "CREATE TABLE request_keys ("
    "  key TEXT PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  at_s INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX request_keys_by_age ON request_keys(at_s);";

/* The dispatch payload's members (grids.c cg_grids_dispatch_members), a
 * lookup per report: with the rows in member order in the index, SQLite
 * needs no sort (a temporary B-tree per report, half the query's work). */
static const char schema_dispatch_members[] =
    "CREATE INDEX assignments_for_dispatch ON assignments(grid, department, member_id)"
    "  WHERE role IN ('professional','optional');";

const cg_migration cg_migrations[] = {
    {"cases, history, outbox, members, tokens", schema_v1},
    {"places, grids, grid boxes, assignments", schema_v2},
    {"dead letters", schema_dead_letters},
    {"check-ins, duty rota, patrols, devices, meetings, tasks", schema_attendance},
    {"workflow: escalation timer, postponement, misroutes, rating, requirements", schema_workflow},
    {"case photos, open cases by place", schema_evidence},
    {"assessment: handled_at, reopens, duplicates, cases by due time", schema_assessment},
    {"escalation: city body, joint departments", schema_escalation},
    {"members' open-case counters", schema_member_load},
    {"member_grids: the grids a member serves, manages, leads", schema_member_grids},

    {"open311: keys, reporters' contact details, cases by source", schema_open311},
    {"data-source query audit (append-only, chained), auditors", schema_query_audit},
    {"members can be deactivated", schema_member_active},
    {"request keys: the signed requests that reported a case (replays)", schema_request_keys},
    {"assignments in member order for the dispatch payload", schema_dispatch_members},
};

const size_t cg_migrations_count = sizeof cg_migrations / sizeof cg_migrations[0];
