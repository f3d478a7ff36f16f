// Upstream's shell.wordsStruct: splits a word being lexed into words on
// whitespace, except for raw additions (quoted or escaped text). Shared by
// the shell-word lexer and the heredoc-name lexer (private to the frontend).
//
// Thread safety: a WordSplitter is used by one thread at a time.
#ifndef KILN_DOCKERFILE_SRC_WORD_SPLITTER_H_
#define KILN_DOCKERFILE_SRC_WORD_SPLITTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shell_text.h"

namespace kiln::dockerfile::internal {

class WordSplitter {
 public:
  // Adds one unquoted character `cp` whose source bytes are `bytes`: a space
  // ends the current word (if any), anything else extends it.
  void AddChar(int32_t cp, std::string_view bytes) {
    const bool space = IsSpace(cp);
    if (space && in_word_) {
      if (!word_.empty()) {
        words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
      }
    } else if (!space) {
      AddRaw(bytes);
    }
  }
  void AddChar(const Char& c) { AddChar(c.cp, c.bytes); }
  // Adds every character of `s` (an unquoted expansion) with AddChar.
  void AddString(std::string_view s) {
    for (const Char& c : DecodeChars(s)) AddChar(c);
  }
  // Adds `s` to the current word as it is, spaces included.
  void AddRaw(std::string_view s) {
    word_.append(s);
    in_word_ = true;
  }
  // The words so far, the current one included if not empty.
  std::vector<std::string> Take() {
    if (!word_.empty()) words_.push_back(std::move(word_));
    return std::move(words_);
  }

 private:
  std::string word_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_WORD_SPLITTER_H_
