#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "migrate/core/error.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"

namespace migrate::cli {
namespace {

// Turns terminal echo off while it lives, so a typed password is not shown.
class NoEcho {
 public:
  NoEcho() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
    std::fputs("Password: ", stderr);
  }
  ~NoEcho() {
    if (!active_) return;
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    std::fputs("\n", stderr);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

int encrypt_command() {
  const auto key = crypto::key_from_environment();
  std::string password;
  {
    NoEcho no_echo;
    std::getline(std::cin, password);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw InputError("encrypt: no password on standard input");
  const auto stored = crypto::encrypt_password(password, key);
  crypto::wipe(password);
  std::cout << stored << '\n';
  return exit_ok;
}

}  // namespace migrate::cli
