// The binary's command line and its exit statuses, as the README's "Commands" and "Exit statuses"
// sections give them.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;
namespace fs = std::filesystem;

namespace {

// A working directory without a knexfile.yaml, inside the fleet's folder (removed with it).
fs::path empty_folder(const TestFleet& fleet) {
  const auto dir = fleet.dir() / "elsewhere";
  fs::create_directories(dir);
  return dir;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> events;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  return events;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A migration that waits for the test's lock on table "gate" where there is one, then fails where
// there is a table "poison".
const std::string gated_migration =
    "-- migrate:up\n"
    "CREATE TABLE t1 (id int);\n"
    "DO $$ BEGIN\n"
    "  IF to_regclass('public.gate') IS NOT NULL THEN PERFORM count(*) FROM gate; END IF;\n"
    "  IF to_regclass('public.poison') IS NOT NULL THEN RAISE EXCEPTION 'poisoned'; END IF;\n"
    "END $$;\n";

}  // namespace

TEST_CASE("cli: --version prints migrate and the version of the project", "[integration][cli]") {
  const auto result = support::run({MIGRATE_BINARY, "--version"});
  CHECK(result.exit_code == 0);
  CHECK(result.out == std::string("migrate ") + MIGRATE_VERSION + "\n");
  CHECK(result.err.empty());
}

TEST_CASE("cli: usage errors are exit 2, the reason of CLI11 on standard error, nothing on standard output",
          "[integration][cli]") {
  const std::string help = "\nRun with --help for more information.\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "A subcommand is required"},
      {{"frobnicate"}, "frobnicate is not a subcommand of migrate"},
      {{"--env", "test", "rollbak", "--tenant", "x"}, "rollbak is not a subcommand of migrate"},
      {{"rollback"}, "rollback: give --tenant <slug-or-id> or --all-tenants"},
      {{"rollback", "--all-tenants"},
       "rollback --all-tenants needs --to NAME: the last migration to keep on every tenant"},
      {{"rollback", "--tenant", "x", "--all-tenants", "--to", "y"}, "--tenant excludes --all-tenants"},
      {{"rollback", "--tenant", "x", "--all", "--steps", "2"}, "--all excludes --steps"},
      {{"rollback", "--tenant", "x", "--dry-run"}, "--dry-run requires --all-tenants"},
      {{"up"}, "--tenant is required"},
      {{"up", "--tenant", "x", "--force"}, "up --force needs the NAME of the migration to run again"},
      {{"down", "--tenant", "x", "a", "b"}, "The following argument was not expected: b"},
      {{"down", "--tenant", "x", ""}, "name: must not be empty"},
      {{"up", "--tenant", "x", ""}, "name: must not be empty"},
      {{"rollback", "--tenant", "x", "--to", ""}, "--to: must not be empty"},
      {{"rollback", "--all-tenants", "--to", ""}, "--to: must not be empty"},
      {{"tenant"}, "tenant is required"},
      {{"make"}, "name is required"},
      {{"unlock"}, "--tenant is required"},
      {{"all-tenants", "--tx-mode", "sometimes"}, "--tx-mode: sometimes not in {single,per-migration}"},
      {{"all-tenants", "--concurrency", "0"}, "--concurrency: Value 0 not in range 1 to 256"},
      {{"all-tenants", "--per-host", "-1"}, "--per-host: Value -1 not in range 0 to 256"},
      {{"all-tenants", "--bogus"}, "The following argument was not expected: --bogus"},
      {{"--log-format", "xml", "all-tenants"}, "--log-format: xml not in {text,json}"},
      {{"all-tenants", "--log-format", "xml"}, "--log-format: xml not in {text,json}"},
  };
  for (const auto& [args, reason] : cases) {
    std::vector<std::string> argv = {MIGRATE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = support::run(argv);
    INFO((argv.size() > 1 ? argv[1] : std::string("no arguments")));
    CHECK(result.exit_code == 2);
    CHECK(result.err == reason + help);
    CHECK(result.out.empty());
  }
  const auto help_page = support::run({MIGRATE_BINARY, "--help"});
  CHECK(help_page.exit_code == 0);
  CHECK_THAT(help_page.out, Catch::Contains("all-tenants") && Catch::Contains("--knexfile"));
}

TEST_CASE("cli: global options --env, --knexfile and --log-format work after the subcommand", "[integration][cli]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knexfile = (fleet.dir() / "knexfile.yaml").string();
  const auto cwd = empty_folder(fleet);  // no knexfile.yaml here: only --knexfile can find it
  auto env = fleet.environment();
  env["MIGRATE_ENV"] = "";  // only --env can name "test"

  const auto all = support::run(
      {MIGRATE_BINARY, "all-tenants", "--env", "test", "--knexfile", knexfile, "--log-format", "json"}, env, cwd);
  INFO(all.all());
  CHECK(all.exit_code == 0);
  const auto events = json_lines(all.out);  // throws, failing the test, if a line is not JSON
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().at("event") == "summary");
  CHECK(events.back().at("migrated") == 1);
  CHECK(fleet.ledger(tenant).size() == 1);

