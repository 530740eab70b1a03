#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/listener.hpp"

using support::TestFleet;

TEST_CASE("problems in the migrations folder stop the run before any database is touched", "[integration][input]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  struct Case {
    std::string file, text, message;
  };
  const std::vector<Case> cases = {
      {"not_a_migration.sql", "-- migrate:up\nSELECT 1;\n", "not_a_migration.sql: the name must be YYYYMMDDHHMMSS_"},
      {"20250101000001_same_stamp.sql", "-- migrate:up\nSELECT 1;\n", "the timestamp 20250101000001 is also used by"},
      {"20250101000005_no_up.sql", "-- migrate:down\nSELECT 1;\n",
       "20250101000005_no_up.sql:1: no '-- migrate:up' section"},
      {"20250101000005_two_ups.sql", "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n",
       "20250101000005_two_ups.sql:3: a second migrate:up section"},
      {"20250101000005_preamble.sql", "SELECT 0;\n-- migrate:up\nSELECT 1;\n",
       "20250101000005_preamble.sql:1: text before the first section"},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    fleet.write_migration(c.file, c.text);
    for (const std::vector<std::string>& args : {std::vector<std::string>{"all-tenants"}, {"tenant", "acme-corp"}}) {
      const auto result = fleet.migrate(args);
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.err, Catch::Contains(c.message));
    }
    fleet.remove_migration(c.file);
  }
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  CHECK_FALSE(fleet.table_exists(tenant, "t1"));
}

TEST_CASE("a bad migration file is exit 2 naming file and line before the central database is reached",
          "[integration][input]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("acme-corp");
  const std::string bad = "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n";
  fleet.write_migration("20250101000005_two_ups.sql", bad);
  std::filesystem::create_directories(fleet.dir() / "migrations/central");
  std::ofstream(fleet.dir() / "migrations/central/20250101000005_two_ups.sql") << bad;
  // The central database, as far as migrate can tell: a socket that records whether anyone came.
  support::Listener central;
  const auto url = "host=127.0.0.1 port=" + std::to_string(central.port()) + " user=app dbname=platform";
  const std::vector<std::vector<std::string>> commands = {{"all-tenants"},
                                                          {"tenant", "acme-corp"},
                                                          {"rollback", "--tenant", "acme-corp"},
                                                          {"status"},
                                                          {"status", "--tenant", "acme-corp"},
                                                          {"central"}};
  for (const auto& args : commands) {
    INFO("migrate " << args[0] << (args.size() > 1 ? " " + args.back() : ""));
    const auto result = fleet.migrate(args, {{"CENTRAL_DATABASE_URL", url}});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("20250101000005_two_ups.sql:3: a second migrate:up section (the first is at "
                                           "line 1)"));
    CHECK(result.out.empty());
    CHECK_FALSE(central.was_contacted());
  }
}

TEST_CASE("an unknown tenant is exit 2 naming what was asked for", "[integration][input]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("acme-corp");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"tenant", "acme"}, {"rollback", "--tenant", "acme"}, {"status", "--tenant", "acme"}}) {
    const auto result = fleet.migrate(args);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("no tenant with slug or id 'acme'"));
  }
}

TEST_CASE("a missing or malformed key, or a bad environment, is exit 2", "[integration][input]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto no_key = fleet.migrate({"all-tenants"}, {{"DB_ENCRYPTION_KEY", ""}});
  CHECK(no_key.exit_code == 2);
  CHECK_THAT(no_key.err, Catch::Contains("DB_ENCRYPTION_KEY is not set"));
  const auto short_key = fleet.migrate({"all-tenants"}, {{"DB_ENCRYPTION_KEY", "too-short-key"}});
  CHECK(short_key.exit_code == 2);
  CHECK_THAT(short_key.err,
             Catch::Contains("DB_ENCRYPTION_KEY must be 32 characters") && !Catch::Contains("too-short-key"));
  const auto env = fleet.migrate({"--env", "staging", "all-tenants"});
  CHECK(env.exit_code == 2);
  CHECK_THAT(env.err, Catch::Contains("no environment 'staging' (it has: test)"));
  const auto from_variable = fleet.migrate({"all-tenants"}, {{"MIGRATE_ENV", "nope"}});
  CHECK(from_variable.exit_code == 0);  // --env test given by the helper wins over MIGRATE_ENV
  CHECK_FALSE(fleet.ledger(tenant).empty());
}

TEST_CASE("an unreachable central database is exit 2 naming host, port and database, never the password",
          "[integration][input]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const int port = support::free_port();
  const std::string url = "postgresql://app:hunter2-secret@127.0.0.1:" + std::to_string(port) + "/platform";
  const auto result = fleet.migrate({"all-tenants"}, {{"CENTRAL_DATABASE_URL", url}});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("central database unreachable: cannot connect to 127.0.0.1:" +
                                         std::to_string(port) + "/platform"));
  CHECK_THAT(result.all(), !Catch::Contains("hunter2"));
}

TEST_CASE("usage errors are exit 2", "[integration][input]") {
  CHECK(support::run({MIGRATE_BINARY, "frobnicate"}).exit_code == 2);
  CHECK(support::run({MIGRATE_BINARY, "rollback"}).exit_code == 2);
  CHECK(support::run({MIGRATE_BINARY, "all-tenants", "--tx-mode", "sometimes"}).exit_code == 2);
  CHECK(support::run({MIGRATE_BINARY, "--help"}).exit_code == 0);
}

TEST_CASE("make writes a new migration file and refuses a name that is not snake_case", "[integration][input]") {
  TestFleet fleet;
  const auto made = fleet.migrate({"make", "add_invoices"});
  INFO(made.all());
  CHECK(made.exit_code == 0);
  const std::filesystem::path path = support::ProcessResult{made}.out.substr(0, made.out.size() - 1);
  CHECK(path.parent_path() == fleet.migrations_dir());
  CHECK_THAT(path.filename().string(), Catch::Matches(R"(\d{14}_add_invoices\.sql)"));
  CHECK(std::filesystem::exists(path));
  const auto bad = fleet.migrate({"make", "Add-Invoices"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("must be lowercase snake_case"));
}
