#pragma once
// The two kinds of failure the CLI maps to exit statuses.
#include <stdexcept>
#include <string>

namespace migrate {

// Bad input: usage, configuration, migration files, unknown tenant. Raised before anything is
// changed; the CLI exits with status 2.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// A migration, a tenant or a database operation failed; the CLI exits with status 1.
class RunError : public std::runtime_error {
 public:
  explicit RunError(const std::string& message) : std::runtime_error(message) {}
};

// Exit statuses, as documented in the README.
enum ExitStatus : int { exit_ok = 0, exit_failed = 1, exit_input = 2 };

}  // namespace migrate
