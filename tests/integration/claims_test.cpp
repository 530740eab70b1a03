// Replica claims: how runs over one central database share the fleet.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/runner/claims.hpp"
#include "migrate/runner/shard.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

// The advisory lock key in the central database by which a replica claims `tenant`, for a run of
// environment `environment` applying the files of `directory` (see libs/runner/src/claims.cpp).
std::int64_t claim_key(const std::string& environment, const std::filesystem::path& directory,
                       const support::Tenant& tenant) {
  const auto set = migrate::migrations::MigrationSet::load(directory);
  const auto scope = migrate::runner::claim_scope(environment, "knex_migrations", set);
  return static_cast<std::int64_t>(migrate::runner::stable_hash("migrate:tenant:" + scope + ":" + tenant.id));
}

std::string ledger_lock_key() {
  return std::to_string(migrate::ledger::advisory_key(migrate::ledger::Ledger("knex_migrations")));
}

bool try_claim(pqxx::connection& central, std::int64_t key) {
  return pqxx::nontransaction(central)
      .exec("SELECT pg_try_advisory_lock(" + std::to_string(key) + ")")[0][0]
      .as<bool>();
}

// Sessions waiting for an advisory lock in database `db`.
int advisory_waiters(const std::string& db) {
  return support::admin_exec(
             "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
             "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = '" +
             db + "'")[0][0]
      .as<int>();
}

}  // namespace

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

// A migration that waits for the test: it holds advisory lock 4242 in the tenant's database.
const char* const held_by_test = "-- migrate:up\nSELECT pg_advisory_lock(4242);\nSELECT pg_advisory_unlock(4242);\n";

TEST_CASE("a tenant claimed by another replica is left to it, then checked current", "[integration][claims]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_held.sql", held_by_test);
  const auto alpha = fleet.add_tenant("alpha");
  fleet.add_tenant("bravo");
  pqxx::connection test_lock(support::admin_conninfo(alpha.db));
  pqxx::nontransaction(test_lock).exec("SELECT pg_advisory_lock(4242)");
  auto first = fleet.spawn({"all-tenants", "--concurrency", "1", "--only", "alpha"});
  support::wait_until("the first replica to be inside alpha's migration",
                      [&] { return advisory_waiters(alpha.db) == 1; });
  auto second = fleet.spawn({"all-tenants", "--concurrency", "2"});
  support::wait_until("the second replica to wait for the first one's claim on alpha",
                      [&] { return advisory_waiters(fleet.central_db()) == 1; });
  pqxx::nontransaction(test_lock).exec("SELECT pg_advisory_unlock(4242)");
  const auto one = first.wait();
  const auto two = second.wait();
  INFO(one.all() << "\n---\n" << two.all());
  CHECK(one.exit_code == 0);
  CHECK(two.exit_code == 0);
  CHECK_THAT(two.out, Catch::Contains("1 migrated, 0 up to date, 0 failed, 1 left to other replicas"));
  CHECK_THAT(one.out, Catch::Contains("1 migrated"));
  for (const auto& tenant : fleet.tenants()) CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("a replica waits for the one that claimed a tenant, however long its migration takes",
          "[integration][claims]") {
  TestFleet fleet(
      "run:\n  lockWaitSeconds: 1\n  lockTimeoutMs: 0\n");  // the gate may be held past the default lock timeout
  fleet.write_migration("20250101000001_held.sql", held_by_test);
  const auto alpha = fleet.add_tenant("alpha");
  pqxx::connection test_lock(support::admin_conninfo(alpha.db));
  pqxx::nontransaction(test_lock).exec("SELECT pg_advisory_lock(4242)");
  auto first = fleet.spawn({"all-tenants"});
  support::wait_until("the first replica to be inside alpha's migration",
                      [&] { return advisory_waiters(alpha.db) == 1; });
  auto second = fleet.spawn({"all-tenants"});
  // Longer than lockWaitSeconds, as the server measures it.
  support::wait_until("the second replica to have waited 2 s for the claim", [&] {
    return support::admin_exec(
               "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE "
               "l.locktype = 'advisory' AND NOT l.granted AND a.datname = '" +
               fleet.central_db() + "' AND now() - a.query_start > interval '2 s'")[0][0]
               .as<int>() == 1;
  });
  pqxx::nontransaction(test_lock).exec("SELECT pg_advisory_unlock(4242)");
  const auto one = first.wait();
  const auto two = second.wait();
  INFO(one.all() << "\n---\n" << two.all());
  CHECK(one.exit_code == 0);
  CHECK(two.exit_code == 0);
  CHECK_THAT(two.out, Catch::Contains("0 failed, 1 left to other replicas"));
}

