#include "cluster_connector.h"

namespace rangepilot {

QString connectorStateName(ConnectorState state) {
    switch (state) {
    case ConnectorState::Stopped:
        return QStringLiteral("stopped");
    case ConnectorState::Starting:
        return QStringLiteral("starting");
    case ConnectorState::Running:
        return QStringLiteral("running");
    case ConnectorState::Paused:
        return QStringLiteral("paused");
    case ConnectorState::Failed:
        return QStringLiteral("failed");
    }
    return QStringLiteral("unknown");
}

QString migrationPhaseName(MigrationPhase phase) {
    switch (phase) {
    case MigrationPhase::Proposed:
        return QStringLiteral("proposed");
    case MigrationPhase::Approved:
        return QStringLiteral("approved");
    case MigrationPhase::Scheduled:
        return QStringLiteral("scheduled");
    case MigrationPhase::Shadowing:
        return QStringLiteral("shadowing");
    case MigrationPhase::Copying:
        return QStringLiteral("copying");
    case MigrationPhase::CatchingUp:
        return QStringLiteral("catching up");
    case MigrationPhase::CuttingOver:
        return QStringLiteral("cutting over");
    case MigrationPhase::Done:
        return QStringLiteral("done");
    case MigrationPhase::Paused:
        return QStringLiteral("paused");
    case MigrationPhase::RollingBack:
        return QStringLiteral("rolling back");
    case MigrationPhase::Aborted:
        return QStringLiteral("aborted");
    case MigrationPhase::Failed:
        return QStringLiteral("failed");
    }
    return QStringLiteral("unknown");
}

bool isTerminal(MigrationPhase phase) {
    return phase == MigrationPhase::Done || phase == MigrationPhase::Aborted ||
           phase == MigrationPhase::Failed;
}

} // namespace rangepilot
