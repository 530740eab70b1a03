// pg::Connection: what reaches a server, and what never does.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/pg/connection.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/listener.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

int backends_named(const std::string& application_name) {
  return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application_name +
                             "'")[0][0]
      .as<int>();
}

}  // namespace

TEST_CASE("a connection that broke is never reopened behind our back", "[integration][connection]") {
  const auto name = support::unique_name("noreconnect");
  migrate::pg::Endpoint endpoint{support::cluster_host(), support::cluster_port(), "postgres", "postgres"};
  migrate::pg::ConnectOptions options;
  options.application_name = name;
  // PGPASSWORD holds this same password, so a reconnect without our password would succeed.
  migrate::pg::Connection db(migrate::pg::Target::of(endpoint), options,
                             migrate::crypto::Secret::copy_of(std::getenv("PGPASSWORD")));
  pqxx::nontransaction(db).exec("SELECT 1");
  REQUIRE(backends_named(name) == 1);
  support::admin_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + name + "'");
  support::wait_until("the backend to end", [&] { return backends_named(name) == 0; });

  // A transaction's BEGIN is where libpqxx 6.4 would quietly reconnect (its retries), as the lock
  // release does on the way out of a tenant whose connection dropped.
  CHECK_THROWS(pqxx::nontransaction(db).exec("SELECT 1"));
  CHECK_THROWS(pqxx::work(db).exec("SELECT 1"));
  CHECK_THROWS(pqxx::work(db).exec("SELECT 1"));
  CHECK(backends_named(name) == 0);
}

TEST_CASE("a database name from a tenant record is a name, never a connection string", "[integration][connection]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  support::Listener elsewhere;
  support::admin_exec("UPDATE tenants SET db_name = '" + tenant.db + " port=" + std::to_string(elsewhere.port()) +
                          " sslmode=disable' WHERE slug = 'acme-corp'",
                      fleet.central_db());
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("database \"" + tenant.db + " port=") && Catch::Contains("does not exist"));
  CHECK_FALSE(elsewhere.was_contacted());
}

TEST_CASE("the central password never appears in an error, in any form", "[integration][connection]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  fleet.add_tenant("acme-corp");
  const auto host = support::cluster_host();
  const auto port = std::to_string(support::cluster_port());
  const auto closed = std::to_string(support::free_port());
  struct Case {
    std::string connection;
    std::vector<std::string> secrets;  // forms of the password that must not appear
    std::string message;
  };
  const std::vector<Case> cases = {
      {"postgresql://app:50%off@" + host + ":" + port + "/platform",
       {"50%off", "50"},
       "is not a valid postgresql:// URL or libpq connection string"},
      {"host=" + host + " port=" + port + " user=app password=a b dbname=platform",
       {"a b", "password=a"},
       "is not a valid postgresql:// URL or libpq connection string"},
      {"host=" + host + " port=" + closed + " user=app dbname=platform password='q\\'uo te@%\\\\x'",
       {"q'uo te@%\\x", "uo te"},
       "central database unreachable"},
      {"postgresql://app:p%40ss%20w%27rd%5Cx@" + host + ":" + port + "/" + fleet.central_db(),
       {"p@ss w'rd\\x", "p%40ss", "w'rd"},
       "central database unreachable"},
  };
  for (const auto& c : cases) {
    for (const std::string format : {"text", "json"}) {
      INFO(c.connection << " in " << format);
      const auto result =
          fleet.migrate({"--log-format", format, "all-tenants"}, {{"CENTRAL_DATABASE_URL", c.connection}});
      INFO(result.all());
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.err, Catch::Contains(c.message));
      for (const auto& secret : c.secrets) CHECK_THAT(result.all(), !Catch::Contains(secret));
    }
  }
}

TEST_CASE("sslmode, options and application_name given in the central URL are kept", "[integration][connection]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  std::filesystem::create_directories(fleet.dir() / "migrations/central");
  std::ofstream(fleet.dir() / "migrations/central/20250101000000_seen.sql")
      << "-- migrate:up\nCREATE TABLE seen AS SELECT current_setting('application_name') AS app, "
         "current_setting('work_mem') AS work_mem, current_setting('client_encoding') AS encoding, "
         "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl;\n";
  // The cluster offers TLS, so libpq's default (prefer) would use it: disable shows sslmode was kept.
  const auto url = "postgresql://postgres:" + std::string(std::getenv("PGPASSWORD")) + "@" + support::cluster_host() +
                   ":" + std::to_string(support::cluster_port()) + "/" + fleet.central_db() +
                   "?application_name=deploy-42&options=-c%20work_mem%3D7MB&sslmode=disable";
  const auto result = fleet.migrate({"central"}, {{"CENTRAL_DATABASE_URL", url}, {"PGSSLMODE", ""}});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto row = support::admin_exec("SELECT app, work_mem, encoding, ssl FROM seen", fleet.central_db())[0];
  CHECK(row[0].as<std::string>() == "deploy-42");
  CHECK(row[1].as<std::string>() == "7MB");
  CHECK(row[2].as<std::string>() == "UTF8");
  CHECK_FALSE(row[3].as<bool>());
}

