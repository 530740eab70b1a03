#pragma once
// `migrate repair (--tenant X | --all-tenants)`: after a deliberate edit of an applied file, or a
// file removed on purpose, brings the ledger back in line with the folder. Per tenant, under the
// ledger lock, in one transaction: re-records the checksums of edited files (and records those
// missing), removes the ledger rows of vanished files only when asked (`forget_missing`), and
// repairs knex's lock table (one row, not set). Nothing else is touched; each change is printed.
#include <pqxx/connection_base>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "migrate/config/settings.hpp"
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

struct TenantRepair {
  std::vector<std::string> changes;  // what was changed, one line each
  std::vector<std::string> left;     // what was found and left as it is (a vanished file without the flag)
};

// One tenant's repair. Throws ledger::BusyError when a migrate runner holds the tenant.
TenantRepair repair_tenant(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                           bool forget_missing, std::chrono::milliseconds lock_wait);

struct RepairRequest {
  std::optional<std::string> tenant;  // nothing: every active tenant `fleet` selects
  FleetOptions fleet;
  bool forget_missing = false;
};

// Asked before the fleet form changes anything; false: nothing is changed.
using RepairConfirm = std::function<bool(const std::string& question)>;

// 0 when every tenant was repaired (or had nothing to repair); 1 when one failed or had a
// vanished file left in its ledger (without --forget-missing).
int repair(const config::Settings& settings, const RepairRequest& request, Reporter& reporter,
           const RepairConfirm& confirm);

}  // namespace migrate::runner
