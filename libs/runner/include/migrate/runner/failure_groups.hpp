#pragma once
// Failures grouped by reason, so that a fleet whose tenants fail for one reason (a missing file, a
// wrong key, a server down) reads as that reason once, with the count and the tenants.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "migrate/registry/tenant_record.hpp"
#include "migrate/runner/outcome.hpp"

namespace migrate::runner {

// `reason` with what belongs to `tenant` alone replaced, so that the same failure on two tenants
// gives the same text: its database name, user, host, slug and id where they stand as whole words
// (`<db>`, `<user>`, `<host>`, `<tenant>`, `<id>`; the longest first), the address libpq prints
// after a host name, its own port (`port N`, `<host>:N`), and the number after `pid` or `process` (a
// backend's, which every session has its own of). Anything else in the reason is kept as it is.
std::string reason_without_tenant(const std::string& reason, const registry::TenantRecord& tenant);

// Collects failures and groups them by reason_without_tenant(). Not thread-safe.
class FailureGrouper {
 public:
  void add(const std::string& slug, const std::string& reason, const registry::TenantRecord& tenant);

  // The groups, the largest first, ties in the order of their first failure, each group's tenants
  // in slug order. A group whose
  // tenants all gave the very same reason shows it as it is; otherwise with the placeholders.
  std::vector<FailureGroup> groups() const;

 private:
  struct Entry {
    FailureGroup group;
    std::string key;
    bool varied = false;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> by_key_;
};

}  // namespace migrate::runner
