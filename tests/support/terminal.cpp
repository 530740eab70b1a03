#include "support/terminal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

extern char** environ;

namespace support {

Terminal::Terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                   const std::filesystem::path& cwd) {
  // Everything the child needs is made before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry; ++entry) {
    const std::string text = *entry;
    const auto eq = text.find('=');
    if (eq != std::string::npos) merged[text.substr(0, eq)] = text.substr(eq + 1);
  }
  for (const auto& [name, value] : env) merged[name] = value;
  std::vector<std::string> env_text;
  for (const auto& [name, value] : merged) env_text.push_back(name + "=" + value);
  std::vector<char*> env_pointers;
  for (auto& text : env_text) env_pointers.push_back(text.data());
  env_pointers.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  for (auto& arg : args) arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);
  const std::string directory = cwd.string();

  pid_ = ::forkpty(&fd_, nullptr, nullptr, nullptr);
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    if (!directory.empty() && ::chdir(directory.c_str()) != 0) ::_exit(126);
    ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    ::_exit(127);
  }
}

Terminal::~Terminal() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) ::close(fd_);
}

void Terminal::type(const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const auto got = ::write(fd_, text.data() + written, text.size() - written);
    REQUIRE(got > 0);
    written += static_cast<std::size_t>(got);
  }
}

bool Terminal::read_pending(int wait_ms) {
  pollfd ready{fd_, POLLIN, 0};
  if (::poll(&ready, 1, wait_ms) <= 0) return true;
  char buffer[4096];
  const auto got = ::read(fd_, buffer, sizeof buffer);
  if (got <= 0) return false;  // EIO: every descriptor of the program's side is closed
  shown_.append(buffer, static_cast<std::size_t>(got));
  return true;
}

void Terminal::read_all_pending() {
  for (pollfd ready{fd_, POLLIN, 0}; ::poll(&ready, 1, 0) > 0 && read_pending(0);) {
  }
}

const std::string& Terminal::shown() {
  read_all_pending();
  return shown_;
}

void Terminal::wait_for_text(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (shown_.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for the terminal to show " << text);
    if (!read_pending(20) && shown_.find(text) == std::string::npos)
      FAIL("the program ended without the terminal showing " << text << "; it showed: " << shown_);
  }
}

termios Terminal::settings() const {
  termios settings{};
  REQUIRE(::tcgetattr(fd_, &settings) == 0);
  return settings;
}

int Terminal::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (read_pending(20)) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for the program to end");
    int status = 0;
    // A program that ended while a child of its own keeps the terminal open: stop reading then.
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      read_all_pending();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(pid_, &status, 0) == pid_);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> screen_lines(const std::string& bytes) {
  std::vector<std::string> lines(1);
  std::size_t column = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto& line = lines.back();
    const char c = bytes[i];
    if (c == '\r') {
      column = 0;
    } else if (c == '\n') {
      lines.emplace_back();
      column = 0;
    } else if (bytes.compare(i, 3, "\x1b[K") == 0) {
      line.resize(std::min(line.size(), column));
      i += 2;
    } else {
      if (column < line.size())
        line[column] = c;
      else
        line.push_back(c);
      ++column;
    }
  }
  if (lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace support
