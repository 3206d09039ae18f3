// SqlLeaseStore against a real SQLite database through apr_dbd (or the
// PostgreSQL or MySQL/MariaDB server given on the command line): what is
// particular to SQL stores. The lease semantics every store shares are in
// test_store_conformance.
#include <apr_dbd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <string.h>

#include <memory>

#include "bg_output.h"
#include "bg_slot.h"
#include "bg_sql_store.h"
#include "db_util.h"
#include "test_util.h"

using bg::AcquireRequest;
using bg::AcquireResult;
using bg::RenewResult;
using bg::RunOutcome;
using bg::RunRecord;
using bg::SqlLeaseStore;

namespace {

// The database under test: SQLite in a temporary file, or (with command-line
// arguments) a PostgreSQL or MySQL/MariaDB server the integration tests started.
const char* g_driver = "sqlite3";
const char* g_params = nullptr;

bool IsSqlite() { return strcmp(g_driver, "sqlite3") == 0; }

struct Fixture : testutil::TempDir {
  Fixture();
  ~Fixture() { apr_pool_destroy(pool); }
  apr_pool_t* pool = nullptr;
  std::string path;    // SQLite's file
  std::string params;  // the store's parameters
};
const auto Setup = &testutil::SetupFixture<Fixture>;
const auto Teardown = &testutil::TeardownFixture<Fixture>;

std::unique_ptr<SqlLeaseStore> Open(Fixture* f, const std::string& params = "") {
  return SqlLeaseStore::Open(f->pool, g_driver, params.empty() ? f->params : params);
}

int64_t WallMs() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

// Sleeps until just after the next multiple of `every` on the wall clock
// (which is SQLite's clock).
void SleepToNextSlot(int64_t every) {
  int64_t now = WallMs();
  int64_t next = (now / every + 1) * every + 5;
  usleep(static_cast<useconds_t>((next - now) * 1000));
}

// The current slot of `every` on this host's clock (the database's: the
// same host) and the next, as a scheduler proposes them.
AcquireRequest Req(const std::string& holder, int64_t every = 200, int64_t lease = 60000) {
  AcquireRequest r;
  r.key = "job";
  r.every_ms = every;
  r.start_ms = WallMs() / every * every;
  r.next_ms = r.start_ms + every;
  r.slot = r.start_ms / every;
  r.lease_ms = lease;
  r.holder = holder;
  r.node = "node-a";
  return r;
}

using testutil::Direct;

int64_t QueryInt(Fixture* f, const char* sql) { return Direct(f->pool, g_driver, f->params).Int(sql); }

// Each test starts without tables.
Fixture::Fixture() {
  apr_pool_create(&pool, nullptr);
  path = dir + "/bg.db";
  params = IsSqlite() ? path : g_params;
  if (!IsSqlite()) {
    Direct db(pool, g_driver, params);
    for (const char* t : {"backgrounder_runs", "backgrounder_jobs", "backgrounder_schema"}) {
      db.Exec((std::string("DROP TABLE IF EXISTS ") + t).c_str());
    }
  }
}

}  // namespace

static void test_schema_and_wal(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  auto store = Open(f);
  assert_ok(store->EnsureSchema());
  assert_ok(store->EnsureSchema());  // idempotent
  assert_int_equal(QueryInt(f, "SELECT version FROM backgrounder_schema WHERE id = 1"), bg::kSchemaVersion);
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_jobs"), 0);
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_runs"), 0);
  if (IsSqlite()) assert_string_equal(Direct(f->pool, g_driver, f->params).Text("PRAGMA journal_mode").c_str(), "wal");
}

static void test_newer_schema_refused(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  assert_ok(Open(f)->EnsureSchema());
  Direct(f->pool, g_driver, f->params).Exec("UPDATE backgrounder_schema SET version = 99 WHERE id = 1");
  auto store = Open(f);
  bg::Status st = store->EnsureSchema();
  assert_false(st.ok());
  assert_false(st.unavailable());  // not a transient error: retrying will not help
  assert_contains(st.message(), "schema version 99");
  assert_contains(st.message(), "newer than this mod_backgrounder understands");
  // Nothing was touched.
  assert_int_equal(QueryInt(f, "SELECT version FROM backgrounder_schema"), 99);
  AcquireResult r;
  assert_false(store->Acquire(Req("h"), &r).ok());
}

