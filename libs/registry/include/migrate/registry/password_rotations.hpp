#pragma once
// The side table of password rotations, "<tenants table>_password_rotations" (in the tenants
// table's schema when it names one): a new password is recorded here, encrypted, before it is set
// on the tenant's server, and removed in the transaction that stores it in the tenants row. A row
// left behind means a rotation was interrupted; both passwords are then known.
#include <optional>
#include <string>
#include <vector>

#include "migrate/pg/connection.hpp"

namespace migrate::registry {

class PasswordRotations {
 public:
  // `tenants_table` may be schema-qualified; names are quoted, never spliced raw.
  PasswordRotations(pg::Connection& central, const std::string& tenants_table);

  // "<tenants_table>_password_rotations", for messages.
  static std::string table_name(const std::string& tenants_table);

  // CREATE TABLE IF NOT EXISTS (tenant_id text primary key, password_encrypted text not null,
  // started_at timestamptz default now()).
  void create_if_missing();

  // Whether the table exists (a fleet with none has no pending rotation).
  bool exists();

  // A session-level advisory lock on `tenant_id` for rotations, so that two runs never rotate one
  // tenant at once; false when another session holds it. Let go when the connection closes.
  bool try_lock(const std::string& tenant_id);

  // The encrypted password of `tenant_id`'s interrupted rotation, if one is recorded.
  std::optional<std::string> pending(const std::string& tenant_id);

  // The tenant ids with a rotation recorded, in order.
  std::vector<std::string> pending_tenant_ids();

  // Records (or replaces) `tenant_id`'s new password, committed before this returns.
  void record(const std::string& tenant_id, const std::string& password_encrypted);

  // One transaction: the tenants row of `tenant_id` gets `password_encrypted` (and updated_at
  // now()), its side row goes. RunError when the tenants row is gone.
  void complete(const std::string& tenant_id, const std::string& password_encrypted);

  // Errors are those of pg::rethrow_as_error (a commit whose connection broke is InDoubtError).

 private:
  pg::Connection& central_;
  std::string tenants_;  // quoted
  std::string table_;    // quoted
};

}  // namespace migrate::registry
