// Replica claims: how runs over one central database share the fleet.
#include <catch2/catch.hpp>
#include <fstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;

TEST_CASE("an overlapping deploy with a newer migration set never exits 0 while a tenant is behind",
          "[integration][claims]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_slow.sql", "-- migrate:up\nSELECT pg_sleep(1);\n");
  for (int i = 0; i < 4; ++i) fleet.add_tenant("tenant-" + std::to_string(i));
  // Deploy N+1 brings one more migration, in a folder of its own.
  const auto next_dir = fleet.dir() / "migrations/next";
  std::filesystem::copy(fleet.migrations_dir(), next_dir);
  std::ofstream(next_dir / "20250101000003_create_t3.sql") << "-- migrate:up\nCREATE TABLE t3 (id int);\n";
  std::ofstream(fleet.dir() / "knexfile.yaml", std::ios::app)
      << "next:\n  connection: ${CENTRAL_DATABASE_URL}\n  migrations:\n    directory: migrations/next\n";

  auto deploy_n = fleet.spawn({"all-tenants", "--concurrency", "1"});
  support::wait_for_query(fleet.tenants()[0].db, "pg_sleep(1)");
  const auto deploy_next = fleet.migrate({"--env", "next", "all-tenants", "--concurrency", "4"});
  const auto n = deploy_n.wait();
  INFO(n.all() << "\n--- next:\n" << deploy_next.all());
  // Deploy N may fail tenants that N+1 moved past it (a migration it has no file for): that is
  // the truth, and its exit status says so. Deploy N+1 must only say done when every tenant is.
  CHECK(deploy_next.exit_code == 0);
  for (const auto& tenant : fleet.tenants()) {
    INFO(tenant.slug);
    CHECK(fleet.ledger(tenant).size() == 3);
    CHECK(fleet.table_exists(tenant, "t3"));
  }
}

TEST_CASE("a tenant claimed by another replica is left to it, then checked current", "[integration][claims]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_slow.sql", "-- migrate:up\nSELECT pg_sleep(1);\n");
  fleet.add_tenant("alpha");
  fleet.add_tenant("bravo");
  auto first = fleet.spawn({"all-tenants", "--concurrency", "1", "--only", "alpha"});
  support::wait_for_query(fleet.tenants()[0].db, "pg_sleep(1)");
  const auto second = fleet.migrate({"all-tenants", "--concurrency", "2"});
  const auto one = first.wait();
  INFO(one.all() << "\n---\n" << second.all());
  CHECK(one.exit_code == 0);
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("1 migrated") && Catch::Contains("1 left to other replicas"));
  CHECK_THAT(one.out, Catch::Contains("1 migrated"));
  for (const auto& tenant : fleet.tenants()) CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("a replica waits for the one that claimed a tenant, however long its migration takes",
          "[integration][claims]") {
  TestFleet fleet("run:\n  lockWaitSeconds: 1\n");
  fleet.write_migration("20250101000001_slow.sql", "-- migrate:up\nSELECT pg_sleep(3);\n");
  const auto alpha = fleet.add_tenant("alpha");
  auto first = fleet.spawn({"all-tenants"});
  support::wait_for_query(alpha.db, "pg_sleep(3)");
  const auto second = fleet.migrate({"all-tenants"});
  const auto one = first.wait();
  INFO(one.all() << "\n---\n" << second.all());
  CHECK(one.exit_code == 0);
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("0 failed, 1 left to other replicas"));
}

TEST_CASE("a replica does not report success for a tenant the claiming replica failed", "[integration][claims]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_fails_slowly.sql", "-- migrate:up\nSELECT pg_sleep(1);\nSELECT 1/0;\n");
  const auto alpha = fleet.add_tenant("alpha");
  auto first = fleet.spawn({"all-tenants"});
  support::wait_for_query(alpha.db, "pg_sleep(1)");
  const auto second = fleet.migrate({"all-tenants"});
  const auto one = first.wait();
  INFO(one.all() << "\n---\n" << second.all());
  CHECK(one.exit_code == 1);
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.out,
             Catch::Contains("alpha: FAILED: 20250101000001_fails_slowly.sql") && Catch::Contains("division by zero"));
}
