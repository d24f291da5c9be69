#include "main_window.h"

#include "auto_apply_dialog.h"
#include "connection_dialog.h"
#include "heatmap_view.h"
#include "migrations_panel.h"
#include "table_style.h"
#include "top_trends_view.h"
#include "trend_chart_view.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace rangepilot {

namespace {

constexpr int kRefreshIntervalMs = 250;

struct SpeedChoice {
    const char* label;
    double speed;
};
constexpr SpeedChoice kSpeeds[] = {{"1×", 1},     {"10×", 10},     {"60×", 60},
                                   {"300×", 300}, {"1000×", 1000}, {"As fast as possible", 0}};

QString fromStd(const std::string& text) {
    return QString::fromStdString(text);
}

TrendSeries toSeries(const TrendData& data) {
    TrendSeries series;
    series.title = fromStd(data.title);
    series.unit = fromStd(data.unit);
    series.history_start_ms = data.history_start_ms;
    series.history_step_ms = data.step_ms;
    series.history = data.history;
    series.forecast_start_ms = data.forecast_start_ms;
    series.forecast_step_ms = data.step_ms;
    series.forecast = data.forecast;
    series.band_low = data.band_low;
    series.band_high = data.band_high;
    series.capacity = data.capacity;
    series.now_ms = data.now_ms;
    return series;
}

} // namespace

MainWindow::MainWindow(ConsoleSettings* settings, QWidget* parent)
    : QMainWindow(parent)
    , m_settings(settings) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("RangePilot"));
    setDockNestingEnabled(true);
    m_heatmap = new HeatmapView(this);
    m_heatmap->setObjectName(QStringLiteral("heatmapView"));
    setCentralWidget(m_heatmap);
    buildDocks();
    buildToolBar();
    buildMenus();
    buildStatusBar();
    m_defaultState = saveState();
    m_refresh.setInterval(kRefreshIntervalMs);
    m_refresh.setSingleShot(true);
    connect(&m_refresh, &QTimer::timeout, this, &MainWindow::refreshNow);
    connect(m_heatmap, &HeatmapView::metricChanged, this, [this](LoadMetric metric) {
        if (m_session)
            m_session->setHeatmapMetric(metric);
    });
    connect(m_heatmap, &HeatmapView::shardClicked, this, &MainWindow::selectShard);
    connect(m_topTrends, &TopTrendsView::shardActivated, this, &MainWindow::selectShard);
    connect(m_migrations, &MigrationsPanel::guardrailsRequested, this,
            &MainWindow::openAutoApplyDialog);
    resize(1600, 1000);
}

MainWindow::~MainWindow() = default;

// --- Construction -------------------------------------------------------------------------

QTableView* MainWindow::newTable(const QString& objectName) {
    auto* table = new QTableView(this);
    table->setObjectName(objectName);
    styleTable(table);
    return table;
}

QDockWidget* MainWindow::addDock(const QString& title, const QString& objectName, QWidget* content,
                                 Qt::DockWidgetArea area) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(objectName); // saveState() restores docks by name
    dock->setWidget(content);
    addDockWidget(area, dock);
    return dock;
}

