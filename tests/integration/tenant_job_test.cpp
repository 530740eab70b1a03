// One tenant's job: retries of transient faults, what is reported, what committed.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "migrate/ledger/ledger_lock.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/listener.hpp"
#include "support/own_cluster.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

void terminate_backends(const std::string& db, const std::string& text) {
  for (const int pid : support::backends_running(db, text))
    support::admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
}

// Patient retries: a test holds a fault for a few seconds, then lets it go.
const char* const patient = "retry:\n  attempts: 100\n  initialDelayMs: 50\n  maxDelayMs: 300\n";

void wait_for_output(const support::Process& process, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (process.output_so_far().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("timed out waiting for '" << text << "' in the output:\n" << process.output_so_far());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string ledger_lock_key() {
  return std::to_string(migrate::ledger::advisory_key(migrate::ledger::Ledger("knex_migrations")));
}

// A tenant with its ledger and lock tables (migration 1 applied) and migration 2 pending.
support::Tenant tenant_with_one_pending(TestFleet& fleet) {
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_simple_migrations(2, 1);
  return tenant;
}

std::vector<nlohmann::json> events(const std::string& output) {
  std::vector<nlohmann::json> parsed;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
  return parsed;
}

}  // namespace

TEST_CASE("a backend terminated in the middle of a migration is retried, in the words of libpq",
          "[integration][tenant_job]") {
  const bool per_migration = GENERATE(false, true);
  INFO((per_migration ? "per-migration" : "single transaction"));
  TestFleet fleet("retry:\n  attempts: 3\n  initialDelayMs: 50\n  maxDelayMs: 100\n");
  fleet.write_simple_migrations(1, 1);
  // The migration waits at a gate the test holds (an advisory lock), so its backend is surely in
  // the middle of it when terminated, however slow the machine; the retry finds the gate open.
  fleet.write_migration("20250101000002_gated.sql",
                        "-- migrate:up\nCREATE TABLE t2 (id int);\nSELECT pg_advisory_lock(4242);\n"
                        "SELECT pg_advisory_unlock(4242);\n-- migrate:down\nDROP TABLE t2;\n");
  fleet.write_simple_migrations(3, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  std::vector<std::string> args = {"tenant", "acme-corp"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});

  pqxx::connection gate(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(gate).exec("SELECT pg_advisory_lock(4242)");
  auto run = fleet.spawn(args);
  support::wait_for_query(tenant.db, "pg_advisory_lock(4242)");
  // pg_terminate_backend with a timeout returns once the backend is gone, before the gate opens.
  for (const int pid : support::backends_running(tenant.db, "pg_advisory_lock(4242)"))
    support::admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 30000)");
  pqxx::nontransaction(gate).exec("SELECT pg_advisory_unlock(4242)");
  const auto result = run.wait();
  fleet.require_no_secret(result.all());
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("terminating connection due to administrator command"));
  const std::vector<std::pair<std::string, int>> expected = {
      {"20250101000001_create_t1.sql", 1}, {"20250101000002_gated.sql", 1}, {"20250101000003_create_t3.sql", 1}};
  CHECK(fleet.ledger(tenant) == expected);  // one batch, even across attempts
  CHECK(fleet.lock_value(tenant) == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 1, 3 migrations"));
}

TEST_CASE("a restart of the tenant server in the middle of a fleet run is retried", "[integration][tenant_job]") {
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

TEST_CASE("too many connections for the role of a tenant is retried until one is free", "[integration][tenant_job]") {
  TestFleet fleet(patient);
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  support::admin_exec("ALTER ROLE \"" + tenant.role + "\" CONNECTION LIMIT 1");
  // The one connection the role may have, taken by the test.
  auto held = std::make_unique<pqxx::connection>(
      "host=" + support::cluster_host() + " port=" + std::to_string(support::cluster_port()) + " user=" + tenant.role +
      " password=" + tenant.password + " dbname=" + tenant.db);
  auto run = fleet.spawn({"tenant", "acme-corp"});
  wait_for_output(run, "too many connections for role");
  held.reset();
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("FATAL:  too many connections for role \"" + tenant.role + "\""));
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 1, 1 migration"));
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("a tenant server shutting down, then down, is retried until it is back", "[integration][tenant_job]") {
  support::OwnCluster server;
  TestFleet fleet(patient);
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  server.host(fleet, tenant);
  // A smart shutdown waits for the sessions it has; meanwhile it refuses new ones.
  auto held = std::make_unique<pqxx::connection>(server.admin_conninfo());
  server.stop("smart", /*wait=*/false);
  auto run = fleet.spawn({"tenant", "acme-corp"});
  wait_for_output(run, "the database system is shutting down");
  held.reset();
  wait_for_output(run, "Connection refused");
  support::wait_until("the server to be down", [&] { return server.postmaster_pid() == 0; });
  server.start();
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("FATAL:  the database system is shutting down"));
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 1, 1 migration"));
  pqxx::connection check(server.admin_conninfo(tenant.db));
  CHECK(pqxx::nontransaction(check).exec("SELECT count(*) FROM knex_migrations")[0][0].as<int>() == 1);
}

// A tenant's server that crashed, being started again, its startup process paused before it could
// finish. `wal_rows`: rows written just before the crash, whose WAL it then replays for a while
// (checkpoints are far apart, so the crash leaves all of it to replay).
struct CrashedServer {
  support::OwnCluster server{"checkpoint_timeout = '1h'\nmax_wal_size = '4GB'\n"};
  pid_t startup = 0;

  CrashedServer(const TestFleet& fleet, const support::Tenant& tenant, int wal_rows) {
    server.host(fleet, tenant);
    if (wal_rows > 0) {
      pqxx::connection admin(server.admin_conninfo());
      pqxx::nontransaction(admin).exec(
          "CREATE TABLE wal_to_replay AS SELECT g, repeat('x', 200) AS pad FROM "
          "generate_series(1, " +
          std::to_string(wal_rows) + ") g");
    }
    server.stop("immediate");
    server.start(/*wait=*/false);
    startup = server.pause_startup();
  }
  ~CrashedServer() { resume(); }  // a stopped startup process would keep the server from stopping
  void pause() { REQUIRE(::kill(startup, SIGSTOP) == 0); }
  void resume() { ::kill(startup, SIGCONT); }
};

TEST_CASE("a tenant server starting up is retried", "[integration][tenant_job]") {
  TestFleet fleet(patient);
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  // Paused before its redo, PostgreSQL answers that it is starting up. On a loaded machine the
  // startup process is now and then stopped only once its redo has begun ("not yet accepting
  // connections", the next test's case): then a fresh server is crashed again.
  std::unique_ptr<CrashedServer> crashed_once;
  for (int tries = 1; !crashed_once || crashed_once->server.connect_error().find("starting up") == std::string::npos;
       ++tries) {
    REQUIRE(tries <= 10);
    crashed_once.reset();
    crashed_once = std::make_unique<CrashedServer>(fleet, tenant, 0);
  }
  auto& crashed = *crashed_once;
  REQUIRE_THAT(crashed.server.connect_error(), Catch::Contains("the database system is starting up"));
  auto run = fleet.spawn({"tenant", "acme-corp"});
  wait_for_output(run, "acme-corp: attempt 2 failed, retrying in");
  run.signal(SIGTERM);  // what comes once the server goes on is the next test's
  const auto result = run.wait();
  INFO(result.all());
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("FATAL:  the database system is starting up"));
  CHECK_THAT(result.out, !Catch::Contains("FAILED"));
  CHECK(result.exit_code == 143);
}

