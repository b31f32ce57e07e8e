#pragma once
// A headless Chromium driven over the DevTools protocol, for the dashboard's
// browser test. No WebDriver, no Node: Chromium is started with
// --remote-debugging-pipe and reads the protocol's JSON messages, each ended
// by a NUL byte, on its fd 3 and writes its answers and events on fd 4.
//
// Clicks are real mouse events (Input.dispatchMouseEvent) at the centre of
// the element's box. JavaScript dialogs (confirm, alert) are answered as
// they open, by the policy set; each one is recorded.

#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace seesaw::test {

// The Chromium binary: $SEESAW_CHROMIUM, else chromium or chromium-browser
// on the PATH; nullopt when there is none.
std::optional<std::string> find_chromium();

struct Dialog {
    std::string type;  // "alert", "confirm", "prompt", "beforeunload"
    std::string message;
};

class Browser {
public:
    // Starts Chromium (headless, a fresh profile in a temporary directory)
    // and attaches to its page.
    explicit Browser(const std::string& chromium, int width = 1280, int height = 900);
    ~Browser();
    Browser(const Browser&) = delete;
    Browser& operator=(const Browser&) = delete;

    // Loads the URL and waits for its load event.
    void navigate(const std::string& url);
    // Runs an expression in the page (promises awaited); its value as JSON text.
    std::string evaluate(const std::string& expression);
    // The expression's value as a string ("" for null/undefined).
    std::string text(const std::string& expression);
    // Waits until the expression is truthy; false when the deadline passes.
    bool wait_for(const std::string& expression, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // Scrolls the first element matching the CSS selector into view and
    // clicks the middle of its box. Throws when nothing matches.
    void click(const std::string& selector);
    // Types text into the focused element.
    void type(const std::string& text);
    // Saves a PNG of the whole page.
    void screenshot(const std::filesystem::path& path);

    // Whether dialogs are accepted (OK) or dismissed (Cancel). Default: accept.
    void accept_dialogs(bool accept) { accept_dialogs_ = accept; }
    const std::vector<Dialog>& dialogs() const { return dialogs_; }
    void clear_dialogs() { dialogs_.clear(); }
    // What Chromium wrote on stderr so far (for a failure's message).
    std::string log() const;

private:
    // Sends a command (to the page's session unless `browser_level`) and
    // waits for its answer; throws with the protocol's error.
    rapidjson::Document call(const std::string& method, const std::string& params_json = "{}",
                             bool browser_level = false);
    // Reads one message (blocking, with a deadline); nullopt on timeout.
    std::optional<rapidjson::Document> read_message(std::chrono::steady_clock::time_point deadline);
    // Records and answers dialogs, notes load events.
    void handle_event(const rapidjson::Document& message);

    int pid_ = -1;
    int to_browser_ = -1;
    int from_browser_ = -1;
    std::filesystem::path profile_;
    std::string buffered_;
    std::string session_;
    int next_id_ = 1;
    bool accept_dialogs_ = true;
    bool loaded_ = false;
    std::vector<Dialog> dialogs_;
    std::vector<std::string> pending_dialog_answers_;
};

}  // namespace seesaw::test
