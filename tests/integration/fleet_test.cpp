#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/other_cluster.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

// 30 tenants: every fifth is poisoned (its second migration fails), two have bad ciphertexts.
void build_mixed_fleet(TestFleet& fleet) {
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration(
      "20250101000002_careful.sql",
      "-- migrate:up\nCREATE TABLE t2 (id int);\n"
      "DO $$ BEGIN IF to_regclass('public.poison') IS NOT NULL THEN RAISE EXCEPTION 'poisoned'; END IF; END $$;\n");
  fleet.write_simple_migrations(3, 1);
  for (int i = 0; i < 30; ++i) {
    const std::string slug = "tenant-" + std::to_string(100 + i);
    if (i == 7 || i == 21) {
      fleet.add_tenant(slug, "active", {}, "00112233445566778899aabbccddeeff:00112233445566778899aabbccddeeff");
      continue;
    }
    const auto tenant = fleet.add_tenant(slug);
    if (i % 5 == 0) fleet.query(tenant, "CREATE TABLE poison (id int)");
  }
}

// Per slug: the ledger names and the tables, the end state to compare.
std::map<std::string, std::string> end_state(const TestFleet& fleet) {
  std::map<std::string, std::string> state;
  for (const auto& tenant : fleet.tenants()) {
    std::string text;
    for (const auto& [name, batch] : fleet.ledger(tenant)) text += name + "@" + std::to_string(batch) + " ";
    text += "| " + fleet
                       .query(tenant,
                              "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables "
                              "WHERE schemaname = 'public'")[0][0]
                       .as<std::string>();
    state[tenant.slug] = text;
  }
  return state;
}

int summary_count(const std::string& output, const std::string& what) {
  std::smatch match;
  const std::regex form("(\\d+) " + what);
  REQUIRE(std::regex_search(output, match, form));
  return std::stoi(match[1].str());
}

}  // namespace

TEST_CASE("concurrency 4 over 30 tenants with failures mixed in ends like a sequential run", "[integration][fleet]") {
  TestFleet parallel;
  TestFleet sequential;
  build_mixed_fleet(parallel);
  build_mixed_fleet(sequential);

  const auto four = parallel.migrate({"all-tenants", "--concurrency", "4", "--per-host", "3"});
  const auto one = sequential.migrate({"all-tenants", "--concurrency", "1"});
  INFO(four.out << "\n---\n" << one.out);
  CHECK(four.exit_code == 1);
  CHECK(one.exit_code == 1);
  CHECK_THAT(four.out, Catch::Contains("22 migrated, 0 up to date, 8 failed"));
  CHECK_THAT(one.out, Catch::Contains("22 migrated, 0 up to date, 8 failed"));
  CHECK(end_state(parallel) == end_state(sequential));
  CHECK(end_state(parallel)["tenant-101"] ==
        "20250101000001_create_t1.sql@1 20250101000002_careful.sql@1 20250101000003_create_t3.sql@1 | "
        "knex_migrations,knex_migrations_lock,t1,t2,t3");
  CHECK(end_state(parallel)["tenant-100"] == "| poison");
}

TEST_CASE("three replicas started together apply every migration exactly once, with no spurious failure",
          "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 3);
  fleet.write_migration("20250101000009_some_work.sql", "-- migrate:up\nSELECT pg_sleep(0.05);\n");
  for (int i = 0; i < 30; ++i) fleet.add_tenant("tenant-" + std::to_string(100 + i));

  std::vector<support::Process> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(fleet.spawn({"all-tenants", "--concurrency", "2"}));
  int migrated = 0;
  for (auto& replica : replicas) {
    const auto result = replica.wait();
    INFO(result.all());
    CHECK(result.exit_code == 0);
    CHECK(summary_count(result.out, "failed") == 0);
    migrated += summary_count(result.out, "migrated");
  }
  CHECK(migrated == 30);  // each tenant migrated by exactly one replica
  for (const auto& tenant : fleet.tenants()) {
    const auto ledger = fleet.ledger(tenant);
    CHECK(ledger.size() == 4);
    CHECK(std::set<std::pair<std::string, int>>(ledger.begin(), ledger.end()).size() == 4);
  }
}

