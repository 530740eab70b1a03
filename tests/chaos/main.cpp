// The crash trials' runner: Catch2's, with the number of trials and the seed as options, and the
// table printed at the end. Exits non-zero when a test failed or the tally holds a finding.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <iostream>
#include <random>

#include "chaos/tally.hpp"

int main(int argc, char* argv[]) {
  Catch::Session session;
  auto& options = chaos::options();
  std::uint64_t seed = 0;
  using Catch::clara::Opt;
  session.cli(session.cli() | Opt(options.kill_trials, "n")["--kills"]("SIGKILL trials of all-tenants (default 6)") |
              Opt(options.replica_rounds, "n")["--rounds"]("rounds of three replicas with terminations and restarts "
                                                           "(default 2)") |
              Opt(seed, "seed")["--seed"]("the seed of every random choice (default: a random one, printed)"));
  if (const int status = session.applyCommandLine(argc, argv)) return status;
  if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  options.seed = seed;
  std::cout << "Crash trials: seed " << seed << " (run again with --seed " << seed << ")" << std::endl;

  const auto start = std::chrono::steady_clock::now();
  const int failed = session.run();
  const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  chaos::print_table(std::cout, chaos::tally(), seed, elapsed);
  return failed == 0 && chaos::tally().clean() ? 0 : 1;
}