TEST_CASE("application_name is migrate when the central URL names none, and for every tenant session",
          "[integration][connection]") {
  TestFleet fleet;
  const std::string seen = "CREATE TABLE seen AS SELECT current_setting('application_name') AS app;\n";
  fleet.write_migration("20250101000001_seen.sql", "-- migrate:up\n" + seen);
  std::filesystem::create_directories(fleet.dir() / "migrations/central");
  std::ofstream(fleet.dir() / "migrations/central/20250101000000_seen.sql") << "-- migrate:up\n" << seen;
  const auto acme = fleet.add_tenant("acme-corp");
  const auto globex = fleet.add_tenant("globex");
  // PGAPPNAME is libpq's fallback: set, it must lose to ours.
  const auto central = fleet.migrate({"central"}, {{"PGAPPNAME", "from-environment"}});
  INFO(central.all());
  REQUIRE(central.exit_code == 0);
  CHECK(support::admin_exec("SELECT app FROM seen", fleet.central_db())[0][0].as<std::string>() == "migrate");

  // A central URL with its own application_name leaves the tenants' sessions named migrate.
  const auto url = fleet.central_url() + " application_name=deploy-42";
  const auto one = fleet.migrate({"tenant", "acme-corp"}, {{"CENTRAL_DATABASE_URL", url}});
  INFO(one.all());
  REQUIRE(one.exit_code == 0);
  const auto all = fleet.migrate({"all-tenants"}, {{"PGAPPNAME", "from-environment"}});
  INFO(all.all());
  REQUIRE(all.exit_code == 0);
  for (const auto& tenant : {acme, globex})
    CHECK(fleet.query(tenant, "SELECT app FROM seen")[0][0].as<std::string>() == "migrate");
}

