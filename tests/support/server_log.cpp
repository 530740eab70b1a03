#include "support/server_log.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>

#include "support/cluster.hpp"
#include "support/wait.hpp"

namespace support {
namespace {

std::filesystem::path server_log_path() {
  const char* path = std::getenv("MIGRATE_TEST_SERVER_LOG");
  if (!path || !*path)
    FAIL(
        "MIGRATE_TEST_SERVER_LOG is not set: run the integration tests through scripts/test.sh, whose cluster "
        "(scripts/pg-cluster.sh) logs to it");
  return path;
}

}  // namespace

StatementLog::StatementLog(std::string db) : db_(std::move(db)), path_(server_log_path()) {
  offset_ = std::filesystem::file_size(path_);
  admin_exec("ALTER DATABASE \"" + db_ + "\" SET log_statement = 'all'");
}

StatementLog::~StatementLog() {
  try {
    admin_exec("ALTER DATABASE \"" + db_ + "\" RESET log_statement");
  } catch (...) {
    // The database goes with the throwaway cluster anyway.
  }
}

std::vector<std::string> StatementLog::statements(const std::string& user) const {
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset_));
  // "2025-01-01 00:00:00.000 UTC [123] user@db LOG:  statement: ..." or "... LOG:  execute <unnamed>: ..."
  static const std::regex prefixed(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] (\S*)@(\S*) (\w+):  (.*)$)");
  static const std::regex statement(R"(^(statement|execute [^:]*): ([\s\S]*)$)");
  std::vector<std::string> found;
  bool continuing = false;  // the previous line was a statement of ours: unprefixed lines continue it
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (!std::regex_match(line, match, prefixed)) {
      if (continuing) found.back() += "\n" + line;
      continue;
    }
    continuing = false;
    if (match[1] != user || match[2] != db_ || match[3] != "LOG") continue;
    const std::string message = match[4];
    std::smatch text;
    if (!std::regex_match(message, text, statement)) continue;
    found.push_back(text[2]);
    continuing = true;
  }
  return found;
}

std::int64_t sessions_started(const std::string& db) {
  pqxx::connection admin(admin_conninfo());
  wait_until("the sessions in " + db + " to end", [&] {
    pqxx::nontransaction tx(admin);
    return tx.exec_params("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", db)[0][0].as<int>() == 0;
  });
  pqxx::nontransaction tx(admin);
  tx.exec("SELECT pg_stat_clear_snapshot()");
  return tx.exec_params("SELECT sessions FROM pg_stat_database WHERE datname = $1", db)[0][0].as<std::int64_t>();
}

}  // namespace support