// Tables of schema version 1 as an early build made them (lacking some of
// version 1's later columns too), with a job 'old'.
static void CreateVersion1Tables(Fixture* f) {
  {
    Direct db(f->pool, g_driver, f->params);
    db.Exec("CREATE TABLE backgrounder_jobs (name VARCHAR(200) NOT NULL PRIMARY KEY, token BIGINT NOT NULL DEFAULT 0, "
            "holder VARCHAR(255) NOT NULL DEFAULT '', node VARCHAR(255) NOT NULL DEFAULT '', expires_ms BIGINT NOT NULL "
            "DEFAULT 0, slot BIGINT NOT NULL DEFAULT 0, slot_start_ms BIGINT NOT NULL DEFAULT 0, every_ms BIGINT NOT NULL "
            "DEFAULT 0, started_ms BIGINT NOT NULL DEFAULT 0, ended_ms BIGINT NOT NULL DEFAULT 0, "
            "outcome VARCHAR(32) NOT NULL DEFAULT '')");
    db.Exec("CREATE TABLE backgrounder_runs (lease_key VARCHAR(200) NOT NULL, job VARCHAR(64) NOT NULL, token BIGINT "
            "NOT NULL, slot BIGINT NOT NULL, slot_start_ms BIGINT NOT NULL, node VARCHAR(255) NOT NULL, holder "
            "VARCHAR(255) NOT NULL, started_ms BIGINT NOT NULL, ended_ms BIGINT, outcome VARCHAR(32) NOT NULL, "
            "exit_code INTEGER, detail VARCHAR(1000), output_tail TEXT, PRIMARY KEY (lease_key, token))");
    db.Exec("CREATE TABLE backgrounder_schema (id INTEGER NOT NULL PRIMARY KEY, version INTEGER NOT NULL)");
    db.Exec("INSERT INTO backgrounder_schema VALUES (1, 1)");
    db.Exec("INSERT INTO backgrounder_jobs (name, token, every_ms, outcome) VALUES ('old', 41, 60000, 'success')");
    db.Exec("INSERT INTO backgrounder_runs (lease_key, job, token, slot, slot_start_ms, node, holder, started_ms, "
            "ended_ms, outcome) VALUES ('old', 'old', 41, 1, 60000, 'n', 'h', 1, 2, 'success')");
  }
}

// Tables of schema version 1 are upgraded in place: rows kept, columns
// added, version raised; twice is harmless.
static void test_migration_from_version_1(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  CreateVersion1Tables(f);
  auto store = Open(f);
  assert_ok(store->EnsureSchema());
  assert_int_equal(QueryInt(f, "SELECT version FROM backgrounder_schema WHERE id = 1"), bg::kSchemaVersion);
  assert_int_equal(QueryInt(f, "SELECT token FROM backgrounder_jobs WHERE name = 'old'"), 41);
  assert_int_equal(QueryInt(f, "SELECT paused + run_requested_ms + failures FROM backgrounder_jobs"), 0);
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_runs WHERE output_head IS NULL"), 1);
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_jobs WHERE tzdata = ''"), 1);  // version 3
  // A server that stopped half-way (columns added, version not raised) is finished.
  Direct(f->pool, g_driver, f->params).Exec("UPDATE backgrounder_schema SET version = 1");
  assert_ok(Open(f)->EnsureSchema());
  assert_int_equal(QueryInt(f, "SELECT version FROM backgrounder_schema WHERE id = 1"), bg::kSchemaVersion);
  std::vector<bg::JobRow> rows;
  int64_t now = 0;
  assert_ok(store->ReadJobs(&rows, &now));
  assert_int_equal(rows.size(), 1);
  assert_string_equal(rows[0].key.c_str(), "old");
  assert_int_equal(rows[0].token, 41);
  // Every statement works on the upgraded tables.
  const int64_t every = 60 * 60 * 1000;
  assert_ok(store->Seed("new", every));
  bool found = false;
  assert_ok(store->RequestRun("new", &found));
  AcquireResult r;
  assert_ok(store->Acquire(Req("h", every), &r));  // key "job": missing
  assert_true(r.missing);
  AcquireRequest req = Req("h", every);
  req.key = "new";
  assert_ok(store->Acquire(req, &r));
  assert_true(r.acquired);
  RunRecord rec;
  rec.key = rec.job = "new";
  rec.token = r.token;
  rec.node = "n";
  rec.holder = "h";
  rec.started_ms = r.db_now_ms;
  rec.outcome = RunOutcome::kSuccess;
  rec.http_status = 204;
  rec.attempts = 2;
  assert_ok(store->RecordRunStart(rec));
  assert_ok(store->RecordRunEnd(rec));
  bool released = false;
  assert_ok(store->Release("new", r.token, "h", RunOutcome::kSuccess, &released));
  assert_true(released);
  std::vector<RunRecord> runs;
  assert_ok(store->ReadRuns("new", 5, &runs));
  assert_int_equal(runs.size(), 1);
  assert_int_equal(runs[0].http_status, 204);
  assert_int_equal(runs[0].attempts, 2);
}

