#include "migrate/registry/tenant_registry.hpp"

#include <pqxx/pqxx>

#include "migrate/pg/errors.hpp"
#include "migrate/pg/quote.hpp"

namespace migrate::registry {
namespace {

// Everything as text: a port stored as text, or a NULL where our schema has NOT NULL, must not
// stop the listing.
const char* const columns =
    "id::text, slug::text, status::text, db_host::text, db_port::text, db_name::text, db_user::text, "
    "db_password_encrypted::text";
const char* const sort_key = "(coalesce(slug::text, ''), coalesce(id::text, ''))";

// The port `text` names, or 0 when it is not a number from 1 to 65535.
int port_number(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return 0;
  const int port = std::stoi(text);
  return port >= 1 && port <= 65535 ? port : 0;
}

TenantRecord to_record(const pqxx::row& row) {
  TenantRecord record;
  record.id = row[0].as<std::string>("");
  record.slug = row[1].as<std::string>("");
  record.status = row[2].as<std::string>("");
  record.database.host = row[3].as<std::string>("");
  const auto port = row[4].is_null() ? std::string("5432") : row[4].as<std::string>();
  record.database.port = port_number(port);
  record.database.dbname = row[5].as<std::string>("");
  record.database.user = row[6].as<std::string>("");
  record.password_encrypted = row[7].as<std::string>("");
  // Empty values would be filled by libpq from PGHOST, PGUSER...: never guess where a tenant is.
  if (record.id.empty())
    record.problem = "the row has no id";
  else if (record.slug.empty())
    record.problem = "tenant id " + record.id + " has no slug";
  else if (record.database.port == 0)
    record.problem = "db_port '" + port + "' is not a port number (1 to 65535)";
  else if (record.database.host.empty())
    record.problem = "db_host is empty";
  else if (record.database.dbname.empty())
    record.problem = "db_name is empty";
  else if (record.database.user.empty())
    record.problem = "db_user is empty";
  return record;
}

}  // namespace

TenantRegistry::TenantRegistry(pg::Connection& central, std::string table)
    : central_(central), table_(pg::quote_qualified(table)) {}

std::optional<TenantRecord> TenantRegistry::find(const std::string& slug_or_id) {
  try {
    pqxx::nontransaction tx(central_);
    const auto rows = tx.exec_params(std::string("SELECT ") + columns + " FROM " + table_ +
                                         " WHERE slug::text = $1 OR id::text = $1 ORDER BY (slug::text = $1) DESC "
                                         "LIMIT 1",
                                     slug_or_id);
    if (rows.empty()) return std::nullopt;
    return to_record(rows[0]);
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

std::optional<TenantRecord> TenantRegistry::find_slug(const std::string& slug) {
  try {
    pqxx::nontransaction tx(central_);
    const auto rows =
        tx.exec_params(std::string("SELECT ") + columns + " FROM " + table_ + " WHERE slug::text = $1 LIMIT 1", slug);
    if (rows.empty()) return std::nullopt;
    return to_record(rows[0]);
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

bool TenantRegistry::id_exists(const std::string& id) {
  try {
    pqxx::nontransaction tx(central_);
    return !tx.exec_params("SELECT 1 FROM " + table_ + " WHERE id::text = $1", id).empty();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

std::vector<TenantRecord> TenantRegistry::active_page(const PageCursor& after, int limit) {
  try {
    pqxx::nontransaction tx(central_);
    const auto rows =
        tx.exec_params(std::string("SELECT ") + columns + " FROM " + table_ + " WHERE status = 'active' AND " +
                           sort_key + " > ($1, $2) ORDER BY " + sort_key + " LIMIT $3",
                       after.slug, after.id, limit);
    std::vector<TenantRecord> page;
    page.reserve(rows.size());
    for (const auto& row : rows) page.push_back(to_record(row));
    return page;
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

int TenantRegistry::count_active() {
  try {
    pqxx::nontransaction tx(central_);
    return tx.exec("SELECT count(*) FROM " + table_ + " WHERE status = 'active'")[0][0].as<int>();
  } catch (...) {
    pg::rethrow_as_error(&central_);
  }
}

}  // namespace migrate::registry
