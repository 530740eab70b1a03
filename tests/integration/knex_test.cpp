#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

const std::string knex_dir = std::string(MIGRATE_SOURCE_DIR) + "/tests/knex";

// Starts knex_check.js; `tenant` (when given) is who knex connects as.
support::Process knex_process(const std::vector<std::string>& args, const support::Tenant* tenant = nullptr) {
  if (!std::filesystem::exists(knex_dir + "/node_modules/knex"))
    FAIL("knex is not installed: scripts/test.sh runs `npm ci` in tests/knex");
  std::vector<std::string> argv = {"/usr/bin/env", "node", knex_dir + "/knex_check.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env;
  if (tenant) env = {{"PGUSER", tenant->role}, {"PGPASSWORD", tenant->password}};
  return support::Process(argv, env);
}

// Runs knex_check.js to its end, requiring success; what it printed, parsed.
nlohmann::json knex(const std::vector<std::string>& args, const support::Tenant* tenant = nullptr) {
  const auto result = knex_process(args, tenant).wait();
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.out);
}

// A migration that waits at a gate: the advisory lock `key`, which the test holds until it opens it.
std::string gated_migration(int key, const std::string& more = "") {
  const auto lock = std::to_string(key);
  return "-- migrate:up\n" + more + "SELECT pg_advisory_lock(" + lock + ");\nSELECT pg_advisory_unlock(" + lock +
         ");\n";
}

class Gate {
 public:
  Gate(const support::Tenant& tenant, int key) : db_(support::admin_conninfo(tenant.db)), key_(std::to_string(key)) {
    pqxx::nontransaction(db_).exec("SELECT pg_advisory_lock(" + key_ + ")");
  }
  void open() { pqxx::nontransaction(db_).exec("SELECT pg_advisory_unlock(" + key_ + ")"); }

 private:
  pqxx::connection db_;
  std::string key_;
};

// The folder knex migrates from: the first of our files only (knex is the older deploy).
std::string knex_folder(const TestFleet& fleet, const std::string& first) {
  const auto dir = fleet.dir() / "knex-migrations";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(fleet.migrations_dir() / first, dir / first);
  return dir.string();
}

void wait_for_output(const support::Process& process, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (process.output_so_far().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("timed out waiting for '" << text << "' in the output:\n" << process.output_so_far());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> file_names(const TestFleet& fleet) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fleet.migrations_dir()))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("knex lists a database migrated by this tool as fully migrated", "[integration][knex]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  const auto seen = knex({"list", tenant.db, fleet.migrations_dir().string()}, &tenant);
  CHECK(seen["completed"].get<std::vector<std::string>>() == file_names(fleet));
  CHECK(seen["pending"].empty());
}

TEST_CASE("this tool treats a database migrated by knex with the same file names as up to date",
          "[integration][knex]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto applied = knex({"latest", tenant.db, fleet.migrations_dir().string()}, &tenant);
  REQUIRE(applied["names"].size() == 3);
  CHECK(fleet.table_exists(tenant, "t3"));

  const auto ours = fleet.migrate({"tenant", "acme-corp"});
  INFO(ours.all());
  CHECK(ours.exit_code == 0);
  CHECK_THAT(ours.out, Catch::Contains("acme-corp: up to date"));
  CHECK(fleet.ledger(tenant).size() == 3);

  fleet.write_simple_migrations(4, 1);
  CHECK(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  CHECK(fleet.ledger(tenant).back() == std::pair<std::string, int>{"20250101000004_create_t4.sql", 2});
  const auto seen = knex({"list", tenant.db, fleet.migrations_dir().string()}, &tenant);
  CHECK(seen["completed"].size() == 4);
  CHECK(seen["pending"].empty());
}

TEST_CASE("knex holding its lock row in its transaction makes us wait, then we apply only what knex did not",
          "[integration][knex][lock]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_gated.sql", gated_migration(4242));
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knex_dir_of_tenant = knex_folder(fleet, "20250101000001_gated.sql");
  fleet.write_simple_migrations(2, 1);
  Gate gate(tenant, 4242);
  auto knex_run = knex_process({"latest", tenant.db, knex_dir_of_tenant}, &tenant);
  // knex has set its lock row in its transaction and waits at the gate.
  support::wait_for_query(tenant.db, "pg_advisory_lock(4242)");

  auto ours = fleet.spawn({"tenant", "acme-corp"});
  support::wait_until("migrate to wait for the lock row knex holds",
                      [&] { return support::sessions_waiting_for_lock(tenant.db, true) == 1; });
  gate.open();
  const auto knex_result = knex_run.wait();
  INFO(knex_result.all());
  REQUIRE(knex_result.exit_code == 0);
  CHECK(nlohmann::json::parse(knex_result.out)["names"] == std::vector<std::string>{"20250101000001_gated.sql"});
  const auto result = ours.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out,
             Catch::Contains("acme-corp: 1 pending") && Catch::Contains("acme-corp: done, batch 2, 1 migration"));
  const std::vector<std::pair<std::string, int>> expected = {{"20250101000001_gated.sql", 1},
                                                             {"20250101000002_create_t2.sql", 2}};
  CHECK(fleet.ledger(tenant) == expected);
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("knex holding its lock row longer than lockWaitSeconds: the tenant is reported busy",
          "[integration][knex][lock]") {
  TestFleet fleet("run:\n  lockWaitSeconds: 1\n");
  fleet.write_migration("20250101000001_gated.sql", gated_migration(4242));
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knex_dir_of_tenant = knex_folder(fleet, "20250101000001_gated.sql");
  fleet.write_simple_migrations(2, 1);
  Gate gate(tenant, 4242);
  auto knex_run = knex_process({"latest", tenant.db, knex_dir_of_tenant}, &tenant);
  support::wait_for_query(tenant.db, "pg_advisory_lock(4242)");

  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: FAILED: busy: another runner held the lock on knex_migrations "
                                         "for more than 1s; try again when it is done"));
  gate.open();
  const auto knex_result = knex_run.wait();
  INFO(knex_result.all());
  CHECK(knex_result.exit_code == 0);
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_gated.sql", 1}});
}

