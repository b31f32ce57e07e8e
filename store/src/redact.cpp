// Credentials out of messages. The conninfo is read here, leniently, and not
// with libpq: PQconninfoParse fails on exactly the malformed strings whose
// error messages quote the password.
#include "redact.hpp"

#include <algorithm>
#include <vector>

namespace seesaw::detail {
namespace {

constexpr std::string_view mask = "***";
constexpr auto npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// A letter, a digit, '_' or a byte of a multi-byte UTF-8 character.
bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool is_password_key(std::string_view key) { return key == "password" || key == "sslpassword"; }

// The length of the postgresql:// or postgres:// that `text` starts with, else 0.
std::size_t scheme_length(std::string_view text) {
    for (std::string_view scheme : {"postgresql://", "postgres://"}) {
        if (text.starts_with(scheme)) return scheme.size();
    }
    return 0;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX decoded; a malformed escape stays as it is.
std::string percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        int high = -1;
        int low = -1;
        if (text[i] == '%' && i + 2 < text.size() && (high = hex_value(text[i + 1])) >= 0 &&
            (low = hex_value(text[i + 2])) >= 0) {
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

// [begin, end) in a string; empty: none.
struct Span {
    std::size_t begin = 0;
    std::size_t end = 0;
};

// Where the password of `url`'s user:password@ is. libpq ends the userinfo
// at the first '@' before any '/'. A password with an unescaped '@', '/' or
// '?' makes it quote a piece as a host, port or database, so read on to the
// last '@' before the host ends. An '@' after "/db?" is in the query
// (?user=me@example.com), not a userinfo.
Span password_in_url(std::string_view url) {
    const std::size_t start = scheme_length(url);
    const std::size_t first_at = url.find('@', start);
    if (first_at == npos) return {};
    const std::string_view before = url.substr(start, first_at - start);
    if (auto slash = before.find('/'); slash != npos && before.find('?', slash) != npos) return {};
    const std::size_t host_end = url.find_first_of("/?", first_at);
    const std::size_t at = url.rfind('@', host_end == npos ? npos : host_end - 1);
    const std::size_t colon = url.find(':', start);
    if (colon == npos || colon > at) return {};
    return {colon + 1, at};
}

void add(std::vector<std::string>& secrets, std::string_view secret) {
    if (!secret.empty() && std::find(secrets.begin(), secrets.end(), secret) == secrets.end())
        secrets.emplace_back(secret);
}

void add_url_secrets(std::string_view url, std::vector<std::string>& secrets) {
    const Span password = password_in_url(url);
    if (password.end > password.begin) {
        const std::string_view raw = url.substr(password.begin, password.end - password.begin);
        add(secrets, raw);
        add(secrets, percent_decoded(raw));
        // The pieces libpq may quote on their own (see password_in_url).
        for (std::size_t begin = 0; begin <= raw.size();) {
            const std::size_t end = std::min(raw.find_first_of("@/?", begin), raw.size());
            add(secrets, raw.substr(begin, end - begin));
            begin = end + 1;
        }
    }
    const std::size_t query = url.find('?', password.end);
    if (query == npos) return;
    for (std::size_t begin = query + 1; begin <= url.size();) {
        const std::size_t end = std::min(url.find('&', begin), url.size());
        const std::string_view param = url.substr(begin, end - begin);
        if (auto equals = param.find('='); equals != npos && is_password_key(param.substr(0, equals))) {
            add(secrets, param.substr(equals + 1));
            add(secrets, percent_decoded(param.substr(equals + 1)));
        }
        begin = end + 1;
    }
}

// key=value pairs as libpq reads them: a value may be 'quoted', a backslash
// escapes the next character. Leniently: an unterminated quote runs to the
// end, and a word without '=' after a password (password=correct horse,
// where libpq quotes "horse" as a keyword missing its '=') is more of it.
void add_keyword_secrets(std::string_view conninfo, std::vector<std::string>& secrets) {
    std::size_t i = 0;
    auto skip_spaces = [&] {
        while (i < conninfo.size() && is_space(conninfo[i])) ++i;
    };
    bool after_password = false;
    while (true) {
        skip_spaces();
        if (i == conninfo.size()) return;
        const std::size_t key_begin = i;
        while (i < conninfo.size() && conninfo[i] != '=' && !is_space(conninfo[i])) ++i;
        const std::string_view key = conninfo.substr(key_begin, i - key_begin);
        skip_spaces();
        if (i == conninfo.size() || conninfo[i] != '=') {
            if (after_password) add(secrets, key);
            continue;
        }
        ++i;
        skip_spaces();
        const bool quoted = i < conninfo.size() && conninfo[i] == '\'';
        if (quoted) ++i;
        const std::size_t raw_begin = i;
        std::string value;
        for (; i < conninfo.size() && (quoted ? conninfo[i] != '\'' : !is_space(conninfo[i])); ++i) {
            if (conninfo[i] == '\\' && i + 1 < conninfo.size()) ++i;
            value.push_back(conninfo[i]);
        }
        const std::string_view raw = conninfo.substr(raw_begin, i - raw_begin);
        if (quoted && i < conninfo.size()) ++i;  // the closing quote
        after_password = is_password_key(key);
        if (after_password) {
            add(secrets, raw);
            add(secrets, value);
        }
        if (scheme_length(value) > 0) add_url_secrets(value, secrets);  // dbname=postgresql://...
    }
}

// Longest first, so that a password is masked before a piece of it.
std::vector<std::string> secrets_of(std::string_view conninfo) {
    std::vector<std::string> secrets;
    const std::string_view trimmed = conninfo.substr(std::min(conninfo.find_first_not_of(" \t\n\r"), conninfo.size()));
    if (scheme_length(trimmed) > 0)
        add_url_secrets(trimmed, secrets);
    else
        add_keyword_secrets(conninfo, secrets);
    std::stable_sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return secrets;
}

// Every postgresql:// URL in `text` (up to a space or a quote) with *** for
// its password.
void mask_url_passwords(std::string& text) {
    for (std::size_t at = text.find("postgres"); at != npos; at = text.find("postgres", at + 1)) {
        if (scheme_length(std::string_view(text).substr(at)) == 0) continue;
        std::size_t end = at;
        while (end < text.size() && !is_space(text[end]) && text[end] != '"' && text[end] != '\'') ++end;
        const Span password = password_in_url(std::string_view(text).substr(at, end - at));
        if (password.end > password.begin) text.replace(at + password.begin, password.end - password.begin, mask);
    }
}

// Every password=... and sslpassword=... in `text` (key=value pairs, URL
// queries) with *** for its value.
void mask_password_values(std::string& text) {
    constexpr std::string_view key = "password";
    for (std::size_t at = text.find(key); at != npos; at = text.find(key, at + 1)) {
        const std::size_t key_begin = at >= 3 && text.compare(at - 3, 3, "ssl") == 0 ? at - 3 : at;
        if (key_begin > 0 && is_word(text[key_begin - 1])) continue;
        std::size_t i = at + key.size();
        while (i < text.size() && is_space(text[i])) ++i;
        if (i == text.size() || text[i] != '=') continue;
        ++i;
        while (i < text.size() && is_space(text[i])) ++i;
        const bool quoted = i < text.size() && text[i] == '\'';
        if (quoted) ++i;
        std::size_t end = i;
        while (end < text.size() && (quoted ? text[end] != '\''
                                            : !is_space(text[end]) && text[end] != '&' && text[end] != '"' &&
                                                  text[end] != '\'')) {
            if (quoted && text[end] == '\\' && end + 1 < text.size()) ++end;
            ++end;
        }
        if (end > i) text.replace(i, end - i, mask);
    }
}

// `secret` masked wherever it stands alone, not inside a longer word: a
// password "s" must not turn "address" into "addre***". Next to a quote, a
// ':', an '@' or a space it is masked, so the password itself never shows.
void mask_secret(std::string& text, std::string_view secret) {
    for (std::size_t at = text.find(secret); at != npos;) {
        const std::size_t after = at + secret.size();
        const bool inside_word = (at > 0 && is_word(text[at - 1]) && is_word(secret.front())) ||
                                 (after < text.size() && is_word(text[after]) && is_word(secret.back()));
        if (inside_word) {
            at = text.find(secret, at + 1);
            continue;
        }
        text.replace(at, secret.size(), mask);
        at = text.find(secret, at + mask.size());
    }
}

}  // namespace

std::string redact(std::string_view message, std::string_view conninfo) {
    std::string out(message);
    mask_url_passwords(out);
    mask_password_values(out);
    for (const auto& secret : secrets_of(conninfo)) mask_secret(out, secret);
    return out;
}

}  // namespace seesaw::detail
