#pragma once
// Several replicas of `migrate all-tenants` over one central database split the fleet between
// them: a replica claims a tenant with a session advisory lock in the central database before it
// works on it, and passes over a tenant another replica holds. A replica that dies drops its
// claims with its connection. No extra service, no table.
#include <cstdint>
#include <mutex>
#include <string>

#include "migrate/pg/connection.hpp"

namespace migrate::runner {

class TenantClaims {
 public:
  explicit TenantClaims(const std::string& central_conninfo, const pg::ConnectOptions& options);

  // True when this replica now holds tenant `id`; false when another replica does.
  bool try_claim(const std::string& id);
  void release(const std::string& id);

 private:
  std::mutex mutex_;  // one connection shared by the fleet's workers
  pg::Connection central_;
};

}  // namespace migrate::runner
