#include "migrate/core/interrupt.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>

#include "migrate/core/error.hpp"

namespace migrate::interrupt {
namespace {

std::atomic<int> requested_by{0};
std::mutex mutex;
std::condition_variable woken;

}  // namespace

void request(int number) {
  int none = 0;
  if (!requested_by.compare_exchange_strong(none, number)) return;
  std::lock_guard lock(mutex);
  woken.notify_all();
}

bool requested() {
  return requested_by.load() != 0;
}

int signal_number() {
  return requested_by.load();
}

std::string signal_name() {
  switch (requested_by.load()) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case 0: return "nothing";
    default: return "signal " + std::to_string(requested_by.load());
  }
}

bool sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex);
  return !woken.wait_for(lock, duration, [] { return requested(); });
}

void throw_if_requested() {
  if (requested()) throw InterruptedError("interrupted by " + signal_name(), signal_number());
}

}  // namespace migrate::interrupt
