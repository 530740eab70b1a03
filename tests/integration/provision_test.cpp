// `migrate provision` and `migrate deprovision` against the real cluster: a tenant's role, database
// and row created (and undone on failure, completed after a crash), then retired or dropped.
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

const std::string knex_dir = std::string(MIGRATE_SOURCE_DIR) + "/tests/knex";

// A server admin of its own: CREATEROLE and CREATEDB, not superuser (least privilege), every
// statement of its sessions in the server log.
struct Admin {
  Admin() : role(support::unique_name("pvadmin")), password("adm-" + support::unique_name("pw")) {
    support::admin_exec("CREATE ROLE " + role + " LOGIN CREATEROLE CREATEDB PASSWORD '" + password + "'");
    support::admin_exec("ALTER ROLE " + role + " SET log_statement = 'all'");
  }
  // The knexfile's servers: block, tenants named r_<slug> and db_<slug>.
  std::string servers() const {
    return "servers:\n  main:\n    connection: postgresql://" + role + ":" + password + "@" + support::cluster_host() +
           ":" + std::to_string(support::cluster_port()) +
           "/postgres\n    databaseName: db_{slug}\n    roleName: r_{slug}\n";
  }
  std::string role;
  std::string password;
};

std::string new_slug() {
  auto slug = support::unique_name("pv");
  for (auto& c : slug)
    if (c == '_') c = '-';
  return slug;
}

struct Row {
  std::string status, name, host, db, user, stored;
  int port = 0;
};

std::optional<Row> row_of(const TestFleet& fleet, const std::string& slug) {
  pqxx::connection central(support::admin_conninfo(fleet.central_db()));
  pqxx::nontransaction tx(central);
  const auto rows = tx.exec_params(
      "SELECT status, coalesce(name, ''), db_host, db_port, db_name, db_user, db_password_encrypted FROM tenants "
      "WHERE slug = $1",
      slug);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return Row{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[4].as<std::string>(),
             r[5].as<std::string>(), r[6].as<std::string>(), r[3].as<int>()};
}

bool role_exists(const std::string& role) {
  return !support::admin_exec("SELECT 1 FROM pg_roles WHERE rolname = '" + role + "'").empty();
}

bool database_exists(const std::string& db) {
  return !support::admin_exec("SELECT 1 FROM pg_database WHERE datname = '" + db + "'").empty();
}

std::string decrypt(const TestFleet& fleet, const std::string& stored) {
  return std::string(migrate::crypto::decrypt_password(stored, migrate::crypto::parse_key(fleet.key())).view());
}

// Connects to the tenant's database as its role with `password`.
std::unique_ptr<pqxx::connection> login(const Row& row, const std::string& password) {
  return std::make_unique<pqxx::connection>("host=" + row.host + " port=" + std::to_string(row.port) +
                                            " dbname=" + row.db + " user=" + row.user + " password=" + password);
}

std::string server_log() {
  const char* path = std::getenv("MIGRATE_TEST_SERVER_LOG");
  if (!path || !*path) FAIL("MIGRATE_TEST_SERVER_LOG is not set: run the tests through scripts/test.sh");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How many sessions of `role` wait for a lock anywhere on the cluster.
int waiting_sessions_of(const std::string& role) {
  return support::admin_exec(
             "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted "
             "WHERE a.usename = '" +
             role + "'")[0][0]
      .as<int>();
}

// Neither the tenant's row nor its database nor its role is there.
void require_nothing_left(const TestFleet& fleet, const std::string& slug) {
  CHECK_FALSE(row_of(fleet, slug));
  CHECK_FALSE(database_exists("db_" + slug));
  CHECK_FALSE(role_exists("r_" + slug));
}

// A second migration that writes a shared catalog the test can lock (pg_db_role_setting): it waits
// there while the test holds that lock, after the role and the database exist.
void write_waiting_migration(TestFleet& fleet) {
  fleet.write_migration("20250101000002_settings.sql",
                        "-- migrate:up\nALTER ROLE CURRENT_USER SET work_mem = '8MB';\n"
                        "-- migrate:down\nALTER ROLE CURRENT_USER RESET work_mem;\n");
}

}  // namespace

