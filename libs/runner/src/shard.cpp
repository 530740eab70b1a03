#include "migrate/runner/shard.hpp"

#include <regex>

#include "migrate/core/error.hpp"

namespace migrate::runner {

std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

Shard parse_shard(const std::string& text) {
  static const std::regex form(R"(^(\d{1,4})/(\d{1,4})$)");
  std::smatch match;
  if (std::regex_match(text, match, form)) {
    const Shard shard{std::stoi(match[1].str()), std::stoi(match[2].str())};
    if (shard.count >= 1 && shard.index >= 1 && shard.index <= shard.count) return shard;
  }
  throw InputError("--shard '" + text + "' must be K/N with 1 <= K <= N, e.g. --shard 2/4");
}

bool in_shard(const std::string& id, const Shard& shard) {
  // Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm".
  std::uint64_t key = stable_hash(id);
  std::int64_t bucket = -1;
  std::int64_t next = 0;
  while (next < shard.count) {
    bucket = next;
    key = key * 2862933555777941757ull + 1;
    next = static_cast<std::int64_t>(static_cast<double>(bucket + 1) *
                                     (static_cast<double>(1ll << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return bucket == shard.index - 1;
}

}  // namespace migrate::runner