TEST_CASE("shard K/N runs cover every tenant exactly once", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  for (int i = 0; i < 30; ++i) fleet.add_tenant("tenant-" + std::to_string(100 + i));
  int total = 0;
  for (int k = 1; k <= 3; ++k) {
    const auto result = fleet.migrate({"all-tenants", "--shard", std::to_string(k) + "/3"});
    INFO(result.out);
    CHECK(result.exit_code == 0);
    const int migrated = summary_count(result.out, "migrated");
    CHECK(migrated > 0);
    CHECK(summary_count(result.out, "up to date") == 0);  // no shard saw another's tenant
    total += migrated;
  }
  CHECK(total == 30);
  for (const auto& tenant : fleet.tenants()) CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("only and exclude aim at part of the fleet", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto a = fleet.add_tenant("alpha");
  const auto b = fleet.add_tenant("bravo");
  const auto c = fleet.add_tenant("charlie");
  CHECK(fleet.migrate({"all-tenants", "--only", "alpha,charlie", "--exclude", "charlie"}).exit_code == 0);
  CHECK(fleet.ledger(a).size() == 1);
  CHECK(fleet.ledger(b).empty());
  CHECK(fleet.ledger(c).empty());
}

TEST_CASE("fail-fast starts no tenant after the first failure", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("alpha", "active", {}, "bad:ciphertext");
  const auto b = fleet.add_tenant("bravo");
  const auto c = fleet.add_tenant("charlie");
  const auto result = fleet.migrate({"all-tenants", "--concurrency", "1", "--fail-fast"});
  INFO(result.out);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("Summary: 3 tenants in") && Catch::Contains("1 failed") &&
                             Catch::Contains("2 not started"));
  CHECK(fleet.ledger(b).empty());
  CHECK(fleet.ledger(c).empty());
}

TEST_CASE("a tenant whose server refuses connections for its first seconds succeeds after retries",
          "[integration][fleet]") {
  support::OtherCluster late_server;
  late_server.create_tenant_database("late_tenant", "late-password-1", "late_tenant");
  late_server.stop();

  TestFleet fleet("retry:\n  attempts: 10\n  initialDelayMs: 300\n  maxDelayMs: 1500\n");
  fleet.write_simple_migrations(1, 2);
  const auto key = migrate::crypto::parse_key(fleet.key());
  fleet.add_tenant("on-time");
  support::admin_exec(
      "INSERT INTO tenants (id, slug, db_host, db_port, db_name, db_user, db_password_encrypted) VALUES "
      "('late-id', 'late', '127.0.0.1', " +
          std::to_string(late_server.port()) + ", 'late_tenant', 'late_tenant', '" +
          migrate::crypto::encrypt_password("late-password-1", key) + "')",
      fleet.central_db());

  auto run = fleet.spawn({"all-tenants"});
  support::wait_until("the late tenant's first refusal",
                      [&] { return run.output_so_far().find("late: attempt 1 failed") != std::string::npos; });
  late_server.start();
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out,
             Catch::Contains("late: attempt 1 failed, retrying in") && Catch::Contains("Connection refused"));
  CHECK_THAT(result.out, Catch::Contains("2 migrated, 0 up to date, 0 failed"));
}

TEST_CASE("log format json writes one JSON object per line and event", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  fleet.add_tenant("alpha");
  fleet.add_tenant("bravo", "active", {}, "bad:ciphertext");
  const auto result = fleet.migrate({"--log-format", "json", "all-tenants"});
  CHECK(result.exit_code == 1);
  std::multiset<std::string> events;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    const auto event = nlohmann::json::parse(line);  // throws, failing the test, if not JSON
    events.insert(event.at("event").get<std::string>());
    if (event["event"] == "migration_applied") CHECK(event.at("duration_ms").is_number());
    if (event["event"] == "tenant_failed")
      CHECK_THAT(event.at("reason").get<std::string>(), Catch::Contains("decrypt"));
    if (event["event"] == "summary") {
      CHECK(event.at("failed") == 1);
      CHECK(event.at("failures").size() == 1);
    }
  }
  CHECK(events.count("run_start") == 1);
  CHECK(events.count("tenant_start") == 1);
  CHECK(events.count("migration_applied") == 2);
  CHECK(events.count("tenant_done") == 1);
  CHECK(events.count("tenant_failed") == 1);
  CHECK(events.count("summary") == 1);
}

