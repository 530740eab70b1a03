#include "support/relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "support/cluster.hpp"

namespace support {
namespace {

int connect_to_cluster() {
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(cluster_port()));
  ::inet_pton(AF_INET, cluster_host().c_str(), &target.sin_addr);
  if (::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
    ::close(server);
    return -1;
  }
  return server;
}

// Copies bytes both ways until either side closes or `deadline` passes; true when one closed.
bool pump(int client, int server, std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fds[] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (::poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      char buffer[8192];
      const auto got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got <= 0) return true;
      const int to = i == 0 ? server : client;
      if (::write(to, buffer, static_cast<std::size_t>(got)) != got) return true;
    }
  }
  return false;
}

}  // namespace

FirstConnectionRelay::FirstConnectionRelay() {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener_, 16) == 0);
  socklen_t size = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FirstConnectionRelay::~FirstConnectionRelay() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  thread_.join();
  for (const int fd : held_) ::close(fd);
  ::close(listener_);
}

void FirstConnectionRelay::forward_held() {
  std::vector<int> held;
  {
    std::lock_guard lock(mutex_);
    held.swap(held_);
  }
  for (const int client : held) {
    const int server = connect_to_cluster();
    REQUIRE(server >= 0);
    const bool closed = pump(client, server, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    ::close(server);
    ::close(client);
    REQUIRE(closed);
  }
}

void FirstConnectionRelay::serve() {
  int client = -1;
  int server = -1;
  while (!stopping_) {
    std::vector<pollfd> fds = {{listener_, POLLIN, 0}};
    if (client >= 0) fds.push_back({client, POLLIN, 0}), fds.push_back({server, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    if (fds[0].revents) {
      const int accepted = ::accept(listener_, nullptr, nullptr);
      if (accepted < 0) break;
      if (client >= 0) {
        std::lock_guard lock(mutex_);
        held_.push_back(accepted);
        ++held_count_;
        continue;
      }
      client = accepted;
      server = connect_to_cluster();
      if (server < 0) break;
      continue;
    }
    bool closed = false;
    for (std::size_t i = 1; i < fds.size() && !closed; ++i) {
      if (!fds[i].revents) continue;
      char buffer[8192];
      const auto got = ::read(fds[i].fd, buffer, sizeof buffer);
      const int to = fds[i].fd == client ? server : client;
      closed = got <= 0 || ::write(to, buffer, static_cast<std::size_t>(got)) != got;
    }
    if (closed) break;
  }
  if (client >= 0) ::close(client);
  if (server >= 0) ::close(server);
}

}  // namespace support
