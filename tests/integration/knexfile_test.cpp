// knexfile.yaml end to end: the real binary, the settings the README promises, the real cluster.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;
namespace fs = std::filesystem;

namespace {

const std::string source_dir = MIGRATE_SOURCE_DIR;

// libpq reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE (which the test cluster sets) for
// whatever a connection does not say: point them nowhere, so that only the knexfile can connect.
std::map<std::string, std::string> without_libpq_defaults(std::map<std::string, std::string> env) {
  env["PGHOST"] = "nowhere.invalid";
  env["PGPORT"] = "1";
  env["PGUSER"] = "nobody";
  env["PGPASSWORD"] = "wrong";
  env["PGDATABASE"] = "nothing";
  return env;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A working directory without a knexfile.yaml, inside the fleet's folder (removed with it).
fs::path empty_folder(const TestFleet& fleet) {
  const auto dir = fleet.dir() / "elsewhere";
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> sql_files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".sql") names.insert(entry.path().filename().string());
  return {names.begin(), names.end()};
}

// A TCP server on 127.0.0.1 that accepts connections (the kernel completes the handshake from
// its backlog) and never says a word.
class SilentServer {
 public:
  SilentServer() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE(
    "knexfile: run.connectTimeoutSeconds, a tenant whose server never answers fails after that many seconds, not 10",
    "[integration][knexfile]") {
  SilentServer silent;
  TestFleet fleet("run:\n  connectTimeoutSeconds: 3\nretry:\n  attempts: 1\n");
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("silent", "active", silent.port());

  const auto start = std::chrono::steady_clock::now();
  const auto result = fleet.migrate({"--log-format", "json", "all-tenants"});
  INFO(result.all() << "run took " << seconds_since(start) << " s");
  CHECK(result.exit_code == 1);
  double tenant_seconds = -1;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const auto event = nlohmann::json::parse(line);
    if (event.at("event") != "tenant_failed") continue;
    const auto port = std::to_string(silent.port());
    CHECK(event.at("reason") == "cannot connect to 127.0.0.1:" + port + "/" + tenant.db +
                                    ": connection to server at \"127.0.0.1\", port " + port +
                                    " failed: timeout expired (gave up after 1 attempt)");
    tenant_seconds = event.at("duration_ms").get<double>() / 1000;
  }
  // Speed is not asserted, the setting is: 3 s, loosely, and far from the default 10 s.
  CHECK(tenant_seconds >= 2.5);
  CHECK(tenant_seconds < 9.5);
}

TEST_CASE("knexfile: run.connectTimeoutSeconds holds for the central database too: exit 2 after that many seconds",
          "[integration][knexfile]") {
  SilentServer silent;
  TestFleet fleet("run:\n  connectTimeoutSeconds: 3\nretry:\n  attempts: 1\n");
  fleet.write_simple_migrations(1, 1);
  const auto url = "postgresql://app@127.0.0.1:" + std::to_string(silent.port()) + "/platform";
  const auto start = std::chrono::steady_clock::now();
  const auto result = fleet.migrate({"all-tenants"}, {{"CENTRAL_DATABASE_URL", url}});
  const double elapsed = seconds_since(start);
  INFO(result.all() << "elapsed " << elapsed << " s");
  CHECK(result.exit_code == 2);
  const auto port = std::to_string(silent.port());
  CHECK(result.err == "migrate: error: central database unreachable: cannot connect to 127.0.0.1:" + port +
                          "/platform: connection to server at \"127.0.0.1\", port " + port +
                          " failed: timeout expired (check connection in knexfile.yaml, environment test)\n");
  CHECK(elapsed >= 2.5);
  CHECK(elapsed < 9.5);  // the default would be 10 s
}

TEST_CASE(
    "knexfile: the mapping form of connection (host, port, user, password, database) reaches the central database",
    "[integration][knexfile]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knexfile = fleet.dir() / "mapping.yaml";
  write_file(knexfile,
             "test:\n"
             "  connection:\n"
             "    host: " +
                 support::cluster_host() +
                 "\n"
                 "    port: " +
                 std::to_string(support::cluster_port()) +
                 "\n"
                 "    user: postgres\n"
                 "    password: ${MIGRATE_TEST_CENTRAL_PASSWORD}\n"
                 "    database: " +
                 fleet.central_db() + "\n");
  auto env = without_libpq_defaults(fleet.environment());
  env["MIGRATE_TEST_CENTRAL_PASSWORD"] = std::getenv("PGPASSWORD");
  env["CENTRAL_DATABASE_URL"] = "postgresql://nobody@nowhere.invalid/nothing";  // not used by this knexfile
  const auto result = support::run({MIGRATE_BINARY, "--knexfile", knexfile.string(), "--env", "test", "all-tenants"},
                                   env, empty_folder(fleet));
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out,
             Catch::Contains("Summary: 1 tenant in") && Catch::Contains("1 migrated, 0 up to date, 0 failed"));
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_create_t1.sql", 1}});
  CHECK(result.all().find(std::getenv("PGPASSWORD")) == std::string::npos);
}

