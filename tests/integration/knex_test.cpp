#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;

namespace {

const std::string knex_dir = std::string(MIGRATE_SOURCE_DIR) + "/tests/knex";

// Runs knex_check.js; `tenant` (when given) is who knex connects as.
nlohmann::json knex(const std::vector<std::string>& args, const support::Tenant* tenant = nullptr) {
  if (!std::filesystem::exists(knex_dir + "/node_modules/knex"))
    FAIL("knex is not installed: scripts/test.sh runs `npm ci` in tests/knex");
  std::vector<std::string> argv = {"/usr/bin/env", "node", knex_dir + "/knex_check.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env;
  if (tenant) env = {{"PGUSER", tenant->role}, {"PGPASSWORD", tenant->password}};
  const auto result = support::run(argv, env);
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.out);
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
