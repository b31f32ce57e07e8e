#pragma once
#include <string_view>
#include <vector>

namespace seesaw::detail {

struct EmbeddedMigration {
    int version;
    std::string_view name;
    std::string_view sql;
};

// The files of migrations/, in version order (generated at build time).
const std::vector<EmbeddedMigration>& embedded_migrations();

}  // namespace seesaw::detail
