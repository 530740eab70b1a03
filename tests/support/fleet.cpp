#include "support/fleet.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "support/cluster.hpp"

namespace support {
namespace {

std::string random_hex(int bytes) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (int i = 0; i < bytes * 2; ++i) text += digits[random() % 16];
  return text;
}

std::string up_section_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  const auto all = text.str();
  const auto up = all.find("-- migrate:up");
  const auto down = all.find("-- migrate:down");
  return all.substr(up + 13, down - up - 13);
}

}  // namespace

TestFleet::TestFleet(const std::string& knexfile_extra)
    : prefix_(unique_name("f")), central_db_(prefix_ + "_central"), key_(random_hex(16)) {
  dir_ = std::filesystem::temp_directory_path() / ("migrate-test-" + prefix_);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(migrations_dir());
  std::ofstream knexfile(dir_ / "knexfile.yaml");
  knexfile << "test:\n  connection: ${CENTRAL_DATABASE_URL}\n";
  // Quick settings for tests, unless the test brings its own block. No lock timeout: tests gate a
  // migration on a lock they hold for as long as they need (lock_timeout_test.cpp tests it).
  if (knexfile_extra.find("run:") == std::string::npos)
    knexfile << "  run:\n    lockWaitSeconds: 30\n    connectTimeoutSeconds: 5\n    lockTimeoutMs: 0\n";
  if (knexfile_extra.find("retry:") == std::string::npos)
    knexfile << "  retry:\n    attempts: 2\n    initialDelayMs: 50\n    maxDelayMs: 200\n";
  std::istringstream extra(knexfile_extra);
  for (std::string line; std::getline(extra, line);) knexfile << "  " << line << "\n";
  knexfile.close();

  admin_exec("CREATE DATABASE \"" + central_db_ + "\"");
  // The central schema the product ships, so tests and `migrate central` agree.
  admin_exec(
      up_section_of(std::filesystem::path(MIGRATE_SOURCE_DIR) / "migrations/central/20250101000000_create_tenants.sql"),
      central_db_);
}

TestFleet::~TestFleet() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Tenant TestFleet::add_tenant(const std::string& slug, const std::string& status, std::optional<int> port,
                             std::optional<std::string> stored_password) {
  Tenant tenant;
  tenant.slug = slug;
  tenant.id = "id-" + prefix_ + "-" + slug;
  std::string safe_slug = slug;
  for (auto& c : safe_slug)
    if (c == '-') c = '_';
  tenant.db = prefix_ + "_" + safe_slug;
  tenant.role = prefix_ + "_" + safe_slug;
  tenant.password = "pw-" + random_hex(12);
  {
    pqxx::connection admin(admin_conninfo());
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE ROLE " + tx.quote_name(tenant.role) + " LOGIN PASSWORD " + tx.quote(tenant.password));
    tx.exec("CREATE DATABASE " + tx.quote_name(tenant.db) + " OWNER " + tx.quote_name(tenant.role));
  }
  const auto key = migrate::crypto::parse_key(key_);
  const std::string stored = stored_password.value_or(migrate::crypto::encrypt_password(tenant.password, key));
  pqxx::connection central(admin_conninfo(central_db_));
  pqxx::work tx(central);
  tx.exec_params(
      "INSERT INTO tenants (id, slug, name, status, db_host, db_port, db_name, db_user, db_password_encrypted) "
      "VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8)",
      tenant.id, slug, status, cluster_host(), port.value_or(cluster_port()), tenant.db, tenant.role, stored);
  tx.commit();
  tenants_.push_back(tenant);
  return tenant;
}

void TestFleet::write_migration(const std::string& name, const std::string& text) {
  std::ofstream(migrations_dir() / name) << text;
}

void TestFleet::remove_migration(const std::string& name) {
  std::filesystem::remove(migrations_dir() / name);
}

void TestFleet::write_simple_migrations(int first, int count) {
  for (int i = first; i < first + count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "202501010000%02d_create_t%d.sql", i, i);
    write_migration(name, "-- migrate:up\nCREATE TABLE t" + std::to_string(i) +
                              " (id int);\n-- migrate:down\nDROP TABLE t" + std::to_string(i) + ";\n");
  }
}

std::string TestFleet::central_url() const {
  return admin_conninfo(central_db_);
}

std::vector<std::string> TestFleet::argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {MIGRATE_BINARY, "--knexfile", (dir_ / "knexfile.yaml").string(), "--env", "test"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::map<std::string, std::string> TestFleet::environment() const {
  return {{"DB_ENCRYPTION_KEY", key_}, {"CENTRAL_DATABASE_URL", central_url()}};
}

Process TestFleet::spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env) const {
  auto full_env = environment();
  for (const auto& [name, value] : env) full_env[name] = value;
  return Process(argv(args), full_env);
}

ProcessResult TestFleet::migrate(std::vector<std::string> args, const std::map<std::string, std::string>& env) const {
  auto result = spawn(std::move(args), env).wait();
  require_no_secret(result.all());
  return result;
}

void TestFleet::require_no_secret(const std::string& output) const {
  CHECK(output.find(key_) == std::string::npos);
  for (const auto& tenant : tenants_) CHECK(output.find(tenant.password) == std::string::npos);
}

pqxx::result TestFleet::query(const Tenant& tenant, const std::string& sql) const {
  // As the tenant's role, so that what a test creates belongs to the tenant, as in production.
  return admin_exec("SET ROLE \"" + tenant.role + "\"; " + sql, tenant.db);
}

bool TestFleet::table_exists(const Tenant& tenant, const std::string& table) const {
  return !query(tenant, "SELECT to_regclass('public." + table + "') IS NULL")[0][0].as<bool>();
}

std::vector<std::pair<std::string, int>> TestFleet::ledger(const Tenant& tenant) const {
  std::vector<std::pair<std::string, int>> rows;
  if (!table_exists(tenant, "knex_migrations")) return rows;
  for (const auto& row : query(tenant, "SELECT name, batch FROM knex_migrations ORDER BY id"))
    rows.emplace_back(row[0].as<std::string>(), row[1].as<int>());
  return rows;
}

int TestFleet::lock_value(const Tenant& tenant) const {
  return query(tenant, "SELECT is_locked FROM knex_migrations_lock")[0][0].as<int>();
}

}  // namespace support
