#include "support/wait.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "support/cluster.hpp"

namespace support {

void wait_until(const std::string& what, const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for " << what);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<int> backends_running(const std::string& db, const std::string& text) {
  pqxx::connection admin(admin_conninfo());
  pqxx::nontransaction tx(admin);
  const auto rows = tx.exec_params(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND strpos(query, $2) > 0 AND pid <> pg_backend_pid() "
      "AND state = 'active'",
      db, text);
  std::vector<int> pids;
  for (const auto& row : rows) pids.push_back(row[0].as<int>());
  return pids;
}

int sessions_waiting_for_lock(const std::string& db, bool ours) {
  pqxx::connection admin(admin_conninfo());
  pqxx::nontransaction tx(admin);
  return tx
      .exec_params(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND "
          "(application_name = 'migrate') = $2",
          db, ours)[0][0]
      .as<int>();
}

void wait_for_query(const std::string& db, const std::string& text) {
  wait_until("a query with '" + text + "' in " + db, [&] { return !backends_running(db, text).empty(); });
}

}  // namespace support
