#pragma once
// What the test cluster's server was sent and how many sessions it opened, read from its own
// records: the statement log (scripts/pg-cluster.sh writes DIR/server.log, each line prefixed
// "time [pid] user@database ") and pg_stat_database.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace support {

// Logs every statement sent to database `db` by sessions that start after construction
// (ALTER DATABASE ... SET log_statement = 'all'), until destruction.
class StatementLog {
 public:
  explicit StatementLog(std::string db);
  ~StatementLog();
  StatementLog(const StatementLog&) = delete;
  StatementLog& operator=(const StatementLog&) = delete;

  // The statements `user` sent to the database since construction, in the order logged, each
  // as the server logged it (simple and extended protocol alike, several lines kept together).
  std::vector<std::string> statements(const std::string& user) const;

 private:
  std::string db_;
  std::filesystem::path path_;
  std::uintmax_t offset_ = 0;
};

// How many sessions database `db` has had (pg_stat_database.sessions), read once no session but
// the caller's is left in it, so that every session that ended is counted.
std::int64_t sessions_started(const std::string& db);

}  // namespace support
