#pragma once
// Writes to the central table of tenant records, for a tenant's life: provision, deprovision.
// Values are parameters; the table name is quoted.
#include <optional>
#include <string>

#include "migrate/pg/connection.hpp"
#include "migrate/registry/tenant_record.hpp"

namespace migrate::registry {

struct NewTenant {
  std::string slug;
  std::string name;  // empty: NULL
  pg::Endpoint database;
  std::string password_encrypted;
};

class TenantRows {
 public:
  // `table` may be schema-qualified; it is quoted, never spliced raw.
  TenantRows(pg::Connection& central, std::string table);

  // The tenant whose slug is exactly `slug`, whatever its status.
  std::optional<TenantRecord> find_slug(const std::string& slug);

  // Inserts `tenant` with status 'provisioning' and a new random id, committed; returns the id.
  // A slug that is already there (a provision running at the same time) throws InputError.
  std::string insert_provisioning(const NewTenant& tenant);

  // Sets the status of tenant `id`; false when no row has that id.
  bool set_status(const std::string& id, const std::string& status);

  // Deletes tenant `id` if it is still 'provisioning'; false when no such row was there.
  bool delete_provisioning(const std::string& id);

  // Errors are those of pg::rethrow_as_error (RunError, transient when a retry may help).

 private:
  pg::Connection& central_;
  std::string table_name_;  // as the knexfile gives it
  std::string table_;       // quoted
};

}  // namespace migrate::registry