TEST_CASE("a replica does not report success for a tenant the claiming replica failed", "[integration][claims]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_fails.sql", "-- migrate:up\nSELECT pg_advisory_lock(4242);\nSELECT 1/0;\n");
  const auto alpha = fleet.add_tenant("alpha");
  pqxx::connection test_lock(support::admin_conninfo(alpha.db));
  pqxx::nontransaction(test_lock).exec("SELECT pg_advisory_lock(4242)");
  auto first = fleet.spawn({"all-tenants"});
  support::wait_until("the first replica to be inside alpha's migration",
                      [&] { return advisory_waiters(alpha.db) == 1; });
  auto second = fleet.spawn({"all-tenants"});
  support::wait_until("the second replica to wait for the first one's claim on alpha",
                      [&] { return advisory_waiters(fleet.central_db()) == 1; });
  pqxx::nontransaction(test_lock).exec("SELECT pg_advisory_unlock(4242)");
  const auto one = first.wait();
  const auto two = second.wait();
  INFO(one.all() << "\n---\n" << two.all());
  CHECK(one.exit_code == 1);
  CHECK(two.exit_code == 1);
  CHECK_THAT(two.out,
             Catch::Contains("alpha: FAILED: 20250101000001_fails.sql") && Catch::Contains("division by zero"));
}

TEST_CASE("a tenant whose claim another replica holds is passed over, checked through its own lock, and left to it",
          "[integration][claims]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto alpha = fleet.add_tenant("alpha");
  const auto bravo = fleet.add_tenant("bravo");
  const auto charlie = fleet.add_tenant("charlie");
  // The other replica, played by the test: its claim on bravo, and bravo's own lock, as a runner
  // at work on bravo holds them.
  pqxx::connection claim(support::admin_conninfo(fleet.central_db()));
  REQUIRE(try_claim(claim, claim_key("test", fleet.migrations_dir(), bravo)));
  pqxx::connection other_replica(support::admin_conninfo(bravo.db));
  pqxx::nontransaction(other_replica).exec("SELECT pg_advisory_lock(" + ledger_lock_key() + ")");

  auto run = fleet.spawn({"all-tenants", "--concurrency", "1"});
  // One worker, in slug order: charlie can be done while bravo is held only if bravo was passed over.
  support::wait_until("alpha and charlie to be migrated while bravo is held",
                      [&] { return fleet.ledger(alpha).size() == 1 && fleet.ledger(charlie).size() == 1; });
  support::wait_until("the run to wait for the other replica's claim on bravo",
                      [&] { return advisory_waiters(fleet.central_db()) == 1; });
  CHECK_FALSE(fleet.table_exists(bravo, "knex_migrations"));

  // The other replica applies bravo's migration (its ledger row dated 2000 to tell it apart), then lets go.
  {
    pqxx::work tx(other_replica);
    tx.exec("SET LOCAL ROLE " + tx.quote_name(bravo.role) +
            "; CREATE TABLE knex_migrations (id serial primary key, name varchar(255), batch integer, "
            "migration_time timestamptz); CREATE TABLE knex_migrations_lock (index serial primary key, is_locked "
            "integer); INSERT INTO knex_migrations_lock (is_locked) VALUES (0); CREATE TABLE t1 (id int); "
            "INSERT INTO knex_migrations (name, batch, migration_time) VALUES "
            "('20250101000001_create_t1.sql', 1, '2000-01-01 00:00:00+00')");
    tx.commit();
  }
  pqxx::nontransaction(other_replica).exec("SELECT pg_advisory_unlock(" + ledger_lock_key() + ")");
  pqxx::nontransaction(claim).exec("SELECT pg_advisory_unlock(" +
                                   std::to_string(claim_key("test", fleet.migrations_dir(), bravo)) + ")");
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("Summary: 3 tenants in") &&
                             Catch::Contains(": 2 migrated, 0 up to date, 0 failed, 1 left to other replicas"));
  CHECK(fleet.ledger(bravo) == std::vector<std::pair<std::string, int>>{{"20250101000001_create_t1.sql", 1}});
  CHECK(fleet.query(bravo, "SELECT extract(year FROM migration_time)::int FROM knex_migrations")[0][0].as<int>() ==
        2000);
  CHECK(fleet.lock_value(bravo) == 0);
}

