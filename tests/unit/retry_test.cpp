// The backoff schedule of transient faults (README: "retried with exponential backoff and jitter";
// knexfile retry: initialDelayMs "doubled per try... up to" maxDelayMs, "with jitter").
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>

#include "migrate/runner/retry.hpp"
#include "support/seed.hpp"

using migrate::runner::backoff_delay;
using std::chrono::milliseconds;

namespace {

migrate::config::RetryPolicy policy(int initial_ms, int max_ms) {
  migrate::config::RetryPolicy retry;
  retry.initial_delay = milliseconds(initial_ms);
  retry.max_delay = milliseconds(max_ms);
  return retry;
}

// The delay before try `attempt` + 1 before jitter: the initial delay doubled per attempt, capped.
std::int64_t unjittered(const migrate::config::RetryPolicy& retry, int attempt) {
  std::int64_t delay = retry.initial_delay.count();
  for (int i = 1; i < attempt && delay < retry.max_delay.count(); ++i) delay *= 2;
  return std::min<std::int64_t>(delay, retry.max_delay.count());
}

// Every delay `samples` draws give for `attempt`: at least half the unjittered delay, at most all of it.
std::multiset<std::int64_t> draws(const migrate::config::RetryPolicy& retry, int attempt, int samples) {
  std::multiset<std::int64_t> seen;
  for (int i = 0; i < samples; ++i) seen.insert(backoff_delay(retry, attempt).count());
  return seen;
}

}  // namespace

TEST_CASE("backoff doubles from the initial delay up to the max delay, jittered into its upper half", "[retry]") {
  const auto retry = policy(250, 5000);  // the defaults
  const std::vector<std::pair<int, std::int64_t>> schedule = {{1, 250},  {2, 500},  {3, 1000}, {4, 2000},
                                                              {5, 4000}, {6, 5000}, {7, 5000}, {30, 5000}};
  for (const auto& [attempt, full] : schedule) {
    INFO("attempt " << attempt);
    const auto seen = draws(retry, attempt, 200);
    CHECK(*seen.begin() >= full / 2);
    CHECK(*seen.rbegin() <= full);
  }
}

TEST_CASE("backoff jitter spreads over its whole range", "[retry]") {
  const auto seen = draws(policy(1000, 60000), 1, 400);  // each draw in [500, 1000]
  CHECK(*seen.begin() >= 500);
  CHECK(*seen.rbegin() <= 1000);
  // 400 draws: each of these fails with a chance below 1e-70 when the draws are uniform.
  CHECK(*seen.begin() < 600);
  CHECK(*seen.rbegin() > 900);
  CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() > 100);
}

TEST_CASE("backoff never overflows and never exceeds the cap, however many attempts", "[retry]") {
  for (const int attempt : {20, 21, 22, 63, 64, 65, 1000, 1 << 30}) {
    INFO("attempt " << attempt);
    const auto seen = draws(policy(5000, 10000), attempt, 50);
    CHECK(*seen.begin() >= 5000);
    CHECK(*seen.rbegin() <= 10000);
  }
}

TEST_CASE("backoff with an initial delay above the cap waits the cap, a zero delay waits nothing", "[retry]") {
  const auto above = draws(policy(8000, 3000), 1, 50);
  CHECK(*above.begin() >= 1500);
  CHECK(*above.rbegin() <= 3000);
  const auto zero = draws(policy(0, 0), 3, 20);
  CHECK(*zero.rbegin() == 0);
}

TEST_CASE("backoff stays within half and all of the doubled, capped delay for any policy", "[retry]") {
  const auto seed = support::test_seed();
  INFO(support::seed_note(seed));
  std::mt19937_64 random(seed);
  for (int i = 0; i < 2000; ++i) {
    const int initial = std::uniform_int_distribution<int>(1, 20000)(random);
    const int max = std::uniform_int_distribution<int>(1, 120000)(random);
    const int attempt = std::uniform_int_distribution<int>(1, 80)(random);
    const auto retry = policy(initial, max);
    const auto delay = backoff_delay(retry, attempt).count();
    const auto full = unjittered(retry, attempt);
    INFO("initialDelayMs " << initial << ", maxDelayMs " << max << ", attempt " << attempt << ": " << delay);
    REQUIRE(delay >= full / 2);
    REQUIRE(delay <= full);
  }
}
