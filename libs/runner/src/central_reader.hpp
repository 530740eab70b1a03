#pragma once
// The central database as the commands read it: opened once before any tenant is touched (a
// failure then is exit 2, nothing changed), and reopened with backoff when it drops later.
#include <memory>
#include <string>

#include "migrate/config/settings.hpp"
#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/pg/connection.hpp"
#include "migrate/registry/tenant_registry.hpp"
#include "migrate/runner/retry.hpp"

namespace migrate::runner {

class CentralReader {
 public:
  // Parses and opens the central connection. InputError when it does not parse or cannot be
  // reached, naming where it is, never the password.
  explicit CentralReader(const config::Settings& settings);

  const pg::Target& target() const { return target_; }
  pg::ConnectOptions connect_options() const { return {settings_.connect_timeout}; }

  // `read(registry)`, reconnecting and trying again on a transient error as the retry policy says.
  template <typename Read>
  auto read(Read&& read) {
    for (int attempt = 1;; ++attempt) {
      try {
        if (!central_) open();
        return read(*tenants_);
      } catch (const Error& error) {
        if (!error.transient() || attempt >= settings_.retry.attempts) throw;
        tenants_.reset();
        central_.reset();
        interrupt::sleep_for(backoff_delay(settings_.retry, attempt));
        interrupt::throw_if_requested();
      }
    }
  }

  // The tenant whose slug or id is `slug_or_id`, whatever its status; then the connection is
  // closed (one-tenant commands need it no longer). InputError when there is none or the table
  // cannot be read.
  registry::TenantRecord find_tenant(const std::string& slug_or_id);

  // Closes the connection (one-tenant commands need it no longer).
  void close() {
    tenants_.reset();
    central_.reset();
  }

 private:
  void open();

  const config::Settings& settings_;
  pg::Target target_;
  std::unique_ptr<pg::Connection> central_;
  std::unique_ptr<registry::TenantRegistry> tenants_;
};

}  // namespace migrate::runner
