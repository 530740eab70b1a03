#include "migrate/pg/connection.hpp"

#include <libpq-fe.h>
#include <pqxx/errorhandler>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include <algorithm>

#include "migrate/pg/cancel.hpp"
#include "migrate/pg/errors.hpp"

namespace migrate::pg {
namespace {

// Server versions that have client_connection_check_interval.
constexpr int first_version_with_dead_client_check = 140000;

// Ours, added to what the target says. Nothing goes in "options": PgBouncer refuses that
// startup parameter, and older servers refuse settings they do not know.
Target::Parameters with_our_parameters(Target::Parameters parameters, const ConnectOptions& options) {
  auto has = [&](const char* keyword) {
    return std::any_of(parameters.begin(), parameters.end(), [&](const auto& p) { return p.first == keyword; });
  };
  // Files are UTF-8 whatever the database's encoding, as node-pg assumes.
  parameters.erase(
      std::remove_if(parameters.begin(), parameters.end(), [](const auto& p) { return p.first == "client_encoding"; }),
      parameters.end());
  parameters.emplace_back("client_encoding", "UTF8");
  if (!has("connect_timeout")) parameters.emplace_back("connect_timeout", std::to_string(options.timeout.count()));
  if (!has("application_name")) parameters.emplace_back("application_name", options.application_name);
  return parameters;
}

// Swallows notices ("relation already exists, skipping"); anything worth saying reaches us as an error.
class QuietNotices : public pqxx::errorhandler {
 public:
  using pqxx::errorhandler::errorhandler;
  bool operator()(const char*) noexcept override { return false; }
};

}  // namespace

namespace detail {

OneShotPolicy::OneShotPolicy(Target::Parameters parameters, crypto::Secret password, std::string description)
    : pqxx::connectionpolicy(std::string{}),
      parameters_(std::move(parameters)),
      password_(std::move(password)),
      description_(std::move(description)) {}

OneShotPolicy::handle OneShotPolicy::do_startconnect(handle original) {
  if (original) return original;
  if (connected_once_)
    throw pqxx::broken_connection("connection to " + description_ + " lost" +
                                  (lost_text_.empty() ? std::string() : ": " + lost_text_));
  connected_once_ = true;
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : parameters_) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  // One use only: the password is wiped when `password` goes out of scope, whatever happens.
  const crypto::Secret password = std::move(password_);
  // The Secret holds no terminating NUL, so hand libpq a NUL-terminated copy that is wiped too.
  crypto::Secret terminated(password.size() + 1);
  if (!password.empty()) {
    std::copy(password.data(), password.data() + password.size(), terminated.data());
    keywords.push_back("password");
    values.push_back(reinterpret_cast<const char*>(terminated.data()));
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* connection = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/0);
  if (connection == nullptr) throw ConnectError("cannot connect to " + description_ + ": out of memory", true);
  if (PQstatus(connection) != CONNECTION_OK) {
    // libpq never repeats a password given as a parameter; its messages are scrubbed of
    // password-shaped settings all the same. (Replacing the literal password would tell a reader
    // the password whenever it equals some other word of the message, such as the user name.)
    const std::string raw = PQerrorMessage(connection);
    const bool transient = is_transient_connect_message(raw);
    PQfinish(connection);
    throw ConnectError("cannot connect to " + description_ + ": " + scrub(raw), transient);
  }
  current_ = connection;
  return connection;
}

void OneShotPolicy::forget(handle original) noexcept {
  if (!original || original != current_) return;
  try {
    if (PQstatus(original) != CONNECTION_OK) lost_text_ = scrub(PQerrorMessage(original));
  } catch (...) {
  }
  current_ = nullptr;
}

OneShotPolicy::handle OneShotPolicy::do_dropconnect(handle original) noexcept {
  forget(original);
  return pqxx::connectionpolicy::do_dropconnect(original);
}

OneShotPolicy::handle OneShotPolicy::do_disconnect(handle original) noexcept {
  forget(original);
  return pqxx::connectionpolicy::do_disconnect(original);
}

std::string OneShotPolicy::failure_text() const {
  if (current_ && PQstatus(current_) != CONNECTION_OK) return scrub(PQerrorMessage(current_));
  if (current_) {
    // The status may still say OK when the server ended the session between statements.
    const std::string text = scrub(PQerrorMessage(current_));
    if (!text.empty()) return text;
  }
  return lost_text_;
}

}  // namespace detail

Connection::Connection(const Target& target, const ConnectOptions& options, crypto::Secret password)
    : pqxx::connection_base(policy_),
      description_(target.describe()),
      policy_(with_our_parameters(target.parameters(), options),
              password.empty() ? crypto::Secret::copy_of(target.password().view()) : std::move(password),
              description_) {
  init();
  // Deprecated in 6.4 only because 7.x drops reactivation altogether; the policy refuses it too.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  inhibit_reactivation(true);
#pragma GCC diagnostic pop
  notices_ = std::make_unique<QuietNotices>(*this);
  detail::register_for_cancel(*this, policy_.raw());
}

Connection::~Connection() {
  detail::unregister_for_cancel(*this);
  notices_.reset();
  close();
}

void enable_dead_client_check(pqxx::connection_base& db) {
  if (db.server_version() < first_version_with_dead_client_check) return;
  pqxx::nontransaction(db).exec("SET client_connection_check_interval = 1000");
}

}  // namespace migrate::pg
