#pragma once
// `migrate baseline`: for a tenant whose schema came from elsewhere (restored from a dump, made by
// hand or by another tool) with no ledger or an empty one, the migrations up to a given one are
// recorded as applied without running them (what Flyway calls a baseline). Later ones stay pending.
#include <pqxx/connection_base>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "migrate/config/settings.hpp"
#include "migrate/core/error.hpp"
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/runner/engine.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

// The tenant's ledger already has rows: it was migrated (or baselined) and is not a baseline's.
// Nothing was changed.
class BaselineRefused : public InputError {
 public:
  explicit BaselineRefused(const std::string& message) : InputError(message) {}
};

// Every file of `set` up to and including the one `name` means: its file name, the same without
// ".sql", or its 14-digit timestamp (a path is taken by its file name). InputError when no file
// matches, naming the files whose names sort nearest to it and any with the same descriptive part.
std::vector<const migrations::MigrationFile*> files_up_to(const migrations::MigrationSet& set, const std::string& name);

// Records `files` as applied, in name order, in a batch of their own (ledger rows as a run writes
// them: name, batch, migration_time), without running them. In one transaction under the tenant's
// lock, taken as a run takes it (the ledger tables created when missing). BaselineRefused, with
// nothing changed, when the ledger has rows. Warnings about lock repairs go to `listener` (may be
// null); its other calls are not made.
EngineResult record_baseline(pqxx::connection_base& db, const std::vector<const migrations::MigrationFile*>& files,
                             const ledger::Ledger& ledger, std::chrono::milliseconds lock_wait, StepListener* listener);

struct BaselineRequest {
  std::string to;                     // the last migration to record, as files_up_to() takes it
  std::optional<std::string> tenant;  // slug or id of one tenant, whatever its status; else the fleet
  FleetOptions fleet;                 // which active tenants, and how many at once, for the fleet
};

// Asked once the plan is shown and before anything changes; true goes on. May throw InputError
// when nobody can answer.
using Confirm = std::function<bool(const std::string& question)>;

// `migrate baseline`: checks the files, the key, the central database and NAME; for one tenant,
// refuses (BaselineRefused, naming it) one whose ledger has rows before asking; shows the plan
// (the tenants, the migrations to record, that none will run) and asks `confirm` (InputError,
// nothing changed, when the answer is no); then records, one tenant or the fleet with
// run_fleet(). In the fleet a tenant whose ledger has rows fails alone, reported as refused.
// Returns the exit status.
int baseline(const config::Settings& settings, const BaselineRequest& request, const EngineOptions& engine,
             Reporter& reporter, const Confirm& confirm);

}  // namespace migrate::runner
