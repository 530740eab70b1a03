// pg::Connection: what reaches a server, and what never does.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "migrate/pg/connection.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

using support::TestFleet;

namespace {

int backends_named(const std::string& application_name) {
  return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application_name +
                             "'")[0][0]
      .as<int>();
}

// A listening TCP socket on 127.0.0.1 standing in for a server nobody should reach.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  // True when a client connected (the kernel completes the handshake without accept()).
  bool was_contacted() {
    const int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) return false;
    ::close(client);
    return true;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

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
  Listener elsewhere;
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
         "current_setting('work_mem') AS work_mem, current_setting('client_encoding') AS encoding;\n";
  const auto url = "postgresql://postgres:" + std::string(std::getenv("PGPASSWORD")) + "@" + support::cluster_host() +
                   ":" + std::to_string(support::cluster_port()) + "/" + fleet.central_db() +
                   "?application_name=deploy-42&options=-c%20work_mem%3D7MB";
  const auto result = fleet.migrate({"central"}, {{"CENTRAL_DATABASE_URL", url}});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto row = support::admin_exec("SELECT app, work_mem, encoding FROM seen", fleet.central_db())[0];
  CHECK(row[0].as<std::string>() == "deploy-42");
  CHECK(row[1].as<std::string>() == "7MB");
  CHECK(row[2].as<std::string>() == "UTF8");
}

TEST_CASE("tenant sessions read files as UTF-8 and check for a dead client where the server can",
          "[integration][connection]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_latin1.sql",
                        "-- migrate:up\nCREATE TABLE seen AS SELECT 'café'::text AS word, "
                        "current_setting('client_connection_check_interval') AS check_interval;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  support::admin_exec("DROP DATABASE \"" + tenant.db + "\"");
  support::admin_exec("CREATE DATABASE \"" + tenant.db + "\" OWNER \"" + tenant.role +
                      "\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto row = fleet.query(tenant, "SELECT length(word), check_interval FROM seen")[0];
  CHECK(row[0].as<int>() == 4);  // é is one character, not the two bytes of its UTF-8 form
  CHECK(row[1].as<std::string>() == "1s");
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
