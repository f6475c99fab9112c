// The status page in a real browser: Debian's chromium, headless, driven over the DevTools
// protocol against txend on 127.0.0.1 (TCP, the insecure opt-out limited by hosts-allow).
// The page picks up a domain `xm create` made without reloading, graphs its CPU use, and its
// buttons pause, unpause and shut the domain down through the API, as `xm list` then shows.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "sxp/sxp.h"
#include "tests/support/devtools_client.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/headless_chromium.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

using Json = DevToolsClient::Json;
constexpr std::chrono::seconds kPageWait{20};

// A JS expression: the row of domain `name` as {domid, state, cpu, samples}, or null.
std::string RowOf(const std::string& name) {
  return "(() => { const r = [...document.querySelectorAll('#domains tbody tr')]"
         ".find(r => r.cells[0].textContent === " +
         Json(name).dump() +
         "); return r ? {domid: r.cells[1].textContent, state: r.cells[2].textContent,"
         " cpu: r.cells[5].textContent, samples: Number(r.querySelector('canvas')"
         "?.dataset.samples || 0)} : null; })()";
}

// A JS expression: the centre of domain `name`'s enabled `op` button, or null.
std::string ButtonOf(const std::string& name, const std::string& op) {
  return "(() => { const r = [...document.querySelectorAll('#domains tbody tr')]"
         ".find(r => r.cells[0].textContent === " +
         Json(name).dump() + "); const b = r && r.querySelector('button[data-op=\"" + op +
         "\"]'); if (!b || b.disabled) return null; b.scrollIntoView();"
         " const box = b.getBoundingClientRect();"
         " return {x: box.x + box.width / 2, y: box.y + box.height / 2}; })()";
}

class StatusPageBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (HeadlessChromium::Program().empty())
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium): no browser test";
    TxendStack::Options o;
    o.tcp_port = FreeTcpPort();
    o.hosts_allow = "127.0.0.1";
    auto s = TxendStack::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    base_ = "http://127.0.0.1:" + std::to_string(o.tcp_port);
    std::ofstream(stack_->path("webdemo.cfg"))
        << "name = 'webdemo'\nkernel = '" << stack_->kernel() << "'\nmemory = 96\nvcpus = 2\n";
    auto browser = HeadlessChromium::Start();
    ASSERT_TRUE(browser.ok()) << browser.status().ToString();
    chromium_ = std::move(*browser);
    auto client = DevToolsClient::Connect(chromium_->port(), chromium_->browser_path());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    devtools_ = std::move(*client);
    auto page = devtools_->OpenPage(base_ + "/");
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    page_ = *page;
    ASSERT_TRUE(Eventually(
        kPageWait, [&] { return Eval(RowOf("Domain-0")).is_object(); },
        std::chrono::milliseconds(100)))
        << "the page never showed Domain-0\n"
        << chromium_->Log();
  }

  void TearDown() override {
    devtools_.reset();
    if (chromium_) {
      EXPECT_TRUE(chromium_->Kill()) << "chromium processes outlived the browser";
    }
  }

  // The expression's value in the page; null when it failed (the failure is printed).
  Json Eval(const std::string& expression) {
    auto value = devtools_->Evaluate(page_, expression);
    if (!value.ok()) {
      std::cerr << value.status().ToString() << "\n";
      return Json();
    }
    return *value;
  }

  CommandResult Xm(const std::string& args) {
    return RunCommand("cd " + stack_->path("") + " && TXEND_SOCKET=" + stack_->xend_socket() +
                          " " TXEND_BIN_DIR "/xm " + args,
                      true);
  }

  // The state column of `name` in `xm list` ("" when it is not listed).
  std::string XmState(const std::string& name) {
    std::istringstream lines(Xm("list").out);
    std::string line, first, id, memory, vcpus, state;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      if (fields >> first >> id >> memory >> vcpus >> state && first == name) return state;
    }
    return "";
  }

  void Press(const std::string& name, const std::string& op) {
    Json at;
    ASSERT_TRUE(Eventually(
        kPageWait, [&] { return (at = Eval(ButtonOf(name, op))).is_object(); },
        std::chrono::milliseconds(100)))
        << "no enabled " << op << " button for " << name;
    Status clicked = devtools_->Click(page_, at["x"].get<double>(), at["y"].get<double>());
    ASSERT_TRUE(clicked.ok()) << clicked.ToString();
  }

  std::string Note() { return Eval("document.getElementById('note').textContent").dump(); }

  std::unique_ptr<TxendStack> stack_;
  std::string base_;
  std::unique_ptr<HeadlessChromium> chromium_;
  std::unique_ptr<DevToolsClient> devtools_;
  std::string page_;
};

