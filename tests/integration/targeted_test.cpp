// up/down by name, rollback --to/--steps, the fleet's rollback and dry runs (runner/targeted.cpp).
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/snapshot.hpp"
#include "support/terminal.hpp"

using support::TestFleet;
using Ledger = std::vector<std::pair<std::string, int>>;

namespace {

std::string t(int n) {
  char name[64];
  std::snprintf(name, sizeof name, "202501010000%02d_create_t%d.sql", n, n);
  return name;
}

std::map<std::string, std::string> snapshots(const TestFleet& fleet) {
  std::map<std::string, std::string> all;
  for (const auto& tenant : fleet.tenants()) all[tenant.slug] = support::catalog_snapshot(tenant);
  return all;
}

}  // namespace

TEST_CASE("up applies the next pending migration, or the named one, as a batch of its own", "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("alpha");

  const auto next = fleet.migrate({"up", "--tenant", "alpha"});
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}});

  const auto by_part = fleet.migrate({"up", "--tenant", "alpha", "create_t3"});
  INFO(by_part.all());
  CHECK(by_part.exit_code == 0);
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}, {t(3), 2}});

  const auto by_timestamp = fleet.migrate({"up", "--tenant", "alpha", "20250101000002"});
  INFO(by_timestamp.all());
  CHECK(by_timestamp.exit_code == 0);
  CHECK_THAT(by_timestamp.out, Catch::Contains("applying it out of order"));
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}, {t(3), 2}, {t(2), 3}});
  CHECK(fleet.table_exists(tenant, "t2"));

  const auto none_left = fleet.migrate({"up", "--tenant", "alpha"});
  CHECK(none_left.exit_code == 0);
  CHECK_THAT(none_left.out, Catch::Contains("alpha: already up to date"));
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("up and down take a unique part of a name, and list the names when several or none match",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"up", "--tenant", "alpha"}).exit_code == 0);
  const auto before = support::catalog_snapshot(tenant);

  const auto several = fleet.migrate({"up", "--tenant", "alpha", "create_t"});
  INFO(several.all());
  CHECK(several.exit_code == 2);
  CHECK_THAT(several.err,
             Catch::Contains("'create_t' matches 3 migrations") && Catch::Contains(t(2)) && Catch::Contains(t(3)));

  const auto unknown_up = fleet.migrate({"up", "--tenant", "alpha", "invoices"});
  INFO(unknown_up.all());
  CHECK(unknown_up.exit_code == 2);
  CHECK_THAT(unknown_up.err, Catch::Contains("no migration matches 'invoices'; pending: " + t(2) + ", " + t(3)));

  const auto unknown_down = fleet.migrate({"down", "--tenant", "alpha", "invoices"});
  INFO(unknown_down.all());
  CHECK(unknown_down.exit_code == 2);
  CHECK_THAT(unknown_down.err, Catch::Contains("no migration matches 'invoices'; applied: " + t(1)));

  CHECK(support::catalog_snapshot(tenant) == before);
}

TEST_CASE("up NAME of an applied migration is already up to date, and --force runs it again in a new batch",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_counter.sql",
                        "-- migrate:up\nCREATE TABLE IF NOT EXISTS counter (n int);\nINSERT INTO counter VALUES (1);\n"
                        "-- migrate:down\nDROP TABLE counter;\n");
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);

  const auto again = fleet.migrate({"up", "--tenant", "alpha", "counter"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("already up to date") && Catch::Contains("--force runs it again"));
  CHECK(fleet.query(tenant, "SELECT count(*) FROM counter")[0][0].as<int>() == 1);

  const auto forced = fleet.migrate({"up", "--tenant", "alpha", "counter", "--force"});
  INFO(forced.all());
  CHECK(forced.exit_code == 0);
  CHECK(fleet.query(tenant, "SELECT count(*) FROM counter")[0][0].as<int>() == 2);
  // Recorded again: one row, in the new batch.
  CHECK(fleet.ledger(tenant) == Ledger{{"20250101000001_counter.sql", 2}});

  const auto no_name = fleet.migrate({"up", "--tenant", "alpha", "--force"});
  CHECK(no_name.exit_code == 2);
}

