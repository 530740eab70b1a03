#pragma once
// A program run on a pseudo-terminal, as a person at a terminal runs it: what it writes and what the
// terminal echoes of what is typed is what the terminal shows; what is typed reaches its input.
#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace support {

class Terminal {
 public:
  // Starts `argv` with the current environment plus `env`, in `cwd` (this process's own when
  // empty), its standard input, output and error all on a new pseudo-terminal.
  Terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
           const std::filesystem::path& cwd = {});
  ~Terminal();  // kills and reaps a child still running, closes the terminal
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  pid_t pid() const { return pid_; }
  // Types `text` as a person would (a newline is Enter).
  void type(const std::string& text);
  // Every byte the terminal has shown so far.
  const std::string& shown();
  // Waits until what the terminal shows contains `text`; fails the test after `timeout`.
  void wait_for_text(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The terminal's settings now (echo on or off).
  termios settings() const;
  // Reads until the program ends and returns its exit status (128 + signal when killed).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(120));

 private:
  // Appends what the terminal has to show to `shown_`; false once the program's side is closed.
  bool read_pending(int wait_ms);
  // Reads whatever is there to read now, without waiting.
  void read_all_pending();

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string shown_;
};

// The lines a terminal's screen holds after showing `bytes`: "\r" goes back to the start of the
// line, "\x1b[K" erases from there to its end, "\n" starts a new line; other bytes are written over
// what is there.
std::vector<std::string> screen_lines(const std::string& bytes);

}  // namespace support
