#pragma once
// Small text helpers shared by the libraries.
#include <string>
#include <string_view>
#include <vector>

namespace migrate {

// Splits `text` on `separator`, trimming blanks around each piece and dropping empty pieces.
std::vector<std::string> split_list(std::string_view text, char separator);

// `text` without leading and trailing white space.
std::string_view trim(std::string_view text);

}  // namespace migrate