QWidget* MainWindow::buildOwnershipPane() {
    auto* pane = new QWidget(this);
    m_hostFilter = new QComboBox(pane);
    m_hostFilter->setObjectName(QStringLiteral("hostFilter"));
    m_hostFilter->addItem(tr("All hosts"), QString());
    m_prefixFilter = new QLineEdit(pane);
    m_prefixFilter->setObjectName(QStringLiteral("prefixFilter"));
    m_prefixFilter->setPlaceholderText(tr("Key prefix (text, or 0x… for bytes)"));
    m_prefixFilter->setClearButtonEnabled(true);
    m_scoreFilter = new QDoubleSpinBox(pane);
    m_scoreFilter->setObjectName(QStringLiteral("scoreFilter"));
    m_scoreFilter->setRange(0, 1000);
    m_scoreFilter->setSuffix(QStringLiteral(" %"));
    m_scoreFilter->setDecimals(0);
    m_scoreFilter->setToolTip(tr("Only shards whose projected peak is at least this share of "
                                 "their owner's capacity"));
    m_ownershipProxy = new OwnershipFilterProxyModel(this);
    m_ownershipTable = newTable(QStringLiteral("ownershipTable"));
    m_ownershipTable->setModel(m_ownershipProxy);
    connect(m_hostFilter, &QComboBox::currentIndexChanged, this,
            [this] { m_ownershipProxy->setHostFilter(m_hostFilter->currentData().toString()); });
    connect(m_prefixFilter, &QLineEdit::textChanged, this, [this](const QString& text) {
        const bool valid = m_ownershipProxy->setKeyPrefixText(text);
        m_prefixFilter->setStyleSheet(valid ? QString() : QStringLiteral("background: #fde7e9;"));
        m_prefixFilter->setToolTip(valid ? QString()
                                         : tr("Not a key: hex after 0x must be "
                                              "pairs of 0-9, a-f"));
    });
    connect(m_scoreFilter, &QDoubleSpinBox::valueChanged, this,
            [this](double percent) { m_ownershipProxy->setMinimumScore(percent / 100.0); });
    connect(m_ownershipTable, &QTableView::clicked, this, [this](const QModelIndex& index) {
        selectShard(index.data(OwnershipTableModel::ShardIdRole).toULongLong());
    });

    auto* filters = new QHBoxLayout;
    filters->addWidget(new QLabel(tr("Host"), pane));
    filters->addWidget(m_hostFilter);
    filters->addSpacing(8);
    filters->addWidget(m_prefixFilter, 1);
    filters->addSpacing(8);
    filters->addWidget(new QLabel(tr("Score at least"), pane));
    filters->addWidget(m_scoreFilter);
    auto* layout = new QVBoxLayout(pane);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filters);
    layout->addWidget(m_ownershipTable, 1);
    return pane;
}

void MainWindow::buildDocks() {
    m_trendChart = new TrendChartView(this);
    m_trendChart->setObjectName(QStringLiteral("trendChart"));
    m_topTrends = new TopTrendsView(this);
    m_topTrends->setObjectName(QStringLiteral("topTrends"));
    auto* trends = new QSplitter(Qt::Vertical, this);
    trends->addWidget(m_trendChart);
    trends->addWidget(m_topTrends);
    trends->setStretchFactor(0, 3);
    trends->setStretchFactor(1, 2);
    QDockWidget* trendDock =
        addDock(tr("Trend"), QStringLiteral("trendDock"), trends, Qt::RightDockWidgetArea);
    trendDock->setMinimumWidth(460);

    m_migrations = new MigrationsPanel(this);
    m_migrations->setObjectName(QStringLiteral("migrationsPanel"));
    QDockWidget* migrations = addDock(tr("Migrations"), QStringLiteral("migrationsDock"),
                                      m_migrations, Qt::BottomDockWidgetArea);
    QDockWidget* ownership = addDock(tr("Ownership"), QStringLiteral("ownershipDock"),
                                     buildOwnershipPane(), Qt::BottomDockWidgetArea);
    m_hostsTable = newTable(QStringLiteral("hostsTable"));
    QDockWidget* hosts =
        addDock(tr("Hosts"), QStringLiteral("hostsDock"), m_hostsTable, Qt::BottomDockWidgetArea);
    m_auditTable = newTable(QStringLiteral("auditTable"));
    QDockWidget* audit = addDock(tr("Audit log"), QStringLiteral("auditDock"), m_auditTable,
                                 Qt::BottomDockWidgetArea);
    tabifyDockWidget(migrations, ownership);
    tabifyDockWidget(ownership, hosts);
    tabifyDockWidget(hosts, audit);
    migrations->raise();
    resizeDocks({migrations}, {330}, Qt::Vertical);
    resizeDocks({trendDock}, {520}, Qt::Horizontal);
    connect(m_hostsTable, &QTableView::clicked, this, [this](const QModelIndex& index) {
        if (!m_session)
            return;
        const auto* proxy = static_cast<const QSortFilterProxyModel*>(m_hostsTable->model());
        const int row = proxy->mapToSource(index).row();
        m_session->requestHostTrend(m_session->hostsModel()->hostAt(row).host);
    });
}

