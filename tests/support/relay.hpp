#pragma once
// A TCP relay on 127.0.0.1 to the test cluster that relays only its first connection. Later ones
// (libpq's cancel requests) are accepted and held unanswered, as by a server that hangs, until
// forward_held() passes them on.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace support {

class FirstConnectionRelay {
 public:
  FirstConnectionRelay();
  ~FirstConnectionRelay();
  FirstConnectionRelay(const FirstConnectionRelay&) = delete;
  FirstConnectionRelay& operator=(const FirstConnectionRelay&) = delete;

  int port() const { return port_; }
  // How many connections came after the first (cancel requests).
  int held() const { return held_count_; }
  // Passes each held connection on to the server and returns once the server closed it (for a
  // cancel request: once the server has signalled the backend).
  void forward_held();

 private:
  void serve();

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<int> held_;
  std::atomic<int> held_count_{0};
  std::thread thread_;
};

}  // namespace support
