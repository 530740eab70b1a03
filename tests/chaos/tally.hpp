#pragma once
// What the crash trials were asked to do, and what they counted: the table scripts/chaos.sh prints.
#include <chrono>
#include <cstdint>
#include <ostream>

namespace chaos {

struct Options {
  int kill_trials = 6;     // SIGKILLs of all-tenants, each followed by checks and a run that must finish the fleet
  int replica_rounds = 2;  // rounds of three replicas through terminated backends and server restarts
  std::uint64_t seed = 0;  // every random choice of every trial comes from it
};
Options& options();

struct Tally {
  int kill_trials = 0;
  int kills = 0;        // SIGKILLs that landed while the run was still working
  int ended_first = 0;  // runs that finished before their kill moment came
  int replica_rounds = 0;
  int terminations = 0;  // tenant backends terminated while replicas ran
  int restarts = 0;      // restarts of the tenants' server while replicas ran
  // Findings: any of these makes the trials fail.
  int inconsistencies = 0;    // catalog against ledger, a lock row of 1, a next run that did not finish the fleet
  int stuck_locks = 0;        // a killed runner's backends or advisory locks still there past the deadline
  int duplicates = 0;         // a migration executed or recorded more than once
  int spurious_failures = 0;  // a replica or a next run failing for a reason the README does not give
  // Documented outcomes, counted and checked, not failures.
  int lock_rows_at_2 = 0;      // lock rows a killed per-migration runner left at 2; the next run cleared each
  int applied_unrecorded = 0;  // transaction:false sections applied, not recorded; the next run recorded each
  int invalid_indexes = 0;     // left by an interrupted CREATE INDEX CONCURRENTLY; dropped as the runner advised
  int in_doubt = 0;            // connection lost during COMMIT, reported "check this tenant", never retried
  bool clean() const { return inconsistencies == 0 && stuck_locks == 0 && duplicates == 0 && spurious_failures == 0; }
};
Tally& tally();

// The table, the seed and the time taken, in Markdown.
void print_table(std::ostream& out, const Tally& tally, std::uint64_t seed, std::chrono::seconds elapsed);

}  // namespace chaos
