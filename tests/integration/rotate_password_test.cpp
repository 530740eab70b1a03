// migrate rotate-password: the new password set on the server (as a SCRAM verifier, never in
// plain text) and stored encrypted; a run killed between its steps, settled by the next run; the
// fleet form; refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/server_log.hpp"
#include "support/wait.hpp"

using support::Tenant;
using support::TestFleet;

namespace {

std::string decrypt(const TestFleet& fleet, const std::string& stored) {
  return std::string(migrate::crypto::decrypt_password(stored, migrate::crypto::parse_key(fleet.key())).view());
}

std::string encrypt(const TestFleet& fleet, const std::string& password) {
  return migrate::crypto::encrypt_password(password, migrate::crypto::parse_key(fleet.key()));
}

std::string stored_password(const TestFleet& fleet, const Tenant& tenant) {
  return support::admin_exec("SELECT db_password_encrypted FROM tenants WHERE id = '" + tenant.id + "'",
                             fleet.central_db())[0][0]
      .as<std::string>();
}

// The encrypted password of `tenant`'s recorded rotation; empty when there is none.
std::string side_row(const TestFleet& fleet, const Tenant& tenant) {
  const auto rows = support::admin_exec(
      "SELECT password_encrypted FROM tenants_password_rotations WHERE tenant_id = '" + tenant.id + "'",
      fleet.central_db());
  return rows.empty() ? std::string() : rows[0][0].as<std::string>();
}

// Whether the server lets `tenant`'s role log in with `password`.
bool logs_in(const Tenant& tenant, const std::string& password) {
  try {
    pqxx::connection db("host=" + support::cluster_host() + " port=" + std::to_string(support::cluster_port()) +
                        " dbname=" + tenant.db + " user=" + tenant.role + " password='" + password + "'");
    return pqxx::nontransaction(db).exec("SELECT current_user")[0][0].as<std::string>() == tenant.role;
  } catch (const pqxx::broken_connection& error) {
    INFO(error.what());
    REQUIRE_THAT(error.what(), Catch::Contains("password authentication failed"));
    return false;
  }
}

// How many sessions of `user` (or of migrate, when `user` is empty) are connected to `db`.
int sessions(const std::string& db, const std::string& user = "") {
  return support::admin_exec(
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db + "' AND " +
             (user.empty() ? std::string("application_name = 'migrate'") : "usename = '" + user + "'"))[0][0]
      .as<int>();
}

std::filesystem::path server_log() {
  const char* path = std::getenv("MIGRATE_TEST_SERVER_LOG");
  REQUIRE(path != nullptr);
  return path;
}

// What the server logged after byte `offset`.
std::string logged_since(std::uintmax_t offset) {
  std::ifstream in(server_log(), std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("rotate-password sets a new password as a SCRAM verifier and stores it encrypted",
          "[integration][rotate_password]") {
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto other = fleet.add_tenant("globex");
  const auto other_stored = stored_password(fleet, other);
  const auto log_start = std::filesystem::file_size(server_log());
  const support::StatementLog tenant_log(tenant.db);
  const support::StatementLog central_log(fleet.central_db());

  const auto result = fleet.migrate({"rotate-password", "acme-corp"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK(result.out == "acme-corp: password rotated\n");

  const auto password = decrypt(fleet, stored_password(fleet, tenant));
  CHECK(password.size() == 40);
  CHECK(password != tenant.password);
  CHECK(logs_in(tenant, password));
  CHECK_FALSE(logs_in(tenant, tenant.password));
  CHECK(result.all().find(password) == std::string::npos);
  CHECK(side_row(fleet, tenant).empty());
  // Another tenant is not touched.
  CHECK(stored_password(fleet, other) == other_stored);
  CHECK(logs_in(other, other.password));

  // The server was sent a verifier, and the plaintext appears nowhere in what it logged.
  const auto statements = tenant_log.statements(tenant.role);
  CHECK(std::count_if(statements.begin(), statements.end(), [&](const std::string& statement) {
          return statement.starts_with("ALTER ROLE \"" + tenant.role + "\" PASSWORD 'SCRAM-SHA-256$4096:");
        }) == 1);
  CHECK_FALSE(central_log.statements("postgres").empty());
  CHECK(logged_since(log_start).find(password) == std::string::npos);
}

TEST_CASE("rotate-password killed before the server took the new password leaves the old one, and starts over",
          "[integration][rotate_password]") {
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto stored_before = stored_password(fleet, tenant);

  // ALTER ROLE waits for this lock: the run is held after step 1 (recorded), before step 2.
  pqxx::connection locker(support::admin_conninfo());
  pqxx::work hold(locker);
  hold.exec("LOCK TABLE pg_authid IN EXCLUSIVE MODE");
  auto runner = fleet.spawn({"rotate-password", "acme-corp"});
  support::wait_until("migrate's ALTER ROLE waiting for pg_authid",
                      [&] { return support::sessions_waiting_for_lock(tenant.db, true) == 1; });
  runner.signal(SIGKILL);
  CHECK(runner.wait().exit_code == 128 + SIGKILL);
  hold.abort();
  support::wait_until("the killed run's sessions to end",
                      [&] { return sessions(tenant.db) == 0 && sessions(fleet.central_db()) == 0; });

  CHECK(logs_in(tenant, tenant.password));
  CHECK(stored_password(fleet, tenant) == stored_before);
  const auto recorded = side_row(fleet, tenant);
  REQUIRE_FALSE(recorded.empty());
  const auto never_set = decrypt(fleet, recorded);
  CHECK_FALSE(logs_in(tenant, never_set));

  const auto again = fleet.migrate({"rotate-password", "acme-corp"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  CHECK(again.out == "acme-corp: password rotated\n");
  const auto fresh = decrypt(fleet, stored_password(fleet, tenant));
  CHECK(fresh != never_set);
  CHECK(fresh != tenant.password);
  CHECK(logs_in(tenant, fresh));
  CHECK_FALSE(logs_in(tenant, tenant.password));
  CHECK_FALSE(logs_in(tenant, never_set));
  CHECK(side_row(fleet, tenant).empty());
  CHECK(again.all().find(fresh) == std::string::npos);
}

TEST_CASE("rotate-password killed after the server took the new password is completed by the next run",
          "[integration][rotate_password]") {
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto stored_before = stored_password(fleet, tenant);

  // Step 3's UPDATE waits for this row lock: the run is held after step 2 (ALTER ROLE committed).
  pqxx::connection locker(support::admin_conninfo(fleet.central_db()));
  pqxx::work hold(locker);
  hold.exec_params("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", tenant.id);
  auto runner = fleet.spawn({"rotate-password", "acme-corp"});
  support::wait_until("migrate's UPDATE of the tenants row waiting for its lock",
                      [&] { return support::sessions_waiting_for_lock(fleet.central_db(), true) == 1; });
  runner.signal(SIGKILL);
  CHECK(runner.wait().exit_code == 128 + SIGKILL);
  hold.abort();
  support::wait_until("the killed run's sessions to end", [&] { return sessions(fleet.central_db()) == 0; });

  // The server has the side row's password; the tenants row still has the old one.
  CHECK(stored_password(fleet, tenant) == stored_before);
  const auto recorded = side_row(fleet, tenant);
  REQUIRE_FALSE(recorded.empty());
  const auto set_on_server = decrypt(fleet, recorded);
  CHECK(logs_in(tenant, set_on_server));
  CHECK_FALSE(logs_in(tenant, tenant.password));
  // Until the rotation is completed, a run cannot reach the tenant with the stored password.
  const auto blocked = fleet.migrate({"tenant", "acme-corp"});
  INFO(blocked.all());
  CHECK(blocked.exit_code == 1);
  CHECK_THAT(blocked.out, Catch::Contains("password authentication failed") &&
                              Catch::Contains("; a password rotation of this tenant was interrupted: run migrate "
                                              "rotate-password acme-corp"));

  const auto again = fleet.migrate({"rotate-password", "acme-corp"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  CHECK(again.out == "acme-corp: completed an interrupted rotation\n");
  CHECK(decrypt(fleet, stored_password(fleet, tenant)) == set_on_server);
  CHECK(logs_in(tenant, set_on_server));
  CHECK(side_row(fleet, tenant).empty());
  CHECK(again.all().find(set_on_server) == std::string::npos);
  CHECK(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
}

TEST_CASE("rotate-password --all-tenants rotates every active tenant and each interrupted rotation, in slug order",
          "[integration][rotate_password]") {
  TestFleet fleet;
  const auto first = fleet.add_tenant("a-tenant");
  const auto third = fleet.add_tenant("c-tenant");
  const auto second = fleet.add_tenant("b-tenant");
  const auto suspended = fleet.add_tenant("d-suspended", "suspended");
  const auto wrong = fleet.add_tenant("e-wrong", "active", {}, encrypt(fleet, "not-its-password"));
  const auto neither = fleet.add_tenant("f-neither", "suspended", {}, encrypt(fleet, "not-its-password"));
  const auto pending = fleet.add_tenant("g-pending", "suspended");
  const auto wrong_stored = stored_password(fleet, wrong);
  const auto suspended_stored = stored_password(fleet, suspended);
  const auto neither_stored = stored_password(fleet, neither);
  // Interrupted rotations of two tenants that are not active: one whose recorded password the
  // server has, one where neither password is the server's.
  REQUIRE(fleet.migrate({"rotate-password", "a-tenant"}).exit_code == 0);  // creates the side table
  support::admin_exec("INSERT INTO tenants_password_rotations (tenant_id, password_encrypted) VALUES ('" + pending.id +
                          "', '" + encrypt(fleet, pending.password) + "'), ('" + neither.id + "', '" +
                          encrypt(fleet, "not-it-either") + "')",
                      fleet.central_db());

  const auto result = fleet.migrate({"rotate-password", "--all-tenants", "--concurrency", "3"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  const std::vector<std::string> lines = {
      "a-tenant: password rotated\n",
      "b-tenant: password rotated\n",
      "c-tenant: password rotated\n",
      "e-wrong: FAILED: cannot connect to",
      "f-neither: FAILED: neither password is accepted by",
      "g-pending: completed an interrupted rotation\n",
      "Total: 6 tenants: 3 rotated, 1 completed an interrupted rotation, 2 failed\n"};
  std::size_t at = 0;
  for (const auto& line : lines) {
    const auto found = result.out.find(line, at);
    INFO(line);
    CHECK(found != std::string::npos);
    if (found != std::string::npos) at = found;
  }
  CHECK_THAT(result.out, Catch::Contains("e-wrong: FAILED: cannot connect to") &&
                             Catch::Contains("password authentication failed") && !Catch::Contains("d-suspended"));

  for (const auto& tenant : {first, second, third}) {
    const auto password = decrypt(fleet, stored_password(fleet, tenant));
    CHECK(logs_in(tenant, password));
    CHECK_FALSE(logs_in(tenant, tenant.password));
    CHECK(result.all().find(password) == std::string::npos);
  }
  // The failed ones alone, untouched.
  CHECK(stored_password(fleet, wrong) == wrong_stored);
  CHECK(side_row(fleet, wrong).empty());
  CHECK(logs_in(wrong, wrong.password));
  CHECK(stored_password(fleet, neither) == neither_stored);
  CHECK_FALSE(side_row(fleet, neither).empty());
  CHECK(logs_in(neither, neither.password));
  // The completed one stores what its side row held; the suspended one is left alone.
  CHECK(decrypt(fleet, stored_password(fleet, pending)) == pending.password);
  CHECK(side_row(fleet, pending).empty());
  CHECK(stored_password(fleet, suspended) == suspended_stored);
}

TEST_CASE("rotate-password refuses an unknown tenant or no tenant with exit 2, changing nothing",
          "[integration][rotate_password]") {
  TestFleet fleet;
  fleet.add_tenant("acme-corp");
  const auto unknown = fleet.migrate({"rotate-password", "nope"});
  INFO(unknown.all());
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("no tenant with slug or id 'nope'"));
  CHECK(support::admin_exec("SELECT to_regclass('tenants_password_rotations') IS NULL", fleet.central_db())[0][0]
            .as<bool>());

  const auto none = fleet.migrate({"rotate-password"});
  INFO(none.all());
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, Catch::Contains("rotate-password: give a tenant's slug or id, or --all-tenants"));
}

TEST_CASE("rotate-password --log-format json prints one event per tenant and a summary",
          "[integration][rotate_password]") {
  TestFleet fleet;
  fleet.add_tenant("acme-corp");
  fleet.add_tenant("wrong", "active", {}, encrypt(fleet, "not-its-password"));
  const auto result = fleet.migrate({"--log-format", "json", "rotate-password", "--all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  std::istringstream lines(result.out);
  std::vector<std::string> events;
  for (std::string line; std::getline(lines, line);) events.push_back(line);
  REQUIRE(events.size() == 3);
  CHECK(events[0] == R"({"event":"password_rotation","result":"rotated","tenant":"acme-corp"})");
  CHECK_THAT(events[1], Catch::StartsWith(R"({"event":"password_rotation","reason":"cannot connect to)") &&
                            Catch::EndsWith(R"(","result":"failed","tenant":"wrong"})"));
  CHECK(
      events[2] ==
      R"({"completed":0,"event":"rotate_password_summary","failed":1,"interrupted":0,"not_started":0,"rotated":1,"tenants":2})");
}
