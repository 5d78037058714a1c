// The dashboard's page, script, style sheet and charting library (uPlot), embedded in the binary
// at build time (tools/embed_assets.py), so it serves them with no network and no files beside it.
//
//   for (const Asset& a : DashboardAssets()) server.Serve(a.path, a.content_type, a.bytes);
#ifndef MALARIA_TOOLS_DASHBOARD_ASSETS_H_
#define MALARIA_TOOLS_DASHBOARD_ASSETS_H_

#include <string_view>
#include <vector>

namespace malaria::tools {

struct Asset {
  std::string_view path;  // URL path: "/", "/static/app.js", ...
  std::string_view content_type;
  std::string_view bytes;
};

// DashboardAssets returns every embedded asset (built once, never freed).
const std::vector<Asset>& DashboardAssets();

}  // namespace malaria::tools

#endif  // MALARIA_TOOLS_DASHBOARD_ASSETS_H_
