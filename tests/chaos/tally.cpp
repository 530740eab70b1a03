#include "chaos/tally.hpp"

namespace chaos {

Options& options() {
  static Options options;
  return options;
}

Tally& tally() {
  static Tally tally;
  return tally;
}

void print_table(std::ostream& out, const Tally& t, std::uint64_t seed, std::chrono::seconds elapsed) {
  out << "\nCrash trials, seed " << seed << ", " << elapsed.count() / 60 << " min " << elapsed.count() % 60 << " s\n\n"
      << "| kill trials | kills | inconsistencies | stuck locks | replica rounds | terminations | restarts | "
         "duplicate applications | spurious failures |\n"
      << "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
      << "| " << t.kill_trials << " | " << t.kills << " | " << t.inconsistencies << " | " << t.stuck_locks << " | "
      << t.replica_rounds << " | " << t.terminations << " | " << t.restarts << " | " << t.duplicates << " | "
      << t.spurious_failures << " |\n\n"
      << "Documented outcomes, checked, not failures: " << t.ended_first << " runs ended before their kill moment; "
      << t.lock_rows_at_2 << " lock rows left at 2 (cleared by the next run); " << t.applied_unrecorded
      << " transaction:false sections applied but not recorded (recorded by the next run); " << t.invalid_indexes
      << " invalid indexes from an interrupted CREATE INDEX CONCURRENTLY (dropped as advised); " << t.in_doubt
      << " in-doubt commits.\n"
      << (t.clean() ? "Result: consistent.\n" : "Result: FAILED (see the trials above).\n");
}

}  // namespace chaos
