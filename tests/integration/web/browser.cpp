#include "browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace seesaw::test {
namespace {

constexpr auto message_timeout = std::chrono::seconds(30);

std::string json_string(const std::string& text) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
    return buffer.GetString();
}

std::string to_json(const rapidjson::Value& value) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return buffer.GetString();
}

std::string base64_decode(std::string_view text) {
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        if (c == '=') break;
        auto at = alphabet.find(c);
        if (at == std::string_view::npos) continue;
        bits = (bits << 6) | static_cast<std::uint32_t>(at);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xff);
        }
    }
    return out;
}

bool on_path(const std::string& name, std::string& found) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        auto candidate = std::filesystem::path(dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            found = candidate.string();
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<std::string> find_chromium() {
    if (const char* given = std::getenv("SEESAW_CHROMIUM"); given != nullptr && *given != '\0') return std::string(given);
    std::string found;
    for (const char* name : {"chromium", "chromium-browser"})
        if (on_path(name, found)) return found;
    return std::nullopt;
}

Browser::Browser(const std::string& chromium, int width, int height) {
    std::random_device random;
    profile_ = std::filesystem::temp_directory_path() / ("seesaw-chromium-" + std::to_string(random()));
    std::filesystem::create_directories(profile_);

    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    std::vector<std::string> args = {chromium,
                                     "--headless=new",
                                     "--remote-debugging-pipe",
                                     "--user-data-dir=" + profile_.string(),
                                     "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                     "--no-first-run",
                                     "--no-default-browser-check",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--disable-extensions",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--hide-scrollbars",
                                     "--mute-audio",
                                     "--force-color-profile=srgb",
                                     "about:blank"};
    // Chromium's sandbox cannot start as root (CI runs as root).
    if (::geteuid() == 0) args.insert(args.begin() + 1, "--no-sandbox");
    const std::string stderr_path = (profile_ / "stderr.log").string();

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        // fd 3: commands in; fd 4: answers and events out.
        ::dup2(to_child[0], 3);
        ::dup2(from_child[1], 4);
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(err, 2);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_browser_ = to_child[1];
    from_browser_ = from_child[0];

    // The page Chromium opened: attach to it with a flat session.
    auto targets = call("Target.getTargets", "{}", true);
    std::string target_id;
    for (const auto& info : targets["result"]["targetInfos"].GetArray()) {
        if (std::string_view(info["type"].GetString()) == "page") {
            target_id = info["targetId"].GetString();
            break;
        }
    }
    if (target_id.empty()) throw std::runtime_error("Chromium opened no page; its log:\n" + log());
    auto attached = call("Target.attachToTarget", "{\"targetId\":" + json_string(target_id) + ",\"flatten\":true}", true);
    session_ = attached["result"]["sessionId"].GetString();
    call("Page.enable");
    call("Runtime.enable");
}

Browser::~Browser() {
    if (to_browser_ >= 0) {
        try {
            call("Browser.close", "{}", true);
        } catch (...) {
        }
        ::close(to_browser_);
    }
    if (pid_ > 0) {
        // Browser.close ends it; a kill is the fallback when it did not.
        int status = 0;
        for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
    }
    if (from_browser_ >= 0) ::close(from_browser_);
    std::error_code ignored;
    std::filesystem::remove_all(profile_, ignored);
}

std::string Browser::log() const {
    std::ifstream in(profile_ / "stderr.log");
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

std::optional<rapidjson::Document> Browser::read_message(std::chrono::steady_clock::time_point deadline) {
    while (true) {
        if (auto end = buffered_.find('\0'); end != std::string::npos) {
            rapidjson::Document message;
            message.Parse(buffered_.data(), end);
            buffered_.erase(0, end + 1);
            if (message.HasParseError()) throw std::runtime_error("Chromium sent a message that is not JSON");
            return message;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd pfd{from_browser_, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready == 0) return std::nullopt;
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("poll on Chromium's pipe failed");
        }
        char chunk[65536];
        ssize_t n = ::read(from_browser_, chunk, sizeof chunk);
        if (n <= 0) throw std::runtime_error("Chromium closed its pipe; its log:\n" + log());
        buffered_.append(chunk, static_cast<std::size_t>(n));
    }
}

void Browser::handle_event(const rapidjson::Document& message) {
    if (!message.HasMember("method")) return;
    const std::string_view method = message["method"].GetString();
    if (method == "Page.loadEventFired") {
        loaded_ = true;
    } else if (method == "Page.javascriptDialogOpening") {
        const auto& params = message["params"];
        dialogs_.push_back({params["type"].GetString(), params["message"].GetString()});
        // Answered at once: the page is blocked until it is. The answer's
        // own reply is not waited for.
        const std::string command = "{\"id\":" + std::to_string(next_id_++) +
                                    ",\"method\":\"Page.handleJavaScriptDialog\",\"sessionId\":" + json_string(session_) +
                                    ",\"params\":{\"accept\":" + (accept_dialogs_ ? "true" : "false") + "}}";
        std::string framed = command + '\0';
        if (::write(to_browser_, framed.data(), framed.size()) != static_cast<ssize_t>(framed.size()))
            throw std::runtime_error("cannot write to Chromium's pipe");
    }
}

rapidjson::Document Browser::call(const std::string& method, const std::string& params_json, bool browser_level) {
    const int id = next_id_++;
    std::string command = "{\"id\":" + std::to_string(id) + ",\"method\":" + json_string(method);
    if (!browser_level) command += ",\"sessionId\":" + json_string(session_);
    command += ",\"params\":" + params_json + "}";
    command += '\0';
    for (std::size_t sent = 0; sent < command.size();) {
        ssize_t n = ::write(to_browser_, command.data() + sent, command.size() - sent);
        if (n <= 0) throw std::runtime_error("cannot write to Chromium's pipe");
        sent += static_cast<std::size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + message_timeout;
    while (true) {
        auto message = read_message(deadline);
        if (!message) throw std::runtime_error("no answer from Chromium to " + method);
        if (message->HasMember("id") && (*message)["id"].IsInt() && (*message)["id"].GetInt() == id) {
            if (message->HasMember("error"))
                throw std::runtime_error(method + " failed: " + to_json((*message)["error"]));
            return std::move(*message);
        }
        handle_event(*message);
    }
}

void Browser::navigate(const std::string& url) {
    loaded_ = false;
    call("Page.navigate", "{\"url\":" + json_string(url) + "}");
    const auto deadline = std::chrono::steady_clock::now() + message_timeout;
    while (!loaded_) {
        auto message = read_message(deadline);
        if (!message) throw std::runtime_error("the page " + url + " did not load");
        handle_event(*message);
    }
}

std::string Browser::evaluate(const std::string& expression) {
    auto answer = call("Runtime.evaluate", "{\"expression\":" + json_string(expression) +
                                               ",\"returnByValue\":true,\"awaitPromise\":true}");
    const auto& result = answer["result"];
    if (result.HasMember("exceptionDetails"))
        throw std::runtime_error("the page threw on " + expression + ": " + to_json(result["exceptionDetails"]));
    const auto& value = result["result"];
    if (!value.HasMember("value")) return "null";
    return to_json(value["value"]);
}

std::string Browser::text(const std::string& expression) {
    rapidjson::Document value;
    const std::string json = evaluate(expression);
    value.Parse(json.c_str(), json.size());
    if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
    if (value.IsNull()) return "";
    return json;
}

bool Browser::wait_for(const std::string& expression, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const std::string value = evaluate("Boolean(" + expression + ")");
        if (value == "true") return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        // The page changes on its own (fetches, timers): look again shortly,
        // reading the events that arrived meanwhile.
        if (auto message = read_message(std::chrono::steady_clock::now() + std::chrono::milliseconds(25)))
            handle_event(*message);
    }
}

void Browser::click(const std::string& selector) {
    const std::string box = evaluate("(() => { const e = document.querySelector(" + json_string(selector) +
                                     "); if (!e) return null; e.scrollIntoView({block: 'center'});"
                                     " const r = e.getBoundingClientRect();"
                                     " return [r.left + r.width / 2, r.top + r.height / 2]; })()");
    rapidjson::Document point;
    point.Parse(box.c_str(), box.size());
    if (!point.IsArray()) throw std::runtime_error("nothing on the page matches " + selector);
    const std::string x = std::to_string(point[0].GetDouble());
    const std::string y = std::to_string(point[1].GetDouble());
    const std::string at = "\"x\":" + x + ",\"y\":" + y;
    call("Input.dispatchMouseEvent", "{\"type\":\"mouseMoved\"," + at + "}");
    call("Input.dispatchMouseEvent", "{\"type\":\"mousePressed\"," + at + ",\"button\":\"left\",\"clickCount\":1}");
    call("Input.dispatchMouseEvent", "{\"type\":\"mouseReleased\"," + at + ",\"button\":\"left\",\"clickCount\":1}");
}

void Browser::type(const std::string& text) { call("Input.insertText", "{\"text\":" + json_string(text) + "}"); }

void Browser::screenshot(const std::filesystem::path& path) {
    auto metrics = call("Page.getLayoutMetrics");
    const auto& size = metrics["result"]["cssContentSize"];
    const double width = size["width"].GetDouble();
    const double height = size["height"].GetDouble();
    auto shot = call("Page.captureScreenshot",
                     "{\"format\":\"png\",\"captureBeyondViewport\":true,\"clip\":{\"x\":0,\"y\":0,\"width\":" +
                         std::to_string(width) + ",\"height\":" + std::to_string(height) + ",\"scale\":1}}");
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << base64_decode(shot["result"]["data"].GetString());
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace seesaw::test
