#pragma once
// What a database error means for the runner, and its text made safe to show.
#include <exception>
#include <string>
#include <string_view>

#include "migrate/core/error.hpp"

namespace migrate::pg {

class Connection;

// A connection could not be opened. The message names the endpoint and libpq's scrubbed reason;
// transient when a retry may cure it (refused, too many clients, starting up...).
class ConnectError : public RunError {
 public:
  ConnectError(const std::string& message, bool transient) : RunError(message, transient) {}
};

// Inside a catch block: throws the exception being handled as a migrate::Error, the way
// libpqxx groups its errors. Errors of ours pass unchanged. A commit whose connection broke is
// InDoubtError (never retried); a lost connection is a transient RunError with libpq's own words
// (from `db` when given); a serialization failure, deadlock, too many clients, or a server
// shutting down is transient; a statement cancelled because the run was asked to stop is
// InterruptedError; any other SQL error is a RunError with PostgreSQL's message.
[[noreturn]] void rethrow_as_error(const Connection* db = nullptr);

// True for a libpq connection failure text that a retry may cure.
bool is_transient_connect_message(std::string_view message);

// `message` with `secret` (when given) and anything shaped like a password setting
// (password=..., postgresql://user:pass@) replaced by <redacted>, trimmed of trailing blanks.
std::string scrub(std::string message, std::string_view secret = {});

// A libpqxx error as text fit for an operator: PostgreSQL's message, then its DETAIL, HINT and
// LINE context on lines of their own, without the severity prefix or the caret line; scrubbed.
// (Text output shows a newline as \n, see printable().)
std::string describe(const std::exception& error);

}  // namespace migrate::pg
