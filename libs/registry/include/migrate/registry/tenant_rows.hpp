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

  // The tenant whose slug is exactly `slug` (never one whose id it is), whatever its status.
  std::optional<TenantRecord> find_slug(const std::string& slug);

  // Whether some tenant's id is `id`.
  bool id_exists(const std::string& id);

  // A session lock on `slug` in the central database, held by provision and deprovision until the
  // connection closes, so that they never work on one tenant at once; false when another holds it.
  bool try_lock_slug(const std::string& slug);

  // Inserts `tenant` with status 'provisioning' and a new random id, committed; returns the id.
  // A slug that is already there (a provision running at the same time) throws InputError.
  std::string insert_provisioning(const NewTenant& tenant);

  // Sets the status of tenant `id`; false when no row has that id.
  bool set_status(const std::string& id, const std::string& status);

  // Sets tenant `id` active if it is still 'provisioning'; false when it is not (deprovisioned meanwhile).
  bool activate_provisioning(const std::string& id);

  // Deletes tenant `id` if it is still 'provisioning'; false when no such row was there.
  bool delete_provisioning(const std::string& id);

  // Errors are those of pg::rethrow_as_error (RunError, transient when a retry may help).

 private:
  pg::Connection& central_;
  std::string table_name_;  // as the knexfile gives it
  std::string table_;       // quoted
};

}  // namespace migrate::registry
