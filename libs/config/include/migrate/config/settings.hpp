#pragma once
// What one environment of knexfile.yaml says, as plain values.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace migrate::config {

// Backoff for transient faults (connection refused, too many clients, server starting up...).
struct RetryPolicy {
  int attempts = 5;  // tries in all, the first one included
  std::chrono::milliseconds initial_delay{250};
  std::chrono::milliseconds max_delay{5000};
};

struct MigrationSource {
  std::filesystem::path directory;             // absolute
  std::string table_name = "knex_migrations";  // the ledger; its lock table is this + "_lock"
  // Ledger rows recorded with these extensions (by knex, from JavaScript migrations) match the
  // .sql file of the same base name.
  std::vector<std::string> legacy_extensions = {".js", ".ts", ".cjs", ".mjs"};
};

// A database server tenants may live on (knexfile `servers:`), for provision and deprovision.
struct ServerSettings {
  std::string name;
  // libpq conninfo or postgresql:// URL of a role that may create roles and databases. May hold
  // a password: never print.
  std::string admin_connection;
  std::string host;  // what tenant rows get as db_host; empty: the admin connection's host
  int port = 0;      // what tenant rows get as db_port; 0: the admin connection's port
  // {slug} is replaced by the tenant's slug.
  std::string database_name = "tenant_{slug}";
  std::string role_name = "tenant_{slug}";
};
// The format tenant passwords are written in (knexfile `encryption.format`); both are always read.
// cbc is what Node code of existing fleets reads; v2 is authenticated (AES-256-GCM, key id).
enum class EncryptionFormat { cbc, v2 };

struct Settings {
  std::filesystem::path knexfile;  // the file these came from
  std::string environment;         // its block, e.g. "development"
  // libpq conninfo or postgresql:// URL of the central database. May hold a password: never print.
  std::string central_connection;
  MigrationSource tenant_migrations;
  MigrationSource central_migrations;
  std::string tenants_table = "tenants";  // may be schema-qualified: "platform.tenants"
  int concurrency = 8;                    // tenants in flight at once in all-tenants
  int per_host = 0;                       // at most this many per host:port; 0 = no cap
  std::chrono::seconds lock_wait{60};     // how long a busy tenant is waited for
  // lock_timeout and statement_timeout of a migration's statements; 0 = none. A lock timeout is
  // retried as `retry` says, a statement timeout is not.
  std::chrono::milliseconds lock_timeout{5000};
  std::chrono::milliseconds statement_timeout{0};
  std::chrono::seconds connect_timeout{10};
  RetryPolicy retry;
  std::vector<ServerSettings> servers;  // in the order the knexfile lists them
  EncryptionFormat encryption_format = EncryptionFormat::cbc;  // what encrypt, provision and rotations write
};

}  // namespace migrate::config
