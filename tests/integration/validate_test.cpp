// migrate validate: each kind of finding, for one tenant and the fleet, in text and JSON; read-only;
// and the whole story of an applied file edited: found, refused by a run, accepted after repair.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/server_log.hpp"

using support::TestFleet;

namespace {

const std::string edited_text =
    "-- migrate:up\nCREATE TABLE t1 (id int, note text);\n-- migrate:down\nDROP TABLE t1;\n";

std::string joined(const std::vector<std::string>& statements) {
  std::string text;
  for (const auto& statement : statements) text += "  " + statement + "\n";
  return text;
}

// The JSON objects of `out`, one a line.
std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> objects;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) objects.push_back(nlohmann::json::parse(line));
  return objects;
}

// A failed CREATE UNIQUE INDEX CONCURRENTLY leaves an INVALID index behind.
void leave_invalid_index(const support::Tenant& tenant) {
  pqxx::connection db(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(db).exec("CREATE TABLE dup (x int); INSERT INTO dup VALUES (1), (1)");
  try {
    pqxx::nontransaction(db).exec("CREATE UNIQUE INDEX CONCURRENTLY dup_x ON dup (x)");
    FAIL("the index was built");
  } catch (const pqxx::sql_error&) {
  }
}

}  // namespace

TEST_CASE("an applied file edited since is found by validate, refused by a run, accepted after repair",
          "[integration][validate][repair]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  fleet.add_tenant("globex");
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  REQUIRE(fleet.migrate({"validate"}).exit_code == 0);

  fleet.write_migration("20250101000001_create_t1.sql", edited_text);
  fleet.write_simple_migrations(3, 1);  // something pending, which a refused run must not apply
  const auto found = fleet.migrate({"validate", "--tenant", "acme-corp"});
  INFO(found.all());
  CHECK(found.exit_code == 1);
  CHECK_THAT(found.out, Catch::Contains("acme-corp: edited since it was applied: 20250101000001_create_t1.sql "
                                        "(checksum recorded "));

  const auto refused = fleet.migrate({"tenant", "acme-corp"});
  INFO(refused.all());
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.out, Catch::Contains("acme-corp: FAILED: applied migration(s) edited since they were applied: "
                                          "20250101000001_create_t1.sql (checksum recorded ") &&
                              Catch::Contains("to accept the edit: `migrate repair`; to run anyway: --allow-edited"));
  CHECK_FALSE(fleet.table_exists(tenant, "t3"));
  const auto fleet_refused = fleet.migrate({"all-tenants"});
  INFO(fleet_refused.all());
  CHECK(fleet_refused.exit_code == 1);
  CHECK_THAT(fleet_refused.out, Catch::Contains("0 migrated, 0 up to date, 2 failed"));
  CHECK_FALSE(fleet.table_exists(tenant, "t3"));

  const auto repaired = fleet.migrate({"repair", "--tenant", "acme-corp"});
  INFO(repaired.all());
  CHECK(repaired.exit_code == 0);
  CHECK_THAT(repaired.out, Catch::Contains("acme-corp: 20250101000001_create_t1.sql: checksum re-recorded (was "));
  CHECK(fleet.migrate({"validate", "--tenant", "acme-corp"}).exit_code == 0);
  const auto accepted = fleet.migrate({"tenant", "acme-corp"});
  INFO(accepted.all());
  CHECK(accepted.exit_code == 0);
  CHECK(fleet.table_exists(tenant, "t3"));

  // globex was not repaired: --allow-edited goes on, saying so.
  const auto allowed = fleet.migrate({"tenant", "globex", "--allow-edited"});
  INFO(allowed.all());
  CHECK(allowed.exit_code == 0);
  CHECK_THAT(allowed.out, Catch::Contains("globex: warning: going on (--allow-edited)"));
}

TEST_CASE(
    "validate finds missing files, pending files older than the newest applied, a lock left set and an invalid "
    "index",
    "[integration][validate]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_simple_migrations(3, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  fleet.add_tenant("globex");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.remove_migration("20250101000004_create_t4.sql");
  fleet.write_simple_migrations(2, 1);
  pqxx::connection db(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(db).exec("UPDATE knex_migrations_lock SET is_locked = 2");
  leave_invalid_index(tenant);

  const auto text = fleet.migrate({"validate", "--concurrency", "2"});
  INFO(text.all());
  CHECK(text.exit_code == 1);
  CHECK_THAT(
      text.out,
      Catch::Contains("acme-corp: applied but missing from ") &&
          Catch::Contains("20250101000004_create_t4.sql (knex calls this a corrupt migration directory") &&
          Catch::Contains("acme-corp: pending but older than the newest applied migration: "
                          "20250101000002_create_t2.sql") &&
          Catch::Contains("acme-corp: knex_migrations_lock is set (is_locked = 2) by a migrate runner that died") &&
          Catch::Contains("acme-corp: invalid index \"public\".\"dup_x\"") && Catch::Contains("globex: valid") &&
          Catch::Contains("Total: 2 tenants: 1 valid, 1 with findings, 0 unreadable"));

  const auto json = fleet.migrate({"--log-format", "json", "validate", "--tenant", "acme-corp"});
  INFO(json.all());
  CHECK(json.exit_code == 1);
  std::multiset<std::string> kinds;
  for (const auto& object : json_lines(json.out))
    if (object["event"] == "finding") {
      CHECK(object["tenant"] == "acme-corp");
      kinds.insert(object["kind"].get<std::string>());
    }
  CHECK(kinds == std::multiset<std::string>{"missing_file", "out_of_order", "lock_set", "invalid_index"});
  const auto fleet_json = json_lines(fleet.migrate({"--log-format", "json", "validate"}).out);
  REQUIRE_FALSE(fleet_json.empty());
  CHECK(fleet_json.back()["event"] == "validate_summary");
  CHECK(fleet_json.back()["with_findings"] == 1);
  CHECK(fleet_json.back()["valid"] == 1);
}

TEST_CASE("validate takes no lock and writes nothing", "[integration][validate][engine]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000001_create_t1.sql", edited_text);
  pqxx::connection db(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(db).exec("UPDATE knex_migrations_lock SET is_locked = 1");
  const auto versions = [&] {
    return fleet
        .query(tenant,
               "SELECT (SELECT string_agg(xmin::text, ',') FROM knex_migrations_lock) || '|' || "
               "(SELECT string_agg(xmin::text, ',' ORDER BY id) FROM knex_migrations) || '|' || "
               "(SELECT string_agg(xmin::text, ',' ORDER BY name) FROM knex_migrations_checksums)")[0][0]
        .as<std::string>();
  };
  const auto before = versions();

  const support::StatementLog log(tenant.db);
  CHECK(fleet.migrate({"validate", "--tenant", "acme-corp"}).exit_code == 1);
  CHECK(fleet.migrate({"validate"}).exit_code == 1);
  const auto statements = log.statements(tenant.role);
  INFO("statements sent:\n" << joined(statements));
  CHECK_FALSE(statements.empty());
  for (const auto& statement : statements) {
    CHECK(statement.rfind("SELECT ", 0) == 0);
    CHECK_THAT(statement, !Catch::Contains("pg_advisory_lock") && !Catch::Contains("pg_advisory_xact_lock") &&
                              !Catch::Contains("FOR UPDATE"));
  }
  CHECK(versions() == before);
  CHECK(fleet.lock_value(tenant) == 1);
}
