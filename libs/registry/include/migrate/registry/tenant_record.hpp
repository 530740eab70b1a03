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
};

}  // namespace migrate::registry