TEST_CASE(
    "provision: creates the role, the database it owns and the row, runs every migration, and the stored password "
    "decrypts here and in Node and logs in, never in the server log",
    "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 2);
  const auto slug = new_slug();
  const auto log_before = server_log().size();

  const auto result = fleet.migrate({"provision", slug, "--name", "Acme Corp"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains(slug + ": provisioned: database db_" + slug + " owned by role r_" + slug));

  const auto row = row_of(fleet, slug);
  REQUIRE(row);
  CHECK(row->status == "active");
  CHECK(row->name == "Acme Corp");
  CHECK(row->db == "db_" + slug);
  CHECK(row->user == "r_" + slug);
  CHECK(row->host == support::cluster_host());
  CHECK(row->port == support::cluster_port());

  const auto password = decrypt(fleet, row->stored);
  CHECK(password.size() >= 32);
  const auto node =
      support::run({"/usr/bin/env", "node", knex_dir + "/knex_check.js", "decrypt", fleet.key(), row->stored});
  CHECK(node.exit_code == 0);
  CHECK(node.out == password);

  auto db = login(*row, password);
  pqxx::nontransaction tx(*db);
  CHECK(tx.exec("SELECT count(*) FROM knex_migrations")[0][0].as<int>() == 2);
  CHECK(tx.exec("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('t1', 't2')")[0][0].as<int>() ==
        2);
  CHECK(tx.exec("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")[0][0]
            .as<std::string>() == row->user);
  CHECK_FALSE(tx.exec("SELECT has_database_privilege('public', current_database(), 'CONNECT')")[0][0].as<bool>());

  CHECK(result.all().find(password) == std::string::npos);
  const auto log = server_log().substr(log_before);
  CHECK_THAT(log, Catch::Contains("CREATE ROLE \"r_" + slug + "\" LOGIN PASSWORD 'SCRAM-SHA-256$"));
  CHECK(log.find(password) == std::string::npos);
}

TEST_CASE("provision: a migration that fails leaves no row, database or role, and exits 1 naming it",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_broken.sql", "-- migrate:up\nCREATE TABLE t1 (id int);\n");
  const auto slug = new_slug();

  const auto result = fleet.migrate({"provision", slug});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::Contains("provision of " + slug + " failed"));
  CHECK_THAT(result.all(), Catch::Contains("20250101000002_broken.sql"));
  CHECK_THAT(result.err, Catch::Contains("its role, database and row were removed"));
  require_nothing_left(fleet, slug);
}

TEST_CASE("provision: a bad slug, a slug in use, a role or a database already there are exit 2, nothing changed",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);

  for (const std::string bad : {"Acme", "acme_corp", "-acme", "acme-", "", "a b", "acme;drop"}) {
    const auto result = fleet.migrate({"provision", "--", bad});
    INFO(bad << ": " << result.all());
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains("is not a valid slug"));
  }

  const auto existing = fleet.add_tenant("taken");
  const auto taken = fleet.migrate({"provision", "taken"});
  CHECK(taken.exit_code == 2);
  CHECK_THAT(taken.err, Catch::Contains("tenant taken already exists (status active); nothing was changed"));

  const auto slug = new_slug();
  support::admin_exec("CREATE ROLE \"r_" + slug + "\"");
  const auto role_there = fleet.migrate({"provision", slug});
  CHECK(role_there.exit_code == 2);
  CHECK_THAT(role_there.err, Catch::Contains("role r_" + slug + " already exists on server main"));
  CHECK_FALSE(row_of(fleet, slug));
  support::admin_exec("DROP ROLE \"r_" + slug + "\"");

  support::admin_exec("CREATE DATABASE \"db_" + slug + "\"");
  const auto db_there = fleet.migrate({"provision", slug});
  CHECK(db_there.exit_code == 2);
  CHECK_THAT(db_there.err, Catch::Contains("database db_" + slug + " already exists on server main"));
  CHECK_FALSE(row_of(fleet, slug));
  CHECK_FALSE(role_exists("r_" + slug));
  support::admin_exec("DROP DATABASE \"db_" + slug + "\"");

  const auto no_server = fleet.migrate({"provision", slug, "--server", "other"});
  CHECK(no_server.exit_code == 2);
  CHECK_THAT(no_server.err, Catch::Contains("no server named other"));
}

TEST_CASE("provision: a knexfile without servers is exit 2 saying what to add", "[integration][provision]") {
  TestFleet fleet;
  const auto result = fleet.migrate({"provision", new_slug()});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("has no servers"));
}