TEST_CASE("down undoes the newest applied migration, or the named one", "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);

  const auto newest = fleet.migrate({"down", "--tenant", "alpha"});
  INFO(newest.all());
  CHECK(newest.exit_code == 0);
  CHECK_FALSE(fleet.table_exists(tenant, "t3"));
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}, {t(2), 1}});

  const auto named = fleet.migrate({"down", "--tenant", "alpha", "create_t1"});
  INFO(named.all());
  CHECK(named.exit_code == 0);
  CHECK_FALSE(fleet.table_exists(tenant, "t1"));
  CHECK(fleet.table_exists(tenant, "t2"));
  CHECK(fleet.ledger(tenant) == Ledger{{t(2), 1}});
  CHECK(fleet.lock_value(tenant) == 0);
}

TEST_CASE("rollback --to undoes every applied migration newer than NAME, --steps the newest N",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);
  fleet.write_simple_migrations(3, 2);
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);

  const auto one_step = fleet.migrate({"rollback", "--tenant", "alpha", "--steps", "1"});
  INFO(one_step.all());
  CHECK(one_step.exit_code == 0);
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}, {t(2), 1}, {t(3), 2}});

  const auto to = fleet.migrate({"rollback", "--tenant", "alpha", "--to", "20250101000001"});
  INFO(to.all());
  CHECK(to.exit_code == 0);
  CHECK_THAT(to.out, Catch::Contains("alpha: 2 to roll back") && Catch::Contains("alpha: rolled back 2 migration(s)"));
  CHECK_THAT(to.out, !Catch::Contains("pending"));
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}});
  CHECK_FALSE(fleet.table_exists(tenant, "t2"));
  CHECK(fleet.table_exists(tenant, "t1"));

  const auto at_it = fleet.migrate({"rollback", "--tenant", "alpha", "--to", t(1)});
  CHECK(at_it.exit_code == 0);
  CHECK_THAT(at_it.out, Catch::Contains("nothing to roll back"));

  const auto unknown = fleet.migrate({"rollback", "--tenant", "alpha", "--to", "invoices"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("no migration matches 'invoices'"));
  const auto both = fleet.migrate({"rollback", "--tenant", "alpha", "--to", t(1), "--steps", "1"});
  CHECK(both.exit_code == 2);
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}});
}

TEST_CASE("a fleet rollback shows its plan and asks, --dry-run only shows it, --yes rolls every tenant back",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  for (const auto* slug : {"alpha", "bravo", "charlie"}) fleet.add_tenant(slug);
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  fleet.write_simple_migrations(2, 2);
  REQUIRE(fleet.migrate({"all-tenants", "--only", "alpha,bravo"}).exit_code == 0);
  const auto before = snapshots(fleet);
  const std::vector<std::string> args = {"rollback", "--all-tenants", "--to", "create_t1"};

  auto with = [&](std::vector<std::string> extra) {
    auto all = args;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  const auto plan = fleet.migrate(with({"--dry-run"}));
  INFO(plan.all());
  CHECK(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("Rollback to " + t(1) + ": 2 tenants to roll back, 1 already at or before it") &&
                           Catch::Contains("undo " + t(3) + " on 2 tenants") &&
                           Catch::Contains("undo " + t(2) + " on 2 tenants") &&
                           Catch::Contains("Dry run: nothing was changed."));
  CHECK(plan.out.find(t(3)) < plan.out.find("undo " + t(2)));  // newest first
  CHECK(snapshots(fleet) == before);

  const auto unattended = fleet.migrate(args);
  CHECK(unattended.exit_code == 2);
  CHECK_THAT(unattended.err, Catch::Contains("pass --yes"));
  CHECK(snapshots(fleet) == before);

  {
    support::Terminal terminal(fleet.argv(args), fleet.environment());
    terminal.wait_for_text("Roll back 2 tenants to " + t(1) + " (4 down sections in all)? [y/N] ");
    terminal.type("n\n");
    CHECK(terminal.wait() == 2);
    CHECK_THAT(terminal.shown(), Catch::Contains("rollback not confirmed: nothing was changed"));
    CHECK(snapshots(fleet) == before);
  }

  const auto done = fleet.migrate(with({"--yes", "--concurrency", "2"}));
  INFO(done.all());
  CHECK(done.exit_code == 0);
  CHECK_THAT(done.out, Catch::Contains("alpha: rolled back 2 migrations") &&
                           Catch::Contains("bravo: rolled back 2 migrations") &&
                           Catch::Contains("Summary: 2 tenants") &&
                           Catch::Contains("2 rolled back, 0 with nothing to roll back"));
  for (const auto& tenant : fleet.tenants()) {
    INFO(tenant.slug);
    CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}});
    CHECK_FALSE(fleet.table_exists(tenant, "t2"));
    CHECK(fleet.lock_value(tenant) == 0);
  }
  CHECK(support::catalog_snapshot(fleet.tenants()[2]) == before.at("charlie"));
}

