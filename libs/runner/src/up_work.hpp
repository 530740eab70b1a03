#pragma once
// A tenant's pending migrations as work for run_tenant: what `migrate tenant` does to one tenant.
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/runner/engine.hpp"
#include "migrate/runner/reporter.hpp"
#include "migrate/runner/tenant_job.hpp"

namespace migrate::runner {

// Applies the pending migrations of `set`, each step reported as it commits. A retry after some
// migrations committed adds the rest to the same batch.
TenantWork up_work(const migrations::MigrationSet& set, const ledger::Ledger& ledger, const EngineOptions& engine,
                   Reporter& reporter);

}  // namespace migrate::runner