TEST_CASE("a claim held for other migrations is not one of this run: the tenant is worked on in turn",
          "[integration][claims]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("alpha");
  const auto bravo = fleet.add_tenant("bravo");
  const auto charlie = fleet.add_tenant("charlie");
  // Another deploy's claim on bravo: the same environment and ledger, one more migration file.
  const auto other_dir = fleet.dir() / "migrations/other";
  std::filesystem::copy(fleet.migrations_dir(), other_dir);
  std::ofstream(other_dir / "20250101000002_create_t2.sql") << "-- migrate:up\nCREATE TABLE t2 (id int);\n";
  REQUIRE(claim_key("test", other_dir, bravo) != claim_key("test", fleet.migrations_dir(), bravo));
  pqxx::connection claim(support::admin_conninfo(fleet.central_db()));
  REQUIRE(try_claim(claim, claim_key("test", other_dir, bravo)));
  pqxx::connection other_runner(support::admin_conninfo(bravo.db));
  pqxx::nontransaction(other_runner).exec("SELECT pg_advisory_lock(" + ledger_lock_key() + ")");

  auto run = fleet.spawn({"all-tenants", "--concurrency", "1"});
  support::wait_until("bravo's lock to be waited for", [&] { return advisory_waiters(bravo.db) == 1; });
  // The one worker waits on bravo in slug order: charlie has not been started.
  CHECK_FALSE(fleet.table_exists(charlie, "knex_migrations"));
  pqxx::nontransaction(other_runner).exec("SELECT pg_advisory_unlock(" + ledger_lock_key() + ")");
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains(": 3 migrated, 0 up to date, 0 failed"));
  CHECK_THAT(result.out, !Catch::Contains("left to other replicas"));
}

TEST_CASE("a replica killed with SIGKILL drops its claims, and the next run takes the tenant",
          "[integration][claims]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  // Slow while the gate table has a row.
  fleet.write_migration("20250101000002_gated.sql", "-- migrate:up\nSELECT pg_sleep(60) FROM gate;\n");
  const auto alpha = fleet.add_tenant("alpha");
  fleet.query(alpha, "CREATE TABLE gate (id int); INSERT INTO gate VALUES (1)");
  const auto key = claim_key("test", fleet.migrations_dir(), alpha);
  pqxx::connection central(support::admin_conninfo(fleet.central_db()));

  auto replica = fleet.spawn({"all-tenants"});
  support::wait_for_query(alpha.db, "pg_sleep(60)");
  CHECK_FALSE(try_claim(central, key));  // the replica holds alpha's claim
  CHECK(support::admin_exec("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                            "WHERE l.locktype = 'advisory' AND l.granted AND "
                            "((l.classid::bigint << 32) | l.objid::bigint) = " +
                                std::to_string(key),
                            fleet.central_db())[0][0]
            .as<std::string>() == "migrate");
  replica.signal(SIGKILL);
  CHECK(replica.wait().exit_code == 128 + SIGKILL);
  support::wait_until(
      "the killed replica's claim to be dropped", [&] { return try_claim(central, key); }, std::chrono::seconds(10));
  pqxx::nontransaction(central).exec("SELECT pg_advisory_unlock(" + std::to_string(key) + ")");

  fleet.query(alpha, "DELETE FROM gate");
  const auto next = fleet.migrate({"all-tenants"});
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK_THAT(next.out,
             Catch::Contains("Summary: 1 tenant in") && Catch::Contains(": 1 migrated, 0 up to date, 0 failed"));
  CHECK_THAT(next.out, !Catch::Contains("left to other replicas"));
  const std::vector<std::pair<std::string, int>> expected = {{"20250101000001_create_t1.sql", 1},
                                                             {"20250101000002_gated.sql", 1}};
  CHECK(fleet.ledger(alpha) == expected);
  CHECK(fleet.lock_value(alpha) == 0);
}
