#pragma once
// One tenant's work from record to outcome: decrypt its password, connect, run, retry what is
// transient, and turn every failure into a reason fit to print.
#include <functional>

#include "migrate/config/settings.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/pg/connection.hpp"
#include "migrate/registry/tenant_record.hpp"
#include "migrate/runner/outcome.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

struct TenantAccess {
  const crypto::KeyRing& key;  // DB_ENCRYPTION_KEY, and DB_ENCRYPTION_KEY_PREVIOUS for reading
  const config::Settings& settings;
  Reporter& reporter;
};

// The work to do on an open connection: fills `outcome` (state), and appends each step to
// `outcome.steps` once it committed, so that what a failed or retried attempt committed stays.
using TenantWork = std::function<void(pg::Connection& db, TenantOutcome& outcome)>;

// Runs `work` against `tenant`. Never throws for the tenant's own failures: a malformed record,
// a password that does not decrypt, a server that cannot be reached, a migration that fails, a
// busy lock all come back as a failed outcome with its reason. Transient errors (by type, see
// migrate::Error) are retried with backoff as the settings say, each retry reported; a
// migration's SQL error and an in-doubt commit never are. A stop request ends it as interrupted.
// InputError (a refusal such as a rollback without a down section) is passed on.
TenantOutcome run_tenant(const registry::TenantRecord& tenant, const TenantAccess& access, const TenantWork& work);

}  // namespace migrate::runner
