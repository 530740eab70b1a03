#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "migrate/core/error.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/stored_password.hpp"

namespace migrate::cli {
namespace {

// The longest password `migrate encrypt` takes: far beyond any real one, and it lets standard
// input go into one buffer of fixed size that never grows (a growing std::string would leave
// copies of the password in the buffers it frees).
constexpr std::size_t max_password = 4096;

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

// The first line of standard input without its LF or CRLF (all of it when it has no LF), in a
// Secret that wipes it on every path, this function's errors included. read(2) straight into the
// Secret: no stdio or iostream buffer holds a copy. Whatever the same read brought after the first
// line is wiped with the rest of the buffer. InputError when the line is longer than max_password.
crypto::Secret read_password() {
  crypto::Secret buffer(max_password + 2);  // room for a final CR LF
  const auto too_long = [] {
    return InputError("encrypt: the password is longer than " + std::to_string(max_password) + " bytes");
  };
  std::size_t filled = 0;
  std::size_t size = 0;
  bool line_ended = false;
  while (!line_ended && filled < buffer.size()) {
    const ssize_t got = ::read(STDIN_FILENO, buffer.data() + filled, buffer.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw InputError(std::string("encrypt: cannot read standard input: ") + std::strerror(errno));
    if (got == 0) break;
    const auto* newline = std::memchr(buffer.data() + filled, '\n', static_cast<std::size_t>(got));
    filled += static_cast<std::size_t>(got);
    line_ended = newline != nullptr;
    size = line_ended ? static_cast<std::size_t>(static_cast<const unsigned char*>(newline) - buffer.data()) : filled;
  }
  if (!line_ended && filled == buffer.size()) throw too_long();
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  if (size > max_password) throw too_long();
  buffer.shrink(size);
  return buffer;
}

}  // namespace

int encrypt_command(crypto::Format format) {
  const auto ring = crypto::KeyRing::from_environment();
  crypto::Secret password;
  {
    NoEcho no_echo;
    password = read_password();
  }
  if (password.empty()) throw InputError("encrypt: no password on standard input");
  // Only what decrypt_password gives back may be stored. The messages never hold the password.
  switch (crypto::classify_password_text(password.view())) {
    case crypto::PasswordText::printable: break;
    case crypto::PasswordText::control_character:
      throw InputError(
          "encrypt: the password holds a control character (such as a tab) besides its final newline; migrate "
          "could not decrypt it later");
    case crypto::PasswordText::invalid_utf8:
      throw InputError("encrypt: the password is not valid UTF-8; migrate could not decrypt it later");
  }
  std::cout << crypto::seal_password(password.view(), ring, format) << '\n';
  return exit_ok;
}

}  // namespace migrate::cli
