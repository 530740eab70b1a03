// `migrate baseline`: a tenant whose schema came from elsewhere (here, restored from a dump without
// the ledger) gets its migrations up to NAME recorded as applied without running them.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/server_log.hpp"
#include "support/terminal.hpp"
#include "support/wait.hpp"

using support::TestFleet;
namespace fs = std::filesystem;

namespace {

const std::string pg_bin = "/usr/lib/postgresql/15/bin/";

// Migration `n` creates table t<n> and counts its own run in table `runs`: a row per up section
// that ran, so a migration recorded without running leaves no row.
void write_counted_migration(TestFleet& fleet, int n) {
  char name[64];
  std::snprintf(name, sizeof name, "202501010000%02d_create_t%d.sql", n, n);
  fleet.write_migration(name, "-- migrate:up\nCREATE TABLE IF NOT EXISTS runs (migration int);\nCREATE TABLE t" +
                                  std::to_string(n) + " (id int);\nINSERT INTO runs VALUES (" + std::to_string(n) +
                                  ");\n-- migrate:down\nDROP TABLE t" + std::to_string(n) + ";\n");
}

std::string migration_name(int n) {
  char name[64];
  std::snprintf(name, sizeof name, "202501010000%02d_create_t%d.sql", n, n);
  return name;
}

// The migrations whose up section ran in `tenant`, in the order they ran.
std::vector<int> runs(const TestFleet& fleet, const support::Tenant& tenant) {
  std::vector<int> numbers;
  for (const auto& row : fleet.query(tenant, "SELECT migration FROM runs ORDER BY ctid"))
    numbers.push_back(row[0].as<int>());
  return numbers;
}

std::vector<std::pair<std::string, int>> rows_for(std::initializer_list<int> numbers, int batch) {
  std::vector<std::pair<std::string, int>> rows;
  for (const int n : numbers) rows.emplace_back(migration_name(n), batch);
  return rows;
}

// A schema that came from elsewhere: a table made by hand, which no migration knows.
void made_by_hand(const TestFleet& fleet, const support::Tenant& tenant) {
  fleet.query(tenant, "CREATE TABLE made_by_hand (id int)");
}

// The ledger's rows with their migration_time, to see that nothing was written.
std::string ledger_snapshot(const TestFleet& fleet, const support::Tenant& tenant) {
  return fleet
      .query(
          tenant,
          "SELECT coalesce(string_agg(id || ' ' || name || ' ' || batch || ' ' || migration_time, ', ' ORDER BY id), "
          "'') || ' | lock ' || (SELECT string_agg(is_locked::text, ',') FROM knex_migrations_lock) FROM "
          "knex_migrations")[0][0]
      .as<std::string>();
}

// `from`'s database dumped without the ledger tables and restored into `to`'s, as its role: a
// tenant whose schema came from elsewhere.
void restore_without_ledger(const TestFleet& fleet, const support::Tenant& from, const support::Tenant& to) {
  const auto dump = fleet.dir() / (from.slug + ".sql");
  const auto dumped = support::run({pg_bin + "pg_dump", "--no-owner", "--no-privileges", "--exclude-table",
                                    "knex_migrations*", "--file", dump.string(), "--dbname", from.db});
  INFO(dumped.all());
  REQUIRE(dumped.exit_code == 0);
  const auto restored = support::run({pg_bin + "psql", "--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=1", "--file",
                                      dump.string(), "--dbname", to.db},
                                     {{"PGUSER", to.role}, {"PGPASSWORD", to.password}});
  INFO(restored.all());
  REQUIRE(restored.exit_code == 0);
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> events;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  return events;
}

}  // namespace

