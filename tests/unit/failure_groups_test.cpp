#include <catch2/catch.hpp>

#include "migrate/runner/failure_groups.hpp"

using namespace migrate;
using namespace migrate::runner;

namespace {

registry::TenantRecord tenant(const std::string& slug, const std::string& host = "db1.internal", int port = 5432) {
  registry::TenantRecord record;
  record.id = "id-" + slug;
  record.slug = slug;
  record.database = {host, port, "tenant_" + slug, "role_" + slug};
  return record;
}

}  // namespace

TEST_CASE("reason_without_tenant replaces the own names of the tenant where they stand as words", "[failure_groups]") {
  const auto acme = tenant("acme");
  CHECK(reason_without_tenant("database \"tenant_acme\" does not exist", acme) == "database \"<db>\" does not exist");
  CHECK(reason_without_tenant("password authentication failed for user \"role_acme\"", acme) ==
        "password authentication failed for user \"<user>\"");
  CHECK(reason_without_tenant("acme: schema acme is missing (id-acme)", acme) ==
        "<tenant>: schema <tenant> is missing (<id>)");
  // Inside a longer word it is not the tenant's: "acme-corp" and "acmes" stay.
  CHECK(reason_without_tenant("table acmes and acme-corp", acme) == "table acmes and acme-corp");
  // A reason naming nothing of the tenant is kept as it is.
  CHECK(reason_without_tenant("cannot decrypt db_password_encrypted: wrong key or corrupted value", acme) ==
        "cannot decrypt db_password_encrypted: wrong key or corrupted value");
}

TEST_CASE("reason_without_tenant drops the host, its address, its port and backend pids", "[failure_groups]") {
  CHECK(
      reason_without_tenant("connection to server at \"db1.internal\" (10.0.0.7), port 6432 failed: Connection refused",
                            tenant("acme", "db1.internal", 6432)) ==
      "connection to server at \"<host>\", port <port> failed: Connection refused");
  CHECK(reason_without_tenant("connection to server at \"::1\" (::1), port 5432 failed", tenant("b", "::1")) ==
        "connection to server at \"<host>\", port <port> failed");
  CHECK(reason_without_tenant("cannot connect to db1.internal:6432/tenant_acme: refused",
                              tenant("acme", "db1.internal", 6432)) == "cannot connect to <host>:<port>/<db>: refused");
  CHECK(reason_without_tenant("a runner holds it (backend pid 4242, application 'migrate')", tenant("acme")) ==
        "a runner holds it (backend pid <pid>, application 'migrate')");
  CHECK(reason_without_tenant("Process 12 waits for ShareLock; blocked by process 34.", tenant("acme")) ==
        "Process <pid> waits for ShareLock; blocked by process <pid>.");
}

TEST_CASE("reason_without_tenant never rewrites a placeholder it wrote", "[failure_groups]") {
  // The slug "user" is in the placeholder written for the role: that one stays.
  registry::TenantRecord record = tenant("user");
  CHECK(reason_without_tenant("database \"tenant_user\" for role_user of user", record) ==
        "database \"<db>\" for <user> of <tenant>");
}

TEST_CASE("FailureGrouper groups by reason, the largest group first, tenants in slug order", "[failure_groups]") {
  FailureGrouper grouper;
  grouper.add("b-2", "wrong key", tenant("b-2"));
  grouper.add("c", "database \"tenant_c\" does not exist", tenant("c"));
  grouper.add("b-1", "wrong key", tenant("b-1"));
  grouper.add("a", "database \"tenant_a\" does not exist", tenant("a"));
  grouper.add("z", "database \"tenant_z\" does not exist", tenant("z"));
  grouper.add("solo", "boom", tenant("solo"));
  const auto groups = grouper.groups();
  REQUIRE(groups.size() == 3);
  // The reason varied by tenant: shown with the placeholder.
  CHECK(groups[0].reason == "database \"<db>\" does not exist");
  CHECK(groups[0].tenants == std::vector<std::string>{"a", "c", "z"});
  // The very same reason for all: shown as it is.
  CHECK(groups[1].reason == "wrong key");
  CHECK(groups[1].tenants == std::vector<std::string>{"b-1", "b-2"});
  CHECK(groups[2].reason == "boom");
  CHECK(groups[2].tenants == std::vector<std::string>{"solo"});
}

TEST_CASE("FailureGrouper shows the reason of one tenant as it is", "[failure_groups]") {
  FailureGrouper grouper;
  grouper.add("acme", "database \"tenant_acme\" does not exist", tenant("acme"));
  REQUIRE(grouper.groups().size() == 1);
  CHECK(grouper.groups()[0].reason == "database \"tenant_acme\" does not exist");
}

// Found by review: tenants with serial ids 1 to 8 failing on one file gave four groups of one text.
TEST_CASE("reason_without_tenant leaves numbers and names of fewer than 3 characters alone", "[failure_groups]") {
  FailureGrouper grouper;
  const std::string reason =
      "20250101000001_bad.sql:4: syntax error at or near \"SELEC\" (gave up after 5 attempts, 3 "
      "rows, and 7 more)";
  for (int id = 1; id <= 8; ++id) {
    auto record = tenant("tenant-" + std::to_string(id));
    record.id = std::to_string(id);
    CHECK(reason_without_tenant(reason, record) == reason);
    grouper.add(record.slug, reason, record);
  }
  const auto groups = grouper.groups();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].reason == reason);
  CHECK(groups[0].tenants.size() == 8);
  auto short_names = tenant("ab", "db");
  short_names.database.dbname = "t1";
  CHECK(reason_without_tenant("database \"t1\" on db: ab failed", short_names) == "database \"t1\" on db: ab failed");
}
