#pragma once
#include <string>

#include "migrate/pg/endpoint.hpp"

namespace migrate::registry {

// One row of the central tenants table. The password stays encrypted here.
struct TenantRecord {
  std::string id;
  std::string slug;
  std::string status;  // active, suspended, provisioning, deleted
  pg::Endpoint database;
  std::string password_encrypted;
  // Why this row cannot be used (no slug, a port that is not one, an empty host...); empty when
  // it can. Such a tenant fails alone, before its password is decrypted.
  std::string problem;

  // The slug, or "(id X)" for a row without one: how output names the tenant.
  std::string label() const { return slug.empty() ? "(id " + id + ")" : slug; }
};

// Where paging stopped: the last row's sort key.
struct PageCursor {
  std::string slug;
  std::string id;
};

}  // namespace migrate::registry
