#pragma once
// What a database error means for the runner, and its text made safe to show.
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace migrate::pg {

// A connection could not be opened. The message names the endpoint and libpq's scrubbed reason.
class ConnectError : public std::runtime_error {
 public:
  ConnectError(const std::string& message, bool transient) : std::runtime_error(message), transient_(transient) {}
  bool transient() const { return transient_; }

 private:
  bool transient_;
};

// True for faults worth retrying: refused or reset connections, too many clients, a server
// starting up or shutting down, serialization failures and deadlocks. A migration's own SQL error
// is never transient, and neither is an in-doubt commit.
bool is_transient(const std::exception& error);

// True for a libpq connection failure text that a retry may cure.
bool is_transient_connect_message(std::string_view message);

// `message` with `secret` (when given) and anything shaped like a password setting
// (password=..., postgresql://user:pass@) replaced by <redacted>, trimmed of trailing blanks.
std::string scrub(std::string message, std::string_view secret = {});

// A libpqxx error as one or more lines fit for an operator: PostgreSQL's message with its
// LINE/position context, no trailing blank lines, scrubbed.
std::string describe(const std::exception& error);

}  // namespace migrate::pg
