#pragma once
// One root for every failure this tool reports. A subclass says what a caller needs to decide:
// the exit status, whether a retry may cure it, whether a commit's outcome is unknown.
// The CLI catches Error once and exits with exit_status(); the tenant job retries by transient().
#include <csignal>
#include <stdexcept>
#include <string>

namespace migrate {

// Exit statuses, as documented in the README.
enum ExitStatus : int {
  exit_ok = 0,
  exit_failed = 1,     // a migration or a tenant failed
  exit_input = 2,      // usage, configuration or input error; nothing was changed
  exit_sigint = 130,   // stopped by SIGINT (Ctrl-C)
  exit_sigterm = 143,  // stopped by SIGTERM
};

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, ExitStatus status, bool transient, bool in_doubt)
      : std::runtime_error(message), status_(status), transient_(transient), in_doubt_(in_doubt) {}

  ExitStatus exit_status() const { return status_; }
  // Worth trying again after a backoff: a connection refused or lost, too many clients, a server
  // starting up, a serialization failure or deadlock, a lock knex holds.
  bool transient() const { return transient_; }
  // A commit whose outcome is unknown. Never retried: the tenant is reported for a person to check.
  bool in_doubt() const { return in_doubt_; }

 private:
  ExitStatus status_;
  bool transient_;
  bool in_doubt_;
};

// Bad input: usage, configuration, migration files, unknown tenant, a refused command. Raised
// before anything is changed; exit status 2.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message, exit_input, false, false) {}
};

// A migration, a tenant or a database operation failed; exit status 1. `transient` when a retry
// may cure it.
class RunError : public Error {
 public:
  explicit RunError(const std::string& message, bool transient = false)
      : Error(message, exit_failed, transient, false) {}
};

// The connection broke while a commit was under way: applied or not, nobody knows. Never retried.
class InDoubtError : public Error {
 public:
  explicit InDoubtError(const std::string& message) : Error(message, exit_failed, false, true) {}
};

// The run was stopped by SIGINT or SIGTERM; what was in flight was cancelled and rolled back.
class InterruptedError : public Error {
 public:
  explicit InterruptedError(const std::string& message, int signal_number)
      : Error(message, signal_number == SIGINT ? exit_sigint : exit_sigterm, false, false) {}
};

}  // namespace migrate
