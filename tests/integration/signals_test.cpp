// SIGTERM (Kubernetes stopping a Job's pod) and SIGINT (Ctrl-C): a graceful stop, then an immediate one.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <tuple>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/relay.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

// Three tenants; their second migration sleeps until cancelled.
void write_stalling_migrations(TestFleet& fleet) {
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration(
      "20250101000002_stall.sql",
      "-- migrate:up\nCREATE TABLE t2 (id int);\nSELECT pg_sleep(600);\n-- migrate:down\nDROP TABLE t2;\n");
}

int running_sleeps(const TestFleet& fleet) {
  int count = 0;
  for (const auto& tenant : fleet.tenants()) count += support::backends_running(tenant.db, "pg_sleep(600)").size();
  return count;
}

}  // namespace

TEST_CASE("the first SIGTERM or SIGINT stops gracefully: rolled back, unlocked, summarised", "[integration][signals]") {
  const auto [signal_number, status] = GENERATE(std::pair{SIGTERM, 143}, std::pair{SIGINT, 130});
  const bool per_migration = GENERATE(false, true);
  INFO("signal " << signal_number << (per_migration ? ", per-migration" : ", single transaction"));
  TestFleet fleet;
  write_stalling_migrations(fleet);
  for (const auto* slug : {"alpha", "bravo", "charlie"}) fleet.add_tenant(slug);
  std::vector<std::string> args = {"all-tenants", "--concurrency", "2"};
  if (per_migration) args.insert(args.end(), {"--tx-mode", "per-migration"});

  auto run = fleet.spawn(args);
  support::wait_until("two tenants to stall", [&] { return running_sleeps(fleet) == 2; });
  run.signal(signal_number);
  const auto result = run.wait();
  fleet.require_no_secret(result.all());
  INFO(result.all());
  CHECK(result.exit_code == status);
  CHECK_THAT(result.out, Catch::Contains("alpha: interrupted") && Catch::Contains("bravo: interrupted"));
  CHECK_THAT(result.out, Catch::Contains("Summary: 3 tenants") && Catch::Contains("2 interrupted") &&
                             Catch::Contains("1 not started"));
  for (const auto& tenant : fleet.tenants()) {
    INFO(tenant.slug);
    CHECK_FALSE(fleet.table_exists(tenant, "t2"));
    if (tenant.slug == "charlie" || !per_migration) {
      CHECK(fleet.ledger(tenant).empty());
      CHECK_FALSE(fleet.table_exists(tenant, "t1"));
    } else {
      CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_create_t1.sql", 1}});
    }
    if (fleet.table_exists(tenant, "knex_migrations_lock")) CHECK(fleet.lock_value(tenant) == 0);
  }

  // The next run needs no unlock.
  fleet.write_migration("20250101000002_stall.sql", "-- migrate:up\nCREATE TABLE t2 (id int);\n");
  const auto next = fleet.migrate(args);
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK_THAT(next.out, Catch::Contains("0 failed"));
  for (const auto& tenant : fleet.tenants()) CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("a second signal ends the process at once", "[integration][signals]") {
  // The status is that of the second signal.
  const auto [first, second, status] =
      GENERATE(std::tuple{SIGTERM, SIGTERM, 143}, std::tuple{SIGINT, SIGINT, 130}, std::tuple{SIGTERM, SIGINT, 130});
  INFO("signals " << first << " then " << second);
  TestFleet fleet;
  write_stalling_migrations(fleet);
  const auto tenant = fleet.add_tenant("alpha");
  auto run = fleet.spawn({"tenant", "alpha", "--tx-mode", "per-migration"});
  support::wait_until("the tenant to stall", [&] { return running_sleeps(fleet) == 1; });
  // Hold knex's lock row so that the graceful stop blocks while releasing it.
  pqxx::connection blocker(support::admin_conninfo(tenant.db));
  pqxx::work hold(blocker);
  hold.exec("SELECT * FROM knex_migrations_lock FOR UPDATE");
  run.signal(first);
  support::wait_until("the release to block on the lock row",
                      [&] { return !support::backends_running(tenant.db, "UPDATE \"knex_migrations_lock\"").empty(); });
  run.signal(second);
  std::optional<support::ProcessResult> ended;
  support::wait_until(
      "the process to end", [&] { return (ended = run.poll()).has_value(); }, std::chrono::seconds(5));
  CHECK(ended->exit_code == status);
  hold.abort();
}

TEST_CASE("Ctrl-C in encrypt gives the terminal its echo back", "[integration][signals]") {
  int terminal = -1;
  const pid_t child = ::forkpty(&terminal, nullptr, nullptr, nullptr);
  REQUIRE(child >= 0);
  if (child == 0) {
    ::setenv("DB_ENCRYPTION_KEY", "0123456789abcdef0123456789abcdef", 1);
    ::execl(MIGRATE_BINARY, MIGRATE_BINARY, "encrypt", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string shown;
  support::wait_until("the password prompt", [&] {
    pollfd ready{terminal, POLLIN, 0};
    if (::poll(&ready, 1, 0) > 0) {
      char buffer[256];
      const auto got = ::read(terminal, buffer, sizeof buffer);
      if (got > 0) shown.append(buffer, static_cast<std::size_t>(got));
    }
    return shown.find("Password: ") != std::string::npos;
  });
  termios settings{};
  REQUIRE(::tcgetattr(terminal, &settings) == 0);
  CHECK((settings.c_lflag & ECHO) == 0);  // no echo while the password is typed
  ::kill(child, SIGINT);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  REQUIRE(::tcgetattr(terminal, &settings) == 0);
  CHECK((settings.c_lflag & ECHO) != 0);
  ::close(terminal);
}

TEST_CASE("a signal while the central database is read stops with 143, not as an input error",
          "[integration][signals]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("alpha");
  const std::vector<std::vector<std::string>> commands = {{"all-tenants"}, {"tenant", "alpha"}};
  for (const auto& args : commands) {
    INFO(args[0]);
    pqxx::connection blocker(support::admin_conninfo(fleet.central_db()));
    pqxx::work hold(blocker);
    hold.exec("LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE");
    auto run = fleet.spawn(args);
    support::wait_until("the tenants query to wait for the lock", [&] {
      return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + fleet.central_db() +
                                 "' AND wait_event_type = 'Lock'")[0][0]
                 .as<int>() > 0;
    });
    run.signal(SIGTERM);
    const auto result = run.wait();
    hold.abort();
    INFO(result.all());
    CHECK(result.exit_code == 143);
    CHECK_THAT(result.err, !Catch::Contains("cannot read tenants table"));
  }
}

TEST_CASE("a stop lets a transaction:false section finish: no invalid index, the migration recorded",
          "[integration][signals]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_items.sql", "-- migrate:up\nCREATE TABLE items (id int);\n");
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);
  fleet.write_migration(
      "20250101000002_index.sql",
      "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_id ON items (id);\n");
  fleet.write_migration("20250101000003_after.sql", "-- migrate:up\nCREATE TABLE after_index (id int);\n");
  // An old snapshot held open: CREATE INDEX CONCURRENTLY waits for it to end.
  pqxx::connection reader(support::admin_conninfo(tenant.db));
  pqxx::transaction<pqxx::isolation_level::repeatable_read> snapshot(reader);
  snapshot.exec("SELECT count(*) FROM items");
  auto run = fleet.spawn({"tenant", "alpha"});
  support::wait_for_query(tenant.db, "CREATE INDEX CONCURRENTLY");
  run.signal(SIGTERM);
  snapshot.commit();  // the index build can finish now
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 143);
  CHECK(fleet.ledger(tenant) ==
        std::vector<std::pair<std::string, int>>{{"20250101000001_items.sql", 1}, {"20250101000002_index.sql", 2}});
  CHECK(
      fleet.query(tenant, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_id'::regclass")[0][0].as<bool>());
  CHECK_FALSE(fleet.table_exists(tenant, "after_index"));
  CHECK_THAT(result.out, Catch::Contains("alpha: interrupted by SIGTERM; 1 migration committed before (batch 2)"));
}

TEST_CASE("a second signal ends the process even when a cancel request hangs", "[integration][signals]") {
  TestFleet fleet;
  write_stalling_migrations(fleet);
  const auto tenant = fleet.add_tenant("alpha");
  support::FirstConnectionRelay relay;
  support::admin_exec("UPDATE tenants SET db_port = " + std::to_string(relay.port()), fleet.central_db());
  auto run = fleet.spawn({"tenant", "alpha"});
  support::wait_until("the tenant to stall", [&] { return running_sleeps(fleet) == 1; });
  run.signal(SIGTERM);
  support::wait_until("the cancel request to reach the relay, which never answers", [&] { return relay.held() > 0; });
  run.signal(SIGTERM);
  std::optional<support::ProcessResult> ended;
  support::wait_until(
      "the process to end", [&] { return (ended = run.poll()).has_value(); }, std::chrono::seconds(5));
  CHECK(ended->exit_code == 143);
  for (const int pid : support::backends_running(tenant.db, "pg_sleep(600)"))
    support::admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
}
