#include <catch2/catch.hpp>

#include "support/fleet.hpp"

using support::TestFleet;

namespace {

// The tenant's own tables, sorted: the schema as the catalog sees it.
std::string tables(const TestFleet& fleet, const support::Tenant& tenant) {
  return fleet
      .query(tenant,
             "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables "
             "WHERE schemaname = 'public' AND tablename NOT LIKE 'knex%'")[0][0]
      .as<std::string>();
}

}  // namespace

TEST_CASE("rollback undoes the last batch newest first, --all undoes every batch", "[integration][rollback]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  const auto after_batch_1 = tables(fleet, tenant);
  fleet.write_simple_migrations(3, 2);
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  REQUIRE(tables(fleet, tenant) == "t1,t2,t3,t4");

  const auto last = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(last.all());
  CHECK(last.exit_code == 0);
  const auto t4 = last.out.find("20250101000004_create_t4.sql");
  const auto t3 = last.out.find("20250101000003_create_t3.sql");
  REQUIRE(t4 != std::string::npos);
  REQUIRE(t3 != std::string::npos);
  CHECK(t4 < t3);  // newest first
  CHECK(tables(fleet, tenant) == after_batch_1);
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_create_t1.sql", 1},
                                                                         {"20250101000002_create_t2.sql", 1}});
  CHECK(fleet.lock_value(tenant) == 0);

  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  const auto all = fleet.migrate({"rollback", "--tenant", "acme-corp", "--all"});
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK(tables(fleet, tenant).empty());
  CHECK(fleet.ledger(tenant).empty());

  const auto nothing = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  CHECK(nothing.exit_code == 0);
  CHECK_THAT(nothing.out, Catch::Contains("nothing to roll back"));
}

TEST_CASE("rollback is refused with exit 2 and nothing changed when a down section or file is missing",
          "[integration][rollback]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_no_down.sql", "-- migrate:up\nCREATE TABLE t2 (id int);\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  const auto ledger = fleet.ledger(tenant);

  const auto no_down = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  CHECK(no_down.exit_code == 2);
  CHECK_THAT(no_down.err, Catch::Contains("20250101000002_no_down.sql") && Catch::Contains("no down section"));
  CHECK(fleet.ledger(tenant) == ledger);
  CHECK(fleet.table_exists(tenant, "t2"));
  CHECK(fleet.table_exists(tenant, "t1"));

  fleet.remove_migration("20250101000002_no_down.sql");
  const auto no_file = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  CHECK(no_file.exit_code == 2);
  CHECK_THAT(no_file.err, Catch::Contains("its file is not in"));
  CHECK(fleet.ledger(tenant) == ledger);
}