TEST_CASE("knexfile: NAME in dollar braces is expanded in every kind of value: connection, paths, table names, numbers",
          "[integration][knexfile]") {
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  support::admin_exec("CREATE SCHEMA platform; ALTER TABLE tenants SET SCHEMA platform", fleet.central_db());
  write_file(fleet.dir() / "db/tenant_sql/20250101000001_create_t1.sql",
             "-- migrate:up\nCREATE TABLE t1 (id int);\n-- migrate:down\nDROP TABLE t1;\n");
  const auto knexfile = fleet.dir() / "variables.yaml";
  write_file(knexfile,
             "test:\n"
             "  connection: ${MIGRATE_TEST_URL}\n"
             "  migrations:\n"
             "    directory: ${MIGRATE_TEST_FOLDER}/tenant_sql\n"
             "    tableName: ${MIGRATE_TEST_LEDGER}\n"
             "  tenants:\n"
             "    table: ${MIGRATE_TEST_SCHEMA}.tenants\n"
             "  run:\n"
             "    concurrency: ${MIGRATE_TEST_CONCURRENCY}\n"
             "    connectTimeoutSeconds: ${MIGRATE_TEST_TIMEOUT}\n"
             "  retry:\n"
             "    attempts: ${MIGRATE_TEST_ATTEMPTS}\n");
  auto env = fleet.environment();
  env.insert({{"MIGRATE_TEST_URL", fleet.central_url()},
              {"MIGRATE_TEST_FOLDER", "db"},
              {"MIGRATE_TEST_LEDGER", "app_migrations"},
              {"MIGRATE_TEST_SCHEMA", "platform"},
              {"MIGRATE_TEST_CONCURRENCY", "3"},
              {"MIGRATE_TEST_TIMEOUT", "5"},
              {"MIGRATE_TEST_ATTEMPTS", "2"}});
  env["CENTRAL_DATABASE_URL"] = "postgresql://nobody@nowhere.invalid/nothing";
  const std::vector<std::string> argv = {MIGRATE_BINARY, "--knexfile", knexfile.string(),
                                         "--env",        "test",       "all-tenants"};
  const auto result = support::run(argv, env);
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("1 migrated, 0 up to date, 0 failed"));
  CHECK(fleet.table_exists(tenant, "t1"));
  CHECK(fleet.query(tenant, "SELECT name FROM app_migrations")[0][0].as<std::string>() ==
        "20250101000001_create_t1.sql");
  CHECK(fleet.table_exists(tenant, "app_migrations_lock"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));

  env.erase("MIGRATE_TEST_CONCURRENCY");
  const auto unset = support::run(argv, env);
  CHECK(unset.exit_code == 2);
  CHECK(unset.err == "migrate: error: " + knexfile.string() +
                         ":9: test.run.concurrency: environment variable MIGRATE_TEST_CONCURRENCY is not set\n");
}