void MainWindow::buildToolBar() {
    QToolBar* bar = addToolBar(tr("Playback"));
    bar->setObjectName(QStringLiteral("playbackToolBar"));
    bar->setMovable(false);
    QAction* connectAction =
        bar->addAction(tr("Connect…"), this, &MainWindow::openConnectionDialog);
    connectAction->setToolTip(tr("Choose the cluster or trace to watch"));
    m_playbackActions << bar->addSeparator();
    m_playAction = bar->addAction(tr("Pause"), this, &MainWindow::togglePlayback);
    m_playAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Space));
    m_playAction->setToolTip(tr("Pause or resume cluster time (Ctrl+Space)"));
    m_playbackActions << m_playAction << bar->addWidget(new QLabel(tr("  Speed "), bar));
    m_speed = new QComboBox(bar);
    m_speed->setObjectName(QStringLiteral("speedCombo"));
    for (const SpeedChoice& choice : kSpeeds)
        m_speed->addItem(QString::fromUtf8(choice.label), choice.speed);
    m_speed->setToolTip(tr("Cluster seconds per wall second"));
    connect(m_speed, &QComboBox::activated, this, &MainWindow::applySpeedChoice);
    m_playbackActions << bar->addWidget(m_speed)
                      << bar->addWidget(new QLabel(tr("   Position "), bar));
    m_seek = new QSlider(Qt::Horizontal, bar);
    m_seek->setObjectName(QStringLiteral("seekSlider"));
    m_seek->setRange(0, 1000);
    m_seek->setMinimumWidth(260);
    m_seek->setToolTip(tr("Drag to seek (trace replay)"));
    connect(m_seek, &QSlider::sliderReleased, this, &MainWindow::seekToSlider);
    m_playbackActions << bar->addWidget(m_seek);
    m_seekLabel = new QLabel(bar);
    m_playbackActions << bar->addWidget(m_seekLabel);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Connect…"), QKeySequence(Qt::CTRL | Qt::Key_K), this,
                    &MainWindow::openConnectionDialog);
    file->addAction(tr("&Open trace…"), QKeySequence::Open, this, &MainWindow::openTraceFile);
    m_recentMenu = file->addMenu(tr("Recent &traces"));
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("Save &screenshot…"), this, &MainWindow::saveScreenshot);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* migrations = menuBar()->addMenu(tr("&Migrations"));
    for (QAction* action : {m_migrations->approveAction(), m_migrations->rejectAction(),
                            m_migrations->scheduleAction(), m_migrations->pauseAction(),
                            m_migrations->resumeAction(), m_migrations->abortAction()})
        migrations->addAction(action);
    migrations->addSeparator();
    migrations->addAction(tr("&Auto-apply…"), this, &MainWindow::openAutoApplyDialog);
    migrations->addAction(tr("&Maintenance window…"), this, &MainWindow::editMaintenanceWindow);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());
    view->addSeparator();
    view->addAction(tr("&Reset layout"), this, [this] { restoreState(m_defaultState); });
}

void MainWindow::buildStatusBar() {
    m_statusState = new QLabel(this);
    m_statusState->setObjectName(QStringLiteral("statusState"));
    m_statusClock = new QLabel(this);
    m_statusRate = new QLabel(this);
    m_statusPlanner = new QLabel(this);
    m_statusMoves = new QLabel(this);
    for (QLabel* label :
         {m_statusState, m_statusClock, m_statusRate, m_statusPlanner, m_statusMoves})
        statusBar()->addWidget(label);
    m_statusState->setText(tr("Not connected"));
}

// --- Session ------------------------------------------------------------------------------

void MainWindow::setSession(ConsoleSession* session, PlaybackControl* playback) {
    for (const QMetaObject::Connection& connection : m_sessionConnections)
        disconnect(connection);
    m_sessionConnections.clear();
    m_session = session;
    m_playback = playback;
    m_migrations->setSession(session);
    if (!session) {
        m_ownershipProxy->setSourceModel(nullptr);
        m_hostsTable->setModel(nullptr);
        m_auditTable->setModel(nullptr);
        refreshStatus();
        return;
    }
    setWindowTitle(tr("RangePilot — %1").arg(session->connector()->name()));
    m_ownershipProxy->setSourceModel(session->ownershipModel());
    m_ownershipTable->sortByColumn(OwnershipTableModel::RangeColumn, Qt::AscendingOrder);
    auto* hosts = new QSortFilterProxyModel(m_hostsTable);
    hosts->setSortRole(HostsModel::SortRole);
    hosts->setSourceModel(session->hostsModel());
    m_hostsTable->setModel(hosts);
    auto* audit = new QSortFilterProxyModel(m_auditTable);
    audit->setSortRole(AuditLogModel::SortRole);
    audit->setSourceModel(session->auditModel());
    m_auditTable->setModel(audit);
    m_auditTable->sortByColumn(AuditLogModel::WhenColumn, Qt::DescendingOrder);
    m_auditTable->horizontalHeader()->setStretchLastSection(true);
    m_columnsFitted = false;
    m_trendChart->clear(tr("Select a range in the heatmap or a table to see its trend"));
    connectSession();
    m_heatmapDirty = m_stripesDirty = m_trendsDirty = true;
    refreshNow();
}

