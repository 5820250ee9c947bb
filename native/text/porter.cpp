// NLTK's PorterStemmer in its default mode (NLTK_EXTENSIONS), as src/metrics/text/porter.ts; for
// the lower-case [a-z0-9] tokens rouge-score stems. The tests compare both with NLTK itself.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "regen/text_stats.h"

namespace regen {
namespace {

using Word = std::string;

bool ends_with(const Word& w, const char* suffix) {
  size_t n = std::char_traits<char>::length(suffix);
  return w.size() >= n && w.compare(w.size() - n, n, suffix) == 0;
}
Word drop(const Word& w, size_t n) { return w.substr(0, w.size() - n); }

bool is_vowel_letter(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// NLTK's _is_consonant: 'y' is a consonant at the start or after a vowel, a vowel after a consonant.
// Its definition recurses once per 'y' of a run; here the run is walked back iteratively (a token of
// 300,000 'y's must not overflow the stack), and measure() carries the state along the word instead
// of asking per letter, so long runs cost linear time.
bool is_consonant(const Word& w, size_t i) {
  if (w[i] != 'y') return !is_vowel_letter(w[i]);
  size_t start = i;
  while (start > 0 && w[start] == 'y') start--;
  // w[start] is the letter before the run (whose state is fixed), or the run reaches the start.
  const bool first = w[start] == 'y' ? true : !is_vowel_letter(w[start]);
  return ((i - start) % 2 == 0) ? first : !first;
}

// Calls fn(consonant) for every letter in order, in one pass.
template <typename Fn>
void each_consonant(const Word& s, Fn fn) {
  bool prev = false;
  for (size_t i = 0; i < s.size(); i++) {
    const bool c = s[i] == 'y' ? (i == 0 ? true : !prev) : !is_vowel_letter(s[i]);
    if (!fn(c)) return;
    prev = c;
  }
}

int measure(const Word& s) {
  int m = 0;
  bool prev_vowel = false;
  each_consonant(s, [&](bool c) {
    if (c && prev_vowel) m++;
    prev_vowel = !c;
    return true;
  });
  return m;
}

bool contains_vowel(const Word& s) {
  bool found = false;
  each_consonant(s, [&](bool c) {
    found = !c;
    return !found;
  });
  return found;
}

bool ends_double_consonant(const Word& w) {
  return w.size() >= 2 && w[w.size() - 1] == w[w.size() - 2] && is_consonant(w, w.size() - 1);
}

bool ends_cvc(const Word& w) {
  size_t n = w.size();
  if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) && w[n - 1] != 'w' &&
      w[n - 1] != 'x' && w[n - 1] != 'y')
    return true;
  return n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
}

struct Rule {
  const char* suffix;
  std::string replacement;
  std::function<bool(const Word&)> condition;  // empty: always
};

// The first rule whose suffix matches decides.
Word apply_rules(const Word& w, const std::vector<Rule>& rules) {
  for (const Rule& r : rules) {
    if (std::string(r.suffix) == "*d") {
      if (ends_double_consonant(w)) {
        Word stem = drop(w, 2);
        return !r.condition || r.condition(stem) ? stem + r.replacement : w;
      }
      continue;
    }
    if (ends_with(w, r.suffix)) {
      Word stem = drop(w, std::char_traits<char>::length(r.suffix));
      return !r.condition || r.condition(stem) ? stem + r.replacement : w;
    }
  }
  return w;
}

bool positive(const Word& s) { return measure(s) > 0; }
bool gt1(const Word& s) { return measure(s) > 1; }

Word step1a(const Word& w) {
  if (ends_with(w, "ies") && w.size() == 4) return drop(w, 3) + "ie";
  static const std::vector<Rule> rules = {{"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}};
  return apply_rules(w, rules);
}

Word step1b(const Word& w) {
  if (ends_with(w, "ied")) return drop(w, 3) + (w.size() == 4 ? "ie" : "i");
  if (ends_with(w, "eed")) {
    Word stem = drop(w, 3);
    return measure(stem) > 0 ? stem + "ee" : w;
  }
  Word inter;
  bool found = false;
  for (const char* suffix : {"ed", "ing"}) {
    if (ends_with(w, suffix)) {
      Word s = drop(w, std::char_traits<char>::length(suffix));
      if (contains_vowel(s)) {
        inter = s;
        found = true;
        break;
      }
    }
  }
  if (!found) return w;
  char last = inter.back();
  std::vector<Rule> rules = {
      {"at", "ate", {}},
      {"bl", "ble", {}},
      {"iz", "ize", {}},
      {"*d", std::string(1, last), [last](const Word&) { return last != 'l' && last != 's' && last != 'z'; }},
      {"", "e", [](const Word& s) { return measure(s) == 1 && ends_cvc(s); }},
  };
  return apply_rules(inter, rules);
}

Word step1c(const Word& w) {
  static const std::vector<Rule> rules = {
      {"y", "i", [](const Word& s) { return s.size() > 1 && is_consonant(s, s.size() - 1); }}};
  return apply_rules(w, rules);
}

Word step2(const Word& w) {
  if (ends_with(w, "alli") && positive(drop(w, 4))) return step2(drop(w, 4) + "al");
  std::vector<Rule> rules = {
      {"ational", "ate", positive}, {"tional", "tion", positive}, {"enci", "ence", positive},
      {"anci", "ance", positive},   {"izer", "ize", positive},    {"bli", "ble", positive},
      {"alli", "al", positive},     {"entli", "ent", positive},   {"eli", "e", positive},
      {"ousli", "ous", positive},   {"ization", "ize", positive}, {"ation", "ate", positive},
      {"ator", "ate", positive},    {"alism", "al", positive},    {"iveness", "ive", positive},
      {"fulness", "ful", positive}, {"ousness", "ous", positive}, {"aliti", "al", positive},
      {"iviti", "ive", positive},   {"biliti", "ble", positive},  {"fulli", "ful", positive},
      // NLTK tests the measure of the word minus "ogi", not of the stem.
      {"logi", "log", [&w](const Word&) { return positive(drop(w, 3)); }},
  };
  return apply_rules(w, rules);
}

Word step3(const Word& w) {
  static const std::vector<Rule> rules = {{"icate", "ic", positive}, {"ative", "", positive}, {"alize", "al", positive},
                                          {"iciti", "ic", positive}, {"ical", "ic", positive},  {"ful", "", positive},
                                          {"ness", "", positive}};
  return apply_rules(w, rules);
}

Word step4(const Word& w) {
  static const std::vector<Rule> rules = {
      {"al", "", gt1},    {"ance", "", gt1}, {"ence", "", gt1},  {"er", "", gt1},   {"ic", "", gt1},
      {"able", "", gt1},  {"ible", "", gt1}, {"ant", "", gt1},   {"ement", "", gt1}, {"ment", "", gt1},
      {"ent", "", gt1},
      {"ion", "", [](const Word& s) { return measure(s) > 1 && !s.empty() && (s.back() == 's' || s.back() == 't'); }},
      {"ou", "", gt1},    {"ism", "", gt1},  {"ate", "", gt1},   {"iti", "", gt1},  {"ous", "", gt1},
      {"ive", "", gt1},   {"ize", "", gt1}};
  return apply_rules(w, rules);
}

Word step5a(const Word& w) {
  if (ends_with(w, "e")) {
    Word stem = drop(w, 1);
    int m = measure(stem);
    if (m > 1) return stem;
    if (m == 1 && !ends_cvc(stem)) return stem;
  }
  return w;
}

Word step5b(const Word& w) {
  std::vector<Rule> rules = {{"ll", "l", [&w](const Word&) { return measure(drop(w, 1)) > 1; }}};
  return apply_rules(w, rules);
}

}  // namespace

std::string porter_stem(const std::string& word) {
  static const std::vector<std::pair<const char*, const char*>> irregular = {
      {"sky", "sky"},         {"skies", "sky"},       {"dying", "die"},         {"lying", "lie"},
      {"tying", "tie"},       {"news", "news"},       {"innings", "inning"},    {"inning", "inning"},
      {"outings", "outing"},  {"outing", "outing"},   {"cannings", "canning"},  {"canning", "canning"},
      {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"},     {"succeed", "succeed"}};
  for (const auto& [form, stem] : irregular)
    if (word == form) return stem;
  if (word.size() <= 2) return word;
  Word s = step1a(word);
  s = step1b(s);
  s = step1c(s);
  s = step2(s);
  s = step3(s);
  s = step4(s);
  s = step5a(s);
  return step5b(s);
}

}  // namespace regen
