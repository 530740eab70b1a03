// One tenant's job: retries of transient faults, what is reported, what committed.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/own_cluster.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

void terminate_backends(const std::string& db, const std::string& text) {
  for (const int pid : support::backends_running(db, text))
    support::admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
}

std::vector<nlohmann::json> events(const std::string& output) {
  std::vector<nlohmann::json> parsed;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  return parsed;
}

}  // namespace

TEST_CASE("a backend terminated in the middle of a migration is retried, with libpq's own words",
          "[integration][tenant_job]") {
  const bool per_migration = GENERATE(false, true);
  INFO((per_migration ? "per-migration" : "single transaction"));
  TestFleet fleet("retry:\n  attempts: 3\n  initialDelayMs: 50\n  maxDelayMs: 100\n");
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration(
      "20250101000002_slow.sql",
      "-- migrate:up\nCREATE TABLE t2 (id int);\nSELECT pg_sleep(1.5);\n-- migrate:down\nDROP TABLE t2;\n");
  fleet.write_simple_migrations(3, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  std::vector<std::string> args = {"tenant", "acme-corp"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});

  auto run = fleet.spawn(args);
  support::wait_for_query(tenant.db, "pg_sleep(1.5)");
  terminate_backends(tenant.db, "pg_sleep(1.5)");
  const auto result = run.wait();
  fleet.require_no_secret(result.all());
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("terminating connection due to administrator command"));
  const std::vector<std::pair<std::string, int>> expected = {
      {"20250101000001_create_t1.sql", 1}, {"20250101000002_slow.sql", 1}, {"20250101000003_create_t3.sql", 1}};
  CHECK(fleet.ledger(tenant) == expected);  // one batch, even across attempts
  CHECK(fleet.lock_value(tenant) == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 1, 3 migrations"));
}

TEST_CASE("a restart of the tenants' server in the middle of a fleet run is retried", "[integration][tenant_job]") {
  support::OwnCluster other;
  TestFleet fleet("retry:\n  attempts: 10\n  initialDelayMs: 200\n  maxDelayMs: 1000\n");
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_slow.sql", "-- migrate:up\nSELECT pg_sleep(0.5);\n");
  for (int i = 0; i < 6; ++i) {
    const auto slug = "tenant-" + std::to_string(i);
    const auto tenant = fleet.add_tenant(slug);
    other.host(fleet, tenant);
  }

  auto run = fleet.spawn({"all-tenants", "--concurrency", "2"});
  support::wait_until("a tenant migration to run on the other server", [&] {
    pqxx::connection admin(other.admin_conninfo());
    return pqxx::nontransaction(admin)
               .exec(
                   "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(0.5)%' AND "
                   "pid <> pg_backend_pid()")[0][0]
               .as<int>() > 0;
  });
  other.stop();
  other.start();
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("retrying in"));
  CHECK_THAT(result.out, Catch::Contains("6 migrated, 0 up to date, 0 failed"));
  for (const auto& tenant : fleet.tenants()) {
    pqxx::connection admin(other.admin_conninfo(tenant.db));
    CHECK(pqxx::nontransaction(admin).exec("SELECT count(*) FROM knex_migrations")[0][0].as<int>() == 2);
  }
}

TEST_CASE("events and the summary say what committed, in both transaction modes", "[integration][tenant_job]") {
  const bool per_migration = GENERATE(false, true);
  INFO((per_migration ? "per-migration" : "single transaction"));
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_fails.sql", "-- migrate:up\nCREATE TABLE t2 (id int);\nSELECT 1/0;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  std::vector<std::string> args = {"--log-format", "json", "all-tenants"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});
  const auto result = fleet.migrate(args);
  INFO(result.all());
  CHECK(result.exit_code == 1);
  std::vector<std::string> reported;
  nlohmann::json failed;
  for (const auto& event : events(result.out)) {
    if (event["event"] == "migration_applied") reported.push_back(event["migration"]);
    if (event["event"] == "tenant_failed") failed = event;
  }
  std::vector<std::string> ledger;
  for (const auto& [name, batch] : fleet.ledger(tenant)) ledger.push_back(name);
  CHECK(reported == ledger);
  CHECK(ledger.size() == (per_migration ? 1u : 0u));
  REQUIRE(failed.is_object());
  CHECK(failed["migrations"] == ledger.size());
}

TEST_CASE("a deadlock or serialization failure is retried, the transaction having rolled back as a whole",
          "[integration][tenant_job]") {
  const std::string code = GENERATE(std::string("deadlock_detected"), std::string("serialization_failure"));
  INFO(code);
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  // A sequence survives the rollback: the first attempt fails, the second goes through.
  fleet.write_migration("20250101000002_contended.sql",
                        "-- migrate:up\nCREATE TABLE t2 (id int);\n"
                        "DO $$ BEGIN IF nextval('attempts') = 1 THEN RAISE EXCEPTION 'staged' USING ERRCODE = '" +
                            code + "'; END IF; END $$;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  fleet.query(tenant, "CREATE SEQUENCE attempts");
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") && Catch::Contains("staged"));
  CHECK(fleet.ledger(tenant).size() == 2);
  CHECK(fleet.table_exists(tenant, "t2"));
}
