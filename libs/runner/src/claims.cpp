#include "migrate/runner/claims.hpp"

#include <pqxx/pqxx>

#include "migrate/runner/shard.hpp"

namespace migrate::runner {
namespace {

std::int64_t claim_key(const std::string& id) {
  return static_cast<std::int64_t>(stable_hash("migrate:tenant:" + id));
}

}  // namespace

ClaimSession::ClaimSession(std::string central_conninfo, pg::ConnectOptions options)
    : conninfo_(std::move(central_conninfo)), options_(std::move(options)) {}

bool ClaimSession::claim(const std::string& id) {
  if (!central_) {
    held_.reset();  // a new session holds nothing
    central_ = std::make_unique<pg::Connection>(conninfo_, options_);
  }
  const auto key = claim_key(id);
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