TEST_CASE("baseline: a tenant restored from a dump is recorded up to the last migration, none of them run",
          "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 3; ++n) write_counted_migration(fleet, n);
  const auto source = fleet.add_tenant("source");
  REQUIRE(fleet.migrate({"tenant", "source"}).exit_code == 0);
  const auto restored = fleet.add_tenant("restored");
  restore_without_ledger(fleet, source, restored);
  REQUIRE_FALSE(fleet.table_exists(restored, "knex_migrations"));
  REQUIRE(runs(fleet, restored) == std::vector<int>{1, 2, 3});  // what the source ran, restored

  const auto result = fleet.migrate({"baseline", "--tenant", "restored", "--to", migration_name(3), "--yes"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  // The plan first: the tenant, every migration to record, that none will run.
  CHECK_THAT(result.out,
             Catch::StartsWith("Baseline of tenant restored: record 3 migrations as applied, in one batch, "
                               "without running any of them:\n  " +
                               migration_name(1) + "\n  " + migration_name(2) + "\n  " + migration_name(3) + "\n"));
  CHECK_THAT(result.out,
             Catch::EndsWith("restored: baselined, batch 1, 3 migrations recorded as applied without running them\n"));
  CHECK(fleet.ledger(restored) == rows_for({1, 2, 3}, 1));
  CHECK(fleet.query(restored, "SELECT count(*) FROM knex_migrations WHERE migration_time IS NULL")[0][0].as<int>() ==
        0);
  CHECK(fleet.lock_value(restored) == 0);
  CHECK(runs(fleet, restored) == std::vector<int>{1, 2, 3});  // no up section ran

  // A run then has nothing to do: one connection, the one read of the fast path, no DDL.
  {
    const support::StatementLog log(restored.db);
    const auto run = fleet.migrate({"tenant", "restored"});
    INFO(run.all());
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.out, Catch::Contains("restored: up to date"));
    CHECK(log.statements(restored.role) ==
          std::vector<std::string>{"SELECT name, NULL::integer, NULL::text FROM \"knex_migrations\" UNION ALL SELECT "
                                   "NULL, max(is_locked), NULL FROM \"knex_migrations_lock\" UNION ALL SELECT name, "
                                   "NULL, checksum FROM \"knex_migrations_checksums\""});
  }
  CHECK(runs(fleet, restored) == std::vector<int>{1, 2, 3});

  // A newer migration applies as the next batch, and only it runs.
  write_counted_migration(fleet, 4);
  const auto next = fleet.migrate({"tenant", "restored"});
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK(fleet.ledger(restored) ==
        std::vector<std::pair<std::string, int>>{
            {migration_name(1), 1}, {migration_name(2), 1}, {migration_name(3), 1}, {migration_name(4), 2}});
  CHECK(runs(fleet, restored) == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("baseline: to a middle migration, by timestamp or name without .sql, then a run applies only the later ones",
          "[integration][baseline]") {
  // Its timestamp, its name without .sql, or the name knex recorded for it (X.js).
  const std::string form = GENERATE(std::string("20250101000002"), std::string("20250101000002_create_t2"),
                                    std::string("20250101000002_create_t2.js"));
  INFO("--to " << form);
  TestFleet fleet;
  for (int n = 1; n <= 4; ++n) write_counted_migration(fleet, n);
  const auto tenant = fleet.add_tenant("handmade");
  // The first two migrations' schema made by hand.
  fleet.query(tenant, "CREATE TABLE runs (migration int); CREATE TABLE t1 (id int); CREATE TABLE t2 (id int)");

  const auto result = fleet.migrate({"baseline", "--tenant", "handmade", "--to", form, "--yes"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("Not recorded, left pending for the next run: " + migration_name(3) + ", " +
                                         migration_name(4)));
  CHECK(fleet.ledger(tenant) == rows_for({1, 2}, 1));
  CHECK(runs(fleet, tenant).empty());

  const auto run = fleet.migrate({"tenant", "handmade"});
  INFO(run.all());
  CHECK(run.exit_code == 0);
  CHECK(fleet.ledger(tenant) ==
        std::vector<std::pair<std::string, int>>{
            {migration_name(1), 1}, {migration_name(2), 1}, {migration_name(3), 2}, {migration_name(4), 2}});
  CHECK(runs(fleet, tenant) == std::vector<int>{3, 4});
}

TEST_CASE("baseline: refused with exit 2 for a tenant whose ledger has rows, naming it, nothing changed",
          "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 2; ++n) write_counted_migration(fleet, n);
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  write_counted_migration(fleet, 3);
  const auto before = ledger_snapshot(fleet, tenant);

  const auto result = fleet.migrate({"baseline", "--tenant", "acme-corp", "--to", migration_name(3), "--yes"});
  INFO(result.all());
  CHECK(result.exit_code == 2);
  CHECK(result.err ==
        "migrate: error: acme-corp: refused: knex_migrations already has rows (the tenant was migrated or baselined); "
        "baseline is only for a tenant whose ledger is empty; nothing was changed\n");
  CHECK(result.out.empty());  // refused before the plan and the question
  CHECK(ledger_snapshot(fleet, tenant) == before);
  CHECK(runs(fleet, tenant) == std::vector<int>{1, 2});
}

TEST_CASE("baseline: without a terminal and without --yes it is exit 2 and nothing changed",
          "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 2; ++n) write_counted_migration(fleet, n);
  const auto tenant = fleet.add_tenant("acme-corp");
  made_by_hand(fleet, tenant);
  const auto result =
      fleet.migrate({"baseline", "--tenant", "acme-corp", "--to", migration_name(2)});  // stdin /dev/null
  INFO(result.all());
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.out, Catch::StartsWith("Baseline of tenant acme-corp: record 2 migrations"));
  CHECK(result.err ==
        "migrate: error: standard input is not a terminal, so the question cannot be asked: pass --yes to go ahead; "
        "nothing was changed\n");
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations_lock"));
}

TEST_CASE("baseline: on a terminal, n changes nothing and y records", "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 2; ++n) write_counted_migration(fleet, n);
  const auto tenant = fleet.add_tenant("acme-corp");
  made_by_hand(fleet, tenant);
  const auto argv = fleet.argv({"baseline", "--tenant", "acme-corp", "--to", migration_name(2)});
  const std::string question = "Record 2 migrations as applied on 1 tenant(s) without running them? [y/N] ";
  {
    support::Terminal terminal(argv, fleet.environment());
    terminal.wait_for_text(question);
    CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));  // asked before anything changed
    terminal.type("n\n");
    CHECK(terminal.wait() == 2);
    INFO(terminal.shown());
    CHECK_THAT(terminal.shown(), Catch::Contains("baseline not confirmed: nothing was changed"));
    CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  }
  {
    support::Terminal terminal(argv, fleet.environment());
    terminal.wait_for_text(question);
    terminal.type("y\n");
    CHECK(terminal.wait() == 0);
    INFO(terminal.shown());
    CHECK_THAT(terminal.shown(), Catch::Contains("acme-corp: baselined, batch 1, 2 migrations recorded"));
    CHECK(fleet.ledger(tenant) == rows_for({1, 2}, 1));
    CHECK_FALSE(fleet.table_exists(tenant, "runs"));
  }
}

TEST_CASE("baseline: Ctrl-C at the question stops with 130, nothing changed", "[integration][baseline]") {
  TestFleet fleet;
  write_counted_migration(fleet, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  made_by_hand(fleet, tenant);
  support::Terminal terminal(fleet.argv({"baseline", "--tenant", "acme-corp", "--to", migration_name(1)}),
                             fleet.environment());
  terminal.wait_for_text("[y/N] ");
  terminal.type("\x03");  // Ctrl-C, as the terminal sends it: SIGINT
  CHECK(terminal.wait() == 130);
  INFO(terminal.shown());
  CHECK_THAT(terminal.shown(), Catch::Contains("migrate: error: interrupted by SIGINT"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
}

TEST_CASE("baseline: --all-tenants records every active tenant, refusing one already migrated, exit 1",
          "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 3; ++n) write_counted_migration(fleet, n);
  const auto migrated = fleet.add_tenant("migrated");
  REQUIRE(fleet.migrate({"tenant", "migrated"}).exit_code == 0);
  std::vector<support::Tenant> fresh;
  for (const char* slug : {"alpha", "bravo", "charlie", "delta"}) {
    fresh.push_back(fleet.add_tenant(slug));
    made_by_hand(fleet, fresh.back());
  }
  const auto excluded = fleet.add_tenant("echo");
  const auto suspended = fleet.add_tenant("foxtrot", "suspended");
  const auto before = ledger_snapshot(fleet, migrated);

  const auto result = fleet.migrate(
      {"baseline", "--all-tenants", "--to", migration_name(2), "--yes", "--concurrency", "3", "--exclude", "echo"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::StartsWith("Baseline of 5 tenants (alpha, bravo, charlie, delta, migrated): record 2 "
                                           "migrations as applied, in one batch, without running any of them:\n"));
  CHECK_THAT(result.out,
             Catch::Contains("\nA tenant whose ledger has rows, or whose database has no tables, is refused "
                             "and left as it is.\n"));
  CHECK_THAT(result.out, Catch::Contains("\nbaseline: 5 tenants\n"));
  for (const auto& tenant : fresh) {
    CHECK_THAT(
        result.out,
        Catch::Contains(tenant.slug + ": baselined, batch 1, 2 migrations recorded as applied without running them"));
    CHECK(fleet.ledger(tenant) == rows_for({1, 2}, 1));
    CHECK_FALSE(fleet.table_exists(tenant, "runs"));
  }
  const std::string refusal =
      "refused: knex_migrations already has rows (the tenant was migrated or baselined); baseline is only for a tenant "
      "whose ledger is empty; nothing was changed";
  CHECK_THAT(result.out, Catch::Contains("\nmigrated: FAILED: " + refusal + "\n"));
  CHECK_THAT(result.out, Catch::Contains(": 4 baselined, 0 up to date, 1 failed\n"));
  CHECK_THAT(result.out, Catch::Contains("\nFailed tenants (1): migrated: " + refusal + "\n"));
  CHECK(ledger_snapshot(fleet, migrated) == before);
  // Not selected: --exclude, and a tenant that is not active.
  CHECK_FALSE(fleet.table_exists(excluded, "knex_migrations"));
  CHECK_FALSE(fleet.table_exists(suspended, "knex_migrations"));
}

TEST_CASE("baseline: --all-tenants in json, each tenant baselined or refused, the summary counting them",
          "[integration][baseline]") {
  TestFleet fleet;
  write_counted_migration(fleet, 1);
  const auto migrated = fleet.add_tenant("migrated");
  REQUIRE(fleet.migrate({"tenant", "migrated"}).exit_code == 0);
  made_by_hand(fleet, fleet.add_tenant("alpha"));
  made_by_hand(fleet, fleet.add_tenant("bravo"));
  const auto result =
      fleet.migrate({"--log-format", "json", "baseline", "--all-tenants", "--to", migration_name(1), "--yes"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  std::set<std::string> baselined;
  nlohmann::json summary;
  for (const auto& event : json_lines(result.out)) {
    if (event["event"] == "tenant_done" && event["state"] == "baselined") baselined.insert(event["tenant"]);
    if (event["event"] == "tenant_failed") CHECK(event["tenant"] == "migrated");
    if (event["event"] == "summary") summary = event;
  }
  CHECK(baselined == std::set<std::string>{"alpha", "bravo"});
  CHECK(summary["baselined"] == 2);
  CHECK(summary["failed"] == 1);
  REQUIRE(summary["failure_groups"].size() == 1);
  CHECK(summary["failure_groups"][0]["tenants"] == nlohmann::json::array({"migrated"}));
}

TEST_CASE("baseline: a NAME that matches no file is exit 2 naming the nearest, nothing changed",
          "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 3; ++n) write_counted_migration(fleet, n);
  const auto tenant = fleet.add_tenant("acme-corp");
  for (const auto& where :
       {std::vector<std::string>{"--tenant", "acme-corp"}, std::vector<std::string>{"--all-tenants"}}) {
    auto args = where;
    for (const char* more : {"baseline", "--to", "20250101000009_create_t2", "--yes"}) args.push_back(more);
    std::rotate(args.begin(), args.end() - 4, args.end());  // the subcommand first
    const auto result = fleet.migrate(args);
    INFO(result.all());
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err == "migrate: error: baseline --to 20250101000009_create_t2: no migration in " +
                            fleet.migrations_dir().string() +
                            " is named so (give its file name, with or without .sql, or its 14-digit timestamp); "
                            "nearest: " +
                            migration_name(2) + ", " + migration_name(3) + "\n");
    CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  }
}

TEST_CASE("baseline: --tenant or --all-tenants, one of them, is required", "[integration][baseline]") {
  TestFleet fleet;
  const auto neither = fleet.migrate({"baseline", "--to", "20250101000001"});
  CHECK(neither.exit_code == 2);
  CHECK(neither.err ==
        "baseline: give --tenant <slug-or-id> or --all-tenants\nRun with --help for more information.\n");
  const auto both = fleet.migrate({"baseline", "--tenant", "x", "--all-tenants", "--to", "20250101000001"});
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("--tenant excludes --all-tenants"));
  const auto no_to = fleet.migrate({"baseline", "--tenant", "x"});
  CHECK(no_to.exit_code == 2);
  CHECK_THAT(no_to.err, Catch::Contains("--to is required"));
}

// A new tenant has an empty database: recorded as migrated, it would be skipped by every later run.
TEST_CASE("baseline: a tenant whose database has no tables of its own is refused, to be migrated instead",
          "[integration][baseline]") {
  TestFleet fleet;
  for (int n = 1; n <= 2; ++n) write_counted_migration(fleet, n);
  const auto empty = fleet.add_tenant("brand-new");
  const auto restored = fleet.add_tenant("restored");
  made_by_hand(fleet, restored);
  const std::string refusal =
      "refused: the database has no tables besides the ledger, so no schema came from elsewhere to record; apply the "
      "migrations with migrate tenant instead; nothing was changed";

  const auto one = fleet.migrate({"baseline", "--tenant", "brand-new", "--to", migration_name(2), "--yes"});
  INFO(one.all());
  CHECK(one.exit_code == 2);
  CHECK(one.err == "migrate: error: brand-new: " + refusal + "\n");
  CHECK(one.out.empty());  // refused before the plan
  CHECK_FALSE(fleet.table_exists(empty, "knex_migrations"));

  const auto all = fleet.migrate({"baseline", "--all-tenants", "--to", migration_name(2), "--yes"});
  INFO(all.all());
  CHECK(all.exit_code == 1);
  CHECK_THAT(all.out, Catch::Contains("\nbrand-new: FAILED: " + refusal + "\n"));
  CHECK_THAT(all.out, Catch::Contains("restored: baselined, batch 1, 2 migrations"));
  CHECK_FALSE(fleet.table_exists(empty, "knex_migrations"));

  // What it should have done: a run migrates it.
  REQUIRE(fleet.migrate({"tenant", "brand-new"}).exit_code == 0);
  CHECK(runs(fleet, empty) == std::vector<int>{1, 2});
}