TEST_CASE("provision: killed before its role was made, the row stays provisioning and running it again completes it",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 2);
  const auto slug = new_slug();
  {
    // CREATE ROLE waits behind this lock, after the row was written.
    pqxx::connection blocker(support::admin_conninfo());
    pqxx::work hold(blocker);
    hold.exec("LOCK TABLE pg_authid IN EXCLUSIVE MODE");
    auto running = fleet.spawn({"provision", slug});
    support::wait_until("provision waits for pg_authid", [&] { return waiting_sessions_of(admin.role) == 1; });
    running.signal(SIGKILL);
    running.wait();
    // Read while the lock is held: the dead run's CREATE ROLE, still queued, goes through once it is let go.
    const auto row = row_of(fleet, slug);
    REQUIRE(row);
    CHECK(row->status == "provisioning");
    CHECK_FALSE(role_exists("r_" + slug));
  }
  auto row = row_of(fleet, slug);

  const auto again = fleet.migrate({"provision", slug});
  INFO(again.all());
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("completing a provision left unfinished by an earlier run"));
  row = row_of(fleet, slug);
  CHECK(row->status == "active");
  auto db = login(*row, decrypt(fleet, row->stored));
  CHECK(pqxx::nontransaction(*db).exec("SELECT count(*) FROM knex_migrations")[0][0].as<int>() == 2);
}

TEST_CASE("provision: killed during its migrations, running it again completes it with the password it stored",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);
  write_waiting_migration(fleet);
  const auto slug = new_slug();
  {
    pqxx::connection blocker(support::admin_conninfo());
    pqxx::work hold(blocker);
    hold.exec("LOCK TABLE pg_db_role_setting IN EXCLUSIVE MODE");
    auto running = fleet.spawn({"provision", slug});
    support::wait_until("the migration waits for pg_db_role_setting",
                        [&] { return waiting_sessions_of("r_" + slug) == 1; });
    running.signal(SIGKILL);
    running.wait();
  }
  auto row = row_of(fleet, slug);
  REQUIRE(row);
  CHECK(row->status == "provisioning");
  CHECK(database_exists("db_" + slug));
  const auto stored_before = row->stored;

  const auto again = fleet.migrate({"provision", slug});
  INFO(again.all());
  REQUIRE(again.exit_code == 0);
  row = row_of(fleet, slug);
  CHECK(row->status == "active");
  CHECK(row->stored == stored_before);
  auto db = login(*row, decrypt(fleet, row->stored));
  CHECK(pqxx::nontransaction(*db).exec("SELECT count(*) FROM knex_migrations")[0][0].as<int>() == 2);
}

TEST_CASE("deprovision: status deleted and passed by, then --drop-database ends sessions and drops database and role",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);
  const auto slug = new_slug();
  REQUIRE(fleet.migrate({"provision", slug}).exit_code == 0);
  const auto row = *row_of(fleet, slug);

  const auto retired = fleet.migrate({"deprovision", slug});
  INFO(retired.all());
  CHECK(retired.exit_code == 0);
  CHECK(row_of(fleet, slug)->status == "deleted");
  CHECK(database_exists(row.db));
  fleet.write_simple_migrations(2, 1);
  const auto run = fleet.migrate({"all-tenants"});
  CHECK(run.exit_code == 0);
  CHECK(run.all().find(slug) == std::string::npos);

  const auto unasked = fleet.migrate({"deprovision", slug, "--drop-database"});
  CHECK(unasked.exit_code == 2);
  CHECK_THAT(unasked.err, Catch::Contains("pass --yes"));
  CHECK(database_exists(row.db));

  auto session = login(row, decrypt(fleet, row.stored));  // a session the drop must end
  const auto dropped = fleet.migrate({"deprovision", slug, "--drop-database", "--yes"});
  INFO(dropped.all());
  CHECK(dropped.exit_code == 0);
  CHECK_FALSE(database_exists(row.db));
  CHECK_FALSE(role_exists(row.user));
  CHECK(row_of(fleet, slug)->status == "deleted");

  const auto unknown = fleet.migrate({"deprovision", "no-such-tenant"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("no tenant with slug no-such-tenant"));
}

TEST_CASE("provision: Ctrl-C during its migrations undoes role, database and row and exits 130",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);
  write_waiting_migration(fleet);
  const auto slug = new_slug();
  auto blocker = std::make_unique<pqxx::connection>(support::admin_conninfo());
  auto hold = std::make_unique<pqxx::work>(*blocker);
  hold->exec("LOCK TABLE pg_db_role_setting IN EXCLUSIVE MODE");
  auto running = fleet.spawn({"provision", slug});
  support::wait_until("the migration waits for pg_db_role_setting",
                      [&] { return waiting_sessions_of("r_" + slug) == 1; });
  running.signal(SIGINT);
  // The migration's statement is cancelled before the lock is let go (DROP ROLE needs it too).
  support::wait_until("the migration is cancelled", [&] { return waiting_sessions_of("r_" + slug) == 0; });
  hold.reset();
  blocker.reset();
  const auto result = running.wait();
  INFO(result.all());
  CHECK(result.exit_code == 130);
  CHECK_THAT(result.all(), Catch::Contains("its role, database and row were removed"));
  require_nothing_left(fleet, slug);
}

