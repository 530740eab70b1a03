#pragma once
// A libpqxx connection opened from keyword/value parameters, the password handed to libpq as a
// parameter of its own and wiped once the connection is up. It is never reopened behind our
// back: a connection that broke stays broken, and its libpq message is kept for the report.
#include <pqxx/connection_base>
#include <pqxx/connectionpolicy>
#include <pqxx/errorhandler>

#include <chrono>
#include <memory>
#include <string>

#include "migrate/crypto/secret.hpp"
#include "migrate/pg/target.hpp"

namespace migrate::pg {

struct ConnectOptions {
  std::chrono::seconds timeout{10};
  std::string application_name = "migrate";  // unless the target names one
};

namespace detail {
// Connects once with PQconnectdbParams (expand_dbname off), then wipes the password it held.
// libpqxx 6.4 calls the policy again to reconnect a broken connection; that is refused here.
class OneShotPolicy : public pqxx::connectionpolicy {
 public:
  OneShotPolicy(Target::Parameters parameters, crypto::Secret password, std::string description);
  handle do_startconnect(handle original) override;
  handle do_dropconnect(handle original) noexcept override;
  handle do_disconnect(handle original) noexcept override;

  // libpq's last words on the connection, scrubbed; empty when it is fine.
  std::string failure_text() const;
  // The libpq connection, while open.
  handle raw() const { return current_; }

 private:
  void forget(handle original) noexcept;

  Target::Parameters parameters_;
  crypto::Secret password_;
  std::string description_;
  handle current_ = nullptr;
  bool connected_once_ = false;
  std::string lost_text_;
};
}  // namespace detail

class Connection : public pqxx::connection_base {
 public:
  // Connects to `target` as its user, with `password` (a tenant's decrypted password), or the
  // target's own password when `password` is empty. Throws ConnectError naming the endpoint and
  // libpq's scrubbed reason, never the password.
  Connection(const Target& target, const ConnectOptions& options, crypto::Secret password = {});
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& description() const { return description_; }
  // Why the connection broke, in libpq's words (scrubbed); empty while it works.
  std::string failure_text() const { return policy_.failure_text(); }

  // The libpq connection, for the few libpq calls libpqxx 6.4 does not wrap (PQencryptPasswordConn).
  pqxx::connectionpolicy::handle libpq_handle() const { return policy_.raw(); }

 private:
  std::string description_;
  detail::OneShotPolicy policy_;
  std::unique_ptr<pqxx::errorhandler> notices_;
};

// Asks the server to end this session's backend within a second of its client dying (a killed
// runner's transaction is rolled back and its locks let go), where the server has the setting
// (PostgreSQL 14 and later). One round trip; call it before taking a tenant's lock.
void enable_dead_client_check(pqxx::connection_base& db);

}  // namespace migrate::pg
