// xend's use_sxp rule over real HTTP (curl against a real txend): SXP for clients without a
// User-Agent or an Accept, or whose Accept names application/sxp (libvirt, xm); HTML for
// browsers — the status page, or a reply's SXP inside a page.
#include <gtest/gtest.h>

#include "tests/support/txend_stack.h"
#include "txend/status_page.h"

namespace txend::testing {
namespace {

struct HttpReply {
  std::string head, body;
};

class BrowserRuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TxendStack::Options o;
    o.tcp_port = FreeTcpPort();
    auto s = TxendStack::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    base_ = "http://127.0.0.1:" + std::to_string(o.tcp_port);
    auto created = stack_->client().Post(
        "/xend/domain/", {{"op", "create"}, {"config", stack_->Config("webdemo", 1, 1, 96)}});
    ASSERT_EQ(created.status, 201) << created.body;
  }

  // curl with `headers` (curl's own User-Agent and Accept unless they are overridden).
  HttpReply Curl(const std::string& headers, const std::string& path) {
    auto r = RunCommand("curl -s -i --max-time 20 " + headers + " '" + base_ + path + "'");
    auto end = r.out.find("\r\n\r\n");
    if (end == std::string::npos) return {r.out, ""};
    return {r.out.substr(0, end), r.out.substr(end + 4)};
  }

  std::unique_ptr<TxendStack> stack_;
  std::string base_;
};

constexpr char kBrowser[] =
    "-A 'Mozilla/5.0 (X11; Linux x86_64)' -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8'";

TEST_F(BrowserRuleTest, ABrowserGetsTheStatusPage) {
  for (const char* path : {"/", "/xend/", "/xend/domain", "/xend/node/"}) {
    auto r = Curl(kBrowser, path);
    EXPECT_NE(r.head.find("200 OK"), std::string::npos) << path << "\n" << r.head;
    EXPECT_NE(r.head.find("Content-Type: text/html; charset=utf-8"), std::string::npos)
        << path << "\n"
        << r.head;
    EXPECT_TRUE(r.body.starts_with("<!DOCTYPE html>")) << path << "\n" << r.body;
    EXPECT_NE(r.body.find("<td>Domain-0</td>"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("<td>webdemo</td>"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("<td class=\"n\">96 MiB</td>"), std::string::npos) << r.body;
  }
}

TEST_F(BrowserRuleTest, ABrowserGetsOtherRepliesAsSxpInAPage) {
  auto r = Curl(kBrowser, "/xend/domain/webdemo?detail=1");
  EXPECT_NE(r.head.find("Content-Type: text/html"), std::string::npos) << r.head;
  EXPECT_NE(r.body.find("<pre>(domain"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("(name webdemo)"), std::string::npos) << r.body;
}

TEST_F(BrowserRuleTest, SxpWithoutUserAgentOrAcceptOrWhenAcceptNamesIt) {
  const char* sxp_clients[] = {
      "-H 'User-Agent:' -H 'Accept:'",                            // libvirt: neither header
      "-H 'User-Agent:'",                                         // no User-Agent
      "-A 'Mozilla/5.0' -H 'Accept:'",                            // no Accept
      "-A 'xm (txend)' -H 'Accept: application/sxp'",             // xm
      "-A 'Mozilla/5.0' -H 'Accept: text/html, application/sxp'"  // a browser asking for SXP
  };
  for (const char* headers : sxp_clients) {
    auto r = Curl(headers, "/xend/domain/webdemo?detail=1");
    EXPECT_NE(r.head.find("Content-Type: application/sxp"), std::string::npos) << headers << "\n"
                                                                               << r.head;
    EXPECT_TRUE(r.body.starts_with("(domain")) << headers << "\n" << r.body;
  }
  // POSTs answer SXP whoever sends them.
  auto r = Curl(std::string(kBrowser) + " -d op=pause", "/xend/domain/webdemo");
  EXPECT_EQ(r.head.find("text/html"), std::string::npos) << r.head;
}

TEST_F(BrowserRuleTest, APageOfAnotherSiteMayNotPost) {
  ASSERT_EQ(stack_->client().Post("/xend/domain/webdemo", {{"op", "unpause"}}).status, 200);
  for (const char* origin : {"http://evil.example", "null", "https://127.0.0.1:1"}) {
    auto r = Curl(std::string(kBrowser) + " -H 'Origin: " + origin + "' -d op=pause",
                  "/xend/domain/webdemo");
    EXPECT_NE(r.head.find(" 403 "), std::string::npos) << origin << "\n" << r.head;
    EXPECT_NE(r.body.find("another site"), std::string::npos) << r.body;
  }
  auto listed = stack_->client().Get("/xend/domain/webdemo");
  EXPECT_EQ(sxp::ChildValue(listed.sxp, "state").find('p'), std::string::npos) << listed.body;
  // Its own pages may, and reads stay open to all.
  auto own = Curl(std::string(kBrowser) + " -H 'Origin: " + base_ + "' -d op=pause",
                  "/xend/domain/webdemo");
  EXPECT_NE(own.head.find(" 200 "), std::string::npos) << own.head;
  auto read = Curl(std::string(kBrowser) + " -H 'Origin: http://evil.example'", "/xend/domain");
  EXPECT_NE(read.head.find(" 200 "), std::string::npos) << read.head;
}

TEST_F(BrowserRuleTest, LibvirtsClientStillGetsSxp) {
  auto r = stack_->client().Get("/xend/domain?detail=1&state=all");
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.sxp.is_list() && !r.sxp.items().empty()) << r.body;
  EXPECT_EQ(sxp::Name(r.sxp.items()[0]), "domain") << r.body;
  EXPECT_NE(r.body.find("(name webdemo)"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<"), std::string::npos) << r.body;
}

TEST(StatusPage, EscapesWhatItShows) {
  auto node = *sxp::Parse("(node (host 'h<b>') (nr_cpus 2))");
  auto domain = *sxp::Parse("(domain (name 'a&\"<script>') (domid 1) (memory 64) (vcpus 1))");
  std::string page = daemon::StatusPageHtml(node, {domain});
  EXPECT_EQ(page.find("a&\"<script>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>a&amp;&quot;&lt;script&gt;</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<h1>h&lt;b&gt;</h1>"), std::string::npos) << page;
}

}  // namespace
}  // namespace txend::testing