  const auto status = support::run(
      {MIGRATE_BINARY, "status", "--tenant", "acme-corp", "--knexfile", knexfile, "--env", "test"}, env, cwd);
  INFO(status.all());
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("20250101000001_create_t1.sql"));

  fleet.write_simple_migrations(2, 1);
  const auto one =
      support::run({MIGRATE_BINARY, "tenant", "acme-corp", "--knexfile", knexfile, "--env", "test"}, env, cwd);
  INFO(one.all());
  CHECK(one.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("cli: exit status 0, everything done or nothing to do", "[integration][cli]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  fleet.add_tenant("globex");
  const auto done = fleet.migrate({"all-tenants"});
  INFO(done.all());
  CHECK(done.exit_code == 0);
  CHECK_THAT(done.out, Catch::Contains("2 migrated, 0 up to date, 0 failed"));
  const auto nothing = fleet.migrate({"all-tenants"});
  INFO(nothing.all());
  CHECK(nothing.exit_code == 0);
  CHECK_THAT(nothing.out, Catch::Contains("0 migrated, 2 up to date, 0 failed"));
  CHECK(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  CHECK(fleet.migrate({"status"}).exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 2);
}

TEST_CASE("cli: exit status 1, a migration failed and the summary names the tenant with its reason",
          "[integration][cli]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_broken.sql", "-- migrate:up\nCREATE TABLE t1 (id int);\nSELECT 1/0;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"all-tenants"}, {"tenant", "acme-corp"}}) {
    const auto result = fleet.migrate(args);
    INFO(result.all());
    CHECK(result.exit_code == 1);
    // PostgreSQL gives no position for an error found while running (only for one found while
    // parsing), so the reason names the file without a line here; see failure_test for a line.
    CHECK_THAT(result.out, Catch::Contains("acme-corp: FAILED: 20250101000001_broken.sql: division by zero"));
    CHECK_FALSE(fleet.table_exists(tenant, "t1"));
  }
  const auto all = fleet.migrate({"all-tenants"});
  CHECK_THAT(all.out,
             Catch::Contains("\nFailed tenants (1): acme-corp: 20250101000001_broken.sql: division by zero\n"));
}

TEST_CASE("cli: exit status 2, usage, configuration or input errors change nothing", "[integration][cli]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knexfile = (fleet.dir() / "knexfile.yaml").string();
  const auto bad_knexfile = fleet.dir() / "bad.yaml";
  std::ofstream(bad_knexfile) << "test:\n  connection: ${CENTRAL_DATABASE_URL}\n  run:\n    concurency: 4\n";
  const auto port = std::to_string(support::free_port());  // nothing listens there

  struct Case {
    std::string what;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string error;  // the whole of standard error
  };
  const std::vector<Case> cases = {
      {"bad arguments",
       {"all-tenants", "--concurrency", "0"},
       {},
       "--concurrency: Value 0 not in range 1 to 256\nRun with --help for more information.\n"},
      {"knexfile",
       {"all-tenants", "--knexfile", bad_knexfile.string()},
       {},
       "migrate: error: " + bad_knexfile.string() +
           ":4: test.run.concurency is not a known key (known: concurrency, connectTimeoutSeconds, lockTimeoutMs, "
           "lockWaitSeconds, perHost, statementTimeoutMs)\n"},
      {"empty connection",
       {"all-tenants"},
       {{"CENTRAL_DATABASE_URL", ""}},
       "migrate: error: " + knexfile + ":2: test.connection is empty\n"},
      {"key",
       {"all-tenants"},
       {{"DB_ENCRYPTION_KEY", "too-short"}},
       "migrate: error: DB_ENCRYPTION_KEY must be 32 characters (used as raw bytes) or 64 hex digits (32 bytes); it "
       "has 9 characters\n"},
      {"unknown tenant",
       {"tenant", "nobody"},
       {},
       "migrate: error: no tenant with slug or id 'nobody' in table tenants (environment test)\n"},
      {"central database unreachable",
       {"all-tenants"},
       {{"CENTRAL_DATABASE_URL", "postgresql://app:secret-pw@127.0.0.1:" + port + "/platform"}},
       "migrate: error: central database unreachable: cannot connect to 127.0.0.1:" + port +
           "/platform: connection to server at \"127.0.0.1\", port " + port +
           " failed: Connection refused\\n\\tIs the server running on that host and accepting TCP/IP connections? "
           "(check connection in knexfile.yaml, environment test)\n"},
      {"central connection text not valid",
       {"all-tenants"},
       {{"CENTRAL_DATABASE_URL", "host=db password='secret-pw"}},
       "migrate: error: knexfile.yaml: test.connection is not a valid postgresql:// URL or libpq connection string "
       "(in a URL, percent-encode special characters of the password, e.g. % as %25 and @ as %40; in key=value "
       "form, quote values holding spaces)\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto result = fleet.migrate(c.args, c.env);
    INFO(result.all());
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err == c.error);
    CHECK_THAT(result.all(), !Catch::Contains("secret-pw"));
    CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  }
}

TEST_CASE("cli: exit status 2, two down sections in one file, naming the file and line, before any database",
          "[integration][cli]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_two_downs.sql",
                        "-- migrate:up\nCREATE TABLE t1 (id int);\n-- migrate:down\nDROP TABLE t1;\n"
                        "-- migrate:down\nSELECT 1;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"all-tenants"}, {"tenant", "acme-corp"}}) {
    const auto result = fleet.migrate(args);
    INFO(result.all());
    CHECK(result.exit_code == 2);
    CHECK(result.err == "migrate: error: " + (fleet.migrations_dir() / "20250101000001_two_downs.sql").string() +
                            ":5: a second migrate:down section (the first is at line 3)\n");
  }
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
}

