// The dashboard in a real browser: the `seesaw web` binary serves a test
// schema, headless Chromium (Debian's chromium package) loads it, and the
// test clicks through it like a person would, then checks the database.
// Screenshots of the overview and of a job's page are saved under
// SEESAW_SCREENSHOT_DIR (the README's come from there).
#include <signal.h>

#include <atomic>
#include <thread>

#include "browser.hpp"
#include "cli_runner.hpp"
#include "web_test_support.hpp"

namespace seesaw::test {
namespace {

class WebBrowser : public WebSchemaTest {
protected:
    void SetUp() override {
        auto chromium = find_chromium();
        if (!chromium) GTEST_SKIP() << "no chromium on the PATH (apt-get install chromium, or set SEESAW_CHROMIUM)";
        chromium_ = *chromium;
        WebSchemaTest::SetUp();
    }

    std::string chromium_;
};

// "seesaw web: schema "…" at http://127.0.0.1:PORT/; Ctrl-C to stop" → the URL.
std::string url_in(const std::string& line) {
    const auto start = line.find("http://");
    if (start == std::string::npos) return "";
    const auto end = line.find_first_of(" ;", start);
    return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// A value in a CSS attribute selector, inside a single-quoted JavaScript string.
std::string quoted(const std::string& text) { return "\"" + text + "\""; }

TEST_F(WebBrowser, AnOperatorRetriesADeadLetterAndPausesAQueueByClicking) {
    // Jobs in every state, over a few queues.
    const auto charge = dead_letters(1, "charge_card", "default", "card network timed out", 2,
                                     R"({"account":"acct-42","amount_cents":1999,"fail_times":2})")[0];
    const auto probe = dead_letters(1, "xss_probe", "default",
                                    "<img src=x onerror=alert(2)><script>alert(3)</script>", 1,
                                    R"({"note":"<script>alert(1)</script>","html":"<b onmouseover=alert(4)>hi</b>"})")[0];
    dead_letters(3, "send_email", "emails", "SMTP 550 5.1.1 <user@example.com>: mailbox unavailable");
    succeeded(40, "send_email", "emails");
    enqueue(600, "send_email", {.queue = "emails"}, R"({"to":"ada@example.com","subject":"Welcome"})");
    enqueue(12, "resize_image", {.queue = "media"}, R"({"url":"https://example.com/cat.png","width":640})");
    failed(2, "generate_report", "reports");

    CliProcess server({"web", "--listen", "127.0.0.1:0", "--database-url", url_, "--schema", schema_});
    auto line = server.read_line();
    ASSERT_TRUE(line) << "seesaw web printed nothing";
    const std::string url = url_in(*line);
    ASSERT_FALSE(url.empty()) << *line;

    // A worker of the emails queue finishes a few jobs at a time, so that the
    // overview has a throughput to draw.
    std::atomic<bool> working{true};
    std::thread worker([&] {
        auto store = make_store();
        while (working) {
            std::vector<JobLease> leases;
            for (const auto& job : store.claim_ready("browser-test-worker", 4, ClaimFilter{"emails"}))
                leases.push_back(job.lease());
            store.mark_succeeded_batch(leases);
            std::this_thread::sleep_for(std::chrono::milliseconds(150));  // a steady pace, not a wait
        }
    });
    struct StopWorker {
        std::atomic<bool>& working;
        std::thread& worker;
        ~StopWorker() {
            working = false;
            worker.join();
        }
    } stop_worker{working, worker};

    Browser browser(chromium_);
    browser.navigate(url);
    ASSERT_TRUE(browser.wait_for("document.querySelector('#queues tr[data-queue=\"default\"]')")) << browser.log();
    EXPECT_EQ(browser.text("document.querySelector('tr[data-queue=\"default\"] td[data-count=\"dead_letter\"]').textContent"),
              "2");
    EXPECT_EQ(browser.text("document.querySelector('tr[data-queue=\"media\"] td[data-count=\"pending\"]').textContent"), "12");

    // The chart fills in without a reload: the page's own state survives.
    browser.evaluate("window.seesawTestMarker = 'still here'");
    EXPECT_TRUE(browser.wait_for("document.querySelector('#throughput-chart polyline')?.points.length >= 6 && "
                                 "document.querySelector('#rate').firstChild.textContent !== '-'",
                                 std::chrono::seconds(60)));
    EXPECT_EQ(browser.text("window.seesawTestMarker"), "still here");
    browser.screenshot(std::filesystem::path(SEESAW_SCREENSHOT_DIR) / "web-overview.png");

    // Opens a job: the default queue's dead letters, then the charge.
    browser.click("tr[data-queue=\"default\"] td[data-count=\"dead_letter\"] a");
    ASSERT_TRUE(browser.wait_for("document.querySelector('#jobs tr[data-id=" + quoted(charge.to_string()) + "]')"));
    EXPECT_EQ(browser.text("location.hash"), "#/jobs?queue=default&state=dead_letter");
    browser.click("#jobs tr[data-id=" + quoted(charge.to_string()) + "] a");
    ASSERT_TRUE(browser.wait_for("document.querySelector('#job-fields')"));
    EXPECT_EQ(browser.text("document.querySelector('dd[data-field=\"status\"]').textContent"), "dead_letter");
    EXPECT_EQ(browser.text("document.querySelector('dd[data-field=\"error_message\"]').textContent"),
              "card network timed out (attempt 2)");
    EXPECT_EQ(browser.text("document.querySelectorAll('#job-errors tbody tr').length"), "2");
    EXPECT_EQ(browser.text("document.querySelector('#payload').textContent"),
              "{\n  \"account\": \"acct-42\",\n  \"fail_times\": 2,\n  \"amount_cents\": 1999\n}")
        << "pretty-printed, in jsonb's order of keys";
    EXPECT_EQ(browser.text("[...document.querySelectorAll('#job-timeline li')].map(li => li.className).join(',')"),
              "created,attempt_failed,attempt_failed,dead_letter");
    browser.screenshot(std::filesystem::path(SEESAW_SCREENSHOT_DIR) / "web-job.png");

    // Retries it: a confirmation, then the result, then the database.
    browser.click("button[data-action=\"retry\"]");
    ASSERT_TRUE(browser.wait_for("document.querySelector('#notice').textContent.includes('retried')"))
        << browser.text("document.querySelector('#notice').textContent");
    ASSERT_EQ(browser.dialogs().size(), 1u);
    EXPECT_EQ(browser.dialogs()[0].type, "confirm");
    EXPECT_NE(browser.dialogs()[0].message.find(charge.to_string()), std::string::npos);
    EXPECT_EQ(status_of(charge), "pending");
    EXPECT_EQ(sql("SELECT attempt FROM jobs WHERE id = $1::uuid", {charge.to_string()}).get_int64(0, 0), 1);
    EXPECT_TRUE(browser.wait_for("document.querySelector('dd[data-field=\"status\"]')?.textContent === 'pending'"));

    // Pauses the media queue from the overview.
    browser.click("#nav-overview");
    ASSERT_TRUE(browser.wait_for("document.querySelector('tr[data-queue=\"media\"] button[data-action=\"pause\"]')"));
    browser.click("tr[data-queue=\"media\"] button[data-action=\"pause\"]");
    ASSERT_TRUE(browser.wait_for("document.querySelector('#notice').textContent === \"Queue 'media' paused.\""));
    EXPECT_TRUE(browser.wait_for("document.querySelector('tr[data-queue=\"media\"] button[data-action=\"resume\"]')"));
    auto paused = [&] {
        for (const auto& q : store_->queues())
            if (q.name == "media") return q.paused;
        return false;
    };
    EXPECT_TRUE(paused());

    // Cancel in the confirmation: nothing happens.
    browser.accept_dialogs(false);
    browser.click("tr[data-queue=\"media\"] button[data-action=\"resume\"]");
    EXPECT_TRUE(browser.wait_for("document.querySelector('tr[data-queue=\"media\"] button[data-action=\"resume\"]')"));
    EXPECT_EQ(browser.dialogs().size(), 3u);
    EXPECT_TRUE(paused()) << "the resume was not confirmed";
    browser.accept_dialogs(true);

    // A payload and an error message holding markup show as text and run nothing.
    browser.clear_dialogs();
    browser.click("#search-id");
    browser.type(probe.to_string());
    browser.click("#search button");
    ASSERT_TRUE(browser.wait_for("document.querySelector('#payload')"));
    EXPECT_NE(browser.text("document.querySelector('#payload').textContent").find("<script>alert(1)</script>"),
              std::string::npos);
    EXPECT_EQ(browser.text("document.querySelector('dd[data-field=\"error_message\"]').textContent"),
              "<img src=x onerror=alert(2)><script>alert(3)</script> (attempt 1)");
    EXPECT_EQ(browser.text("String(document.scripts.length)"), "1") << "only app.js";
    EXPECT_EQ(browser.text("String(document.querySelectorAll('#view img, #view script, #view b').length)"), "0");
    browser.evaluate("location.hash = '#/jobs?state=dead_letter&type=xss_probe'");
    ASSERT_TRUE(browser.wait_for("document.querySelector('#jobs tr[data-id=" + quoted(probe.to_string()) + "]')"));
    EXPECT_NE(browser.text("document.querySelector('#jobs td.error').textContent").find("<script>alert(3)</script>"),
              std::string::npos);
    EXPECT_EQ(browser.text("String(document.querySelectorAll('#view img, #view script').length)"), "0");
    // Retry-all of the type is offered here; leave it. The page has had every
    // chance to run what it was given:
    EXPECT_TRUE(browser.wait_for("document.querySelector('#retry-all')"));
    EXPECT_TRUE(browser.dialogs().empty()) << "a dialog opened: " << browser.dialogs().front().message;

    server.send_signal(SIGTERM);
    auto result = server.wait();
    EXPECT_EQ(result.status, 0) << result.err;
}

}  // namespace
}  // namespace seesaw::test
