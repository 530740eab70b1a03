#include "confirm.hpp"

#include <poll.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/core/text.hpp"

namespace migrate::cli {

bool ask_yes_no(const std::string& question) {
  std::fputs((question + " ").c_str(), stderr);
  std::fflush(stderr);
  // Signals go to the watcher thread, so a blocking read would not notice Ctrl-C: wait in short
  // slices and look at the stop request between them.
  std::string answer;
  while (true) {
    interrupt::throw_if_requested();
    pollfd input{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&input, 1, 100);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    if (ready == 0) continue;
    char c = 0;
    const ssize_t got = ::read(STDIN_FILENO, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || c == '\n') break;
    if (answer.size() < 16) answer += c;
  }
  std::string word(trim(answer));
  for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word == "y" || word == "yes";
}

}  // namespace migrate::cli