TEST_CASE("a central connection dropped while the fleet runs is reopened and the list read to the end",
          "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_some_work.sql", "-- migrate:up\nSELECT pg_sleep(0.3);\n");
  for (int i = 0; i < 8; ++i) fleet.add_tenant("tenant-" + std::to_string(i));
  // Idle central sessions are cut after 1 s, as a load balancer or idle_session_timeout does.
  support::admin_exec("ALTER DATABASE \"" + fleet.central_db() + "\" SET idle_session_timeout = '1s'");
  const auto result = fleet.migrate({"all-tenants", "--concurrency", "1"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("8 migrated, 0 up to date, 0 failed"));
}

TEST_CASE("a tenant list that cannot be read to the end is exit 1 with the summary", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_some_work.sql", "-- migrate:up\nSELECT pg_sleep(0.3);\n");
  for (int i = 0; i < 6; ++i) fleet.add_tenant("tenant-" + std::to_string(i));
  support::admin_exec("ALTER DATABASE \"" + fleet.central_db() + "\" SET idle_session_timeout = '1s'");
  auto run = fleet.spawn({"all-tenants", "--concurrency", "1", "--no-claims"});
  support::wait_for_query(fleet.tenants()[0].db, "pg_sleep(0.3)");
  support::admin_exec("ALTER DATABASE \"" + fleet.central_db() + "\" ALLOW_CONNECTIONS false");
  const auto result = run.wait();
  support::admin_exec("ALTER DATABASE \"" + fleet.central_db() + "\" ALLOW_CONNECTIONS true");
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("Summary: 6 tenants") && Catch::Contains("6 migrated"));
  CHECK_THAT(result.out, Catch::Contains("tenant list could not be read to the end"));
}

TEST_CASE("a malformed tenant row fails that tenant alone, before anything is decrypted", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto good = fleet.add_tenant("good");
  // Existing fleets have looser tables than ours: text ports, nullable slugs.
  support::admin_exec("ALTER TABLE tenants ALTER COLUMN slug DROP NOT NULL, ALTER COLUMN db_port TYPE text",
                      fleet.central_db());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"null-slug", "slug = NULL"}, {"word-port", "db_port = 'abc'"}, {"big-port", "db_port = '70000'"},
      {"no-host", "db_host = ''"},  {"no-db", "db_name = ''"},        {"no-user", "db_user = ''"}};
  for (const auto& [slug, change] : bad) {
    fleet.add_tenant(slug, "active", {}, "not-even-hex");
    support::admin_exec("UPDATE tenants SET " + change + " WHERE slug = '" + slug + "'", fleet.central_db());
  }
  const auto result = fleet.migrate({"all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("1 migrated, 0 up to date, 6 failed"));
  CHECK_THAT(result.out, Catch::Contains("has no slug"));
  CHECK_THAT(result.out, Catch::Contains("word-port: db_port 'abc' is not a port number (1 to 65535)"));
  CHECK_THAT(result.out, Catch::Contains("big-port: db_port '70000' is not a port number (1 to 65535)"));
  CHECK_THAT(result.out, Catch::Contains("no-host: db_host is empty"));
  CHECK_THAT(result.out, Catch::Contains("no-db: db_name is empty"));
  CHECK_THAT(result.out, Catch::Contains("no-user: db_user is empty"));
  CHECK_THAT(result.out, !Catch::Contains("decrypt"));
  CHECK(fleet.ledger(good).size() == 1);
}

TEST_CASE("fail-fast names the tenants it did not start, totals respect exclude and shard", "[integration][fleet]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("alpha", "active", {}, "bad:ciphertext");
  fleet.add_tenant("bravo");
  fleet.add_tenant("charlie");
  const auto result = fleet.migrate({"all-tenants", "--concurrency", "1", "--fail-fast"});
  INFO(result.out);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out,
             Catch::Contains("Summary: 3 tenants") && Catch::Contains("1 failed") && Catch::Contains("2 not started"));
  CHECK_THAT(result.out, Catch::Contains("Not started: bravo, charlie"));

  const auto excluded = fleet.migrate({"all-tenants", "--exclude", "alpha"});
  CHECK_THAT(excluded.out, Catch::Contains("all-tenants: 2 tenants"));
  for (int k = 1; k <= 2; ++k) {
    const auto shard = fleet.migrate({"all-tenants", "--shard", std::to_string(k) + "/2"});
    std::smatch announced, summary;
    REQUIRE(std::regex_search(shard.out, announced, std::regex("all-tenants: (\\d+) tenant")));
    REQUIRE(std::regex_search(shard.out, summary, std::regex("Summary: (\\d+) tenant")));
    CHECK(announced[1] == summary[1]);
  }
}
