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
