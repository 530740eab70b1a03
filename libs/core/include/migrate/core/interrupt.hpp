#pragma once
// The process-wide request to stop, set by the first SIGINT or SIGTERM (see apps/migrate).
// Work checks it between steps; waits end early when it is set.
#include <chrono>
#include <string>

namespace migrate::interrupt {

// Records that signal `signal_number` asked the run to stop. Only the first request counts.
void request(int signal_number);

// True once a stop was requested.
bool requested();

// The signal that asked to stop (SIGINT or SIGTERM), 0 when none did.
int signal_number();

// "SIGINT" or "SIGTERM", for messages.
std::string signal_name();

// Waits `duration`, or less when a stop is requested meanwhile. Returns false when it was.
bool sleep_for(std::chrono::milliseconds duration);

// Throws InterruptedError when a stop was requested.
void throw_if_requested();

}  // namespace migrate::interrupt
