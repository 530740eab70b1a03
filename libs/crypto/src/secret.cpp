#include "migrate/crypto/secret.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace migrate::crypto {

Secret::Secret(std::size_t size) : bytes_(new unsigned char[size == 0 ? 1 : size]()), size_(size) {}

Secret Secret::copy_of(std::string_view bytes) {
  Secret secret(bytes.size());
  if (!bytes.empty()) std::memcpy(secret.data(), bytes.data(), bytes.size());
  return secret;
}

Secret::Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)), size_(other.size_) {
  other.size_ = 0;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

Secret::~Secret() {
  wipe();
}

void Secret::shrink(std::size_t size) {
  if (size >= size_) return;
  OPENSSL_cleanse(bytes_.get() + size, size_ - size);
  size_ = size;
}

void Secret::wipe() {
  if (bytes_ && size_ > 0) OPENSSL_cleanse(bytes_.get(), size_);
  bytes_.reset();
  size_ = 0;
}

void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

}  // namespace migrate::crypto
