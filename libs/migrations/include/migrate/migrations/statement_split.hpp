#pragma once
// Splitting SQL into statements, only for transaction:false sections: the server runs a
// multi-statement text as one implicit transaction, which CREATE INDEX CONCURRENTLY refuses.
#include <string>
#include <string_view>
#include <vector>

namespace migrate::migrations {

struct Statement {
  std::string text;  // from its first token to its ';' (kept), without the blanks and comments before it
  int line = 1;      // the line of `sql` that `text` starts on, counting from 1
};

// The statements of `sql`, split on semicolons outside quotes ('...', E'...', "..."),
// dollar-quoted bodies ($$...$$, $tag$...$tag$) and comments (--, nested /* */). Statements that
// are only blanks and comments are dropped. PostgreSQL's "LINE n:" in an error for a statement
// points at line `line + n - 1` of `sql`.
std::vector<Statement> split_statements(std::string_view sql);

}  // namespace migrate::migrations