void MainWindow::connectSession() {
    ConsoleSession* session = m_session;
    // A live cluster's table arrives once it runs (a placeholder row before): fit the columns to
    // the real rows then.
    m_sessionConnections << connect(session->connector(), &ClusterConnector::stateChanged, this,
                                    [this](ConnectorState state) {
                                        if (state != ConnectorState::Running)
                                            return;
                                        m_columnsFitted = false;
                                        scheduleRefresh();
                                    });
    auto onChange = [this](bool MainWindow::*flag) {
        return [this, flag] {
            this->*flag = true;
            scheduleRefresh();
        };
    };
    m_sessionConnections
        << connect(session, &ConsoleSession::heatmapUpdated, this,
                   onChange(&MainWindow::m_heatmapDirty))
        << connect(session, &ConsoleSession::trendsUpdated, this,
                   onChange(&MainWindow::m_trendsDirty))
        << connect(session, &ConsoleSession::statusChanged, this, &MainWindow::scheduleRefresh)
        << connect(session, &ConsoleSession::trendReady, this, &MainWindow::showTrend)
        << connect(session, &ConsoleSession::problem, this,
                   [this](const QString& message) { statusBar()->showMessage(message, 15'000); });
    OwnershipTableModel* ownership = session->ownershipModel();
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        m_sessionConnections << connect(ownership, signal, this,
                                        onChange(&MainWindow::m_stripesDirty));
    m_sessionConnections << connect(ownership, &QAbstractItemModel::modelReset, this,
                                    onChange(&MainWindow::m_stripesDirty))
                         << connect(ownership, &QAbstractItemModel::dataChanged, this,
                                    onChange(&MainWindow::m_stripesDirty));
}

void MainWindow::scheduleRefresh() {
    if (!m_refresh.isActive())
        m_refresh.start();
}

void MainWindow::refreshNow() {
    m_refresh.stop();
    if (!m_session)
        return;
    if (m_stripesDirty) {
        refreshStripes();
        refreshHostFilter();
    }
    if (m_heatmapDirty)
        refreshHeatmap();
    if (m_trendsDirty)
        refreshTopTrends();
    m_stripesDirty = m_heatmapDirty = m_trendsDirty = false;
    refreshStatus();
    refreshPlayback();
    if (!m_columnsFitted && m_session->ownershipModel()->rowCount() > 0)
        fitTableColumns();
}

// Once there are rows to measure: headers and content both fit.
void MainWindow::fitTableColumns() {
    fitColumns(m_ownershipTable);
    fitColumns(m_hostsTable, 160);
    fitColumns(m_auditTable, 300);
    m_auditTable->setColumnWidth(AuditLogModel::WhatColumn, 620);
    m_migrations->fitColumns();
    m_columnsFitted = true;
}

void MainWindow::refreshHeatmap() {
    const HeatmapGrid& grid = m_session->heatmap();
    if (grid.rows == 0)
        return;
    m_heatmap->setGrid(grid, m_session->heatmapMetric());
}

void MainWindow::refreshStripes() {
    const ClusterTopology& topology = m_session->topology();
    m_heatmap->setRowKeys(topology.cells.starts());
    std::vector<HeatmapStripe> stripes;
    for (const Shard& shard : m_session->table().shards()) {
        const CellSpan span = topology.cells.cellsStartingIn(shard.range);
        if (span.size() == 0)
            continue;
        stripes.push_back({shard.id, span.first, span.end, fromStd(shard.owner)});
    }
    m_heatmap->setStripes(std::move(stripes));
}

void MainWindow::refreshHostFilter() {
    const QString current = m_hostFilter->currentData().toString();
    QStringList hosts;
    for (const Host& host : m_session->topology().cluster.hosts)
        hosts << fromStd(host.id);
    if (m_hostFilter->count() == hosts.size() + 1)
        return;
    m_hostFilter->blockSignals(true);
    m_hostFilter->clear();
    m_hostFilter->addItem(tr("All hosts"), QString());
    for (const QString& host : hosts)
        m_hostFilter->addItem(host, host);
    m_hostFilter->setCurrentIndex(std::max(0, m_hostFilter->findData(current)));
    m_hostFilter->blockSignals(false);
}

void MainWindow::refreshTopTrends() {
    std::map<ShardId, double> loadNow;
    OwnershipTableModel* ownership = m_session->ownershipModel();
    for (int row = 0; row < ownership->rowCount(); ++row) {
        const OwnershipRow& shard = ownership->rowAt(row);
        if (shard.figures)
            loadNow[shard.shard.id] = shard.figures->load_now_ops;
    }
    std::vector<RangeTrend> trends;
    for (const ShardTrend& trend : m_session->shardTrends()) {
        const Shard* shard = m_session->table().shardById(trend.shard);
        if (!shard)
            continue;
        RangeTrend range;
        range.shard = shard->id;
        range.range = shard->range;
        range.owner = shard->owner;
        range.direction = trend.trend.direction;
        range.relative_slope_per_day = trend.trend.relative_slope_per_day;
        range.slope_per_day = trend.trend.slope_per_day; // ops/s per day
        range.load_now_ops = loadNow[shard->id];
        trends.push_back(std::move(range));
    }
    m_topTrends->setTrends(trends);
}

void MainWindow::refreshStatus() {
    if (!m_session) {
        m_statusState->setText(tr("Not connected"));
        return;
    }
    m_statusState->setText(tr("%1: %2").arg(m_session->connector()->name(),
                                            connectorStateName(m_session->connectorState())));
    m_statusClock->setText(
        tr("Cluster time %1 UTC").arg(display::utcTime(m_session->clusterTime())));
    m_statusRate->setText(tr("%1 events/s").arg(display::count(m_session->eventsPerSecond())));
    m_statusPlanner->setText(tr("Planner: %1 rounds, %2 waiting")
                                 .arg(m_session->roundsPlanned())
                                 .arg(m_session->pendingTasks()));
    m_statusMoves->setText(tr("%1 moves running · auto-apply %2")
                               .arg(m_session->runningMoves())
                               .arg(m_session->guardrails().enabled ? tr("on") : tr("off")));
}

void MainWindow::refreshPlayback() {
    const bool playable = m_playback != nullptr;
    for (QAction* action : m_playbackActions)
        action->setVisible(playable);
    m_playAction->setEnabled(playable);
    m_speed->setEnabled(playable);
    m_seek->setEnabled(playable && m_playback->canSeek());
    if (!playable) {
        m_seekLabel->clear();
        return;
    }
    m_playAction->setText(m_playback->playbackPaused() ? tr("Play") : tr("Pause"));
    const int speedIndex = m_speed->findData(m_playback->playbackSpeed());
    if (speedIndex >= 0 && speedIndex != m_speed->currentIndex())
        m_speed->setCurrentIndex(speedIndex);
    const TimeMs start = m_playback->playbackStartMs();
    const TimeMs end = m_playback->playbackEndMs();
    if (end > start && !m_seek->isSliderDown()) {
        const double fraction = static_cast<double>(m_session->clusterTime() - start) /
                                static_cast<double>(end - start);
        m_seek->setValue(static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 1000.0));
    }
    m_seekLabel->setText(
        tr("  %1 of %2").arg(display::utcTime(m_session->clusterTime()), display::utcTime(end)));
}

void MainWindow::showTrend(const TrendData& data) {
    if (data.history.empty()) {
        std::optional<TimeMs> now = data.now_ms;
        if (!now && m_session && m_session->clusterTime() > 0)
            now = m_session->clusterTime();
        m_trendChart->clear(tr("No load recorded for %1 yet").arg(fromStd(data.title)), now,
                            fromStd(data.unit));
        return;
    }
    m_trendChart->setSeries(toSeries(data));
}

void MainWindow::selectShard(ShardId shard) {
    if (m_session)
        m_session->requestShardTrend(shard);
}

// --- Actions ------------------------------------------------------------------------------

void MainWindow::togglePlayback() {
    if (!m_playback)
        return;
    if (m_playback->playbackPaused())
        m_playback->resumePlayback();
    else
        m_playback->pausePlayback();
    refreshPlayback();
}

void MainWindow::applySpeedChoice(int index) {
    if (!m_playback)
        return;
    if (Status status = m_playback->setPlaybackSpeed(m_speed->itemData(index).toDouble()); !status)
        statusBar()->showMessage(fromStd(status.message()), 10'000);
}

void MainWindow::seekToSlider() {
    if (!m_playback || !m_playback->canSeek())
        return;
    const TimeMs start = m_playback->playbackStartMs();
    const TimeMs end = m_playback->playbackEndMs();
    const TimeMs target =
        start + static_cast<TimeMs>(static_cast<double>(end - start) * m_seek->value() / 1000.0);
    if (Status status = m_playback->seekTo(target); !status)
        statusBar()->showMessage(fromStd(status.message()), 10'000);
}

void MainWindow::openConnectionDialog() {
    ConnectionDialog dialog(m_settings->connection, m_settings->recent_traces, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_settings->connection = dialog.settings();
    if (m_settings->connection.kind == ConnectorKind::TraceReplay) {
        addRecentTrace(*m_settings, m_settings->connection.trace.path);
        rebuildRecentMenu();
    }
    Q_EMIT settingsChanged();
    Q_EMIT connectionRequested(m_settings->connection);
}

void MainWindow::openTraceFile() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open a trace"), QFileInfo(m_settings->connection.trace.path).absolutePath(),
        tr("Traces (*.csv *.log *.txt);;All files (*)"));
    if (path.isEmpty())
        return;
    ConnectionSettings connection = m_settings->connection;
    connection.kind = ConnectorKind::TraceReplay;
    connection.trace.path = path;
    ConnectionDialog dialog(connection, m_settings->recent_traces, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_settings->connection = dialog.settings();
    addRecentTrace(*m_settings, m_settings->connection.trace.path);
    rebuildRecentMenu();
    Q_EMIT settingsChanged();
    Q_EMIT connectionRequested(m_settings->connection);
}

void MainWindow::rebuildRecentMenu() {
    m_recentMenu->clear();
    for (const QString& path : m_settings->recent_traces) {
        m_recentMenu
            ->addAction(QFileInfo(path).fileName(), this,
                        [this, path] {
                            ConnectionSettings connection = m_settings->connection;
                            connection.kind = ConnectorKind::TraceReplay;
                            connection.trace.path = path;
                            m_settings->connection = connection;
                            addRecentTrace(*m_settings, path);
                            rebuildRecentMenu();
                            Q_EMIT settingsChanged();
                            Q_EMIT connectionRequested(connection);
                        })
            ->setToolTip(path);
    }
    m_recentMenu->setEnabled(!m_settings->recent_traces.isEmpty());
}

void MainWindow::openAutoApplyDialog() {
    AutoApplyDialog dialog(m_settings->auto_apply, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_settings->auto_apply = dialog.guardrails();
    if (m_session)
        m_session->setGuardrails(m_settings->auto_apply);
    Q_EMIT settingsChanged();
    refreshStatus();
}

void MainWindow::editMaintenanceWindow() {
    bool accepted = false;
    const QString current = m_settings->maintenance_window
                                ? fromStd(formatDailyWindow(*m_settings->maintenance_window))
                                : QString();
    const QString text = QInputDialog::getText(
        this, tr("Maintenance window"),
        tr("Daily window in UTC, e.g. 02:00-05:00 (empty: none).\nScheduled moves can be placed "
           "in it."),
        QLineEdit::Normal, current, &accepted);
    if (!accepted)
        return;
    if (text.trimmed().isEmpty()) {
        m_settings->maintenance_window.reset();
    } else {
        const Result<DailyWindow> window = parseDailyWindow(text.trimmed().toStdString());
        if (!window) {
            QMessageBox::warning(this, tr("Maintenance window"), fromStd(window.error().message));
            return;
        }
        m_settings->maintenance_window = *window;
    }
    if (m_session)
        m_session->setMaintenanceWindow(m_settings->maintenance_window);
    Q_EMIT settingsChanged();
}

void MainWindow::saveScreenshot() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save screenshot"), QStringLiteral("rangepilot.png"), tr("PNG images (*.png)"));
    if (!path.isEmpty() && !grab().save(path))
        QMessageBox::warning(this, tr("Save screenshot"), tr("Could not write %1").arg(path));
}

// --- Layout -------------------------------------------------------------------------------

void MainWindow::restoreLayout() {
    if (!m_settings->window_geometry.isEmpty())
        restoreGeometry(m_settings->window_geometry);
    if (!m_settings->window_state.isEmpty())
        restoreState(m_settings->window_state);
}

void MainWindow::saveLayout() {
    m_settings->window_geometry = saveGeometry();
    m_settings->window_state = saveState();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    Q_EMIT settingsChanged();
    QMainWindow::closeEvent(event);
}

} // namespace rangepilot
