// `ssl` in knex's mapping form of connection, against the test cluster, which scripts/pg-cluster.sh
// starts with TLS on (its CA in MIGRATE_TEST_CA) and also accepts plain TCP.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/process.hpp"

using support::TestFleet;

namespace {

std::string cluster_variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) FAIL(name << " is not set: run the integration tests through scripts/test.sh");
  return value;
}

// Writes a knexfile with one environment, "tls", whose connection is knex's mapping form to the
// fleet's central database with `ssl` (YAML, indented for the connection block), and a central
// migration recording whether its own connection uses TLS. Runs `migrate central` with it.
support::ProcessResult migrate_central_with(const TestFleet& fleet, const std::string& ssl) {
  const auto knexfile = fleet.dir() / "tls-knexfile.yaml";
  std::ofstream(knexfile) << "tls:\n"
                             "  connection:\n"
                             "    host: 127.0.0.1\n"
                             "    port: ${PGPORT}\n"
                             "    user: postgres\n"
                             "    password: ${PGPASSWORD}\n"
                             "    database: "
                          << fleet.central_db() << "\n"
                          << ssl << "  run:\n    connectTimeoutSeconds: 5\n  retry:\n    attempts: 1\n";
  std::filesystem::create_directories(fleet.dir() / "migrations/central");
  std::ofstream(fleet.dir() / "migrations/central/20250101000000_record_tls.sql")
      << "-- migrate:up\n"
         "CREATE TABLE tls_probe AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n"
         "-- migrate:down\n"
         "DROP TABLE tls_probe;\n";
  // PGSSLMODE=disable: TLS only where the knexfile's ssl asks for it (libpq's default, prefer,
  // would use TLS with this cluster anyway, and hide a dropped setting).
  auto result =
      fleet.migrate({"--knexfile", knexfile.string(), "--env", "tls", "central"}, {{"PGSSLMODE", "disable"}});
  CHECK(result.all().find(cluster_variable("PGPASSWORD")) == std::string::npos);
  return result;
}

// What the migration recorded: whether `migrate central` reached the server over TLS.
bool recorded_ssl(const TestFleet& fleet) {
  const auto rows = support::admin_exec("SELECT ssl FROM tls_probe", fleet.central_db());
  REQUIRE(rows.size() == 1);
  return rows[0][0].as<bool>();
}

}  // namespace

TEST_CASE("tls: ssl true reaches the central database over TLS", "[integration][tls]") {
  TestFleet fleet;
  const auto result = migrate_central_with(fleet, "    ssl: true\n");
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK(recorded_ssl(fleet));
}

TEST_CASE("tls: ssl false reaches the central database without TLS", "[integration][tls]") {
  TestFleet fleet;
  const auto result = migrate_central_with(fleet, "    ssl: false\n");
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK_FALSE(recorded_ssl(fleet));
}

TEST_CASE("tls: ssl with the cluster CA checks the server certificate and host name (verify-full)",
          "[integration][tls]") {
  TestFleet fleet;
  const auto result = migrate_central_with(fleet, "    ssl:\n      ca: " + cluster_variable("MIGRATE_TEST_CA") + "\n");
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK(recorded_ssl(fleet));
}

TEST_CASE("tls: ssl with another CA refuses the server certificate, exit 2", "[integration][tls]") {
  TestFleet fleet;
  const auto other_ca = fleet.dir() / "other-ca.crt";
  const auto made = support::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=another CA",
                                  "-keyout", (fleet.dir() / "other-ca.key").string(), "-out", other_ca.string()});
  INFO(made.all());
  REQUIRE(made.exit_code == 0);
  // Relative to the knexfile's folder.
  const auto result = migrate_central_with(fleet, "    ssl:\n      rejectUnauthorized: true\n      ca: other-ca.crt\n");
  INFO(result.all());
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::StartsWith("migrate: error: central database unreachable: cannot connect to ") &&
                             Catch::Contains("SSL error: certificate verify failed") &&
                             Catch::Contains("(check connection in tls-knexfile.yaml, environment tls)"));
  CHECK(support::admin_exec("SELECT to_regclass('tls_probe') IS NULL", fleet.central_db())[0][0].as<bool>());
}
