#pragma once
// `migrate validate [--tenant X]`: what is wrong with a tenant's ledger against the migrations
// folder, read-only (no lock, no write): applied files edited since, applied files missing from
// the folder, pending files older than the newest applied one, a lock row left set, and INVALID
// indexes left by a failed CREATE INDEX CONCURRENTLY.
#include <pqxx/connection_base>

#include <optional>
#include <string>
#include <vector>

#include "migrate/config/settings.hpp"
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

struct Finding {
  std::string kind;     // edited, missing_file, out_of_order, lock_set, invalid_index
  std::string subject;  // the file, lock table or index it is about
  std::string message;  // for a person
};

struct TenantValidation {
  std::vector<Finding> findings;   // each one fails validate
  std::vector<std::string> notes;  // worth saying, not wrong (checksums not yet recorded)
};

// One tenant's findings, in a handful of read-only queries.
TenantValidation validate_tenant(pqxx::connection_base& db, const migrations::MigrationSet& set,
                                 const ledger::Ledger& ledger);

struct ValidateRequest {
  std::optional<std::string> tenant;  // nothing: every active tenant `fleet` selects, concurrently
  FleetOptions fleet;
  bool json = false;  // one JSON object per line: each finding, then the summary
};

// Prints the findings (the fleet's in slug order, then its summary). 0 when nothing is found,
// 1 when something is, or a tenant could not be read.
int validate(const config::Settings& settings, const ValidateRequest& request, Reporter& reporter);

}  // namespace migrate::runner