TEST_CASE("knexfile: migrations.tableName names the ledger, and its lock table is that name with _lock",
          "[integration][knexfile]") {
  TestFleet fleet("migrations:\n  tableName: tenant_ledger\n");
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto result = fleet.migrate({"all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.query(tenant, "SELECT count(*) FROM tenant_ledger")[0][0].as<int>() == 2);
  CHECK(fleet.query(tenant, "SELECT is_locked FROM tenant_ledger_lock")[0][0].as<int>() == 0);
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations"));
  CHECK_FALSE(fleet.table_exists(tenant, "knex_migrations_lock"));
  const auto again = fleet.migrate({"all-tenants"});
  CHECK_THAT(again.out, Catch::Contains("0 migrated, 1 up to date, 0 failed"));
}

TEST_CASE("knexfile: tenants.table may be schema-qualified", "[integration][knexfile]") {
  TestFleet fleet("tenants:\n  table: platform.customer_databases\n");
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  support::admin_exec(
      "CREATE SCHEMA platform; ALTER TABLE tenants SET SCHEMA platform; "
      "ALTER TABLE platform.tenants RENAME TO customer_databases",
      fleet.central_db());
  const auto all = fleet.migrate({"all-tenants"});
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains("1 migrated, 0 up to date, 0 failed"));
  const auto one = fleet.migrate({"status", "--tenant", "acme-corp"});
  INFO(one.all());
  CHECK(one.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("knexfile: the keys of knex itself (client, pool, seeds, debug and the rest) are accepted and ignored",
          "[integration][knexfile]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto knexfile = fleet.dir() / "shared-with-knex.yaml";
  write_file(knexfile,
             "test:\n"
             "  client: pg\n"
             "  connection: ${CENTRAL_DATABASE_URL}\n"
             "  searchPath: [public]\n"
             "  pool:\n"
             "    min: 0\n"
             "    max: 7\n"
             "  acquireConnectionTimeout: 10000\n"
             "  debug: false\n"
             "  asyncStackTraces: false\n"
             "  useNullAsDefault: true\n"
             "  migrations:\n"
             "    directory: migrations/tenant\n"
             "    tableName: knex_migrations\n"
             "    extension: sql\n"
             "    loadExtensions: ['.sql']\n"
             "  seeds:\n"
             "    directory: seeds\n");
  const auto result =
      support::run({MIGRATE_BINARY, "--knexfile", knexfile.string(), "--env", "test", "all-tenants"}, fleet.environment());
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("1 migrated, 0 up to date, 0 failed"));
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("knexfile: without --knexfile, knexfile.yaml of the working directory is read", "[integration][knexfile]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");

  const auto elsewhere =
      support::run({MIGRATE_BINARY, "--env", "test", "all-tenants"}, fleet.environment(), empty_folder(fleet));
  CHECK(elsewhere.exit_code == 2);
  CHECK(elsewhere.err ==
        "migrate: error: knexfile.yaml: no such file (pass --knexfile PATH, or run from the folder that has "
        "knexfile.yaml)\n");
  CHECK(fleet.ledger(tenant).empty());

  const auto here = support::run({MIGRATE_BINARY, "--env", "test", "all-tenants"}, fleet.environment(), fleet.dir());
  INFO(here.all());
  CHECK(here.exit_code == 0);
  CHECK_THAT(here.out, Catch::Contains("1 migrated, 0 up to date, 0 failed"));
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("knexfile: without --env, MIGRATE_ENV names the environment, else development", "[integration][knexfile]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  auto env = fleet.environment();

  env["MIGRATE_ENV"] = "";
  const auto development = support::run({MIGRATE_BINARY, "all-tenants"}, env, fleet.dir());
  CHECK(development.exit_code == 2);
  CHECK(development.err == "migrate: error: knexfile.yaml: no environment 'development' (it has: test)\n");
  CHECK(fleet.ledger(tenant).empty());

  env["MIGRATE_ENV"] = "test";
  const auto from_variable = support::run({MIGRATE_BINARY, "all-tenants"}, env, fleet.dir());
  INFO(from_variable.all());
  CHECK(from_variable.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("knexfile: the shipped knexfile.yaml and migrations folder migrate a tenant and the central database",
          "[integration][knexfile]") {
  const auto shipped = fs::path(source_dir) / "knexfile.yaml";
  const auto expected = sql_files_in(fs::path(source_dir) / "migrations/tenant");
  REQUIRE_FALSE(expected.empty());
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto migrate = [&](std::vector<std::string> args, const std::string& environment = "test") {
    std::vector<std::string> argv = {MIGRATE_BINARY, "--knexfile", shipped.string(), "--env", environment};
    argv.insert(argv.end(), args.begin(), args.end());
    return support::run(argv, fleet.environment(), empty_folder(fleet));
  };

  const auto result = migrate({"all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("1 migrated, 0 up to date, 0 failed"));
  std::vector<std::pair<std::string, int>> ledger;
  for (const auto& name : expected) ledger.emplace_back(name, 1);
  CHECK(fleet.ledger(tenant) == ledger);
  CHECK(fleet.table_exists(tenant, "users"));
  CHECK(fleet.table_exists(tenant, "contacts"));
  CHECK(fleet.query(tenant, "SELECT count(*) FROM pg_trigger WHERE tgname = 'contacts_touch'")[0][0].as<int>() == 1);

  for (const std::string environment : {"development", "test", "production"}) {
    INFO(environment);
    const auto status = migrate({"status"}, environment);
    INFO(status.all());
    CHECK(status.exit_code == 0);
    CHECK_THAT(status.out, Catch::Contains("Total: 1 tenant"));
  }
  const auto unknown = migrate({"status"}, "staging");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err ==
        "migrate: error: " + shipped.string() + ": no environment 'staging' (it has: development, test, production)\n");

  // A new installation: `migrate central` creates the tenants table from migrations/central.
  support::admin_exec("DROP TABLE tenants", fleet.central_db());
  const auto central = migrate({"central"});
  INFO(central.all());
  CHECK(central.exit_code == 0);
  CHECK(support::admin_exec("SELECT to_regclass('tenants') IS NOT NULL", fleet.central_db())[0][0].as<bool>());
  CHECK(support::admin_exec("SELECT name FROM knex_migrations", fleet.central_db())[0][0].as<std::string>() ==
        sql_files_in(fs::path(source_dir) / "migrations/central").front());
}