// With no job rows the clock is read on its own (an unprepared statement,
// where apr_dbd's %% escaping must not be used).
static void test_clock_of_an_empty_store(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  std::unique_ptr<SqlLeaseStore> store = Open(f);
  assert_ok(store->EnsureSchema());
  std::vector<bg::JobRow> rows;
  int64_t now = 0;
  assert_ok(store->ReadJobs(&rows, &now));
  assert_int_equal(rows.size(), 0);
  if (llabs(now - WallMs()) >= 5000) fail_msg("database clock %lld, this host's %lld", (long long)now, (long long)WallMs());
}

static void test_unavailable_and_reconnect(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  if (!IsSqlite()) {
    // A server that does not listen there: Unavailable, and the message
    // names the server but never the password.
    auto bad = Open(f, "host=127.0.0.1 port=1 dbname=x user=u password=hunter2 pass=hunter2");
    bg::Status st = bad->EnsureSchema();
    assert_false(st.ok());
    assert_true(st.unavailable());
    assert_contains(st.message(), "127.0.0.1");
    assert_true(st.message().find("hunter2") == std::string::npos);
    return;
  }
  auto bad = Open(f, f->dir + "/no/such/dir/bg.db");
  bg::Status st = bad->EnsureSchema();
  assert_false(st.ok());
  assert_true(st.unavailable());
  assert_contains(st.message(), "sqlite3:" + f->dir + "/no/such/dir/bg.db");
  // Once the directory exists, the same store works: it reconnects by itself.
  mkdir((f->dir + "/no").c_str(), 0755);
  mkdir((f->dir + "/no/such").c_str(), 0755);
  mkdir((f->dir + "/no/such/dir").c_str(), 0755);
  assert_ok(bad->Seed("job", 200));
}

static void test_statement_count(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  auto a = Open(f);
  assert_ok(a->Seed("job", 200));
  SleepToNextSlot(200);
  const uint64_t before = a->statements();
  AcquireResult r;
  assert_ok(a->Acquire(Req("h1"), &r));
  assert_true(r.acquired);
  // A winner: one statement (UPDATE ... RETURNING); MySQL has no RETURNING
  // for UPDATE, so an update and a read-back.
  assert_int_equal(a->statements() - before, strcmp(g_driver, "mysql") == 0 ? 2 : 1);
  AcquireResult r2;
  const uint64_t before2 = a->statements();
  assert_ok(a->Acquire(Req("h2"), &r2));
  assert_false(r2.acquired);
  assert_int_equal(a->statements() - before2, 2);  // a loser: the update and the read of why
}

