#pragma once
// The dashboard's page: cli/web/*.{html,js,css}, embedded in the binary at
// build time (cli/web/embed_assets.cmake). Nothing is fetched from elsewhere.

#include <string_view>

namespace seesaw::web {

struct Asset {
    std::string_view name;  // "index.html", "app.js", ...
    std::string_view content_type;
    std::string_view body;
};

// nullptr when no asset has that name.
const Asset* find_asset(std::string_view name);

}  // namespace seesaw::web