TEST_CASE("a fleet rollback without a down section anywhere is refused before anything changes",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_no_down.sql", "-- migrate:up\nCREATE TABLE t2 (id int);\n");
  fleet.write_simple_migrations(3, 1);
  for (const auto* slug : {"alpha", "bravo"}) fleet.add_tenant(slug);
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  const auto before = snapshots(fleet);

  const auto refused = fleet.migrate({"rollback", "--all-tenants", "--to", "create_t1", "--yes"});
  INFO(refused.all());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("nothing was changed") && Catch::Contains("20250101000002_no_down.sql") &&
                              Catch::Contains("no down section") && Catch::Contains("2 tenants: alpha, bravo"));
  CHECK(snapshots(fleet) == before);

  const auto needs_to = fleet.migrate({"rollback", "--all-tenants", "--yes"});
  CHECK(needs_to.exit_code == 2);
  CHECK_THAT(needs_to.err, Catch::Contains("needs --to"));
}

TEST_CASE(
    "a dry run applies the pending migrations of every tenant and rolls back: would succeed, would fail, nothing changes",
    "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  for (const auto* slug : {"alpha", "bravo", "charlie"}) fleet.add_tenant(slug);
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  // bravo has a table the next migration creates: it would fail there.
  fleet.query(fleet.tenants()[1], "CREATE TABLE conflict (id int)");
  fleet.write_migration("20250101000002_conflict.sql",
                        "-- migrate:up\nALTER TABLE t1 ADD COLUMN note text;\n\nCREATE TABLE conflict (id int);\n"
                        "-- migrate:down\nDROP TABLE conflict;\n");
  fleet.write_migration("20250101000003_index.sql",
                        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t1_id ON t1 (id);\n");
  const auto before = snapshots(fleet);

  const auto dry = fleet.migrate({"all-tenants", "--dry-run", "--concurrency", "3"});
  INFO(dry.all());
  CHECK(dry.exit_code == 1);
  CHECK_THAT(dry.out, Catch::Contains("alpha: would succeed: 1 migration applied and rolled back") &&
                          Catch::Contains("charlie: would succeed: 1 migration applied and rolled back") &&
                          Catch::Contains("bravo: WOULD FAIL: 20250101000002_conflict.sql:4:") &&
                          Catch::Contains("relation \"conflict\" already exists") && Catch::Contains("not checked") &&
                          Catch::Contains("20250101000003_index.sql") &&
                          Catch::Contains("2 would succeed, 0 up to date, 1 would fail") &&
                          Catch::Contains("Dry run: rolled back, nothing was changed."));
  CHECK(snapshots(fleet) == before);

  const auto one = fleet.migrate({"tenant", "alpha", "--dry-run"});
  INFO(one.all());
  CHECK(one.exit_code == 0);
  CHECK_THAT(one.out, Catch::Contains("alpha: would succeed: 1 migration applied and rolled back") &&
                          Catch::Contains("1 not checked"));
  CHECK(snapshots(fleet) == before);
}

TEST_CASE("a dry run waits for a lock at most a second, so production traffic never queues behind it",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);
  fleet.write_migration("20250101000002_alter.sql", "-- migrate:up\nALTER TABLE t1 ADD COLUMN note text;\n");
  pqxx::connection app(support::admin_conninfo(tenant.db));
  pqxx::work reading(app);
  reading.exec("SELECT * FROM t1");  // an application transaction holding a lock on t1
  const auto dry = fleet.migrate({"tenant", "alpha", "--dry-run"});
  reading.abort();
  INFO(dry.all());
  CHECK(dry.exit_code == 1);
  CHECK_THAT(dry.out, Catch::Contains("alpha: WOULD FAIL") && Catch::Contains("lock timeout"));
  CHECK(fleet.ledger(tenant) == Ledger{{t(1), 1}});
}

