#pragma once

// The one place that turns the console's connection settings into a concrete connector, and
// adapts the connectors that play load in their own time to the window's PlaybackControl.

#include "cluster_connector.h"
#include "console_settings.h"

#include <memory>

namespace rangepilot {

struct ConnectorBundle {
    std::unique_ptr<ClusterConnector> connector;
    std::unique_ptr<PlaybackControl> playback; // nullptr for a live cluster
};

struct ConnectorChoice {
    bool timer = true; // false: cluster time moves only when the caller advances it (screenshots)
};

// An Error names the setting that is wrong ("trace: columns: ...").
Result<ConnectorBundle> makeConnector(const ConnectionSettings& settings, ConnectorChoice choice);

// Advances a connector made by makeConnector() with timer = false by `duration` of cluster time,
// synchronously. Error for a connector that cannot (a live cluster).
Status advanceConnector(ClusterConnector& connector, TimeMs duration);

} // namespace rangepilot
