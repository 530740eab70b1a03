#pragma once
// Exponential backoff with jitter for transient faults.
#include <chrono>

#include "migrate/config/settings.hpp"

namespace migrate::runner {

// How long to wait before try `attempt` + 1 (attempt counts from 1): the policy's initial delay
// doubled per attempt, capped at its max delay, then jittered into [half, whole] so that many
// tenants of one restarting server do not come back at the same instant.
std::chrono::milliseconds backoff_delay(const config::RetryPolicy& policy, int attempt);

}  // namespace migrate::runner