TEST_CASE("a dry run and a fleet rollback in json name their states", "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  fleet.add_tenant("alpha");
  auto events = [](const std::string& text) {
    std::vector<nlohmann::ordered_json> all;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) all.push_back(nlohmann::ordered_json::parse(line));
    return all;
  };
  auto find = [](const std::vector<nlohmann::ordered_json>& all, const std::string& name) {
    for (const auto& event : all)
      if (event["event"] == name) return event;
    return nlohmann::ordered_json();
  };
  const auto dry = fleet.migrate({"--log-format", "json", "all-tenants", "--dry-run"});
  INFO(dry.all());
  const auto dry_events = events(dry.out);
  CHECK(find(dry_events, "run_start")["command"] == "dry-run");
  CHECK(find(dry_events, "tenant_done")["state"] == "would_succeed");
  CHECK(find(dry_events, "tenant_done")["not_checked"] == 0);
  CHECK(find(dry_events, "summary")["would_succeed"] == 1);

  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  const auto back = fleet.migrate({"--log-format", "json", "rollback", "--all-tenants", "--to", t(1), "--yes"});
  INFO(back.all());
  const auto back_events = events(back.out);
  CHECK(find(back_events, "tenant_done")["state"] == "rolled_back");
  CHECK(find(back_events, "summary")["rolled_back"] == 1);
}

TEST_CASE("a fleet rollback touches only the tenants and rows of the plan it showed", "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto alpha = fleet.add_tenant("alpha");
  const auto bravo = fleet.add_tenant("bravo");
  const auto sleepy = fleet.add_tenant("sleepy", "suspended");
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  REQUIRE(fleet.migrate({"tenant", "sleepy"}).exit_code == 0);
  fleet.write_simple_migrations(3, 1);
  const auto args = fleet.argv({"rollback", "--all-tenants", "--to", "create_t1"});
  support::Terminal terminal(args, fleet.environment());
  terminal.wait_for_text("Roll back 2 tenants to " + t(1) + " (2 down sections in all)? [y/N] ");
  // While the operator reads the plan: alpha gets a new migration, the suspended tenant is activated.
  REQUIRE(fleet.migrate({"up", "--tenant", "alpha"}).exit_code == 0);
  support::admin_exec("UPDATE tenants SET status = 'active' WHERE slug = 'sleepy'", fleet.central_db());
  const auto sleepy_before = support::catalog_snapshot(sleepy);
  const auto alpha_before = support::catalog_snapshot(alpha);
  terminal.type("y\n");
  CHECK(terminal.wait() == 1);
  INFO(terminal.shown());
  CHECK_THAT(terminal.shown(), Catch::Contains("alpha: FAILED: the ledger changed since the plan was confirmed") &&
                                   Catch::Contains("bravo: rolled back 1 migration") &&
                                   Catch::Contains("Summary: 2 tenants"));
  CHECK(support::catalog_snapshot(alpha) == alpha_before);
  CHECK(support::catalog_snapshot(sleepy) == sleepy_before);
  CHECK(fleet.ledger(bravo) == Ledger{{t(1), 1}});
}

