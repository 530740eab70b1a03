#pragma once
// Polling with a deadline: tests wait for an event (a row, a line of output), never a fixed time.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace support {

// Calls `ready` every 20 ms until it returns true; fails the test naming `what` after `timeout`.
void wait_until(const std::string& what, const std::function<bool()>& ready,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Waits until a backend in database `db` (other than the caller's) runs a query containing `text`.
void wait_for_query(const std::string& db, const std::string& text);

// The pids of backends in `db` whose query contains `text`.
std::vector<int> backends_running(const std::string& db, const std::string& text);

// How many sessions in `db` wait for a lock (a row lock, an advisory lock): sessions of migrate
// (application_name 'migrate') when `ours`, of anyone else (knex, a test) otherwise.
int sessions_waiting_for_lock(const std::string& db, bool ours);

}  // namespace support
