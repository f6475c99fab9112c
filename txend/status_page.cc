#include "txend/status_page.h"

#include "txend/status_page_script.h"

namespace txend::daemon {
namespace {

constexpr char kStyle[] =
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}th,td{padding:.3em .8em;border-bottom:1px solid #ddd;"
    "text-align:left}th{background:#f3f3f3}td.n{text-align:right}"
    "pre{background:#f7f7f7;padding:1em}canvas{display:block}button{margin-right:.3em}"
    "#note{min-height:1.2em}#note.error{color:#b00}";

// Whether a page stays current: the status page's script keeps its table live, and
// without scripts the page reloads itself every few seconds; other pages are static.
enum class Live { kNo, kScript };

std::string Page(const std::string& title, const std::string& body, Live live) {
  std::string head = live == Live::kScript
                         ? "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"
                         : "";
  std::string script =
      live == Live::kScript ? std::string("<script>") + kStatusPageScript + "</script>\n" : "";
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + HtmlEscape(title) +
         "</title>" + head + "<style>" + kStyle + "</style></head>\n<body>\n" + body + script +
         "</body></html>\n";
}

std::string Cell(const std::string& text, bool number = false) {
  return std::string(number ? "<td class=\"n\">" : "<td>") + HtmlEscape(text) + "</td>";
}

std::string DomainRow(const sxp::Value& d) {
  std::string vcpus = sxp::ChildValue(d, "online_vcpus", sxp::ChildValue(d, "vcpus"));
  return "<tr>" + Cell(sxp::ChildValue(d, "name")) + Cell(sxp::ChildValue(d, "domid", "-"), true) +
         Cell(sxp::ChildValue(d, "state")) + Cell(sxp::ChildValue(d, "memory") + " MiB", true) +
         Cell(vcpus, true) + "<td class=\"n\"></td><td></td><td></td></tr>\n";
}

std::string HostSection(const sxp::Value& node) {
  auto v = [&](std::string_view name) { return HtmlEscape(sxp::ChildValue(node, name)); };
  return "<h1>" + v("host") + "</h1>\n<p>Xen " + v("xen_major") + "." + v("xen_minor") +
         v("xen_extra") + " &middot; " + v("nr_cpus") + " CPUs &middot; memory " +
         v("free_memory") + " MiB free of " + v("total_memory") + " MiB</p>\n";
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string StatusPageHtml(const sxp::Value& node, const std::vector<sxp::Value>& domains) {
  std::string rows;
  for (const auto& d : domains) rows += DomainRow(d);
  std::string body =
      HostSection(node) +
      "<p id=\"note\" role=\"status\"></p>\n<table id=\"domains\">\n<thead><tr>"
      "<th>Name</th><th>ID</th><th>State</th><th>Memory</th><th>VCPUs</th>"
      "<th>CPU</th><th>CPU use, last 5 minutes</th><th></th></tr></thead>\n<tbody>\n" +
      rows + "</tbody></table>\n";
  return Page("txend on " + sxp::ChildValue(node, "host"), body, Live::kScript);
}

std::string SxpPageHtml(const std::string& path, const std::string& sxp_text) {
  return Page(path, "<h1>" + HtmlEscape(path) + "</h1>\n<pre>" + HtmlEscape(sxp_text) + "</pre>\n",
              Live::kNo);
}

}  // namespace txend::daemon
