#pragma once
// Lowercase hex, the text form Node's Buffer.toString('hex') writes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate::crypto {

std::string to_hex(const unsigned char* bytes, std::size_t size);

// The bytes `hex` spells, or nothing when it has an odd length or a non-hex character.
// Upper-case digits are accepted.
std::optional<std::vector<unsigned char>> from_hex(std::string_view hex);

// from_hex() into `out`, which has room for hex.size() / 2 bytes: for secrets, decoded straight
// into a buffer the caller wipes, with no other copy. False (and `out` possibly part written) when
// `hex` has an odd length or a non-hex character.
bool decode_hex(std::string_view hex, unsigned char* out);

}  // namespace migrate::crypto
