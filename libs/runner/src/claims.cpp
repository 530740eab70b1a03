#include "migrate/runner/claims.hpp"

#include <pqxx/pqxx>

#include "migrate/runner/shard.hpp"

namespace migrate::runner {

std::string claim_scope(const std::string& environment, const std::string& table, const migrations::MigrationSet& set) {
  std::string files;
  for (const auto& file : set.files()) {
    files += file.name + '\0' + file.up.sql + '\0';
    if (file.down) files += file.down->sql;
    files += '\0';
  }
  return environment + ":" + table + ":" + std::to_string(stable_hash(files));
}

ClaimSession::ClaimSession(pg::Target central, pg::ConnectOptions options, std::string scope)
    : central_target_(std::move(central)), options_(std::move(options)), scope_(std::move(scope)) {}

std::int64_t ClaimSession::key_of(const std::string& id) const {
  return static_cast<std::int64_t>(stable_hash("migrate:tenant:" + scope_ + ":" + id));
}

void ClaimSession::wait_for(const std::string& id) {
  if (!central_) central_ = std::make_unique<pg::Connection>(central_target_, options_);
  pqxx::nontransaction tx(*central_);
  tx.exec_params("SELECT pg_advisory_lock($1), pg_advisory_unlock($1)", key_of(id));
}

bool ClaimSession::claim(const std::string& id) {
  if (!central_) {
    held_.reset();  // a new session holds nothing
    central_ = std::make_unique<pg::Connection>(central_target_, options_);
  }
  const auto key = key_of(id);
  try {
    pqxx::nontransaction tx(*central_);
    // Let go of the previous tenant and try the next in one round trip.
    const auto row = held_ ? tx.exec_params("SELECT pg_advisory_unlock($1), pg_try_advisory_lock($2)", *held_, key)[0]
                           : tx.exec_params("SELECT true, pg_try_advisory_lock($1)", key)[0];
    const bool claimed = row[1].as<bool>();
    held_.reset();
    if (claimed) held_ = key;
    return claimed;
  } catch (...) {
    central_.reset();  // reconnect next time; the server dropped our claims with the session
    throw;
  }
}

}  // namespace migrate::runner
