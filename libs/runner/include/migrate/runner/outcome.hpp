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
  up_to_date,  // nothing was pending
  migrated,    // pending migrations applied (or, for rollback, reverted)
  failed,      // see reason
  skipped,     // another replica was working on it
};

struct TenantOutcome {
  std::string slug;
  TenantState state = TenantState::up_to_date;
  int batch = 0;
  std::vector<AppliedStep> steps;
  std::string reason;  // why it failed; safe to print
  std::chrono::milliseconds elapsed{0};
  int attempts = 1;
};

struct FleetSummary {
  int total = 0;
  int migrated = 0;
  int up_to_date = 0;
  int failed = 0;
  int skipped = 0;
  std::chrono::milliseconds elapsed{0};
  std::vector<TenantOutcome> failures;  // every one, in the order they finished
  std::vector<TenantOutcome> slowest;   // up to five, slowest first
};

}  // namespace migrate::runner
