#pragma once
// --shard K/N: a static split of the fleet between N runs.
#include <cstdint>
#include <string>

namespace migrate::runner {

struct Shard {
  int index = 1;  // 1..count
  int count = 1;
};

// "K/N" with 1 <= K <= N; InputError otherwise.
Shard parse_shard(const std::string& text);

// Whether tenant `id` belongs to `shard`. A jump consistent hash of the id: a tenant's shard
// depends only on its id and N, and changing N moves as few tenants as a hash allows.
bool in_shard(const std::string& id, const Shard& shard);

// 64-bit FNV-1a of `text`, a stable hash for keys that outlive one process.
std::uint64_t stable_hash(const std::string& text);

}  // namespace migrate::runner
