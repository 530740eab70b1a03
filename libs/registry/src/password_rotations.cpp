#include "migrate/registry/password_rotations.hpp"

#include <pqxx/pqxx>

#include "migrate/pg/errors.hpp"
#include "migrate/pg/quote.hpp"

namespace migrate::registry {
namespace {

// The first key of the two-key advisory lock: rotations only, apart from the ledger's locks.
const char* const lock_sql = "SELECT pg_try_advisory_lock(hashtext('migrate rotate-password'), hashtext($1))";

}  // namespace

PasswordRotations::PasswordRotations(pg::Connection& central, const std::string& tenants_table)
    : central_(central),
      tenants_(pg::quote_qualified(tenants_table)),
      table_(pg::quote_qualified(table_name(tenants_table))) {}

std::string PasswordRotations::table_name(const std::string& tenants_table) {
  return tenants_table + "_password_rotations";
}

void PasswordRotations::create_if_missing() {
  try {
    pqxx::nontransaction tx(central_);
    tx.exec("CREATE TABLE IF NOT EXISTS " + table_ +
            " (tenant_id text PRIMARY KEY, password_encrypted text NOT NULL, started_at timestamptz DEFAULT now())");
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

bool PasswordRotations::exists() {
  try {
    pqxx::nontransaction tx(central_);
    return !tx.exec_params("SELECT to_regclass($1) IS NULL", table_)[0][0].as<bool>();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

bool PasswordRotations::try_lock(const std::string& tenant_id) {
  try {
    pqxx::nontransaction tx(central_);
    return tx.exec_params(lock_sql, tenant_id)[0][0].as<bool>();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

std::optional<std::string> PasswordRotations::pending(const std::string& tenant_id) {
  try {
    pqxx::nontransaction tx(central_);
    const auto rows = tx.exec_params("SELECT password_encrypted FROM " + table_ + " WHERE tenant_id = $1", tenant_id);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

std::vector<std::string> PasswordRotations::pending_tenant_ids() {
  try {
    pqxx::nontransaction tx(central_);
    std::vector<std::string> ids;
    for (const auto& row : tx.exec("SELECT tenant_id FROM " + table_ + " ORDER BY tenant_id"))
      ids.push_back(row[0].as<std::string>());
    return ids;
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

void PasswordRotations::record(const std::string& tenant_id, const std::string& password_encrypted) {
  try {
    pqxx::work tx(central_);
    tx.exec_params("INSERT INTO " + table_ +
                       " (tenant_id, password_encrypted) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET "
                       "password_encrypted = excluded.password_encrypted, started_at = now()",
                   tenant_id, password_encrypted);
    tx.commit();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

void PasswordRotations::complete(const std::string& tenant_id, const std::string& password_encrypted) {
  try {
    pqxx::work tx(central_);
    const auto updated =
        tx.exec_params("UPDATE " + tenants_ + " SET db_password_encrypted = $2, updated_at = now() WHERE id::text = $1",
                       tenant_id, password_encrypted);
    if (updated.affected_rows() != 1)
      throw RunError("the tenants row of id " + tenant_id + " is gone; the new password stays in the side table");
    tx.exec_params("DELETE FROM " + table_ + " WHERE tenant_id = $1", tenant_id);
    tx.commit();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

}  // namespace migrate::registry
