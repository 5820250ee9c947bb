// libFuzzer target: NLTK's Porter stemmer on arbitrary lower-case words, long runs of 'y' and
// suffix soup included (npm run fuzz). It must return (no deep recursion, no quadratic blow-up on a
// long word) a word of lower-case letters and digits that is never longer than the input plus one.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "regen/text_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char alphabet[] = "yyyyeeiiaaoousslldtngbcmrzx0123";
  std::string word;
  word.reserve(size);
  for (size_t i = 0; i < size; i++) word.push_back(alphabet[data[i] % (sizeof(alphabet) - 1)]);
  const std::string stem = regen::porter_stem(word);
  if (stem.size() > word.size() + 1) std::abort();
  for (char c : stem)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) std::abort();
  return 0;
}
