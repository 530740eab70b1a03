// run.lockTimeoutMs and run.statementTimeoutMs: a migration blocked by an application's open
// transaction is retried, then fails naming the session that blocked it; a statement timeout is
// not retried; the wait for the ledger's own lock keeps run.lockWaitSeconds.
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "migrate/ledger/ledger_lock.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

// A short lock timeout; `attempts` tries in all.
std::string knexfile_with(int attempts, const std::string& more_run = "", int lock_wait_seconds = 30) {
  return "run:\n  lockWaitSeconds: " + std::to_string(lock_wait_seconds) +
         "\n  connectTimeoutSeconds: 5\n  lockTimeoutMs: 200\n" + more_run +
         "retry:\n  attempts: " + std::to_string(attempts) + "\n  initialDelayMs: 50\n  maxDelayMs: 200\n";
}

const std::string create_items = "-- migrate:up\nCREATE TABLE items (id int, note text);\n";
const std::string query_with_data = "SELECT * FROM items WHERE note = 'card-4111-secret'";

// An application's session, as the tenant's role: a transaction that read `items` and stays open,
// holding an AccessShareLock on it that ALTER TABLE waits for.
class Blocker {
 public:
  explicit Blocker(const support::Tenant& tenant)
      : db_("host=" + support::cluster_host() + " port=" + std::to_string(support::cluster_port()) + " dbname=" +
            tenant.db + " user=" + tenant.role + " password=" + tenant.password + " application_name=billing-worker"),
        tx_(std::in_place, db_) {
    pid_ = tx_->exec("SELECT pg_backend_pid()")[0][0].as<int>();
    tx_->exec(query_with_data);
  }
  int pid() const { return pid_; }
  void release() { tx_.reset(); }  // rolls back, letting the lock go

 private:
  pqxx::connection db_;
  std::optional<pqxx::work> tx_;
  int pid_ = 0;
};

// Waits for `process` to end (failing the test after a minute rather than hanging on a missing timeout).
support::ProcessResult finished(support::Process& process) {
  std::optional<support::ProcessResult> result;
  support::wait_until(
      "the run to end", [&] { return (result = process.poll()).has_value(); }, std::chrono::seconds(60));
  return *result;
}

int columns_of_items(const TestFleet& fleet, const support::Tenant& tenant) {
  return fleet.query(tenant, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items'")[0][0]
      .as<int>();
}

}  // namespace

TEST_CASE(
    "a migration blocked by an open transaction past lockTimeoutMs is retried, then fails naming the blocking "
    "session, without its query",
    "[integration][lock_timeout]") {
  TestFleet fleet(knexfile_with(3));
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000002_audit.sql", "-- migrate:up\nCREATE TABLE audit (id int);\n");
  fleet.write_migration("20250101000003_items_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag bool;\n");
  Blocker blocker(tenant);

  auto run = fleet.spawn({"tenant", "acme-corp"});
  const auto result = finished(run);
  INFO(result.all());
  fleet.require_no_secret(result.all());
  CHECK(result.exit_code == 1);
  const std::string named = "blocked by pid " + std::to_string(blocker.pid()) +
                            " (application 'billing-worker', user '" + tenant.role + "', idle in transaction for ";
  CHECK_THAT(result.out, Catch::Contains("acme-corp: attempt 1 failed, retrying in") &&
                             Catch::Contains("acme-corp: attempt 2 failed, retrying in") &&
                             !Catch::Contains("attempt 3 failed, retrying"));
  CHECK_THAT(result.out, Catch::Contains("acme-corp: FAILED: 20250101000003_items_flag.sql: canceling statement due "
                                         "to lock timeout") &&
                             Catch::Contains(named) &&
                             Catch::Contains(" s) holding AccessShareLock on public.items (gave up after 3 attempts)"));
  CHECK_THAT(result.all(), !Catch::Contains("card-4111-secret"));
  // The whole transaction rolled back: the migration before the blocked one too.
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_items.sql", 1}});
  CHECK_FALSE(fleet.table_exists(tenant, "audit"));
  CHECK(columns_of_items(fleet, tenant) == 2);
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("a migration blocked past lockTimeoutMs is applied on a retry once the blocking transaction ends",
          "[integration][lock_timeout]") {
  TestFleet fleet(knexfile_with(100));
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000002_items_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag bool;\n");
  Blocker blocker(tenant);

  auto run = fleet.spawn({"--log-format", "json", "tenant", "acme-corp"});
  support::wait_until("the first retry to be logged",
                      [&] { return run.output_so_far().find("\"attempt\":1") != std::string::npos; });
  blocker.release();
  const auto result = finished(run);
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("\"event\":\"retry\"") &&
                             Catch::Contains("blocked by pid " + std::to_string(blocker.pid())));
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_items.sql", 1},
                                                                         {"20250101000002_items_flag.sql", 2}});
  CHECK(columns_of_items(fleet, tenant) == 3);
}

