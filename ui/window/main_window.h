#pragma once

// MainWindow: the operations console. The heatmap of load over the key space fills the centre
// (observed past and projected future, shard stripes with their hosts); docks hold the trend
// chart and the top growing and declining ranges (right), and the migrations, ownership table,
// hosts and audit log (bottom, tabbed). Every dock can be moved, closed and reopened (View menu);
// the layout is saved on close and restored on start. The toolbar plays, pauses, speeds up and
// seeks connectors that play load in their own time (hidden for a live cluster, which has no
// such controls); the status bar shows the connector's state, cluster time, event rate, the
// planner and the moves running.
//
// The window holds no state of its own beyond the layout: it shows a ConsoleSession's models and
// forwards actions to it. setSession() may be called again when the operator connects elsewhere.

#include "console_session.h"
#include "console_settings.h"

#include <QMainWindow>
#include <QPointer>
#include <QTimer>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QDoubleSpinBox;
class QSlider;
class QTableView;

namespace rangepilot {

class HeatmapView;
class MigrationsPanel;
class OwnershipFilterProxyModel;
class TopTrendsView;
class TrendChartView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // `settings` is the app's, and outlives the window; the window edits its auto-apply,
    // maintenance window, recent traces and layout, and emits settingsChanged() after.
    explicit MainWindow(ConsoleSettings* settings, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Shows `session` (nullptr: nothing). `playback` may be nullptr (a live cluster).
    void setSession(ConsoleSession* session, PlaybackControl* playback);
    ConsoleSession* session() const { return m_session; }

    // Applies the session's latest data to every view now instead of at the next refresh tick
    // (screenshots).
    void refreshNow();
    void restoreLayout();
    void saveLayout();

    HeatmapView* heatmapView() const { return m_heatmap; }
    TrendChartView* trendChart() const { return m_trendChart; }
    TopTrendsView* topTrends() const { return m_topTrends; }
    MigrationsPanel* migrationsPanel() const { return m_migrations; }
    QTableView* ownershipTable() const { return m_ownershipTable; }
    QTableView* hostsTable() const { return m_hostsTable; }
    QTableView* auditTable() const { return m_auditTable; }
    QLabel* statusLabel() const { return m_statusState; }

Q_SIGNALS:
    void connectionRequested(const rangepilot::ConnectionSettings& settings);
    void settingsChanged();

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void buildToolBar();
    void buildDocks();
    void buildStatusBar();
    QWidget* buildOwnershipPane();
    QTableView* newTable(const QString& objectName);
    QDockWidget* addDock(const QString& title, const QString& objectName, QWidget* content,
                         Qt::DockWidgetArea area);

    void connectSession();
    void scheduleRefresh();
    void refreshHeatmap();
    void refreshStripes();
    void refreshTopTrends();
    void refreshStatus();
    void refreshPlayback();
    void refreshHostFilter();
    void fitTableColumns();
    void showTrend(const TrendData& data);

    void openConnectionDialog();
    void openTraceFile();
    void rebuildRecentMenu();
    void openAutoApplyDialog();
    void editMaintenanceWindow();
    void selectShard(ShardId shard);
    void togglePlayback();
    void applySpeedChoice(int index);
    void seekToSlider();
    void saveScreenshot();

    ConsoleSettings* m_settings;
    QPointer<ConsoleSession> m_session;
    PlaybackControl* m_playback = nullptr;
    QList<QMetaObject::Connection> m_sessionConnections;
    QTimer m_refresh; // coalesces view updates: at most one per tick, whatever the signal rate
    bool m_heatmapDirty = false;
    bool m_stripesDirty = false;
    bool m_trendsDirty = false;
    bool m_columnsFitted = false;

    HeatmapView* m_heatmap = nullptr;
    TrendChartView* m_trendChart = nullptr;
    TopTrendsView* m_topTrends = nullptr;
    MigrationsPanel* m_migrations = nullptr;
    OwnershipFilterProxyModel* m_ownershipProxy = nullptr;
    QTableView* m_ownershipTable = nullptr;
    QComboBox* m_hostFilter = nullptr;
    QLineEdit* m_prefixFilter = nullptr;
    QDoubleSpinBox* m_scoreFilter = nullptr;
    QTableView* m_hostsTable = nullptr;
    QTableView* m_auditTable = nullptr;
    QByteArray m_defaultState;

    QMenu* m_recentMenu = nullptr;
    QAction* m_playAction = nullptr;
    QList<QAction*> m_playbackActions; // everything on the toolbar but "Connect…"
    QComboBox* m_speed = nullptr;
    QSlider* m_seek = nullptr;
    QLabel* m_seekLabel = nullptr;
    QLabel* m_statusState = nullptr;
    QLabel* m_statusClock = nullptr;
    QLabel* m_statusRate = nullptr;
    QLabel* m_statusPlanner = nullptr;
    QLabel* m_statusMoves = nullptr;
};

} // namespace rangepilot
