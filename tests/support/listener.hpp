#pragma once
// A listening TCP socket on 127.0.0.1 standing in for a server nobody should reach: a test points
// a connection at it and then asks whether anyone connected.
namespace support {

class Listener {
 public:
  Listener();
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }
  // True when a client connected since the last call (the kernel completes the handshake
  // without accept(), so a connection is seen even though nothing ever answers it).
  bool was_contacted();

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace support
