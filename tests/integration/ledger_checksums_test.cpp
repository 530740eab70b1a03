// The checksum of each applied migration, kept in <table>_checksums beside knex's tables: recorded
// with its ledger row, removed with it, recorded by the first run over a ledger knex wrote; and
// knex still reads and writes the ledger with the side table there.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;

namespace {

const std::string knex_dir = std::string(MIGRATE_SOURCE_DIR) + "/tests/knex";

// Runs tests/knex/knex_check.js as `tenant`, requiring success; what it printed, parsed.
nlohmann::json knex(const std::vector<std::string>& args, const support::Tenant& tenant) {
  if (!std::filesystem::exists(knex_dir + "/node_modules/knex"))
    FAIL("knex is not installed: scripts/test.sh runs `npm ci` in tests/knex");
  std::vector<std::string> argv = {"/usr/bin/env", "node", knex_dir + "/knex_check.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = support::Process(argv, {{"PGUSER", tenant.role}, {"PGPASSWORD", tenant.password}}).wait();
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.out);
}

// name -> checksum, as the side table holds them.
std::map<std::string, std::string> checksums(const TestFleet& fleet, const support::Tenant& tenant) {
  std::map<std::string, std::string> rows;
  for (const auto& row : fleet.query(tenant, "SELECT name, checksum FROM knex_migrations_checksums"))
    rows[row[0].as<std::string>()] = row[1].as<std::string>();
  return rows;
}

// The hex SHA-256 of `text`, computed by the server.
std::string sha256(const support::Tenant& tenant, const std::string& text) {
  pqxx::connection db(support::admin_conninfo(tenant.db));
  pqxx::nontransaction tx(db);
  return tx.exec_params("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", text)[0][0].as<std::string>();
}

}  // namespace

TEST_CASE("a run records the SHA-256 of each up section beside the ledger, and knex still reads and writes it",
          "[integration][checksums][knex]") {
  const bool per_migration = GENERATE(false, true);
  INFO((per_migration ? "--tx-mode per-migration" : "--tx-mode single"));
  TestFleet fleet;
  // Saved with CRLF: the checksum is of the text with LF line endings.
  fleet.write_migration("20250101000001_a.sql",
                        "-- migrate:up\r\nCREATE TABLE a (id int);\r\n-- migrate:down\r\nDROP TABLE a;\r\n");
  fleet.write_migration("20250101000002_b.sql", "-- migrate:up\nCREATE TABLE b (id int);\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  std::vector<std::string> args = {"tenant", "acme-corp"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});
  const auto result = fleet.migrate(args);
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const std::map<std::string, std::string> expected = {
      {"20250101000001_a.sql", sha256(tenant, "CREATE TABLE a (id int);\n")},
      {"20250101000002_b.sql", sha256(tenant, "CREATE TABLE b (id int);\n")}};
  CHECK(checksums(fleet, tenant) == expected);

  // knex lists the ledger as it did, and applies a new file beside our side table.
  const auto listed = knex({"list", tenant.db, fleet.migrations_dir().string()}, tenant);
  CHECK(listed["completed"].size() == 2);
  CHECK(listed["pending"].empty());
  fleet.write_migration("20250101000003_c.sql", "-- migrate:up\nCREATE TABLE c (id int);\n");
  const auto applied = knex({"latest", tenant.db, fleet.migrations_dir().string()}, tenant);
  CHECK(applied["names"] == std::vector<std::string>{"20250101000003_c.sql"});
  CHECK(fleet.ledger(tenant).size() == 3);
}

TEST_CASE("the first run over a ledger knex wrote records the checksums it finds and says so, once",
          "[integration][checksums][knex]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(knex({"latest", tenant.db, fleet.migrations_dir().string()}, tenant)["names"].size() == 3);
  REQUIRE_FALSE(fleet.table_exists(tenant, "knex_migrations_checksums"));

  const auto first = fleet.migrate({"tenant", "acme-corp"});
  INFO(first.all());
  CHECK(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("acme-corp: warning: recorded checksums of 3 migrations applied before "
                                        "checksums existed") &&
                            Catch::Contains("acme-corp: up to date"));
  CHECK(checksums(fleet, tenant).size() == 3);
  CHECK(fleet.lock_value(tenant) == 0);
  CHECK(fleet.ledger(tenant).size() == 3);  // the ledger itself is as knex left it

  const auto second = fleet.migrate({"tenant", "acme-corp"});
  INFO(second.all());
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.out, !Catch::Contains("recorded checksums"));
}

TEST_CASE("an up-to-date tenant whose knex lock row is set is not failed for the checksums it cannot record yet",
          "[integration][checksums][knex]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(knex({"latest", tenant.db, fleet.migrations_dir().string()}, tenant)["names"].size() == 2);
  fleet.query(tenant, "UPDATE knex_migrations_lock SET is_locked = 1");

  const auto locked = fleet.migrate({"tenant", "acme-corp"});
  INFO(locked.all());
  CHECK(locked.exit_code == 0);
  CHECK_THAT(locked.out, Catch::Contains("checksums of 2 migration(s) applied before checksums existed (or by knex) "
                                         "not recorded yet: knex_migrations_lock is set") &&
                             Catch::Contains("acme-corp: up to date"));
  CHECK(fleet.lock_value(tenant) == 1);  // knex's, left alone

  fleet.query(tenant, "UPDATE knex_migrations_lock SET is_locked = 0");
  const auto later = fleet.migrate({"tenant", "acme-corp"});
  INFO(later.all());
  CHECK(later.exit_code == 0);
  CHECK(checksums(fleet, tenant).size() == 2);
}

TEST_CASE("rolling back removes the checksum with the ledger row", "[integration][checksums][rollback]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_simple_migrations(2, 1);
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  REQUIRE(checksums(fleet, tenant).size() == 2);

  const auto result = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto left = checksums(fleet, tenant);
  CHECK(left.size() == 1);
  CHECK(left.count("20250101000001_create_t1.sql") == 1);
}

TEST_CASE("baseline records the checksums of the files it records", "[integration][checksums][baseline]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  pqxx::connection db(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(db).exec("CREATE TABLE made_elsewhere (id int)");
  const auto result = fleet.migrate({"baseline", "--tenant", "acme-corp", "--to", "20250101000002", "--yes"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK(checksums(fleet, tenant).size() == 2);
}
