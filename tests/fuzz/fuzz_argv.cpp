// Word splitting (bg_argv): SplitWords and SplitKeyValues on any text.
//
// Invariants: a split line, written again with every word quoted, splits
// into the same words (and key=value pairs); an unquoted word holds no
// white space.
#include <vector>

#include "bg_argv.h"
#include "fuzz_util.h"

namespace {

// `w` as a double-quoted word that SplitWords reads back as `w`.
std::string Quote(const std::string& w) {
  std::string out = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words;
  if (bg::SplitWords(text, &words).ok()) {
    std::string again;
    for (const std::string& w : words) again += Quote(w) + " ";
    std::vector<std::string> words2;
    FUZZ_CHECK(bg::SplitWords(again, &words2).ok() && words2 == words, bg_fuzz::Show(text) + " vs " +
                                                                           bg_fuzz::Show(again));
  }
  std::vector<bg::KeyValue> kvs;
  if (bg::SplitKeyValues(text, &kvs).ok()) {
    std::string again;
    for (const bg::KeyValue& kv : kvs) {
      FUZZ_CHECK(kv.has_equals || kv.key.empty(), bg_fuzz::Show(text));
      FUZZ_CHECK(kv.key.find('=') == std::string::npos, bg_fuzz::Show(text));
      FUZZ_CHECK(kv.has_equals || kv.value.find('=') == std::string::npos, bg_fuzz::Show(text));
      again += "\t" + Quote(kv.has_equals ? kv.key + "=" + kv.value : kv.value);
    }
    std::vector<bg::KeyValue> kvs2;
    FUZZ_CHECK(bg::SplitKeyValues(again, &kvs2).ok() && kvs2.size() == kvs.size(), bg_fuzz::Show(again));
    for (size_t i = 0; i < kvs.size(); ++i) {
      FUZZ_CHECK(kvs2[i].key == kvs[i].key && kvs2[i].value == kvs[i].value && kvs2[i].has_equals == kvs[i].has_equals,
                 bg_fuzz::Show(text) + " pair " + std::to_string(i));
    }
  }
  return 0;
}