TEST_CASE(
    "per-migration mode: a lock timeout retries only the blocked migration, the one committed before it stays "
    "in its batch",
    "[integration][lock_timeout]") {
  TestFleet fleet(knexfile_with(100));
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  // Not IF NOT EXISTS: running it a second time would fail the tenant.
  fleet.write_migration("20250101000002_audit.sql", "-- migrate:up\nCREATE TABLE audit (id int);\n");
  fleet.write_migration("20250101000003_items_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag bool;\n");
  Blocker blocker(tenant);

  auto run = fleet.spawn({"tenant", "acme-corp", "--tx-mode", "per-migration"});
  support::wait_until("the first retry to be logged", [&] {
    return run.output_so_far().find("acme-corp: attempt 1 failed, retrying in") != std::string::npos;
  });
  // While it is blocked, the migration before stays committed.
  CHECK(fleet.table_exists(tenant, "audit"));
  CHECK(fleet.ledger(tenant).size() == 2);
  blocker.release();
  const auto result = finished(run);
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_items.sql", 1},
                                                                         {"20250101000002_audit.sql", 2},
                                                                         {"20250101000003_items_flag.sql", 2}});
  CHECK(columns_of_items(fleet, tenant) == 3);
}

TEST_CASE("a statement past statementTimeoutMs fails the tenant at once, without a retry",
          "[integration][lock_timeout]") {
  TestFleet fleet(knexfile_with(5, "  statementTimeoutMs: 300\n"));
  fleet.write_migration("20250101000001_items.sql", create_items);
  fleet.write_migration("20250101000002_slow.sql", "-- migrate:up\nSELECT pg_sleep(60);\n");
  const auto tenant = fleet.add_tenant("acme-corp");

  auto run = fleet.spawn({"tenant", "acme-corp"});
  const auto result = finished(run);
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("acme-corp: FAILED: 20250101000002_slow.sql: canceling statement due to "
                                         "statement timeout"));
  CHECK_THAT(result.out, !Catch::Contains("retrying") && !Catch::Contains("gave up"));
  CHECK(fleet.ledger(tenant).empty());
  CHECK_FALSE(fleet.table_exists(tenant, "items"));
}