TEST_CASE("tenant sessions read files as UTF-8 and check for a dead client where the server can",
          "[integration][connection]") {
  const std::string encoding = GENERATE("LATIN1", "SQL_ASCII");
  INFO("a database in " << encoding);
  TestFleet fleet;
  fleet.write_migration("20250101000001_latin1.sql",
                        "-- migrate:up\nCREATE TABLE seen AS SELECT 'café'::text AS word, "
                        "current_setting('client_connection_check_interval') AS check_interval, "
                        "current_setting('client_encoding') AS client_encoding;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  support::admin_exec("DROP DATABASE \"" + tenant.db + "\"");
  support::admin_exec("CREATE DATABASE \"" + tenant.db + "\" OWNER \"" + tenant.role + "\" ENCODING '" + encoding +
                      "' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  // libpq's own fallback, set to what the database is: it must lose to ours.
  const auto result = fleet.migrate({"tenant", "acme-corp"}, {{"PGCLIENTENCODING", encoding}});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto row = fleet.query(tenant, "SELECT length(word), check_interval, client_encoding FROM seen")[0];
  // In LATIN1, é is one character, not the two bytes of its UTF-8 form; SQL_ASCII keeps bytes.
  CHECK(row[0].as<int>() == (encoding == "LATIN1" ? 4 : 5));
  CHECK(row[1].as<std::string>() == "1s");
  CHECK(row[2].as<std::string>() == "UTF8");
}

TEST_CASE("tenants behind PgBouncer are migrated: nothing in the startup packet that PgBouncer refuses",
          "[integration][connection]") {
  if (!std::filesystem::exists("/usr/sbin/pgbouncer"))
    FAIL("pgbouncer is not installed: scripts/install-deps.sh installs it");
  TestFleet fleet;
  fleet.write_simple_migrations(1, 2);
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto dir = std::filesystem::temp_directory_path() / support::unique_name("migrate-bouncer-");
  std::filesystem::create_directories(dir);
  const int port = support::free_port();
  std::ofstream(dir / "userlist.txt") << "\"" << tenant.role << "\" \"" << tenant.password << "\"\n";
  std::ofstream(dir / "pgbouncer.ini") << "[databases]\n* = host=" << support::cluster_host()
                                       << " port=" << support::cluster_port()
                                       << "\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
                                       << "listen_port = " << port << "\nunix_socket_dir =\nauth_type = scram-sha-256\n"
                                       << "auth_file = " << (dir / "userlist.txt").string() << "\npool_mode = session\n"
                                       << "logfile = " << (dir / "pgbouncer.log").string() << "\n";
  std::filesystem::permissions(dir, std::filesystem::perms::all);
  for (const auto* file : {"userlist.txt", "pgbouncer.ini"})
    std::filesystem::permissions(dir / file, std::filesystem::perms::owner_read | std::filesystem::perms::others_read |
                                                 std::filesystem::perms::group_read);
  std::vector<std::string> argv = {"/usr/sbin/pgbouncer", (dir / "pgbouncer.ini").string()};
  if (::getuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  support::Process bouncer(argv, {});
  support::wait_until("pgbouncer to listen", [&] {
    try {
      pqxx::connection probe("host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + tenant.db +
                             " user=" + tenant.role + " password=" + tenant.password);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  });
  support::admin_exec("UPDATE tenants SET db_port = " + std::to_string(port), fleet.central_db());
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 2);
  bouncer.signal(SIGTERM);
  bouncer.wait();
  std::filesystem::remove_all(dir);
}

TEST_CASE("PGHOSTADDR in the environment never redirects a tenant connection", "[integration][connection]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  support::admin_exec("UPDATE tenants SET db_host = 'tenant-db.invalid' WHERE slug = 'acme-corp'", fleet.central_db());
  const auto result = fleet.migrate({"tenant", "acme-corp"}, {{"PGHOSTADDR", support::cluster_host()}});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("cannot connect to tenant-db.invalid:"));
  CHECK(fleet.ledger(tenant).empty());
}

TEST_CASE("PGHOSTADDR and PGSERVICE reach the central connection and never a tenant connection",
          "[integration][connection]") {
  const std::string variable = GENERATE("PGHOSTADDR", "PGSERVICE");
  INFO(variable);
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  // Neither host name resolves: only the variable can lead a connection to the cluster.
  support::admin_exec("UPDATE tenants SET db_host = 'tenant-db.invalid'", fleet.central_db());
  const auto central = "host=central-db.invalid port=" + std::to_string(support::cluster_port()) +
                       " user=postgres dbname=" + fleet.central_db();
  std::map<std::string, std::string> env = {{"CENTRAL_DATABASE_URL", central}};
  if (variable == "PGHOSTADDR") {
    env["PGHOSTADDR"] = support::cluster_host();
  } else {
    const auto services = fleet.dir() / "pg_service.conf";
    std::ofstream(services) << "[platform]\nhostaddr=" << support::cluster_host() << "\n";
    env["PGSERVICEFILE"] = services.string();
    env["PGSERVICE"] = "platform";
  }
  const auto result = fleet.migrate({"all-tenants"}, env);
  INFO(result.all());
  CHECK(result.exit_code == 1);  // the central database was read; the tenant was not reached
  CHECK_THAT(result.out, Catch::Contains("0 migrated, 0 up to date, 1 failed"));
  CHECK_THAT(result.out, Catch::Contains("acme-corp: cannot connect to tenant-db.invalid:"));
  CHECK(fleet.ledger(tenant).empty());
}

TEST_CASE("PGOPTIONS and PGSSLMODE apply to tenant connections too", "[integration][connection]") {
  const std::string sslmode = GENERATE("disable", "require");
  INFO("PGSSLMODE=" << sslmode);
  TestFleet fleet;
  fleet.write_migration("20250101000001_seen.sql",
                        "-- migrate:up\nCREATE TABLE seen AS SELECT current_setting('work_mem') AS work_mem, "
                        "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto result =
      fleet.migrate({"tenant", "acme-corp"}, {{"PGOPTIONS", "-c work_mem=7MB"}, {"PGSSLMODE", sslmode}});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto row = fleet.query(tenant, "SELECT work_mem, ssl FROM seen")[0];
  CHECK(row[0].as<std::string>() == "7MB");
  CHECK(row[1].as<bool>() == (sslmode == "require"));
}

TEST_CASE("a tenant password with quotes, spaces, backslashes and conninfo words reaches the server as it is",
          "[integration][connection]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("acme-corp");
  // What means something in a conninfo string or a URL: were the password written into one, it
  // would not parse, or would be cut short, or would set other parameters.
  const std::string password =
      "it's a \"pass\" \\ word=x host=elsewhere dbname=postgres %40@:/?#& " + support::unique_name("pw");
  {
    pqxx::connection admin(support::admin_conninfo());
    pqxx::nontransaction tx(admin);
    tx.exec("ALTER ROLE " + tx.quote_name(tenant.role) + " PASSWORD " + tx.quote(password));
  }
  const auto stored = migrate::crypto::encrypt_password(password, migrate::crypto::parse_key(fleet.key()));
  {
    pqxx::connection central(support::admin_conninfo(fleet.central_db()));
    pqxx::work tx(central);
    tx.exec_params("UPDATE tenants SET db_password_encrypted = $1", stored);
    tx.commit();
  }
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.ledger(tenant).size() == 1);
  CHECK_THAT(result.all(), !Catch::Contains(password) && !Catch::Contains("word=x"));
}
