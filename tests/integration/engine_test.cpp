// What the engine sends a tenant, read from the server's own statement log and session counts:
// the path with nothing to do, the plan made again under the lock, and status; and what another
// session sees of a tenant while it is migrated, in each transaction mode.
#include <catch2/catch.hpp>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/server_log.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

std::string joined(const std::vector<std::string>& statements) {
  std::string text;
  for (const auto& statement : statements) text += "  " + statement + "\n";
  return text;
}

// The lock row's and the ledger rows' versions: a write to either changes them.
std::string row_versions(const TestFleet& fleet, const support::Tenant& tenant) {
  return fleet
      .query(tenant,
             "SELECT (SELECT string_agg(xmin::text, ',') FROM knex_migrations_lock) || '|' || "
             "(SELECT string_agg(xmin::text, ',' ORDER BY id) FROM knex_migrations)")[0][0]
      .as<std::string>();
}

}  // namespace

TEST_CASE("with nothing pending a tenant costs one connection and one query: no lock, no write",
          "[integration][engine]") {
  const std::string command = GENERATE("all-tenants", "tenant");
  INFO("migrate " << command);
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  const auto versions = row_versions(fleet, tenant);

  const support::StatementLog log(tenant.db);
  const auto sessions_before = support::sessions_started(tenant.db);
  const auto result = fleet.migrate(command == "tenant" ? std::vector<std::string>{"tenant", "acme-corp"}
                                                        : std::vector<std::string>{"all-tenants"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out,
             Catch::Contains(command == "tenant" ? "acme-corp: up to date" : "0 migrated, 1 up to date, 0 failed"));
  const auto statements = log.statements(tenant.role);
  INFO("statements sent:\n" << joined(statements));
  CHECK(statements == std::vector<std::string>{"SELECT name, NULL::integer, NULL::text FROM \"knex_migrations\" UNION "
                                               "ALL SELECT NULL, max(is_locked), NULL FROM \"knex_migrations_lock\" "
                                               "UNION ALL SELECT name, NULL, checksum FROM "
                                               "\"knex_migrations_checksums\""});
  CHECK(support::sessions_started(tenant.db) - sessions_before == 1);
  CHECK(row_versions(fleet, tenant) == versions);
}

TEST_CASE("with something pending the plan is made again under the lock", "[integration][engine]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_simple_migrations(2, 1);

  const support::StatementLog log(tenant.db);
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto statements = log.statements(tenant.role);
  INFO("statements sent:\n" << joined(statements));
  auto position = [&](const std::string& text) {
    for (std::size_t i = 0; i < statements.size(); ++i)
      if (statements[i].find(text) != std::string::npos) return static_cast<int>(i);
    return -1;
  };
  const int fast_read = position("SELECT name, NULL::integer, NULL::text FROM \"knex_migrations\"");
  const int lock = position("pg_advisory_xact_lock");
  const int locked_read = position("SELECT id, name, batch, migration_time FROM \"knex_migrations\"");
  const int applied = position("CREATE TABLE t2");
  CHECK(fast_read == 0);
  CHECK(lock > fast_read);
  CHECK(locked_read > lock);
  CHECK(applied > locked_read);
  CHECK(fleet.ledger(tenant).back() == std::pair<std::string, int>{"20250101000002_create_t2.sql", 2});
}

TEST_CASE("status takes no lock and writes nothing, in the tenant or the central database", "[integration][engine]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto migrated = fleet.add_tenant("acme-corp");
  const auto fresh = fleet.add_tenant("globex");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_simple_migrations(3, 1);
  const auto versions = row_versions(fleet, migrated);

  const support::StatementLog migrated_log(migrated.db);
  const support::StatementLog fresh_log(fresh.db);
  const support::StatementLog central_log(fleet.central_db());
  const auto one = fleet.migrate({"status", "--tenant", "acme-corp"});
  INFO(one.all());
  CHECK(one.exit_code == 0);
  const auto all = fleet.migrate({"status", "--concurrency", "2"});
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK_THAT(
      all.out,
      Catch::Contains("Total: 2 tenants: 0 up to date, 2 with pending migrations, 0 with missing files, 0 unreadable"));

  const std::string ledger_read = "SELECT id, name, batch, migration_time FROM \"knex_migrations\" ORDER BY id";
  const auto to_migrated = migrated_log.statements(migrated.role);
  INFO("sent to acme-corp:\n" << joined(to_migrated));
  CHECK(to_migrated == std::vector<std::string>{ledger_read, ledger_read});  // one read per status command
  const auto to_fresh = fresh_log.statements(fresh.role);
  INFO("sent to globex:\n" << joined(to_fresh));
  CHECK(to_fresh == std::vector<std::string>{ledger_read});  // the table is missing: nothing created
  CHECK_FALSE(fleet.table_exists(fresh, "knex_migrations"));
  CHECK(row_versions(fleet, migrated) == versions);
  // The central database is only read: no claims (advisory locks), no write.
  const auto to_central = central_log.statements("postgres");
  INFO("sent to the central database:\n" << joined(to_central));
  CHECK_FALSE(to_central.empty());
  for (const auto& statement : to_central) {
    CHECK(statement.rfind("SELECT ", 0) == 0);
    CHECK_THAT(statement, !Catch::Contains("advisory") && !Catch::Contains("FOR UPDATE"));
  }
}

TEST_CASE("another session sees the old schema until the one commit, or each migration as it commits per-migration",
          "[integration][engine]") {
  const bool per_migration = GENERATE(false, true);
  INFO((per_migration ? "--tx-mode per-migration" : "--tx-mode single (the default)"));
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  // Migration 2 applies; migration 3 waits for a lock this test holds, so the run stops between them.
  fleet.write_simple_migrations(2, 1);
  fleet.write_migration("20250101000003_wait.sql",
                        "-- migrate:up\nSELECT pg_advisory_xact_lock(717171);\nCREATE TABLE t3 (id int);\n");
  pqxx::connection holder(support::admin_conninfo(tenant.db));
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_lock(717171)");
  std::vector<std::string> args = {"tenant", "acme-corp"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});
  auto run = fleet.spawn(args);
  support::wait_until("migration 3 to wait for the lock",
                      [&] { return support::sessions_waiting_for_lock(tenant.db, true) == 1; });

  using Ledger = std::vector<std::pair<std::string, int>>;
  if (per_migration) {
    CHECK(fleet.table_exists(tenant, "t2"));
    CHECK(fleet.ledger(tenant) == Ledger{{"20250101000001_create_t1.sql", 1}, {"20250101000002_create_t2.sql", 2}});
  } else {
    CHECK_FALSE(fleet.table_exists(tenant, "t2"));
    CHECK(fleet.ledger(tenant) == Ledger{{"20250101000001_create_t1.sql", 1}});
  }
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_unlock(717171)");
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.table_exists(tenant, "t3"));
  CHECK(fleet.ledger(tenant) == Ledger{{"20250101000001_create_t1.sql", 1},
                                       {"20250101000002_create_t2.sql", 2},
                                       {"20250101000003_wait.sql", 2}});
}

