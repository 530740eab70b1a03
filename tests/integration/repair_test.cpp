// migrate repair: what it changes (and prints), what it leaves without --forget-missing, the lock
// table, the fleet form's confirmation, and a tenant with nothing to repair.
#include <catch2/catch.hpp>

#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;

TEST_CASE("repair removes the ledger row of a vanished file only with --forget-missing", "[integration][repair]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.remove_migration("20250101000002_create_t2.sql");

  const auto listed = fleet.migrate({"repair", "--tenant", "acme-corp"});
  INFO(listed.all());
  CHECK(listed.exit_code == 1);
  CHECK_THAT(listed.out, Catch::Contains("acme-corp: 20250101000002_create_t2.sql: applied, but its file is gone") &&
                             Catch::Contains("--forget-missing"));
  CHECK(fleet.ledger(tenant).size() == 2);

  const auto forgotten = fleet.migrate({"repair", "--tenant", "acme-corp", "--forget-missing"});
  INFO(forgotten.all());
  CHECK(forgotten.exit_code == 0);
  CHECK_THAT(forgotten.out, Catch::Contains("acme-corp: 20250101000002_create_t2.sql: ledger row removed (batch 1"));
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_create_t1.sql", 1}});
  CHECK(fleet.query(tenant, "SELECT count(*) FROM knex_migrations_checksums")[0][0].as<int>() == 1);
  CHECK(fleet.table_exists(tenant, "t2"));  // the schema is not touched
  CHECK(fleet.migrate({"validate", "--tenant", "acme-corp"}).exit_code == 0);
}

TEST_CASE("repair leaves the lock table of knex with one row, not set", "[integration][repair][lock]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  pqxx::connection db(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(db).exec(
      "UPDATE knex_migrations_lock SET is_locked = 1; INSERT INTO knex_migrations_lock (is_locked) VALUES (1)");

  const auto result = fleet.migrate({"repair", "--tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: knex_migrations_lock: removed 1 extra row(s)") &&
                             Catch::Contains("acme-corp: knex_migrations_lock: cleared is_locked = 1"));
  CHECK(fleet.query(tenant, "SELECT count(*), max(is_locked) FROM knex_migrations_lock")[0][0].as<int>() == 1);
  CHECK(fleet.lock_value(tenant) == 0);

  const auto again = fleet.migrate({"repair", "--tenant", "acme-corp"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("acme-corp: nothing to repair"));
}

TEST_CASE("repair of the fleet asks first: without a terminal it needs --yes", "[integration][repair]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("acme-corp");
  fleet.add_tenant("globex");
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  fleet.write_migration("20250101000001_create_t1.sql", "-- migrate:up\nCREATE TABLE t1 (id bigint);\n");

  const auto refused = fleet.migrate({"repair", "--all-tenants"});
  INFO(refused.all());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("pass --yes"));
  CHECK(fleet.migrate({"validate"}).exit_code == 1);  // nothing was changed

  const auto repaired = fleet.migrate({"repair", "--all-tenants", "--yes"});
  INFO(repaired.all());
  CHECK(repaired.exit_code == 0);
  CHECK_THAT(repaired.out, Catch::Contains("acme-corp: 20250101000001_create_t1.sql: checksum re-recorded") &&
                               Catch::Contains("globex: 20250101000001_create_t1.sql: checksum re-recorded") &&
                               Catch::Contains("Total: 2 tenants: 2 repaired, 0 with nothing to repair"));
  CHECK(fleet.migrate({"validate"}).exit_code == 0);
  CHECK(fleet.migrate({"all-tenants"}).exit_code == 0);
}

TEST_CASE("repair of a tenant never migrated creates nothing", "[integration][repair]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto result = fleet.migrate({"repair", "--tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: nothing to repair"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations_checksums"));
}
