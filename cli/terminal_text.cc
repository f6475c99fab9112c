#include "cli/terminal_text.h"

#include <cstdint>
#include <cstdio>

namespace txend::xm {
namespace {

void Escape(std::string& out, unsigned char byte) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", byte);
  out += buf;
}

// The length of the UTF-8 sequence `lead` starts (0: not a lead byte), and
// the range its second byte must fall in (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
struct Lead {
  int length;
  unsigned char second_min, second_max;
};
Lead LeadOf(unsigned char c) {
  if (c >= 0xc2 && c <= 0xdf) return {2, 0x80, 0xbf};
  if (c == 0xe0) return {3, 0xa0, 0xbf};
  if (c == 0xed) return {3, 0x80, 0x9f};
  if (c >= 0xe1 && c <= 0xef) return {3, 0x80, 0xbf};
  if (c == 0xf0) return {4, 0x90, 0xbf};
  if (c >= 0xf1 && c <= 0xf3) return {4, 0x80, 0xbf};
  if (c == 0xf4) return {4, 0x80, 0x8f};
  return {0, 0, 0};
}

uint32_t CodePoint(std::string_view seq) {
  static constexpr unsigned char kLeadMask[] = {0, 0, 0x1f, 0x0f, 0x07};
  uint32_t cp = static_cast<unsigned char>(seq[0]) & kLeadMask[seq.size()];
  for (size_t i = 1; i < seq.size(); ++i)
    cp = cp << 6 | (static_cast<unsigned char>(seq[i]) & 0x3f);
  return cp;
}

// Code points a terminal acts on instead of showing: C1 controls, and the
// bidirectional embeddings, overrides and isolates that reorder a line.
bool Acts(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool Shown(unsigned char c) { return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t'; }

}  // namespace

std::string TerminalSafeFilter::Feed(std::string_view bytes) {
  std::string text = pending_ + std::string(bytes);
  pending_.clear();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      Shown(c) ? void(out += static_cast<char>(c)) : Escape(out, c);
      ++i;
      continue;
    }
    Lead lead = LeadOf(c);
    size_t n = 1;  // bytes of a valid sequence seen so far
    while (lead.length && n < static_cast<size_t>(lead.length) && i + n < text.size()) {
      unsigned char next = static_cast<unsigned char>(text[i + n]);
      bool ok = n == 1 ? next >= lead.second_min && next <= lead.second_max
                       : next >= 0x80 && next <= 0xbf;
      if (!ok) break;
      ++n;
    }
    if (lead.length && n == static_cast<size_t>(lead.length)) {
      std::string_view seq(text.data() + i, n);
      if (Acts(CodePoint(seq))) {
        for (char b : seq) Escape(out, static_cast<unsigned char>(b));
      } else {
        out += seq;
      }
      i += n;
    } else if (lead.length && i + n == text.size()) {  // may finish in the next piece
      pending_ = text.substr(i);
      break;
    } else {
      Escape(out, c);
      ++i;
    }
  }
  return out;
}

std::string TerminalSafeFilter::Finish() {
  std::string out;
  for (char b : pending_) Escape(out, static_cast<unsigned char>(b));
  pending_.clear();
  return out;
}

std::string TerminalSafe(std::string_view text) {
  TerminalSafeFilter filter;
  std::string out = filter.Feed(text);
  return out + filter.Finish();
}

TerminalSafeStream::TerminalSafeStream(std::ostream& sink) : std::ostream(nullptr), buffer_(sink) {
  rdbuf(&buffer_);
}

TerminalSafeStream::~TerminalSafeStream() { buffer_.Finish(); }

void TerminalSafeStream::Buffer::Finish() {
  sink_ << filter_.Finish();
  sink_.flush();
}

TerminalSafeStream::Buffer::int_type TerminalSafeStream::Buffer::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  char byte = traits_type::to_char_type(c);
  sink_ << filter_.Feed(std::string_view(&byte, 1));
  return c;
}

std::streamsize TerminalSafeStream::Buffer::xsputn(const char* s, std::streamsize n) {
  sink_ << filter_.Feed(std::string_view(s, static_cast<size_t>(n)));
  return n;
}

int TerminalSafeStream::Buffer::sync() {
  sink_.flush();
  return sink_ ? 0 : -1;
}

}  // namespace txend::xm
