// Splitting of directive arguments and command lines the way httpd splits
// configuration words (ap_getword_conf): words are separated by white space; a
// word that starts with " or ' runs to the matching quote, inside which a
// backslash escapes that quote or a backslash. Unlike httpd, an unterminated
// quote is an error rather than silently running to the end of the line.
#ifndef BG_ARGV_H
#define BG_ARGV_H

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bg_error.h"

namespace bg {

// Splits `text` into words. No shell is involved: no globbing, no variables,
// no redirections; "$HOME" stays "$HOME".
Status SplitWords(std::string_view text, std::vector<std::string>* words);

// Splits the arguments of a ProxyPass-style directive into `key=value` pairs.
// A value may be quoted ("..." or '...', same escapes as SplitWords) and the
// token may also be quoted as a whole ("key=value with spaces"). Tokens without
// '=' are returned with an empty key and the whole token as value, so callers
// can accept positional arguments (such as a job name) and reject the rest.
struct KeyValue {
  std::string key;
  std::string value;
  bool has_equals = false;
};
Status SplitKeyValues(std::string_view text, std::vector<KeyValue>* out);

}  // namespace bg

#endif  // BG_ARGV_H