TEST_CASE(
    "the wait for another runner keeps lockWaitSeconds, not lockTimeoutMs nor statementTimeoutMs, and the "
    "migrations after it run under lockTimeoutMs again",
    "[integration][lock_timeout]") {
  const std::string mode = GENERATE(as<std::string>{}, "single", "per-migration");
  INFO(mode);
  // A lock wait of an hour: were it still in force after the lock, the run would not end in time.
  TestFleet fleet(knexfile_with(1, "  statementTimeoutMs: 400\n", 3600));
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000002_items_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag bool;\n");
  const auto key = migrate::ledger::advisory_key(migrate::ledger::Ledger("knex_migrations"));
  pqxx::connection runner(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(runner).exec("SELECT pg_advisory_lock(" + std::to_string(key) + ")");

  auto run = fleet.spawn({"tenant", "acme-corp", "--tx-mode", mode});
  // Waiting for longer than both timeouts, as the server measures it.
  support::wait_until("the run to wait for the ledger's lock for a second", [&] {
    return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + tenant.db +
                               "' AND application_name = 'migrate' AND wait_event_type = 'Lock' AND "
                               "now() - query_start > interval '1 second'")[0][0]
               .as<int>() == 1;
  });
  Blocker blocker(tenant);  // once the ledger's lock is ours, ALTER TABLE must give up after lockTimeoutMs
  pqxx::nontransaction(runner).exec("SELECT pg_advisory_unlock(" + std::to_string(key) + ")");
  const auto result = finished(run);
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("canceling statement due to lock timeout") &&
                             Catch::Contains("blocked by pid " + std::to_string(blocker.pid())) &&
                             !Catch::Contains("busy"));
  CHECK(fleet.ledger(tenant).size() == 1);
  CHECK(columns_of_items(fleet, tenant) == 2);
}

TEST_CASE("lockTimeoutMs 0 is no lock timeout: a blocked migration waits for the blocking transaction",
          "[integration][lock_timeout]") {
  TestFleet fleet("run:\n  lockWaitSeconds: 30\n  connectTimeoutSeconds: 5\n  lockTimeoutMs: 0\n");
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000002_items_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag bool;\n");
  Blocker blocker(tenant);

  auto run = fleet.spawn({"tenant", "acme-corp"});
  // Blocked for longer than the default lock timeout would allow, as the server measures it.
  support::wait_until("the migration to wait for the lock on items for 6 s", [&] {
    return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + tenant.db +
                               "' AND application_name = 'migrate' AND wait_event_type = 'Lock' AND "
                               "query LIKE '%ALTER TABLE items%' AND now() - query_start > interval '6 s'")[0][0]
               .as<int>() == 1;
  });
  blocker.release();
  const auto result = finished(run);
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, !Catch::Contains("retrying"));
  CHECK(columns_of_items(fleet, tenant) == 3);
}

TEST_CASE("a migration that sets lock_timeout itself changes it for its own statements only",
          "[integration][lock_timeout]") {
  // pg_dump output starts with SET lock_timeout = 0: a migration made from it must not leave the
  // migrations after it without a lock timeout.
  const auto mode = GENERATE(std::string("single"), std::string("per-migration"));
  INFO(mode);
  TestFleet fleet(knexfile_with(2));
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration(
      "20250101000002_dump.sql",
      "-- migrate:up\nSET statement_timeout = 0;\nSET lock_timeout = 0;\nCREATE TABLE dumped (id int);\n");
  fleet.write_migration("20250101000003_items_flag.sql", "-- migrate:up\nALTER TABLE items ADD COLUMN flag bool;\n");
  Blocker blocker(tenant);
  auto run = fleet.spawn({"tenant", "acme-corp", "--tx-mode", mode});
  const auto result = finished(run);  // without the fix the ALTER waits for the blocker, beyond the minute
  blocker.release();
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("20250101000003_items_flag.sql: canceling statement due to lock timeout"));
  CHECK(columns_of_items(fleet, tenant) == 2);
}

TEST_CASE("a lock timeout in a transaction:false section names the blocking session and is not retried",
          "[integration][lock_timeout]") {
  TestFleet fleet(knexfile_with(3));
  fleet.write_migration("20250101000001_items.sql", create_items);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_migration("20250101000002_outside.sql",
                        "-- migrate:up transaction:false\nALTER TABLE items ADD COLUMN flag bool;\n");
  Blocker blocker(tenant);
  auto run = fleet.spawn({"tenant", "acme-corp"});
  const auto result = finished(run);
  blocker.release();
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("canceling statement due to lock timeout") &&
                             Catch::Contains("blocked by pid " + std::to_string(blocker.pid())) &&
                             !Catch::Contains("retrying"));
}
