#include "support/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace support {

Listener::Listener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd_, 16) == 0);
  socklen_t size = sizeof address;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
  port_ = ntohs(address.sin_port);
  ::fcntl(fd_, F_SETFL, O_NONBLOCK);
}

Listener::~Listener() {
  ::close(fd_);
}

bool Listener::was_contacted() {
  bool contacted = false;
  for (int client; (client = ::accept(fd_, nullptr, nullptr)) >= 0;) {
    ::close(client);
    contacted = true;
  }
  return contacted;
}

}  // namespace support
