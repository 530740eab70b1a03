#pragma once
// Splitting SQL into statements, only for transaction:false sections: the server runs a
// multi-statement text as one implicit transaction, which CREATE INDEX CONCURRENTLY refuses.
#include <string>
#include <string_view>
#include <vector>

namespace migrate::migrations {

// The statements of `sql`, split on semicolons outside quotes ('...', E'...', "..."),
// dollar-quoted bodies ($$...$$, $tag$...$tag$) and comments (--, nested /* */). Statements that
// are only blanks and comments are dropped.
std::vector<std::string> split_statements(std::string_view sql);

}  // namespace migrate::migrations
