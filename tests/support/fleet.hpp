#pragma once
// A fleet of its own for one test: a central database with a tenants table, tenant roles and
// databases with encrypted passwords, a knexfile and a migrations folder in a temporary folder.
#include <pqxx/pqxx>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace support {

struct Tenant {
  std::string id;
  std::string slug;
  std::string db;
  std::string role;
  std::string password;
};

class TestFleet {
 public:
  // `knexfile_extra` is appended, indented, to the "test" environment of the knexfile.
  explicit TestFleet(const std::string& knexfile_extra = "");
  ~TestFleet();  // removes the folder; the databases go with the throwaway cluster
  TestFleet(const TestFleet&) = delete;
  TestFleet& operator=(const TestFleet&) = delete;

  // Adds a tenant with its own role and database. `port` overrides the registered port (a closed
  // one, or another cluster); `stored_password` overrides the encrypted password.
  Tenant add_tenant(const std::string& slug, const std::string& status = "active", std::optional<int> port = {},
                    std::optional<std::string> stored_password = {});

  void write_migration(const std::string& name, const std::string& text);
  void remove_migration(const std::string& name);
  // Writes `count` simple migrations, each creating a table t<i>.
  void write_simple_migrations(int first, int count);

  // Runs migrate with --knexfile and --env test, DB_ENCRYPTION_KEY and CENTRAL_DATABASE_URL set.
  // Checks that no tenant password or the key appears in the output.
  ProcessResult migrate(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const;
  Process spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const;
  // What migrate() runs: the binary and its arguments, and the variables it sets.
  std::vector<std::string> argv(const std::vector<std::string>& args) const;
  std::map<std::string, std::string> environment() const;
  // Fails the test when `output` holds the key or any tenant's password.
  void require_no_secret(const std::string& output) const;

  // Queries in a tenant's database, as the tenant's role.
  pqxx::result query(const Tenant& tenant, const std::string& sql) const;
  bool table_exists(const Tenant& tenant, const std::string& table) const;
  // (name, batch) rows of knex_migrations in id order; empty when the table does not exist.
  std::vector<std::pair<std::string, int>> ledger(const Tenant& tenant) const;
  int lock_value(const Tenant& tenant) const;

  const std::string& central_db() const { return central_db_; }
  std::string central_url() const;
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path migrations_dir() const { return dir_ / "migrations/tenant"; }
  const std::string& key() const { return key_; }
  const std::vector<Tenant>& tenants() const { return tenants_; }

 private:
  std::string prefix_;
  std::string central_db_;
  std::filesystem::path dir_;
  std::string key_;
  std::vector<Tenant> tenants_;
};

}  // namespace support