TEST_F(StatusPageBrowserTest, ShowsANewDomainLiveAndItsButtonsDriveIt) {
  Eval("window.sameLoad = true");  // gone if the page reloaded instead of updating
  CommandResult created = Xm("create -q webdemo.cfg");
  ASSERT_EQ(created.exit_code, 0) << created.out;
  Json row;
  ASSERT_TRUE(Eventually(
      kPageWait,
      [&] {
        row = Eval(RowOf("webdemo"));
        return row.is_object() && row.value("samples", 0) >= 2;
      },
      std::chrono::milliseconds(100)))
      << "the page did not graph webdemo: " << row.dump();
  EXPECT_EQ(Eval("window.sameLoad"), Json(true)) << "the page reloaded";
  EXPECT_TRUE(row.value("cpu", "").ends_with(" %")) << row.dump();

  Press("webdemo", "pause");
  EXPECT_TRUE(Eventually(kPageWait,
                         [&] {
                           std::string state = XmState("webdemo");
                           return state.size() > 2 && state[2] == 'p';
                         }))
      << "xm list: " << Xm("list").out;
  EXPECT_TRUE(Eventually(kPageWait, [&] {
    Json r = Eval(RowOf("webdemo"));
    return r.is_object() && r.value("state", "").find('p') != std::string::npos;
  })) << Note();
  EXPECT_TRUE(Eventually(kPageWait, [&] { return Note() == "\"pause webdemo: done\""; })) << Note();

  Press("webdemo", "unpause");
  EXPECT_TRUE(Eventually(kPageWait,
                         [&] {
                           std::string state = XmState("webdemo");
                           return !state.empty() && state.find('p') == std::string::npos;
                         }))
      << "xm list: " << Xm("list").out;

  std::filesystem::path shot = std::filesystem::current_path() / "status_page_browser_test.png";
  auto png = devtools_->Screenshot(page_);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  WriteFile(shot, *png);
  ASSERT_GT(png->size(), 8u);
  EXPECT_EQ(std::string(png->begin() + 1, png->begin() + 4), "PNG");
  std::cout << "screenshot: " << shot.string() << "\n";
  RecordProperty("screenshot", shot.string());

  Press("webdemo", "shutdown");
  EXPECT_TRUE(Eventually(kPageWait, [&] { return XmState("webdemo").empty(); }))
      << "xm list: " << Xm("list").out << "\nthe page's note: " << Note();
  EXPECT_TRUE(Eventually(kPageWait, [&] { return Eval(RowOf("webdemo")).is_null(); }))
      << "the page still shows webdemo";
}

TEST_F(StatusPageBrowserTest, ShowsTheApisErrorText) {
  auto api = stack_->client().Post("/xend/domain/nosuch", {{"op", "pause"}});
  ASSERT_EQ(api.status, 404) << api.body;
  ASSERT_EQ(sxp::Name(api.sxp), "xend.err") << api.body;
  ASSERT_TRUE(api.sxp.items().size() == 2 && api.sxp.items()[1].is_atom()) << api.body;
  std::string message = api.sxp.items()[1].atom();
  Eval("txend.act('nosuch', 'pause')");  // awaited: the note is written when it returns
  EXPECT_EQ(Note(), Json("pause nosuch: " + message).dump());
  EXPECT_EQ(Eval("document.getElementById('note').className"), Json("error"));
}

TEST_F(StatusPageBrowserTest, NamesAreShownAsText) {
  std::string hostile =
      "<img src=x onerror=\"window.hacked=1\"><script>window.hacked=2</script>'\\€";
  sxp::Value domain = sxp::Value::List({"domain"});
  domain.Add(sxp::Value::List({"name", hostile})).Add(sxp::Value::List({"domid", "7"}));
  domain.Add(sxp::Value::List({"state", "-b----"})).Add(sxp::Value::List({"cpu_time", "1.5"}));
  std::string list = sxp::ToString(sxp::Value::List({domain}));
  // Parsed and shown by the page's own code, then read back in the same turn (before the
  // next refresh drops the row).
  Json shown = Eval("(() => { txend.render(txend.parseSxp(" + Json(list).dump() + ")[0]); " +
                    "const r = " + RowOf(hostile) +
                    "; return {row: r, elements: document.querySelectorAll("
                    "'#domains tbody img, #domains tbody script').length}; })()");
  ASSERT_TRUE(shown["row"].is_object()) << list << "\n" << shown.dump();
  EXPECT_EQ(shown["row"]["domid"], "7");
  EXPECT_EQ(shown["elements"], 0) << "markup in a name became elements";
  EXPECT_EQ(Eval("window.hacked === undefined"), Json(true));
}

TEST_F(StatusPageBrowserTest, APageOfAnotherSiteCannotPressTheButtons) {
  ASSERT_EQ(Xm("create -q webdemo.cfg").exit_code, 0);
  auto other = devtools_->OpenPage("about:blank");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  // What a hostile page could do with the browser's access to txend: a form-style POST.
  auto sent = devtools_->Evaluate(
      *other, "fetch(" + Json(base_ + "/xend/domain/webdemo").dump() +
                  ", {method: 'POST', mode: 'no-cors', body: new URLSearchParams({op: 'pause'})})"
                  ".then(() => 'answered')");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(*sent, Json("answered"));
  std::string state = XmState("webdemo");
  ASSERT_GT(state.size(), 2u) << Xm("list").out;
  EXPECT_NE(state[2], 'p') << "a page of another site paused the domain";
}

}  // namespace
}  // namespace txend::testing
