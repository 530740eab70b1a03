#include "signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>

#include "migrate/core/interrupt.hpp"
#include "migrate/pg/cancel.hpp"

namespace migrate::cli {
namespace {

// Sent by the destructor to end the watching thread; never sent by anyone else.
int stop_watching_signal() {
  return SIGRTMIN + 1;
}

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, stop_watching_signal());
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_first) : on_first_(std::move(on_first)) {
  const sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { watch(); });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), stop_watching_signal());
  thread_.join();
}

void SignalWatcher::watch() {
  const sigset_t set = watched_signals();
  const timespec every{0, 250'000'000};
  while (true) {
    const int number = interrupt::requested() ? sigtimedwait(&set, nullptr, &every) : sigwaitinfo(&set, nullptr);
    if (number == stop_watching_signal()) return;
    if (number < 0) {  // the 250 ms passed: cancel what started since
      if (interrupt::requested()) pg::cancel_in_flight();
      continue;
    }
    if (interrupt::requested()) _exit(128 + number);  // the second signal: at once
    interrupt::request(number);
    if (on_first_) {
      on_first_(number);
      continue;
    }
    pg::cancel_in_flight();
  }
}

}  // namespace migrate::cli
