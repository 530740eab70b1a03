#pragma once
// SIGINT and SIGTERM, watched on a thread of their own so that nothing runs in a signal handler.
// The first asks the run to stop (migrate::interrupt) and cancels the statements in flight,
// again every 250 ms until the run ends (a statement sent just after a cancel is caught too);
// the second ends the process at once with 128 + the signal's number.
#include <functional>
#include <thread>

namespace migrate::cli {

class SignalWatcher {
 public:
  // Blocks SIGINT and SIGTERM in this thread (and so in every thread it starts later) and starts
  // watching. `on_first`, when given, replaces the graceful stop: it runs on the first signal.
  explicit SignalWatcher(std::function<void(int)> on_first = {});
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void watch();

  std::function<void(int)> on_first_;
  std::thread thread_;
};

}  // namespace migrate::cli
