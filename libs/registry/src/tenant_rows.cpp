#include "migrate/registry/tenant_rows.hpp"

#include <pqxx/pqxx>

#include "migrate/core/error.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/pg/quote.hpp"
#include "migrate/registry/tenant_registry.hpp"

namespace migrate::registry {

TenantRows::TenantRows(pg::Connection& central, std::string table)
    : central_(central), table_name_(table), table_(pg::quote_qualified(table)) {}

std::optional<TenantRecord> TenantRows::find_slug(const std::string& slug) {
  return TenantRegistry(central_, table_name_).find_slug(slug);
}

bool TenantRows::id_exists(const std::string& id) {
  return TenantRegistry(central_, table_name_).id_exists(id);
}

bool TenantRows::try_lock_slug(const std::string& slug) {
  try {
    pqxx::nontransaction tx(central_);
    return tx.exec_params("SELECT pg_try_advisory_lock(hashtext('migrate provision'), hashtext($1))", slug)[0][0]
        .as<bool>();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

std::string TenantRows::insert_provisioning(const NewTenant& tenant) {
  try {
    pqxx::work tx(central_);
    const auto rows =
        tx.exec_params("INSERT INTO " + table_ +
                           " (id, slug, name, status, db_host, db_port, db_name, db_user, db_password_encrypted) "
                           "VALUES (gen_random_uuid()::text, $1, NULLIF($2, ''), 'provisioning', $3, $4, $5, $6, $7) "
                           "ON CONFLICT (slug) DO NOTHING RETURNING id::text",
                       tenant.slug, tenant.name, tenant.database.host, tenant.database.port, tenant.database.dbname,
                       tenant.database.user, tenant.password_encrypted);
    if (rows.empty()) throw InputError("tenant " + tenant.slug + " already exists (it was added while this ran)");
    tx.commit();
    return rows[0][0].as<std::string>();
  } catch (const Error&) {
    throw;
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

bool TenantRows::set_status(const std::string& id, const std::string& status) {
  try {
    pqxx::work tx(central_);
    const auto result =
        tx.exec_params("UPDATE " + table_ + " SET status = $2, updated_at = now() WHERE id::text = $1", id, status);
    tx.commit();
    return result.affected_rows() == 1;
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

bool TenantRows::activate_provisioning(const std::string& id) {
  try {
    pqxx::work tx(central_);
    const auto result =
        tx.exec_params("UPDATE " + table_ +
                           " SET status = 'active', updated_at = now() WHERE id::text = $1 AND status = 'provisioning'",
                       id);
    tx.commit();
    return result.affected_rows() == 1;
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

bool TenantRows::delete_provisioning(const std::string& id) {
  try {
    pqxx::work tx(central_);
    const auto result =
        tx.exec_params("DELETE FROM " + table_ + " WHERE id::text = $1 AND status = 'provisioning'", id);
    tx.commit();
    return result.affected_rows() == 1;
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

}  // namespace migrate::registry