// Several processes hammering one database (children of one httpd, or two
// generations) never see "database is locked", and the lease stays
// exclusive. Leases are long (only a release frees a key) and every
// process's first hold, and every other one after, outlasts a slot, so
// holds cross slot starts where a later slot is due while the key is held.
// Each hold is recorded as the run's start (the acquisition's database
// clock) and end (recorded before the release, so inside the hold).
static void test_contention_between_processes(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  assert_ok(Open(f)->EnsureSchema());
  constexpr int kProcs = 6, kOps = 150;
  constexpr int64_t kEvery = 50;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    if (pid == 0) {
      apr_pool_t* pool = nullptr;
      apr_pool_create(&pool, nullptr);
      std::unique_ptr<SqlLeaseStore> store = SqlLeaseStore::Open(pool, g_driver, f->params);
      int errors = 0, holds = 0;
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "job" + std::to_string(i % 3);
        errors += !store->Seed(key, kEvery).ok();
        AcquireRequest r = Req("h" + std::to_string(p) + "-" + std::to_string(i), kEvery, 60000);
        r.key = key;
        AcquireResult res;
        errors += !store->Acquire(r, &res).ok();
        if (res.acquired) {
          RunRecord rec;
          rec.key = rec.job = key;
          rec.token = res.token;
          rec.slot = res.slot;
          rec.slot_start_ms = res.slot_start_ms;
          rec.node = "n";
          rec.holder = r.holder;
          rec.started_ms = res.db_now_ms;
          errors += !store->RecordRunStart(rec).ok();
          usleep(holds++ % 2 == 0 ? (kEvery + 10) * 1000 : 10 * 1000);
          rec.outcome = RunOutcome::kSuccess;
          errors += !store->RecordRunEnd(rec).ok();
          bool released = false;
          errors += !store->Release(key, res.token, r.holder, RunOutcome::kSuccess, &released).ok();
          errors += !released;  // nobody else can have taken a held key
        }
        usleep(3000);  // spread the work over many slots
      }
      _exit(errors > 100 ? 100 : errors);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fail_msg("a process saw %d store errors or lost releases", WEXITSTATUS(status));
  }
  const int64_t runs = QueryInt(f, "SELECT count(*) FROM backgrounder_runs");
  if (runs < 10) fail_msg("only %lld acquisitions: the test did not exercise contention", static_cast<long long>(runs));
  // The test held keys across slot starts (where only the lease keeps a due slot out).
  const int64_t crossing = QueryInt(f, "SELECT count(*) FROM backgrounder_runs WHERE ended_ms >= slot_start_ms + 50");
  if (crossing < 3) fail_msg("only %lld holds crossed a slot start", static_cast<long long>(crossing));
  // Every slot of a key at most once (the slot condition).
  assert_int_equal(runs,
                   QueryInt(f, "SELECT count(*) FROM (SELECT DISTINCT lease_key, slot FROM backgrounder_runs) d"));
  // Each key's tokens are 1..n without a gap: every acquisition was recorded.
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_jobs j WHERE token <> (SELECT count(*) FROM "
                               "backgrounder_runs r WHERE r.lease_key = j.name AND r.token BETWEEN 1 AND j.token)"),
                   0);
  assert_int_equal(
      QueryInt(f, "SELECT count(*) FROM backgrounder_runs WHERE ended_ms IS NULL OR ended_ms < started_ms"), 0);
  // No hold began before the previous hold of its key ended (the expiry condition).
  const int64_t overlaps =
      QueryInt(f, "SELECT count(*) FROM backgrounder_runs a JOIN backgrounder_runs b ON b.lease_key = a.lease_key "
                  "AND b.token = a.token + 1 WHERE b.started_ms < a.ended_ms");
  if (overlaps != 0) fail_msg("%lld holds began before the previous one of their key ended", (long long)overlaps);
}

