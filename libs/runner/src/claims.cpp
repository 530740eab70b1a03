#include "migrate/runner/claims.hpp"

#include <pqxx/pqxx>

#include "migrate/runner/shard.hpp"

namespace migrate::runner {
namespace {

std::int64_t claim_key(const std::string& id) {
  return static_cast<std::int64_t>(stable_hash("migrate:tenant:" + id));
}

}  // namespace

TenantClaims::TenantClaims(const std::string& central_conninfo, const pg::ConnectOptions& options)
    : central_(central_conninfo, options) {}

bool TenantClaims::try_claim(const std::string& id) {
  std::lock_guard lock(mutex_);
  pqxx::nontransaction tx(central_);
  return tx.exec_params("SELECT pg_try_advisory_lock($1)", claim_key(id))[0][0].as<bool>();
}

void TenantClaims::release(const std::string& id) {
  std::lock_guard lock(mutex_);
  pqxx::nontransaction tx(central_);
  tx.exec_params("SELECT pg_advisory_unlock($1)", claim_key(id));
}

}  // namespace migrate::runner
