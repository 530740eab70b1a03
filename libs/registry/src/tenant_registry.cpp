#include "migrate/registry/tenant_registry.hpp"

#include <pqxx/pqxx>

#include "migrate/core/error.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/pg/quote.hpp"

namespace migrate::registry {
namespace {

const char* const columns = "id::text, slug, status, db_host, db_port, db_name, db_user, db_password_encrypted";

TenantRecord to_record(const pqxx::row& row) {
  TenantRecord record;
  record.id = row[0].as<std::string>();
  record.slug = row[1].as<std::string>();
  record.status = row[2].as<std::string>("");
  record.database.host = row[3].as<std::string>("");
  record.database.port = row[4].as<int>(5432);
  record.database.dbname = row[5].as<std::string>("");
  record.database.user = row[6].as<std::string>("");
  record.password_encrypted = row[7].as<std::string>("");
  return record;
}

}  // namespace

TenantRegistry::TenantRegistry(pg::Connection& central, std::string table)
    : central_(central), table_(pg::quote_qualified(table)) {}

std::optional<TenantRecord> TenantRegistry::find(const std::string& slug_or_id) {
  try {
    pqxx::nontransaction tx(central_);
    const auto rows = tx.exec_params(std::string("SELECT ") + columns + " FROM " + table_ +
                                         " WHERE slug = $1 OR id::text = $1 ORDER BY (slug = $1) DESC LIMIT 1",
                                     slug_or_id);
    if (rows.empty()) return std::nullopt;
    return to_record(rows[0]);
  } catch (const pqxx::sql_error& error) {
    throw InputError("cannot read tenants table " + table_ + " in " + central_.description() + ": " +
                     pg::describe(error));
  }
}

std::vector<TenantRecord> TenantRegistry::active_page(const std::string& after_slug, int limit) {
  try {
    pqxx::nontransaction tx(central_);
    const auto rows = tx.exec_params(std::string("SELECT ") + columns + " FROM " + table_ +
                                         " WHERE status = 'active' AND slug > $1 ORDER BY slug LIMIT $2",
                                     after_slug, limit);
    std::vector<TenantRecord> page;
    page.reserve(rows.size());
    for (const auto& row : rows) page.push_back(to_record(row));
    return page;
  } catch (const pqxx::sql_error& error) {
    throw InputError("cannot read tenants table " + table_ + " in " + central_.description() + ": " +
                     pg::describe(error));
  }
}

int TenantRegistry::count_active() {
  try {
    pqxx::nontransaction tx(central_);
    return tx.exec("SELECT count(*) FROM " + table_ + " WHERE status = 'active'")[0][0].as<int>();
  } catch (const pqxx::sql_error& error) {
    throw InputError("cannot read tenants table " + table_ + " in " + central_.description() + ": " +
                     pg::describe(error));
  }
}

}  // namespace migrate::registry
