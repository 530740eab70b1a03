#pragma once
// What happened to a tenant, and to the fleet.
#include <chrono>
#include <string>
#include <vector>

namespace migrate::runner {

struct AppliedStep {
  std::string name;  // migration file name
  std::chrono::milliseconds duration{0};
};

enum class TenantState {
  up_to_date,   // nothing was pending
  migrated,     // pending migrations applied (or, for rollback, reverted)
  failed,       // see reason
  skipped,      // another replica migrated it (checked current afterwards)
  interrupted,  // a stop was requested while it ran: what was in flight was rolled back
  not_started,  // the run stopped (--fail-fast, a signal) before it got to this tenant
};

struct TenantOutcome {
  std::string slug;
  TenantState state = TenantState::up_to_date;
  int batch = 0;
  std::vector<AppliedStep> steps;  // committed, even when the tenant then failed
  std::string reason;              // why it failed or stopped; safe to print
  std::chrono::milliseconds elapsed{0};
  int attempts = 1;
  int not_checked = 0;  // a dry run: pending migrations it could not try in a transaction
};

// The failed tenants that failed for one reason (see failure_groups.hpp for what counts as one).
struct FailureGroup {
  std::string reason;                // the tenants' reason; where it named each tenant, <tenant>, <db>...
  std::vector<std::string> tenants;  // every one, in slug order
};

struct FleetSummary {
  int total = 0;  // every tenant the run was asked to do, started or not
  int migrated = 0;
  int up_to_date = 0;
  int failed = 0;
  int skipped = 0;
  int interrupted = 0;
  int not_started = 0;
  std::chrono::milliseconds elapsed{0};
  std::vector<TenantOutcome> failures;         // every failed tenant, in the order they finished
  std::vector<FailureGroup> failure_groups;    // the same by reason, the largest group first
  std::vector<TenantOutcome> stopped;          // every interrupted tenant
  std::vector<std::string> not_started_slugs;  // those known by name (the first few hundred)
  std::vector<TenantOutcome> slowest;          // up to five, slowest first
  // Set when the tenant list could not be read to the end: why. The run then exits 1.
  std::string listing_error;
};

}  // namespace migrate::runner
