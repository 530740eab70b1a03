#pragma once
// What the tenant commands share: their input checked before any tenant database is touched, and
// the exit status of what they did.
#include <string>
#include <vector>

#include "central_reader.hpp"
#include "migrate/config/settings.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/registry/tenant_record.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/outcome.hpp"

namespace migrate::runner {

// What the tenant commands need, checked in this order before any tenant database is touched:
// the migration files, the key, the central database.
struct Preflight {
  explicit Preflight(const config::Settings& config);

  // The tenant asked for. The central connection is not needed after it and is closed.
  registry::TenantRecord one_tenant(const std::string& slug_or_id) { return central.find_tenant(slug_or_id); }

  // Pages of active tenants, the central connection reopened when it drops.
  TenantPages pages();

  // How many active tenants `fleet` selects: counted by the server, or by a pass over the list
  // (ids and slugs only, page by page) when --only, --exclude or --shard narrow it.
  int selected_count(const FleetOptions& fleet);

  // The labels of the first `limit` active tenants `fleet` selects, in the fleet's order.
  std::vector<std::string> first_selected(const FleetOptions& fleet, std::size_t limit);

  const config::Settings& settings;
  const migrations::MigrationSet set;
  const crypto::KeyRing key;  // DB_ENCRYPTION_KEY, and DB_ENCRYPTION_KEY_PREVIOUS for reading
  const ledger::Ledger ledger;
  CentralReader central;
};

// 0, 1, or 130/143 when a stop request interrupted the tenant.
int exit_status_of(const TenantOutcome& outcome);
// 0, 1 when a tenant failed or the list could not be read to the end, 130/143 when a stop
// request left tenants interrupted or not started.
int exit_status_of(const FleetSummary& summary);

}  // namespace migrate::runner