TEST_CASE("provision: a slug that is the id of another tenant is refused, and deprovision finds tenants by slug only",
          "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);
  const auto slug = new_slug();
  REQUIRE(fleet.migrate({"provision", slug}).exit_code == 0);
  const auto other = fleet.add_tenant("other-tenant");
  support::admin_exec("UPDATE tenants SET id = '" + slug + "-id' WHERE slug = 'other-tenant'", fleet.central_db());

  const auto refused = fleet.migrate({"provision", slug + "-id"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("is the id of an existing tenant"));
  CHECK_FALSE(row_of(fleet, slug + "-id"));

  // A tenant whose slug is the other's id: deprovision of that slug touches that row, not the other.
  support::admin_exec("UPDATE tenants SET id = 'other-tenant' WHERE slug = '" + slug + "'", fleet.central_db());
  const auto retired = fleet.migrate({"deprovision", "other-tenant"});
  INFO(retired.all());
  CHECK(retired.exit_code == 0);
  CHECK(row_of(fleet, "other-tenant")->status == "deleted");
  CHECK(row_of(fleet, slug)->status == "active");
}

TEST_CASE(
    "provision: a row in provisioning that provision did not write is not taken over, its role and database left "
    "alone",
    "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers());
  fleet.write_simple_migrations(1, 1);
  const auto victim = fleet.add_tenant("victim");
  const auto slug = new_slug();
  // A sign-up of the application in progress (or a hostile row) naming another tenant's role and database.
  support::admin_exec(
      "INSERT INTO tenants (id, slug, status, db_host, db_port, db_name, db_user, db_password_encrypted) "
      "SELECT 'x-" +
          slug + "', '" + slug +
          "', 'provisioning', db_host, db_port, db_name, db_user, "
          "db_password_encrypted FROM tenants WHERE slug = 'victim'",
      fleet.central_db());
  const auto result = fleet.migrate({"provision", slug});
  INFO(result.all());
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("it was not started by migrate provision; nothing was changed"));
  CHECK(database_exists(victim.db));
  CHECK(row_of(fleet, slug)->status == "provisioning");
  CHECK(fleet.migrate({"tenant", "victim"}).exit_code == 0);  // its password still opens it
}

TEST_CASE(
    "deprovision: two servers at the host and port of the tenant need --server, and one that does not hold it is "
    "refused, nothing changed",
    "[integration][provision]") {
  Admin admin;
  TestFleet fleet(admin.servers() + "  copy:\n    connection: postgresql://" + admin.role + ":" + admin.password + "@" +
                  support::cluster_host() + ":" + std::to_string(support::cluster_port()) +
                  "/postgres\n    databaseName: db_{slug}\n    roleName: r_{slug}\n  elsewhere:\n    connection: "
                  "postgresql://" +
                  admin.role + ":" + admin.password + "@" + support::cluster_host() + ":" +
                  std::to_string(support::cluster_port()) + "/postgres\n    port: 1\n");
  fleet.write_simple_migrations(1, 1);
  const auto slug = new_slug();
  REQUIRE(fleet.migrate({"provision", slug, "--server", "main"}).exit_code == 0);

  const auto ambiguous = fleet.migrate({"deprovision", slug, "--drop-database", "--yes"});
  CHECK(ambiguous.exit_code == 2);
  CHECK_THAT(ambiguous.err, Catch::Contains("several servers hold tenants at"));
  const auto wrong = fleet.migrate({"deprovision", slug, "--drop-database", "--yes", "--server", "elsewhere"});
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Catch::Contains("server elsewhere does not hold tenants at"));
  CHECK(row_of(fleet, slug)->status == "active");
  CHECK(database_exists("db_" + slug));

  const auto dropped = fleet.migrate({"deprovision", slug, "--drop-database", "--yes", "--server", "copy"});
  INFO(dropped.all());
  CHECK(dropped.exit_code == 0);
  CHECK_FALSE(database_exists("db_" + slug));
}
