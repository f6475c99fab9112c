// What txend shows a web browser (xend's use_sxp rule said HTML for it): a status page of
// the host and its domains, and any other GET's SXP wrapped in a page. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "sxp/sxp.h"

namespace txend::daemon {

// The host (from (node ...)) and a table of the domains (from their (domain ...) SXPs):
// name, id, state, memory, vcpus. Its script (status_page_script.h) keeps the table live,
// adds CPU use and the buttons; without scripts the page reloads every few seconds.
std::string StatusPageHtml(const sxp::Value& node, const std::vector<sxp::Value>& domains);
// `sxp_text` pretty-printed inside a page titled `path`.
std::string SxpPageHtml(const std::string& path, const std::string& sxp_text);
// `text` with & < > " ' as character references.
std::string HtmlEscape(const std::string& text);

}  // namespace txend::daemon