TEST_CASE("a fleet rollback plan names a migration kept although applied after one it undoes",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(2, 1);
  fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  // The deploy brings a new migration and a hotfix from a long-lived branch with an older timestamp.
  fleet.write_simple_migrations(1, 1);
  fleet.write_simple_migrations(3, 1);
  REQUIRE(fleet.migrate({"all-tenants"}).exit_code == 0);
  const auto plan = fleet.migrate({"rollback", "--all-tenants", "--to", "create_t2", "--dry-run"});
  INFO(plan.all());
  CHECK(plan.exit_code == 0);
  CHECK_THAT(plan.out,
             Catch::Contains("undo " + t(3) + " on 1 tenant") &&
                 Catch::Contains("keep " + t(1) + " on 1 tenant: applied with or after a migration being undone"));
}

TEST_CASE("down NAME of an older migration warns about those applied after it, and knows knex names and pending ones",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"up", "--tenant", "alpha"}).exit_code == 0);
  REQUIRE(fleet.migrate({"up", "--tenant", "alpha"}).exit_code == 0);
  const auto pending = fleet.migrate({"down", "--tenant", "alpha", "create_t3"});
  CHECK(pending.exit_code == 2);
  CHECK_THAT(pending.err, Catch::Contains(t(3) + " is not applied on this tenant: nothing to undo"));
  // knex recorded the first one as .js.
  fleet.query(tenant, "UPDATE knex_migrations SET name = replace(name, '.sql', '.js') WHERE name = '" + t(1) + "'");
  const auto older = fleet.migrate({"down", "--tenant", "alpha", "20250101000001_create_t1.js"});
  INFO(older.all());
  CHECK(older.exit_code == 0);
  CHECK_THAT(older.out, Catch::Contains("warning: " + t(1) + " is not the newest applied migration: " + t(2) +
                                        " applied after it stay"));
  CHECK(fleet.ledger(tenant) == Ledger{{t(2), 2}});
}

TEST_CASE("a dry run keeps nothing even when a migration commits, lifts its lock timeout or finds knex lock row set",
          "[integration][targeted]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);
  const auto before = support::catalog_snapshot(tenant);
  SECTION("a COMMIT hidden from the statement splitter is refused by the server, not run") {
    fleet.write_migration("20250101000002_commit.sql",
                          "-- migrate:up\nCREATE TABLE kept1 (id int);\n"
                          "CREATE TABLE fx$usd$ (id int); COMMIT; CREATE TABLE kept2 (id int); SELECT 1 AS fx$usd$;\n");
    const auto dry = fleet.migrate({"tenant", "alpha", "--dry-run"});
    INFO(dry.all());
    CHECK(dry.exit_code == 1);
    CHECK_THAT(dry.out, Catch::Contains("WOULD FAIL"));
    CHECK_FALSE(fleet.table_exists(tenant, "kept1"));
    CHECK_FALSE(fleet.table_exists(tenant, "kept2"));
  }
  SECTION("a migration that sets lock_timeout to 0 still waits at most the dry run's second") {
    fleet.write_migration("20250101000002_alter.sql",
                          "-- migrate:up\nSET lock_timeout = 0;\nALTER TABLE t1 ADD COLUMN note text;\n");
    pqxx::connection app(support::admin_conninfo(tenant.db));
    pqxx::work reading(app);
    reading.exec("SELECT * FROM t1");
    const auto dry = fleet.migrate({"tenant", "alpha", "--dry-run"});
    reading.abort();
    INFO(dry.all());
    CHECK(dry.exit_code == 1);
    CHECK_THAT(dry.out, Catch::Contains("lock timeout"));
  }
  SECTION("knex lock row set: a run would fail, so does the dry run") {
    fleet.write_simple_migrations(2, 1);
    fleet.query(tenant, "UPDATE knex_migrations_lock SET is_locked = 1");
    const auto dry = fleet.migrate({"tenant", "alpha", "--dry-run"});
    INFO(dry.all());
    CHECK(dry.exit_code == 1);
    CHECK_THAT(dry.out, Catch::Contains("WOULD FAIL: knex_migrations_lock is set"));
    fleet.query(tenant, "UPDATE knex_migrations_lock SET is_locked = 0");
  }
  CHECK(support::catalog_snapshot(tenant) == before);
}
