#pragma once
// `migrate rotate-password (<slug> | --all-tenants)`: a new random password for a tenant's role,
// set on its server as a SCRAM verifier and stored encrypted in the tenants row, in an order that
// survives a crash at any point ("both recorded until confirmed"):
//   1. the new password is recorded, encrypted, in <tenants table>_password_rotations; committed;
//   2. as the tenant's own role (logged in with the stored password): ALTER ROLE ... PASSWORD
//      '<verifier>' in a transaction of its own;
//   3. one central transaction: the tenants row gets the new password, the side row goes.
// A run that finds a side row first settles it: the side row's password logs in -> step 3 only
// ("completed an interrupted rotation"); the stored one does -> the server never got it, start
// over; neither -> the tenant fails, nothing changed.
#include <optional>
#include <string>

#include "migrate/config/settings.hpp"
#include "migrate/core/error.hpp"
#include "migrate/registry/tenant_record.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

struct RotatePasswordRequest {
  // A tenant by slug or id, whatever its status; nothing: every active tenant `fleet` selects, and
  // every tenant with an interrupted rotation.
  std::optional<std::string> tenant;
  FleetOptions fleet;
  bool json = false;  // one JSON object per line: each tenant, then the summary
};

// Prints a line per tenant (the fleet's in slug order) and, for the fleet, a total. 0 when every
// tenant's password was rotated (or an interrupted rotation completed), 1 when one failed; an
// unknown tenant is InputError (exit 2), nothing changed. Never prints a password.
int rotate_password(const config::Settings& settings, const RotatePasswordRequest& request, Reporter& reporter);

// For a run whose connection to `tenant` failed with `error`: when the server refused the
// password and a rotation of this tenant is recorded as interrupted, "; a password rotation of
// this tenant was interrupted: run migrate rotate-password <slug>"; otherwise empty (also when the
// central database cannot be asked: this only adds to a reason).
std::string interrupted_rotation_note(const registry::TenantRecord& tenant, const config::Settings& settings,
                                      const Error& error);

}  // namespace migrate::runner
