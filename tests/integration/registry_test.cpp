#include <catch2/catch.hpp>

#include "migrate/pg/connection.hpp"
#include "migrate/registry/tenant_registry.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"

using namespace migrate;

TEST_CASE("a tenant is found by slug or by id with a parameterised query", "[integration][registry]") {
  support::TestFleet fleet;
  const auto acme = fleet.add_tenant("acme-corp");
  fleet.add_tenant("globex", "suspended");
  pg::Connection central(pg::Target::parse(fleet.central_url(), "test"), {});
  registry::TenantRegistry tenants(central, "tenants");

  const auto by_slug = tenants.find("acme-corp");
  REQUIRE(by_slug);
  CHECK(by_slug->id == acme.id);
  CHECK(by_slug->database.dbname == acme.db);
  CHECK(by_slug->database.user == acme.role);
  CHECK(by_slug->database.port == support::cluster_port());
  const auto by_id = tenants.find(acme.id);
  REQUIRE(by_id);
  CHECK(by_id->slug == "acme-corp");
  CHECK(tenants.find("globex")->status == "suspended");
  CHECK_FALSE(tenants.find("nobody"));
  CHECK_FALSE(tenants.find("' OR '1'='1"));
}

TEST_CASE("listing gives the active tenants in a stable order, page by page", "[integration][registry]") {
  support::TestFleet fleet;
  for (const auto* slug : {"delta", "alpha", "charlie", "bravo", "echo"}) fleet.add_tenant(slug);
  fleet.add_tenant("aaa-suspended", "suspended");
  fleet.add_tenant("zzz-deleted", "deleted");
  pg::Connection central(pg::Target::parse(fleet.central_url(), "test"), {});
  registry::TenantRegistry tenants(central, "tenants");

  CHECK(tenants.count_active() == 5);
  std::vector<std::string> slugs;
  registry::PageCursor after;
  while (true) {
    const auto page = tenants.active_page(after, 2);
    if (page.empty()) break;
    for (const auto& tenant : page) slugs.push_back(tenant.slug);
    after = {page.back().slug, page.back().id};
  }
  CHECK(slugs == std::vector<std::string>{"alpha", "bravo", "charlie", "delta", "echo"});
}

TEST_CASE("a schema-qualified tenants table (platform.tenants) is the one every command reads",
          "[integration][registry]") {
  support::TestFleet fleet("tenants:\n  table: platform.tenants\n");
  fleet.write_simple_migrations(1, 1);
  const auto acme = fleet.add_tenant("acme-corp");
  const auto globex = fleet.add_tenant("globex");
  // The rows move to schema platform; an empty public.tenants is left as a decoy.
  support::admin_exec(
      "CREATE SCHEMA platform; ALTER TABLE tenants SET SCHEMA platform; "
      "CREATE TABLE public.tenants (LIKE platform.tenants INCLUDING ALL)",
      fleet.central_db());

  const auto all = fleet.migrate({"all-tenants"});
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out,
             Catch::Contains("all-tenants: 2 tenants") && Catch::Contains(": 2 migrated, 0 up to date, 0 failed"));
  CHECK(fleet.ledger(acme).size() == 1);
  CHECK(fleet.ledger(globex).size() == 1);

  fleet.write_simple_migrations(2, 1);
  const auto one = fleet.migrate({"tenant", "acme-corp"});
  INFO(one.all());
  CHECK(one.exit_code == 0);
  CHECK_THAT(one.out, Catch::Contains("acme-corp: done, batch 2, 1 migration"));
  const auto status = fleet.migrate({"status"});
  INFO(status.all());
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("acme-corp: 2 applied, 0 pending, latest 20250101000002_create_t2.sql") &&
                             Catch::Contains("globex: 1 applied, 1 pending, latest 20250101000001_create_t1.sql"));
  const auto unknown = fleet.migrate({"tenant", "initech"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("no tenant with slug or id 'initech' in table platform.tenants"));
}

TEST_CASE("a tenants table of another shape is read: columns in another order, extra ones, a name to quote",
          "[integration][registry]") {
  support::TestFleet fleet("tenants:\n  table: Customer Databases\n");
  fleet.write_simple_migrations(1, 1);
  const auto acme = fleet.add_tenant("acme-corp");
  const auto globex = fleet.add_tenant("globex");
  // An existing fleet's table: its own column order, columns of its own, capitals and a space in
  // its name (a name that works only quoted).
  support::admin_exec(
      "CREATE TABLE \"Customer Databases\" (region text DEFAULT 'eu', db_password_encrypted text NOT NULL, "
      "db_user text NOT NULL, plan text DEFAULT 'pro', db_name text NOT NULL, db_port integer NOT NULL, "
      "db_host text NOT NULL, status text NOT NULL, slug text NOT NULL UNIQUE, id text PRIMARY KEY, "
      "seats integer DEFAULT 5);"
      "INSERT INTO \"Customer Databases\" (db_password_encrypted, db_user, db_name, db_port, db_host, status, slug, "
      "id) SELECT db_password_encrypted, db_user, db_name, db_port, db_host, status, slug, id FROM tenants;"
      "DROP TABLE tenants",
      fleet.central_db());

  const auto all = fleet.migrate({"all-tenants"});
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains(": 2 migrated, 0 up to date, 0 failed"));
  CHECK(fleet.ledger(acme).size() == 1);
  CHECK(fleet.ledger(globex).size() == 1);
  fleet.write_simple_migrations(2, 1);
  const auto one = fleet.migrate({"tenant", acme.id});
  INFO(one.all());
  CHECK(one.exit_code == 0);
  CHECK_THAT(one.out, Catch::Contains("acme-corp: done, batch 2, 1 migration"));
  const auto status = fleet.migrate({"status"});
  INFO(status.all());
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("globex: 1 applied, 1 pending"));
}