TEST_CASE("a pending transaction:false migration makes the run per-migration, and one run is one batch",
          "[integration][engine]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  fleet.write_simple_migrations(2, 1);
  fleet.write_migration("20250101000003_index.sql",
                        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t2_id ON t2 (id);\n");
  fleet.write_simple_migrations(4, 1);
  fleet.write_migration("20250101000005_broken.sql", "-- migrate:up\nCREATE TABLE t5 (id int);\nSELECT 1/0;\n");

  // The default mode, but a transaction:false migration is pending: each migration commits on its
  // own, so the failure of the last keeps the three before it, all in this run's batch.
  const auto failed = fleet.migrate({"tenant", "acme-corp"});
  INFO(failed.all());
  CHECK(failed.exit_code == 1);
  CHECK_THAT(failed.out, Catch::Contains("20250101000005_broken.sql: division by zero"));
  using Ledger = std::vector<std::pair<std::string, int>>;
  const Ledger kept = {{"20250101000001_create_t1.sql", 1},
                       {"20250101000002_create_t2.sql", 2},
                       {"20250101000003_index.sql", 2},
                       {"20250101000004_create_t4.sql", 2}};
  CHECK(fleet.ledger(tenant) == kept);
  CHECK(fleet.table_exists(tenant, "t4"));
  CHECK_FALSE(fleet.table_exists(tenant, "t5"));
  CHECK(fleet.lock_value(tenant) == 0);

  fleet.write_migration("20250101000005_broken.sql", "-- migrate:up\nCREATE TABLE t5 (id int);\n");
  const auto fixed = fleet.migrate({"tenant", "acme-corp"});
  INFO(fixed.all());
  CHECK(fixed.exit_code == 0);
  auto all = kept;
  all.emplace_back("20250101000005_broken.sql", 3);
  CHECK(fleet.ledger(tenant) == all);
}
