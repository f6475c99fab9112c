// Text from txend made safe for a terminal before xm prints it: control
// characters other than newline and tab, DEL, C1 controls (U+0080..U+009F),
// bidirectional overrides and bytes that are not UTF-8 are written as \xNN,
// so a domain name or an error message cannot move the cursor, retitle the
// window, recolour or reorder what the user reads. Everything else is kept.
#pragma once

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace txend::xm {

// The safe form of `text` (one piece, whole).
std::string TerminalSafe(std::string_view text);

// The same for text that arrives in pieces: a UTF-8 sequence may be split
// between two Feed calls.
class TerminalSafeFilter {
 public:
  std::string Feed(std::string_view bytes);
  // What an unfinished sequence left pending, escaped.
  std::string Finish();

 private:
  std::string pending_;
};

// An ostream writing the safe form of everything to `sink`. Flushing flushes
// `sink`; destruction writes what is pending.
class TerminalSafeStream : public std::ostream {
 public:
  explicit TerminalSafeStream(std::ostream& sink);
  ~TerminalSafeStream() override;

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(std::ostream& sink) : sink_(sink) {}
    void Finish();

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    std::ostream& sink_;
    TerminalSafeFilter filter_;
  };
  Buffer buffer_;
};

}  // namespace txend::xm
