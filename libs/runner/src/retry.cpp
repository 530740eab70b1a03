#include "migrate/runner/retry.hpp"

#include <algorithm>
#include <random>

namespace migrate::runner {

std::chrono::milliseconds backoff_delay(const config::RetryPolicy& policy, int attempt) {
  thread_local std::mt19937 random{std::random_device{}()};
  const auto shift = std::min(attempt - 1, 20);
  const auto grown = policy.initial_delay.count() * (std::int64_t{1} << shift);
  const auto capped = std::min<std::int64_t>(grown, policy.max_delay.count());
  std::uniform_int_distribution<std::int64_t> jitter(capped / 2, std::max<std::int64_t>(capped, capped / 2));
  return std::chrono::milliseconds(jitter(random));
}

}  // namespace migrate::runner
