#pragma once
// The operations behind each subcommand. Each checks its input (settings, migration files, key)
// before it touches a database, throws InputError for bad input, and returns the exit status.
#include <optional>
#include <string>

#include "migrate/config/settings.hpp"
#include "migrate/runner/engine.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

// `migrate tenant X`: that tenant's pending migrations, whatever its status.
int migrate_tenant(const config::Settings& settings, const std::string& slug_or_id, const EngineOptions& engine,
                   Reporter& reporter);

// `migrate all-tenants`: every active tenant, as `fleet` selects. `claim` splits the fleet with
// other replicas running at the same time.
int migrate_all_tenants(const config::Settings& settings, FleetOptions fleet, const EngineOptions& engine, bool claim,
                        Reporter& reporter);

// `migrate status [--tenant X]`: read-only.
int show_status(const config::Settings& settings, const std::optional<std::string>& slug_or_id,
                const FleetOptions& fleet, Reporter& reporter);

// `migrate central`: migrations/central applied to the central database.
int migrate_central(const config::Settings& settings, const EngineOptions& engine, Reporter& reporter);

// `migrate unlock --tenant X`: clears knex's lock row.
int unlock_tenant(const config::Settings& settings, const std::string& slug_or_id, Reporter& reporter);

}  // namespace migrate::runner