TEST_CASE("cli: exit status 2, a rollback refused changes nothing", "[integration][cli]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_no_down.sql", "-- migrate:up\nCREATE TABLE t1 (id int);\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);
  const auto result = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::StartsWith("migrate: error: ") && Catch::Contains("20250101000001_no_down.sql"));
  CHECK(fleet.table_exists(tenant, "t1"));
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("cli: fail-fast with concurrency 2, no tenant starts once a failure is seen, the rest are not started",
          "[integration][cli]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_gated.sql", gated_migration);
  const auto alpha = fleet.add_tenant("alpha");
  const auto bravo = fleet.add_tenant("bravo");
  std::vector<support::Tenant> rest;
  for (const auto* slug : {"charlie", "delta", "echo"}) rest.push_back(fleet.add_tenant(slug));
  fleet.query(alpha, "CREATE TABLE gate (id int); CREATE TABLE poison (id int)");
  fleet.query(bravo, "CREATE TABLE gate (id int)");
  // Both gates held: alpha and bravo start together, and each waits until the test lets it go.
  pqxx::connection alpha_holder(support::admin_conninfo(alpha.db));
  pqxx::work alpha_gate(alpha_holder);
  alpha_gate.exec("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");
  pqxx::connection bravo_holder(support::admin_conninfo(bravo.db));
  pqxx::work bravo_gate(bravo_holder);
  bravo_gate.exec("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");

  auto run = fleet.spawn({"--log-format", "json", "all-tenants", "--concurrency", "2", "--fail-fast"});
  support::wait_for_query(alpha.db, "public.gate");
  support::wait_for_query(bravo.db, "public.gate");
  alpha_gate.commit();  // alpha fails; bravo is still in flight
  // Once alpha's failure is seen, the worker it freed goes on to the three tenants left.
  support::wait_until("the last tenant to be reported",
                      [&] { return run.output_so_far().find("\"tenant\":\"echo\"") != std::string::npos; });
  bravo_gate.commit();
  const auto result = run.wait();
  fleet.require_no_secret(result.all());
  INFO(result.all());
  CHECK(result.exit_code == 1);

  const auto events = json_lines(result.out);
  std::vector<std::string> started, not_started;
  bool failure_seen = false;
  for (const auto& event : events) {
    if (event.at("event") == "tenant_failed") failure_seen = true;
    if (event.at("event") == "tenant_start") {
      CHECK_FALSE(failure_seen);  // no tenant starts after the first failure
      started.push_back(event.at("tenant"));
    }
    if (event.at("event") == "tenant_done" && event.at("state") == "not_started")
      not_started.push_back(event.at("tenant"));
  }
  std::sort(started.begin(), started.end());
  CHECK(started == std::vector<std::string>{"alpha", "bravo"});
  CHECK(not_started == std::vector<std::string>{"charlie", "delta", "echo"});
  const auto& summary = events.back();
  CHECK(summary.at("event") == "summary");
  CHECK(summary.at("migrated") == 1);
  CHECK(summary.at("failed") == 1);
  CHECK(summary.at("not_started") == 3);
  CHECK(summary.at("not_started_tenants") == std::vector<std::string>{"charlie", "delta", "echo"});
  CHECK(fleet.ledger(bravo).size() == 1);
  for (const auto& tenant : rest) CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
}