namespace {

// Bytes a careless or hostile job hands over: invalid UTF-8, NUL, escape
// sequences, DEL, newline, tab, CR, overlong and surrogate forms, a cut
// sequence; valid UTF-8 (2 and 4 bytes) too. Padded to n bytes.
std::string Hostile(size_t n) {
  std::string s("start \xff\xfe nul:", 13);
  s.push_back('\0');
  s += " esc:\x1b[31m del:\x7f nl:\n tab:\t cr:\r caf\xc3\xa9 \xf0\x9f\x98\x80 overlong:\xc0\xaf "
       "surrogate:\xed\xa0\x80 cut:\xe2\x82";
  while (s.size() < n) s += "x\xff";
  s.resize(n);
  return s;
}
const char kHostileEscaped[] =
    "start \\xff\\xfe nul:\\x00 esc:\\x1b[31m del:\\x7f nl:\\x0a tab:\\x09 cr:\\x0d caf\xc3\xa9 \xf0\x9f\x98\x80 "
    "overlong:\\xc0\\xaf surrogate:\\xed\\xa0\\x80 cut:\\xe2\\x82";

// What any database takes in any column: valid UTF-8, no control character
// (newline and tab only where multi_line), at most max_bytes bytes.
void AssertStorable(const std::string& v, size_t max_bytes, bool multi_line, const char* what) {
  if (v.size() > max_bytes) fail_msg("%s: %zu bytes, more than %zu", what, v.size(), max_bytes);
  for (size_t i = 0; i < v.size();) {
    const size_t n = bg::Utf8SequenceLength(v, i);
    if (n == 0) fail_msg("%s: invalid UTF-8 at byte %zu", what, i);
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (n == 1 && (c < 0x20 || c == 0x7f) && !(multi_line && (c == '\n' || c == '\t'))) {
      fail_msg("%s: control character 0x%02x at byte %zu", what, c, i);
    }
    i += n;
  }
}

bool EndsWith(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

// Every string field of the history, written with hostile bytes and far
// beyond its column, reads back valid, escaped and bounded: on every
// database (PostgreSQL refused such a run's end, SQLite stored raw bytes).
static void test_hostile_history_strings(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  auto store = Open(f);
  assert_ok(store->EnsureSchema());
  const std::string key("key\xff\x01\n", 6);  // a key is escaped, never cut
  RunRecord rec;
  rec.key = key;
  rec.job = Hostile(5000);
  rec.token = 1;
  rec.slot = 1;
  rec.slot_start_ms = 1000;
  rec.node = Hostile(5000);
  rec.holder = std::string("holder\xfe\0x", 9);
  rec.started_ms = WallMs();
  assert_ok(store->RecordRunStart(rec));
  rec.outcome = RunOutcome::kFailure;
  rec.detail = Hostile(5000);
  rec.output_head = Hostile(100000);
  rec.output_tail = Hostile(3000);
  assert_ok(store->RecordRunEnd(rec));
  RunRecord no_start = rec;  // an end without a recorded start: the insert
  no_start.token = 2;
  assert_ok(store->RecordRunEnd(no_start));
  RunRecord abandoned = rec;
  abandoned.token = 3;
  assert_ok(store->RecordRunStart(abandoned));
  assert_ok(store->RecordAbandoned(key, 3, Hostile(5000)));
  std::vector<RunRecord> runs;
  assert_ok(store->ReadRuns(key, 10, &runs));  // the key, escaped alike on every call, finds its rows
  assert_int_equal(runs.size(), 3);
  for (const RunRecord& r : runs) {
    AssertStorable(r.job, bg::kJobColumnSize, false, "job");
    AssertStorable(r.node, bg::kNodeColumnSize, false, "node");
    AssertStorable(r.holder, bg::kHolderColumnSize, false, "holder");
    AssertStorable(r.detail, bg::kDetailColumnSize, false, "detail");
    AssertStorable(r.output_head, bg::kTextColumnSize, true, "output_head");
    AssertStorable(r.output_tail, bg::kTextColumnSize, true, "output_tail");
    assert_string_equal(r.holder.c_str(), "holder\\xfe\\x00x");
    assert_true(EndsWith(r.job, "...") && EndsWith(r.node, "..."));
    assert_true(r.node.size() >= bg::kNodeColumnSize - 3);
  }
  assert_true(runs[0].outcome == RunOutcome::kAbandoned);
  assert_true(runs[2].outcome == RunOutcome::kFailure);
  const RunRecord& full = runs[2];
  assert_int_equal(full.detail.compare(0, strlen(kHostileEscaped), kHostileEscaped), 0);
  assert_true(EndsWith(full.detail, "...") && full.detail.size() >= bg::kDetailColumnSize - 6);
  assert_true(EndsWith(full.output_head, "...") && full.output_head.size() >= bg::kTextColumnSize - 6);
  assert_contains(full.output_head, " nl:\n tab:\t cr:\\x0d ");  // newline and tab stay in the output
  assert_true(full.output_tail.size() > 3000 && !EndsWith(full.output_tail, "..."));  // escaped, not cut
  assert_string_equal(runs[1].detail.c_str(), full.detail.c_str());
  AssertStorable(runs[0].detail, bg::kDetailColumnSize, false, "abandoned detail");
  assert_int_equal(runs[0].detail.compare(0, strlen(kHostileEscaped), kHostileEscaped), 0);
}

// A cut never splits a character: a 4-byte one that would cross the limit
// goes whole, one that fits stays; a value that fits exactly is kept as is.
static void test_cut_at_a_character_boundary(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  auto store = Open(f);
  const std::string emoji = "\xf0\x9f\x98\x80";
  const std::string fits_before_mark = std::string(993, 'a') + emoji + "tail";
  const std::string crosses_mark = std::string(995, 'a') + emoji + "tail";
  const std::string exact = std::string(996, 'a') + emoji;
  const std::string details[] = {fits_before_mark, crosses_mark, exact};
  const std::string expected[] = {std::string(993, 'a') + emoji + "...", std::string(995, 'a') + "...", exact};
  for (int i = 0; i < 3; ++i) {
    RunRecord rec;
    rec.key = rec.job = "job";
    rec.token = i + 1;
    rec.node = "n";
    rec.holder = "h";
    rec.started_ms = WallMs();
    rec.outcome = RunOutcome::kSuccess;
    rec.detail = details[i];
    assert_ok(store->RecordRunEnd(rec));
  }
  std::vector<RunRecord> runs;
  assert_ok(store->ReadRuns("job", 10, &runs));
  assert_int_equal(runs.size(), 3);
  for (int i = 0; i < 3; ++i) {
    const std::string& got = runs[2 - i].detail;
    AssertStorable(got, bg::kDetailColumnSize, false, "detail");
    if (got != expected[i]) fail_msg("detail %d: %zu bytes, expected %zu", i, got.size(), expected[i].size());
  }
}

// Job rows: the key and holder are escaped alike in every statement (the
// lease works with hostile bytes in them), the node is cut; a key or holder
// too long for its column is refused, never cut into another job's name.
static void test_hostile_lease_strings(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  auto store = Open(f);
  AcquireRequest req = Req(std::string("h\xff\0\x1b", 4));
  req.key = std::string("job\xfe\t", 5);
  req.node = Hostile(5000);
  assert_ok(store->Seed(req.key, 200));
  SleepToNextSlot(200);
  const AcquireRequest current = Req(req.holder);  // the slot that has just begun
  req.start_ms = current.start_ms;
  req.next_ms = current.next_ms;
  AcquireResult r;
  assert_ok(store->Acquire(req, &r));
  assert_true(r.acquired);
  RenewResult rr;
  assert_ok(store->Renew(req.key, r.token, req.holder, 3000, &rr));
  assert_true(rr.renewed);
  std::vector<bg::JobRow> rows;
  int64_t now = 0;
  assert_ok(store->ReadJobs(&rows, &now));
  assert_int_equal(rows.size(), 1);
  assert_string_equal(rows[0].key.c_str(), "job\\xfe\\x09");
  assert_string_equal(rows[0].holder.c_str(), "h\\xff\\x00\\x1b");
  AssertStorable(rows[0].node, bg::kNodeColumnSize, false, "node");
  assert_int_equal(rows[0].node.compare(0, strlen(kHostileEscaped), kHostileEscaped), 0);
  bool found = false;
  assert_ok(store->SetPaused(req.key, true, &found));
  assert_true(found);
  bool released = false;
  assert_ok(store->Release(req.key, r.token, req.holder, RunOutcome::kSuccess, &released));
  assert_true(released);

  AcquireRequest long_key = req;
  long_key.key = std::string(bg::kKeyColumnSize + 1, 'k');
  bg::Status st = store->Seed(long_key.key, 200);
  assert_false(st.ok());
  assert_false(st.unavailable());
  assert_contains(st.message(), "longer than its column");
  assert_false(store->Acquire(long_key, &r).ok());
  RunRecord rec;
  rec.key = rec.job = "job";
  rec.token = 1;
  rec.holder = std::string(bg::kHolderColumnSize + 1, 'h');
  assert_false(store->RecordRunStart(rec).ok());
  rec.key = std::string(bg::kKeyColumnSize, 'k');  // exactly fits
  rec.holder = "h";
  assert_ok(store->RecordRunStart(rec));
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_runs"), 1);
  assert_int_equal(QueryInt(f, "SELECT count(*) FROM backgrounder_jobs"), 1);
  // The store still works after the refusals (they are not store errors).
  assert_ok(store->ReadJobs(&rows, &now));
}

// A viewer (the status page) creates nothing: no database file, no table,
// no column, no schema row, no WAL switch.
static void test_viewer_never_creates_or_migrates(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  bg::SqlStoreOptions viewer;
  viewer.viewer = true;
  auto v = SqlLeaseStore::Open(f->pool, g_driver, f->params, viewer);
  std::vector<bg::JobRow> rows;
  int64_t now = 0;
  bg::Status st = v->ReadJobs(&rows, &now);
  assert_false(st.ok());
  assert_true(st.unavailable());
  struct stat sb;
  if (IsSqlite()) {
    assert_contains(st.message(), "does not exist: no scheduler has created it yet");
    assert_int_equal(stat(f->path.c_str(), &sb), -1);  // not created
    FILE* empty = fopen(f->path.c_str(), "w");          // a file without tables
    fclose(empty);
    st = v->ReadJobs(&rows, &now);
    assert_false(st.ok());
    assert_int_equal(stat(f->path.c_str(), &sb), 0);
    assert_int_equal(sb.st_size, 0);
  }
  assert_contains(st.message(), "no scheduler has created the tables in");
  if (!IsSqlite()) assert_false(Direct(f->pool, g_driver, f->params).Works("SELECT 1 FROM backgrounder_schema"));
  // Tables of an older schema: refused, left as they are.
  CreateVersion1Tables(f);
  st = v->EnsureSchema();
  assert_false(st.ok());
  assert_true(st.unavailable());
  assert_contains(st.message(), "have schema version 1, older than this module's");
  assert_int_equal(QueryInt(f, "SELECT version FROM backgrounder_schema"), 1);
  assert_false(Direct(f->pool, g_driver, f->params).Works("SELECT paused FROM backgrounder_jobs"));
  // Once a scheduler has upgraded them the viewer reads and steers, and
  // leaves SQLite's journal mode as it found it.
  assert_ok(Open(f)->EnsureSchema());
  if (IsSqlite()) Direct(f->pool, g_driver, f->params).Text("PRAGMA journal_mode = DELETE");
  assert_ok(v->ReadJobs(&rows, &now));
  assert_int_equal(rows.size(), 1);
  bool found = false;
  assert_ok(v->SetPaused("old", true, &found));
  assert_true(found);
  if (IsSqlite()) assert_string_equal(Direct(f->pool, g_driver, f->params).Text("PRAGMA journal_mode").c_str(), "delete");
  // A newer schema: an error, as for the scheduler.
  Direct(f->pool, g_driver, f->params).Exec("UPDATE backgrounder_schema SET version = 99 WHERE id = 1");
  v->Disconnect();
  st = v->ReadJobs(&rows, &now);
  assert_false(st.ok());
  assert_false(st.unavailable());
  assert_contains(st.message(), "newer than this mod_backgrounder understands");
}

// A connection to a store whose tables are current reads the schema version
// and runs no DDL (on Galera every CREATE is a cluster-wide operation); a
// table dropped under the schema row is created again.
static void test_schema_version_read_first(void** state) {
  auto* f = static_cast<Fixture*>(*state);
  assert_ok(Open(f)->EnsureSchema());
  auto store = Open(f);
  assert_ok(store->EnsureSchema());
  // The session set-up (one statement, three on MySQL), WAL on SQLite, the version.
  const uint64_t expected = IsSqlite() ? 3 : strcmp(g_driver, "mysql") == 0 ? 4 : 2;
  assert_int_equal(store->statements(), expected);
  Direct(f->pool, g_driver, f->params).Exec("DROP TABLE backgrounder_runs");
  auto again = Open(f);
  assert_ok(again->EnsureSchema());
  assert_true(Direct(f->pool, g_driver, f->params).Works("SELECT count(*) FROM backgrounder_runs"));
  RunRecord rec;
  rec.key = rec.job = "job";
  rec.token = 1;
  rec.node = rec.holder = "n";
  assert_ok(again->RecordRunStart(rec));
}

int main(int argc, char** argv) {
  testutil::DbTestMain db(argc, argv, &g_driver, &g_params);
  if (!db.ok()) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_schema_and_wal, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_newer_schema_refused, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_migration_from_version_1, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_clock_of_an_empty_store, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_unavailable_and_reconnect, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_statement_count, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_contention_between_processes, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_hostile_history_strings, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_cut_at_a_character_boundary, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_hostile_lease_strings, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_viewer_never_creates_or_migrates, Setup, Teardown),
      cmocka_unit_test_setup_teardown(test_schema_version_read_first, Setup, Teardown),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
