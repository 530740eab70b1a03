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

// The first `shown` of `items` joined with ", ", and " and N more" for the rest: "a, b, c and 27
// more". A long list (missing files, failed tenants) then costs a line, not a screen.
std::string shortened_list(const std::vector<std::string>& items, std::size_t shown = 5);

}  // namespace migrate