// From PostgreSQL 14 on, a server replaying WAL after a crash (or restoring a backup, or a standby
// starting) refuses connections with "the database system is not yet accepting connections" until
// it is consistent: transient, as "starting up" is.
TEST_CASE("a tenant server replaying WAL after a crash is retried until it accepts connections",
          "[integration][tenant_job]") {
  TestFleet fleet(patient);
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  CrashedServer crashed(fleet, tenant, 200000);
  // Let it start its redo, and pause it there.
  crashed.resume();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (crashed.server.connect_error().find("not yet accepting connections") == std::string::npos)
    REQUIRE(std::chrono::steady_clock::now() < deadline);
  crashed.pause();
  REQUIRE_THAT(crashed.server.connect_error(), Catch::Contains("the database system is not yet accepting connections"));

  auto run = fleet.spawn({"tenant", "acme-corp"});
  wait_for_output(run, "not yet accepting connections");
  crashed.resume();
  const auto result = run.wait();
  INFO(result.all());
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("FATAL:  the database system is not yet accepting connections"));
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: done, batch 1, 1 migration"));
}

// libpqxx 6.4 throws deadlock_detected and serialization_failure as pqxx::transaction_rollback, not
// as sql_error: both must still be retried (see tests/unit/errors_test.cpp).
TEST_CASE("a deadlock while locking is retried", "[integration][tenant_job]") {
  TestFleet fleet(patient);
  const auto tenant = tenant_with_one_pending(fleet);
  // Our sessions look for deadlocks after 2 s, the test after 60 s: migrate is the one to give way.
  support::admin_exec("ALTER DATABASE \"" + tenant.db + "\" SET deadlock_timeout = '2s'");
  pqxx::connection other(support::admin_conninfo(tenant.db));
  pqxx::work other_tx(other);
  other_tx.exec("SET LOCAL deadlock_timeout = '60s'; SELECT * FROM knex_migrations_lock FOR UPDATE");

  auto run = fleet.spawn({"tenant", "acme-corp"});
  // migrate holds the advisory lock and waits for the row; the test now waits for the advisory lock.
  support::wait_until("migrate to wait for the lock row",
                      [&] { return support::sessions_waiting_for_lock(tenant.db, true) == 1; });
  other_tx.exec("SELECT pg_advisory_xact_lock(" + ledger_lock_key() + ")");  // returns once migrate gave way
  other_tx.commit();
  const auto result = run.wait();
  INFO(result.all());
  CHECK_THAT(result.out,
             Catch::Contains("acme-corp: attempt 1 failed, retrying in") && Catch::Contains("deadlock detected"));
  CHECK(result.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("a serialization failure while locking is retried", "[integration][tenant_job]") {
  TestFleet fleet(patient);
  const auto tenant = tenant_with_one_pending(fleet);
  // Some fleets run their databases in repeatable read; the lock row then conflicts rather than waits.
  support::admin_exec("ALTER DATABASE \"" + tenant.db + "\" SET default_transaction_isolation = 'repeatable read'");
  pqxx::connection other(support::admin_conninfo(tenant.db));
  pqxx::work other_tx(other);
  other_tx.exec("UPDATE knex_migrations_lock SET is_locked = 0");

  auto run = fleet.spawn({"tenant", "acme-corp"});
  support::wait_until("migrate to wait for the lock row",
                      [&] { return support::sessions_waiting_for_lock(tenant.db, true) == 1; });
  other_tx.commit();  // a newer version of the row than migrate's snapshot
  const auto result = run.wait();
  INFO(result.all());
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("could not serialize access due to concurrent update"));
  CHECK(result.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("a commit whose connection broke is never retried and is reported as check this tenant",
          "[integration][tenant_job]") {
  const bool per_migration = GENERATE(false, true);
  INFO((per_migration ? "per-migration" : "single transaction"));
  TestFleet fleet("retry:\n  attempts: 5\n  initialDelayMs: 50\n  maxDelayMs: 100\n");
  // A deferred trigger runs at COMMIT: the backend is terminated while it commits.
  fleet.write_migration("20250101000001_slow_commit.sql",
                        "-- migrate:up\nCREATE TABLE t1 (id int);\n"
                        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                        "BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;\n"
                        "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON t1 DEFERRABLE INITIALLY DEFERRED\n"
                        "  FOR EACH ROW EXECUTE FUNCTION slow_commit();\n"
                        "INSERT INTO t1 VALUES (1);\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  std::vector<std::string> args = {"tenant", "acme-corp"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});
  auto run = fleet.spawn(args);
  support::wait_until("migrate to be committing",
                      [&] { return !support::backends_running(tenant.db, "COMMIT").empty(); });
  terminate_backends(tenant.db, "COMMIT");
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: FAILED: the connection broke while committing: the migrations "
                                         "may or may not have been applied; check this tenant with `migrate status "
                                         "--tenant`"));
  CHECK_THAT(result.out, !Catch::Contains("retrying"));
  CHECK(fleet.ledger(tenant).empty());  // terminated inside COMMIT: in fact rolled back
  CHECK_FALSE(fleet.table_exists(tenant, "t1"));
}

TEST_CASE("the SQL error of a migration itself is never retried", "[integration][tenant_job]") {
  TestFleet fleet("retry:\n  attempts: 5\n  initialDelayMs: 50\n  maxDelayMs: 100\n");
  fleet.write_migration("20250101000001_divides.sql", "-- migrate:up\nCREATE TABLE t1 (id int);\nSELECT 1/0;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto result = fleet.migrate({"--log-format", "json", "all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  nlohmann::json failed;
  int retries = 0;
  for (const auto& event : events(result.out)) {
    if (event["event"] == "retry") ++retries;
    if (event["event"] == "tenant_failed") failed = event;
  }
  CHECK(retries == 0);
  REQUIRE(failed.is_object());
  CHECK(failed["attempts"] == 1);
  CHECK_THAT(failed["reason"].get<std::string>(),
             Catch::StartsWith("20250101000001_divides.sql") && Catch::EndsWith(": division by zero"));
  CHECK(fleet.ledger(tenant).empty());
}

TEST_CASE("a password that does not decrypt fails its tenant and is never tried against the server",
          "[integration][tenant_job]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto good = fleet.add_tenant("alpha");
  // Where the two tenants' servers would be: a socket that tells whether anyone came.
  support::Listener wrong_key_server;
  support::Listener malformed_server;
  fleet.add_tenant("bravo", "active", wrong_key_server.port(),
                   "00112233445566778899aabbccddeeff:00112233445566778899aabbccddeeff");
  fleet.add_tenant("charlie", "active", malformed_server.port(), "00112233445566778899aabbccddeeff:0011");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"all-tenants"}, {"tenant", "bravo"}}) {
    INFO(args[0]);
    const auto result = fleet.migrate(args);
    INFO(result.all());
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.out, Catch::Contains("bravo: ") &&
                               Catch::Contains("cannot decrypt db_password_encrypted: wrong key or corrupted value"));
    CHECK_THAT(result.out, !Catch::Contains("retrying") && !Catch::Contains("gave up"));
    CHECK_FALSE(wrong_key_server.was_contacted());
    CHECK_FALSE(malformed_server.was_contacted());
  }
  const auto all = fleet.migrate({"all-tenants"});
  CHECK_THAT(all.out, Catch::Contains("charlie: cannot decrypt db_password_encrypted: the ciphertext is 2 bytes, not a "
                                      "whole number of 16-byte blocks"));
  CHECK(fleet.ledger(good).size() == 1);
}