TEST_CASE(
    "knex holding its lock row set outside a transaction: we retry, report it when retries run out, and "
    "apply once knex is done",
    "[integration][knex][lock]") {
  TestFleet fleet;  // 2 attempts
  std::ofstream(fleet.dir() / "knexfile.yaml", std::ios::app)
      << "patient:\n  connection: ${CENTRAL_DATABASE_URL}\n  retry:\n    attempts: 100\n    initialDelayMs: 50\n"
         "    maxDelayMs: 300\n";
  fleet.write_migration("20250101000001_gated.sql", gated_migration(4242));
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knex_dir_of_tenant = knex_folder(fleet, "20250101000001_gated.sql");
  fleet.write_simple_migrations(2, 1);
  Gate gate(tenant, 4242);
  // Without a transaction knex commits is_locked = 1 before its migrations run.
  auto knex_run = knex_process({"latest", tenant.db, knex_dir_of_tenant, R"({"disableTransactions":true})"}, &tenant);
  support::wait_for_query(tenant.db, "pg_advisory_lock(4242)");
  REQUIRE(fleet.lock_value(tenant) == 1);

  const auto impatient = fleet.migrate({"tenant", "acme-corp"});
  INFO(impatient.all());
  CHECK(impatient.exit_code == 1);
  CHECK_THAT(impatient.out,
             Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                 Catch::Contains("acme-corp: FAILED: knex_migrations_lock is set (is_locked = 1): a knex migration is "
                                 "running, or one died holding it; if none is running, clear it with `migrate unlock` "
                                 "(gave up after 2 attempts)"));

  auto patient = fleet.spawn({"--env", "patient", "tenant", "acme-corp"});
  wait_for_output(patient, "acme-corp: attempt 2 failed, retrying in");
  gate.open();
  const auto knex_result = knex_run.wait();
  INFO(knex_result.all());
  REQUIRE(knex_result.exit_code == 0);
  const auto result = patient.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 2, 1 migration"));
  const std::vector<std::pair<std::string, int>> expected = {{"20250101000001_gated.sql", 1},
                                                             {"20250101000002_create_t2.sql", 2}};
  CHECK(fleet.ledger(tenant) == expected);
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("while we hold a tenant in one transaction knex waits, then finds nothing left to do",
          "[integration][knex][lock]") {
  TestFleet fleet;
  // A tenant migrated before: knex finds its tables. (On a fresh tenant knex waits for our CREATE
  // TABLE instead, then fails creating the table itself, as two knex processes do.)
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000002_gated.sql", gated_migration(4243, "CREATE TABLE t2 (id int);\n"));
  Gate gate(tenant, 4243);
  auto ours = fleet.spawn({"tenant", "acme-corp"});
  support::wait_for_query(tenant.db, "pg_advisory_lock(4243)");

  auto knex_run = knex_process({"latest", tenant.db, fleet.migrations_dir().string()}, &tenant);
  support::wait_until("knex to wait for our lock row",
                      [&] { return support::sessions_waiting_for_lock(tenant.db, false) == 1; });
  gate.open();
  const auto result = ours.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 2, 1 migration"));
  const auto knex_result = knex_run.wait();
  INFO(knex_result.all());
  REQUIRE(knex_result.exit_code == 0);
  CHECK(nlohmann::json::parse(knex_result.out)["names"].empty());
  const std::vector<std::pair<std::string, int>> expected = {{"20250101000001_create_t1.sql", 1},
                                                             {"20250101000002_gated.sql", 2}};
  CHECK(fleet.ledger(tenant) == expected);
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("while we hold a tenant across transactions knex refuses: its lock row says locked",
          "[integration][knex][lock]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_gated.sql", gated_migration(4243, "CREATE TABLE t1 (id int);\n"));
  const auto tenant = fleet.add_tenant("acme-corp");
  Gate gate(tenant, 4243);
  auto ours = fleet.spawn({"tenant", "acme-corp", "--tx-mode", "per-migration"});
  support::wait_for_query(tenant.db, "pg_advisory_lock(4243)");
  CHECK(fleet.lock_value(tenant) == 2);

  const auto knex_result = knex_process({"latest", tenant.db, fleet.migrations_dir().string()}, &tenant).wait();
  INFO(knex_result.all());
  CHECK(knex_result.exit_code == 1);
  CHECK_THAT(knex_result.err, Catch::Contains("Migration table is already locked"));
  gate.open();
  const auto result = ours.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_gated.sql", 1}});
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("a custom tableName keeps the ledger in that table and the lock in its _lock table, as knex does",
          "[integration][knex][lock]") {
  TestFleet fleet("migrations:\n  tableName: schema_history\n");
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto first = fleet.migrate({"all-tenants"});
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  CHECK(fleet.table_exists(tenant, "schema_history"));
  CHECK(fleet.table_exists(tenant, "schema_history_lock"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations_lock"));
  CHECK(fleet.query(tenant, "SELECT string_agg(name || '@' || batch, ' ' ORDER BY id) FROM schema_history")[0][0]
            .as<std::string>() == "20250101000001_create_t1.sql@1 20250101000002_create_t2.sql@1");
  CHECK(fleet.query(tenant, "SELECT count(*) || ':' || max(is_locked) FROM schema_history_lock")[0][0]
            .as<std::string>() == "1:0");
  const std::string knex_config = R"({"tableName":"schema_history"})";
  const auto seen = knex({"list", tenant.db, fleet.migrations_dir().string(), knex_config}, &tenant);
  CHECK(seen["completed"].size() == 2);
  CHECK(seen["pending"].empty());

  // knex adds a migration to the same ledger; then knex's lock row in schema_history_lock stops us.
  fleet.write_simple_migrations(3, 1);
  const auto applied = knex({"latest", tenant.db, fleet.migrations_dir().string(), knex_config}, &tenant);
  CHECK(applied["batch"] == 2);
  CHECK(applied["names"] == std::vector<std::string>{"20250101000003_create_t3.sql"});
  fleet.write_simple_migrations(4, 1);
  fleet.query(tenant, "UPDATE schema_history_lock SET is_locked = 1");
  const auto locked = fleet.migrate({"tenant", "acme-corp"});
  INFO(locked.all());
  CHECK(locked.exit_code == 1);
  CHECK_THAT(locked.out, Catch::Contains("acme-corp: FAILED: schema_history_lock is set (is_locked = 1)"));
  const auto unlocked = fleet.migrate({"unlock", "--tenant", "acme-corp"});
  CHECK_THAT(unlocked.out, Catch::Contains("acme-corp: schema_history_lock unlocked (is_locked was 1)"));
  const auto after = fleet.migrate({"tenant", "acme-corp"});
  INFO(after.all());
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("acme-corp: done, batch 3, 1 migration"));
  CHECK(fleet.query(tenant, "SELECT count(*) FROM schema_history")[0][0].as<int>() == 4);
}

TEST_CASE("the ledger tables are column for column, key for key, what knex creates", "[integration][knex]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto ours = fleet.add_tenant("by-migrate");
  const auto theirs = fleet.add_tenant("by-knex");
  REQUIRE(fleet.migrate({"tenant", "by-migrate"}).exit_code == 0);
  knex({"latest", theirs.db, fleet.migrations_dir().string()}, &theirs);
  // Columns (type, length, nullability, default), then constraints, then the lock rows.
  auto shape = [&](const support::Tenant& tenant) {
    return fleet
        .query(tenant,
               "SELECT concat_ws(E'\\n', "
               "(SELECT string_agg(format('%s.%s %s(%s) null=%s default=%s', table_name, column_name, data_type, "
               "character_maximum_length, is_nullable, column_default), E'\\n' ORDER BY table_name, ordinal_position) "
               "FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'knex_migrations%' "
               // knex_migrations_checksums is ours alone: knex neither makes nor reads it.
               "AND table_name <> 'knex_migrations_checksums'), "
               "(SELECT string_agg(format('%s %s', conrelid::regclass, pg_get_constraintdef(oid)), E'\\n' "
               "ORDER BY conrelid::regclass::text, conname) FROM pg_constraint WHERE conrelid IN "
               "('knex_migrations'::regclass, 'knex_migrations_lock'::regclass)), "
               "(SELECT 'lock rows: ' || string_agg(is_locked::text, ',') FROM knex_migrations_lock))")[0][0]
        .as<std::string>();
  };
  const auto ours_shape = shape(ours);
  INFO("ours:\n" << ours_shape);
  CHECK(ours_shape == shape(theirs));
  CHECK_THAT(ours_shape, Catch::Contains("knex_migrations.name character varying(255)"));
  CHECK_THAT(ours_shape, Catch::EndsWith("lock rows: 0"));
}

namespace {

// The JavaScript migrations a knex script applied, each creating table tN, and the same migrations
// as .sql files with the same base names in the fleet's folder.
std::string js_migrations(TestFleet& fleet, int count) {
  const auto dir = fleet.dir() / "knex-js";
  std::filesystem::create_directories(dir);
  for (int i = 1; i <= count; ++i) {
    char base[64];
    std::snprintf(base, sizeof base, "202501010000%02d_create_t%d", i, i);
    const auto table = "t" + std::to_string(i);
    std::ofstream(dir / (std::string(base) + ".js"))
        << "exports.up = async function (knex) {\n  await knex.schema.createTable('" << table
        << "', (t) => { t.integer('id'); });\n};\nexports.down = async function (knex) {\n"
        << "  await knex.schema.dropTable('" << table << "');\n};\n";
  }
  fleet.write_simple_migrations(1, count);
  return dir.string();
}

}  // namespace

TEST_CASE("a tenant knex migrated from .js files is up to date once the files are .sql of the same base names",
          "[integration][knex]") {
  TestFleet fleet;
  const auto js = js_migrations(fleet, 3);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto other = fleet.add_tenant("globex");
  for (const auto* t : {&tenant, &other}) REQUIRE(knex({"latest-js", t->db, js}, t)["names"].size() == 3);
  const auto knex_ledger = fleet.ledger(tenant);
  REQUIRE(knex_ledger.front() == std::pair<std::string, int>{"20250101000001_create_t1.js", 1});

  const auto all = fleet.migrate({"all-tenants"});
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains("0 migrated, 2 up to date, 0 failed"));
  CHECK(fleet.ledger(tenant) == knex_ledger);  // nothing written
  CHECK(fleet.ledger(other) == knex_ledger);

  const auto status = fleet.migrate({"status", "--tenant", "acme-corp"});
  INFO(status.all());
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("20250101000002_create_t2.sql  applied (batch 1, ") &&
                             Catch::Contains(", recorded by knex as 20250101000002_create_t2.js)"));
  CHECK_THAT(status.out, !Catch::Contains("pending") && !Catch::Contains("MISSING"));

  // The first migration written as .sql from the start applies as the next batch, under its .sql name.
  fleet.write_simple_migrations(4, 1);
  const auto next = fleet.migrate({"tenant", "acme-corp"});
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK(fleet.ledger(tenant).back() == std::pair<std::string, int>{"20250101000004_create_t4.sql", 2});
  CHECK(fleet.ledger(tenant).size() == 4);

  // Rolling back reaches the rows knex wrote: the .sql files' down sections run, the .js rows go.
  REQUIRE(fleet.migrate({"rollback", "--tenant", "acme-corp"}).exit_code == 0);
  CHECK(fleet.ledger(tenant) == knex_ledger);
  const auto legacy = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(legacy.all());
  CHECK(legacy.exit_code == 0);
  CHECK_THAT(legacy.out, Catch::Contains("20250101000003_create_t3.js"));
  CHECK(fleet.ledger(tenant).empty());
  for (const auto* table : {"t1", "t2", "t3", "t4"}) CHECK_FALSE(fleet.table_exists(tenant, table));
  // Applied again, the rows are .sql now.
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  CHECK(fleet.ledger(tenant).front() == std::pair<std::string, int>{"20250101000001_create_t1.sql", 1});
}

TEST_CASE("with legacyExtensions empty a ledger row knex recorded as .js is a missing file", "[integration][knex]") {
  TestFleet fleet("migrations:\n  legacyExtensions: []\n");
  const auto js = js_migrations(fleet, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(knex({"latest-js", tenant.db, js}, &tenant)["names"].size() == 2);
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("applied migration(s) missing") &&
                             Catch::Contains("20250101000001_create_t1.js, 20250101000002_create_t2.js"));
  CHECK(fleet.ledger(tenant).size() == 2);
}
