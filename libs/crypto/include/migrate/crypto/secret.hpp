#pragma once
// A buffer for a key or a decrypted password: never copied, wiped when it goes away.
#include <cstddef>
#include <memory>
#include <string_view>

namespace migrate::crypto {

class Secret {
 public:
  Secret() = default;
  // A zero-filled secret of `size` bytes, to be written through data().
  explicit Secret(std::size_t size);
  // Copies `bytes` in; the caller wipes its own copy.
  static Secret copy_of(std::string_view bytes);

  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  unsigned char* data() { return bytes_.get(); }
  const unsigned char* data() const { return bytes_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The bytes as text, valid while this Secret lives. Never log it.
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.get()), size_}; }
  // Keeps the first `size` bytes and wipes the rest.
  void shrink(std::size_t size);

 private:
  void wipe();
  std::unique_ptr<unsigned char[]> bytes_;
  std::size_t size_ = 0;
};

// Wipes `text` in place: for the rare std::string that held a secret on its way in.
void wipe(std::string& text);

}  // namespace migrate::crypto