TEST_CASE("cli: make writes a migration file named by the UTC time, with both sections, beside the knexfile",
          "[integration][cli]") {
  TestFleet fleet;
  fleet.add_tenant("acme-corp");
  const auto utc_stamp = [] {
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[16];
    std::strftime(text, sizeof text, "%Y%m%d%H%M%S", &utc);
    return std::string(text);
  };
  // From another folder: the file goes beside the knexfile, in its migrations.directory.
  const auto before = utc_stamp();
  const auto made = support::run(
      {MIGRATE_BINARY, "--knexfile", (fleet.dir() / "knexfile.yaml").string(), "--env", "test", "make", "add_invoices"},
      fleet.environment(), empty_folder(fleet));
  const auto after = utc_stamp();
  INFO(made.all());
  REQUIRE(made.exit_code == 0);
  REQUIRE(!made.out.empty());
  const fs::path path = made.out.substr(0, made.out.size() - 1);
  CHECK(made.out == path.string() + "\n");
  CHECK(path.parent_path() == fleet.migrations_dir());
  const auto name = path.filename().string();
  CHECK_THAT(name, Catch::Matches(R"(\d{14}_add_invoices\.sql)"));
  CHECK(name.substr(0, 14) >= before);
  CHECK(name.substr(0, 14) <= after);
  const auto text = read_text(path);
  CHECK_THAT(text, Catch::StartsWith("-- migrate:up\n") && Catch::Contains("\n-- migrate:down\n"));

  // Filled in, it is applied like any other.
  std::ofstream(path) << "-- migrate:up\nCREATE TABLE invoices (id int);\n-- migrate:down\nDROP TABLE invoices;\n";
  const auto applied = fleet.migrate({"all-tenants"});
  INFO(applied.all());
  CHECK(applied.exit_code == 0);
  CHECK(fleet.ledger(fleet.tenants()[0]) == std::vector<std::pair<std::string, int>>{{name, 1}});

  const auto bad = fleet.migrate({"make", "Add-Invoices"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err ==
        "migrate: error: migration name 'Add-Invoices' must be lowercase snake_case: letters a-z, digits and single "
        "underscores, e.g. add_invoices\n");
}
