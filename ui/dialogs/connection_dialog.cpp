#include "connection_dialog.h"

#include "column_mapping_dialog.h"
#include "dialog_labels.h"
#include "trace_reader.h"
#include "workload_generator.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>
#include <utility>

namespace rangepilot {

namespace {

QString scenarioDescription(Scenario scenario) {
    switch (scenario) {
    case Scenario::Uniform:
        return QObject::tr("Uniform keys at a constant rate: no hot spots, nothing to move.");
    case Scenario::Diurnal:
        return QObject::tr("A daily cycle (peak at 19:30 UTC, about 3.5\u00d7 the trough) over "
                           "Zipf-distributed keys.");
    case Scenario::HotspotDrift:
        return QObject::tr("The daily cycle plus a hot range (3% of the keys, 35% of the events) "
                           "sweeping the key space once a day.");
    case Scenario::Growth:
        return QObject::tr("The daily cycle plus a range (4% of the keys) whose share of the "
                           "events grows from 2% to 40% over the run.");
    case Scenario::FlashCrowd:
        return QObject::tr("The daily cycle plus a flash crowd at 20:00 UTC every day: a 2% range "
                           "at 10\u00d7 its rate for about 30 minutes.");
    case Scenario::RandomJumps:
        return QObject::tr("The daily cycle plus a hot range (35% of the events) that jumps "
                           "anywhere after about 2 hours, without a pattern.");
    }
    return QString();
}

QString timeUnitLabel(TimeUnit unit) {
    switch (unit) {
    case TimeUnit::Seconds:
        return QObject::tr("seconds");
    case TimeUnit::Milliseconds:
        return QObject::tr("milliseconds");
    case TimeUnit::Microseconds:
        return QObject::tr("microseconds");
    case TimeUnit::Nanoseconds:
        return QObject::tr("nanoseconds");
    }
    return QString();
}

// Number fields keep one modest width instead of stretching across the dialog.
void keepNarrow(QWidget* field) {
    constexpr int kFieldWidth = 170;
    field->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
    field->setMinimumWidth(std::max(kFieldWidth, field->sizeHint().width()));
}

QDoubleSpinBox* makeSpeedSpin(QWidget* parent, const QString& objectName) {
    auto* spin = new QDoubleSpinBox(parent);
    spin->setObjectName(objectName);
    spin->setRange(kMinReplaySpeed, kMaxReplaySpeed);
    spin->setDecimals(0);
    spin->setSuffix(QObject::tr(" \u00d7 real time"));
    spin->setToolTip(QObject::tr("Cluster seconds per wall-clock second: 60 plays an hour of "
                                 "traffic in a minute (1 to 1000)."));
    return spin;
}

QCheckBox* makeFastestCheck(QWidget* parent, const QString& objectName, QDoubleSpinBox* spin) {
    auto* check = new QCheckBox(QObject::tr("As fast as possible"), parent);
    check->setObjectName(objectName);
    check->setToolTip(QObject::tr("No pacing: the cluster clock runs as fast as the CPU allows "
                                  "(the console stays responsive)."));
    QObject::connect(check, &QCheckBox::toggled, spin, &QWidget::setDisabled);
    return check;
}

QWidget* row(QWidget* parent, std::initializer_list<QWidget*> widgets, bool stretch = true) {
    auto* container = new QWidget(parent);
    auto* layout = new QHBoxLayout(container);
    layout->setContentsMargins(0, 0, 0, 0);
    for (QWidget* widget : widgets)
        layout->addWidget(widget);
    if (stretch)
        layout->addStretch(1);
    return container;
}

} // namespace

ConnectionDialog::ConnectionDialog(const ConnectionSettings& settings,
                                   const QStringList& recentTraces, QWidget* parent)
    : QDialog(parent)
    , m_trace(settings.trace)
    , m_nodes(settings.nodes) {
    setWindowTitle(tr("Connect"));

    m_simulatedRadio = new QRadioButton(tr("&Simulated cluster"), this);
    m_simulatedRadio->setObjectName(QStringLiteral("simulatedRadio"));
    m_simulatedRadio->setToolTip(tr("An embedded cluster driven by a synthetic workload: no "
                                    "servers needed."));
    m_traceRadio = new QRadioButton(tr("&Trace replay"), this);
    m_traceRadio->setObjectName(QStringLiteral("traceRadio"));
    m_traceRadio->setToolTip(tr("Replay recorded queries from a trace file onto simulated "
                                "hosts."));
    m_nodesRadio = new QRadioButton(tr("Cluster &nodes (gRPC)"), this);
    m_nodesRadio->setObjectName(QStringLiteral("nodesRadio"));
    m_nodesRadio->setToolTip(tr("Real rangepilot-node processes: live load, capacities and "
                                "migrations over gRPC."));
    // Button ids are the page indexes.
    auto* kindGroup = new QButtonGroup(this);
    kindGroup->addButton(m_simulatedRadio, static_cast<int>(ConnectorKind::Simulated));
    kindGroup->addButton(m_traceRadio, static_cast<int>(ConnectorKind::TraceReplay));
    kindGroup->addButton(m_nodesRadio, static_cast<int>(ConnectorKind::NodeCluster));
    auto* kindRow = new QHBoxLayout;
    kindRow->addWidget(new QLabel(tr("Connect to:"), this));
    kindRow->addWidget(m_simulatedRadio);
    kindRow->addWidget(m_traceRadio);
    kindRow->addWidget(m_nodesRadio);
    kindRow->addStretch(1);

    m_pages = new QStackedWidget(this);
    m_pages->addWidget(buildSimulatedPage());
    m_pages->addWidget(buildTracePage(recentTraces));
    m_pages->addWidget(buildNodesPage());

    m_errorLabel = newErrorLabel(this);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Connect"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &ConnectionDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(kindRow);
    layout->addWidget(m_pages);
    layout->addWidget(m_errorLabel);
    layout->addStretch(1);
    layout->addWidget(m_buttons);

    connect(kindGroup, &QButtonGroup::idToggled, this, [this](int page, bool checked) {
        if (!checked)
            return;
        m_pages->setCurrentIndex(page);
        updateState();
    });

    load(settings);
    setMinimumWidth(560);
}

QWidget* ConnectionDialog::buildSimulatedPage() {
    auto* page = new QGroupBox(tr("Simulated cluster"), this);
    page->setObjectName(QStringLiteral("simulatedPage"));

    m_scenarioCombo = new QComboBox(page);
    m_scenarioCombo->setObjectName(QStringLiteral("scenarioCombo"));
    for (const Scenario scenario : allScenarios()) {
        m_scenarioCombo->addItem(QString::fromUtf8(scenarioName(scenario)),
                                 static_cast<int>(scenario));
        m_scenarioCombo->setItemData(m_scenarioCombo->count() - 1, scenarioDescription(scenario),
                                     Qt::ToolTipRole);
    }
    m_scenarioCombo->setToolTip(tr("The load pattern the workload generator plays."));
    m_scenarioDescription = new QLabel(page);
    m_scenarioDescription->setObjectName(QStringLiteral("scenarioDescription"));
    m_scenarioDescription->setWordWrap(true);
    fadeText(m_scenarioDescription);

    m_hostsSpin = new QSpinBox(page);
    m_hostsSpin->setObjectName(QStringLiteral("hostsSpin"));
    m_hostsSpin->setRange(1, kMaxConsoleHosts);
    m_hostsSpin->setSuffix(tr(" hosts"));
    m_hostsSpin->setToolTip(tr("Hosts of the simulated cluster (1 to %1).").arg(kMaxConsoleHosts));
    m_shardsSpin = new QSpinBox(page);
    m_shardsSpin->setObjectName(QStringLiteral("shardsPerHostSpin"));
    m_shardsSpin->setRange(1, kMaxShardsPerHost);
    m_shardsSpin->setSuffix(tr(" per host"));
    m_shardsSpin->setToolTip(tr("Shards each host owns at the start; the key space is cut into "
                                "hosts \u00d7 this many ranges."));
    m_cellsSpin = new QSpinBox(page);
    m_cellsSpin->setObjectName(QStringLiteral("cellsSpin"));
    m_cellsSpin->setRange(1, kMaxKeyCells);
    m_cellsSpin->setSuffix(tr(" cells"));
    m_cellsSpin->setToolTip(tr("How finely load is counted along the key space (the heatmap's "
                               "rows); shard boundaries fall on cell boundaries."));
    m_rateSpin = new QDoubleSpinBox(page);
    m_rateSpin->setObjectName(QStringLiteral("rateSpin"));
    m_rateSpin->setRange(kMinEventRate, kMaxEventRate);
    m_rateSpin->setDecimals(0);
    m_rateSpin->setGroupSeparatorShown(true);
    m_rateSpin->setSuffix(tr(" events/s"));
    m_rateSpin->setToolTip(tr("Average queries per second of cluster time, over the whole run."));
    m_hoursSpin = new QDoubleSpinBox(page);
    m_hoursSpin->setObjectName(QStringLiteral("hoursSpin"));
    m_hoursSpin->setRange(kMinWorkloadHours, kMaxWorkloadHours);
    m_hoursSpin->setDecimals(1);
    m_hoursSpin->setSuffix(tr(" h"));
    m_hoursSpin->setToolTip(tr("Length of the generated workload in cluster hours (168 h = one "
                               "week)."));
    m_seedEdit = new QLineEdit(page);
    m_seedEdit->setObjectName(QStringLiteral("seedEdit"));
    m_seedEdit->setValidator(
        new QRegularExpressionValidator(QRegularExpression(QStringLiteral("[0-9]{0,20}")), page));
    m_seedEdit->setToolTip(tr("The same seed and settings replay exactly the same cluster."));
    m_speedSpin = makeSpeedSpin(page, QStringLiteral("speedSpin"));
    m_fastestCheck = makeFastestCheck(page, QStringLiteral("fastestCheck"), m_speedSpin);
    for (QWidget* field :
         std::initializer_list<QWidget*>{m_scenarioCombo, m_hostsSpin, m_shardsSpin, m_cellsSpin,
                                         m_rateSpin, m_hoursSpin, m_seedEdit, m_speedSpin})
        keepNarrow(field);

    auto* form = new QFormLayout(page);
    form->addRow(tr("Sc&enario:"), m_scenarioCombo);
    form->addRow(QString(), m_scenarioDescription);
    form->addRow(tr("&Hosts:"), m_hostsSpin);
    form->addRow(tr("Sh&ards:"), m_shardsSpin);
    form->addRow(tr("&Key cells:"), m_cellsSpin);
    form->addRow(tr("&Rate:"), m_rateSpin);
    form->addRow(tr("&Length:"), m_hoursSpin);
    form->addRow(tr("See&d:"), m_seedEdit);
    form->addRow(tr("S&peed:"), row(page, {m_speedSpin, m_fastestCheck}));

    connect(m_scenarioCombo, &QComboBox::currentIndexChanged, this,
            &ConnectionDialog::updateScenarioDescription);
    connect(m_seedEdit, &QLineEdit::textChanged, this, &ConnectionDialog::updateState);
    return page;
}

QWidget* ConnectionDialog::buildTracePage(const QStringList& recentTraces) {
    auto* page = new QGroupBox(tr("Trace replay"), this);
    page->setObjectName(QStringLiteral("tracePage"));

    m_pathEdit = new QLineEdit(page);
    m_pathEdit->setObjectName(QStringLiteral("tracePathEdit"));
    m_pathEdit->setPlaceholderText(tr("Path of a trace file"));
    m_pathEdit->setToolTip(tr("A CSV trace in RangePilot's format, or a foreign log."));
    m_pathEdit->setClearButtonEnabled(true);
    m_browseButton = new QPushButton(tr("&Browse\u2026"), page);
    m_browseButton->setObjectName(QStringLiteral("browseButton"));
    m_browseButton->setToolTip(tr("Choose a trace file."));
    auto* pathRow = new QWidget(page);
    auto* pathLayout = new QHBoxLayout(pathRow);
    pathLayout->setContentsMargins(0, 0, 0, 0);
    pathLayout->addWidget(m_pathEdit, 1);
    pathLayout->addWidget(m_browseButton);

    m_recentCombo = new QComboBox(page);
    m_recentCombo->setObjectName(QStringLiteral("recentCombo"));
    m_recentCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_recentCombo->setMinimumContentsLength(30);
    for (const QString& path : recentTraces) {
        m_recentCombo->addItem(QDir::toNativeSeparators(path), path);
        m_recentCombo->setItemData(m_recentCombo->count() - 1, path, Qt::ToolTipRole);
    }
    m_recentCombo->setPlaceholderText(recentTraces.isEmpty() ? tr("No recent traces")
                                                             : tr("Choose a recent trace\u2026"));
    m_recentCombo->setCurrentIndex(-1);
    m_recentCombo->setEnabled(!recentTraces.isEmpty());
    m_recentCombo->setToolTip(tr("Traces opened before, newest first."));

    m_ourFormatRadio = new QRadioButton(tr("RangePilot CSV"), page);
    m_ourFormatRadio->setObjectName(QStringLiteral("ourFormatRadio"));
    m_ourFormatRadio->setToolTip(tr("CSV with a header row naming the columns ts, key and "
                                    "optionally op, end_key, bytes, latency_us, client."));
    m_foreignRadio = new QRadioButton(tr("Foreign log"), page);
    m_foreignRadio->setObjectName(QStringLiteral("foreignRadio"));
    m_foreignRadio->setToolTip(tr("Any delimited log: say which field holds what with "
                                  "\u201cColumn mapping\u2026\u201d."));
    auto* formatGroup = new QButtonGroup(page);
    formatGroup->addButton(m_ourFormatRadio);
    formatGroup->addButton(m_foreignRadio);
    m_mappingButton = new QPushButton(tr("Column &mapping\u2026"), page);
    m_mappingButton->setObjectName(QStringLiteral("columnMappingButton"));
    m_mappingButton->setToolTip(tr("Map the log's fields to trace columns, with a preview."));
    m_mappingSummary = new QLabel(page);
    m_mappingSummary->setObjectName(QStringLiteral("mappingSummary"));
    m_mappingSummary->setWordWrap(true);
    fadeText(m_mappingSummary);

    m_traceHostsSpin = new QSpinBox(page);
    m_traceHostsSpin->setObjectName(QStringLiteral("traceHostsSpin"));
    m_traceHostsSpin->setRange(1, kMaxConsoleHosts);
    m_traceHostsSpin->setSuffix(tr(" hosts"));
    m_traceHostsSpin->setToolTip(
        tr("Hosts the trace's key space is spread over (1 to %1).").arg(kMaxConsoleHosts));
    m_traceSpeedSpin = makeSpeedSpin(page, QStringLiteral("traceSpeedSpin"));
    m_traceFastestCheck =
        makeFastestCheck(page, QStringLiteral("traceFastestCheck"), m_traceSpeedSpin);
    keepNarrow(m_traceHostsSpin);
    keepNarrow(m_traceSpeedSpin);

    auto* form = new QFormLayout(page);
    form->addRow(tr("&File:"), pathRow);
    form->addRow(tr("Rec&ent:"), m_recentCombo);
    form->addRow(tr("F&ormat:"), row(page, {m_ourFormatRadio, m_foreignRadio, m_mappingButton}));
    form->addRow(QString(), m_mappingSummary);
    form->addRow(tr("&Hosts:"), m_traceHostsSpin);
    form->addRow(tr("S&peed:"), row(page, {m_traceSpeedSpin, m_traceFastestCheck}));

    connect(m_pathEdit, &QLineEdit::textChanged, this, &ConnectionDialog::updateState);
    connect(m_browseButton, &QPushButton::clicked, this, &ConnectionDialog::browseForTrace);
    connect(m_recentCombo, &QComboBox::activated, this,
            [this](int index) { m_pathEdit->setText(m_recentCombo->itemData(index).toString()); });
    connect(m_foreignRadio, &QRadioButton::toggled, this, [this] {
        updateMappingSummary();
        updateState();
    });
    connect(m_mappingButton, &QPushButton::clicked, this, &ConnectionDialog::openColumnMapping);
    return page;
}

QWidget* ConnectionDialog::buildNodesPage() {
    auto* page = new QGroupBox(tr("Cluster nodes"), this);
    page->setObjectName(QStringLiteral("nodesPage"));

    m_endpointsEdit = new QLineEdit(page);
    m_endpointsEdit->setObjectName(QStringLiteral("endpointsEdit"));
    m_endpointsEdit->setPlaceholderText(tr("10.0.0.1:7401, 10.0.0.2:7401, \u2026"));
    m_endpointsEdit->setToolTip(tr("Where the rangepilot-nodes listen: host:port, separated by "
                                   "commas (IPv6 in brackets: [::1]:7401). Nodes that do not "
                                   "answer are reported and skipped."));
    m_endpointsEdit->setClearButtonEnabled(true);

    const auto fileField = [this, page](const char* name, const QString& placeholder,
                                        const QString& toolTip, auto browse) {
        auto* edit = new QLineEdit(page);
        edit->setObjectName(QString::fromLatin1(name));
        edit->setPlaceholderText(placeholder);
        edit->setToolTip(toolTip);
        edit->setClearButtonEnabled(true);
        auto* button = new QPushButton(tr("Browse\u2026"), page);
        button->setObjectName(QString::fromLatin1(name) + QStringLiteral("Browse"));
        connect(button, &QPushButton::clicked, this, [this, edit, browse] {
            const QString current = edit->text().trimmed();
            const QString start =
                current.isEmpty() ? QDir::homePath() : QFileInfo(current).absolutePath();
            const QString path = browse(start);
            if (!path.isEmpty())
                edit->setText(path);
        });
        connect(edit, &QLineEdit::textChanged, this, &ConnectionDialog::updateState);
        auto* container = new QWidget(page);
        auto* layout = new QHBoxLayout(container);
        layout->setContentsMargins(0, 0, 0, 0);
        layout->addWidget(edit, 1);
        layout->addWidget(button);
        return std::pair{edit, container};
    };
    const auto openFile = [this](const QString& title) {
        return [this, title](const QString& start) {
            return QFileDialog::getOpenFileName(this, title, start);
        };
    };
    auto [store, storeRow] = fileField(
        "storePathEdit", tr("Path of the ownership store (JSON)"),
        tr("The ownership table and migration records (a local file, created when missing). "
           "The first console to open it drives migrations; others only watch."),
        [this](const QString& start) {
            return QFileDialog::getSaveFileName(this, tr("Ownership store"), start,
                                                tr("JSON (*.json);;All files (*)"), nullptr,
                                                QFileDialog::DontConfirmOverwrite);
        });
    auto [ca, caRow] =
        fileField("tlsCaEdit", tr("None: plaintext"),
                  tr("PEM certificate(s) that signed the nodes' certificates; empty for "
                     "plaintext gRPC (loopback or a trusted network only)."),
                  openFile(tr("TLS CA certificate")));
    auto [token, tokenRow] =
        fileField("tokenFileEdit", tr("None: the nodes need no token"),
                  tr("A file holding the nodes' bearer token (surrounding blanks are ignored); "
                     "needed for moves and table changes when the nodes run with a token."),
                  openFile(tr("Token file")));
    m_storePathEdit = store;
    m_tlsCaEdit = ca;
    m_tokenFileEdit = token;

    m_copyRateSpin = new QDoubleSpinBox(page);
    m_copyRateSpin->setObjectName(QStringLiteral("copyRateSpin"));
    m_copyRateSpin->setRange(kUnlimitedCopyRate, kMaxCopyMbPerS);
    m_copyRateSpin->setDecimals(1);
    m_copyRateSpin->setSuffix(tr(" MB/s"));
    m_copyRateSpin->setSpecialValueText(tr("Unlimited"));
    m_copyRateSpin->setToolTip(tr("Average rate at which a migration copies a range from node to "
                                  "node (0 = unlimited)."));
    keepNarrow(m_copyRateSpin);

    auto* form = new QFormLayout(page);
    form->addRow(tr("&Nodes:"), m_endpointsEdit);
    form->addRow(tr("&Ownership store:"), storeRow);
    form->addRow(tr("TLS &CA:"), caRow);
    form->addRow(tr("To&ken file:"), tokenRow);
    form->addRow(tr("Cop&y rate:"), m_copyRateSpin);
    auto* note = new QLabel(tr("Nodes that do not answer are reported and skipped. The first "
                               "console to open the store drives migrations; a second one on "
                               "the same store only watches. With no table anywhere, the "
                               "console cuts one from the keys the nodes hold."),
                            page);
    note->setObjectName(QStringLiteral("nodesNote"));
    note->setWordWrap(true);
    fadeText(note);
    form->addRow(QString(), note);

    connect(m_endpointsEdit, &QLineEdit::textChanged, this, &ConnectionDialog::updateState);
    return page;
}

void ConnectionDialog::load(const ConnectionSettings& settings) {
    const SimulatedSettings& simulated = settings.simulated;
    m_scenarioCombo->setCurrentIndex(
        std::max(0, m_scenarioCombo->findData(static_cast<int>(simulated.scenario))));
    m_hostsSpin->setValue(simulated.hosts);
    m_shardsSpin->setValue(simulated.shards_per_host);
    m_cellsSpin->setValue(simulated.cells);
    m_rateSpin->setValue(simulated.rate_eps);
    m_hoursSpin->setValue(simulated.hours);
    m_seedEdit->setText(QString::number(simulated.seed));
    const bool simulatedFastest = simulated.speed == kAsFastAsPossible;
    m_speedSpin->setValue(simulatedFastest ? SimulatedSettings{}.speed : simulated.speed);
    m_fastestCheck->setChecked(simulatedFastest);
    m_speedSpin->setDisabled(simulatedFastest);

    const TraceSettings& trace = settings.trace;
    m_pathEdit->setText(trace.path);
    (trace.foreign ? m_foreignRadio : m_ourFormatRadio)->setChecked(true);
    m_traceHostsSpin->setValue(trace.hosts);
    const bool traceFastest = trace.speed == kAsFastAsPossible;
    m_traceSpeedSpin->setValue(traceFastest ? TraceSettings{}.speed : trace.speed);
    m_traceFastestCheck->setChecked(traceFastest);
    m_traceSpeedSpin->setDisabled(traceFastest);

    const NodeClusterSettings& nodes = settings.nodes;
    m_endpointsEdit->setText(nodes.endpoints.join(QStringLiteral(", ")));
    m_storePathEdit->setText(nodes.store_path);
    m_tlsCaEdit->setText(nodes.tls_ca);
    m_tokenFileEdit->setText(nodes.token_file);
    m_copyRateSpin->setValue(nodes.copy_mb_per_s);

    switch (settings.kind) {
    case ConnectorKind::Simulated:
        m_simulatedRadio->setChecked(true);
        break;
    case ConnectorKind::TraceReplay:
        m_traceRadio->setChecked(true);
        break;
    case ConnectorKind::NodeCluster:
        m_nodesRadio->setChecked(true);
        break;
    }
    m_pages->setCurrentIndex(static_cast<int>(settings.kind));
    updateScenarioDescription();
    updateMappingSummary();
    updateState();
}

ConnectorKind ConnectionDialog::chosenKind() const {
    if (m_nodesRadio->isChecked())
        return ConnectorKind::NodeCluster;
    return m_traceRadio->isChecked() ? ConnectorKind::TraceReplay : ConnectorKind::Simulated;
}

ConnectionSettings ConnectionDialog::settings() const {
    ConnectionSettings settings;
    settings.kind = chosenKind();
    SimulatedSettings& simulated = settings.simulated;
    simulated.scenario = static_cast<Scenario>(m_scenarioCombo->currentData().toInt());
    simulated.hosts = m_hostsSpin->value();
    simulated.shards_per_host = m_shardsSpin->value();
    simulated.cells = m_cellsSpin->value();
    simulated.rate_eps = m_rateSpin->value();
    simulated.hours = m_hoursSpin->value();
    bool seedOk = false;
    const qulonglong seed = m_seedEdit->text().toULongLong(&seedOk);
    simulated.seed = seedOk ? seed : SimulatedSettings{}.seed;
    simulated.speed = m_fastestCheck->isChecked() ? kAsFastAsPossible : m_speedSpin->value();

    settings.trace = m_trace;
    TraceSettings& trace = settings.trace;
    trace.path = m_pathEdit->text().trimmed();
    trace.foreign = m_foreignRadio->isChecked();
    trace.hosts = m_traceHostsSpin->value();
    trace.speed = m_traceFastestCheck->isChecked() ? kAsFastAsPossible : m_traceSpeedSpin->value();

    settings.nodes = m_nodes;
    NodeClusterSettings& nodes = settings.nodes;
    nodes.endpoints.clear();
    for (const QString& entry : m_endpointsEdit->text().split(u',')) {
        if (!entry.trimmed().isEmpty())
            nodes.endpoints.append(entry.trimmed());
    }
    nodes.store_path = m_storePathEdit->text().trimmed();
    nodes.tls_ca = m_tlsCaEdit->text().trimmed();
    nodes.token_file = m_tokenFileEdit->text().trimmed();
    nodes.copy_mb_per_s = m_copyRateSpin->value();
    return settings;
}

void ConnectionDialog::accept() {
    // A file may have gone (or lost its permissions) since it was typed.
    updateState();
    if (!m_problem.isEmpty())
        return;
    QDialog::accept();
}

void ConnectionDialog::browseForTrace() {
    const QString current = m_pathEdit->text().trimmed();
    const QString start = current.isEmpty() ? QDir::homePath() : QFileInfo(current).absolutePath();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open a trace"), start,
        tr("Traces and logs (*.csv *.tsv *.log *.txt);;All files (*)"));
    if (!path.isEmpty())
        m_pathEdit->setText(path);
}

void ConnectionDialog::openColumnMapping() {
    auto* dialog = new ColumnMappingDialog(m_pathEdit->text().trimmed(), this);
    dialog->setObjectName(QStringLiteral("columnMappingDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setTraceSettings(m_trace);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        dialog->applyTo(m_trace);
        updateMappingSummary();
        updateState();
    });
    dialog->open();
}

QString ConnectionDialog::traceProblem() const {
    const QString path = m_pathEdit->text().trimmed();
    if (const QString problem = traceFileProblem(path); !problem.isEmpty())
        return problem;
    if (m_foreignRadio->isChecked()) {
        TraceSettings trace = m_trace;
        trace.foreign = true;
        if (trace.columns.trimmed().isEmpty())
            return tr(
                "Map the log's fields to trace columns with \u201cColumn mapping\u2026\u201d.");
        const Result<TraceReadOptions> options = traceReadOptions(trace);
        if (!options)
            return tr("The column mapping does not work (%1): fix it with \u201cColumn "
                      "mapping\u2026\u201d.")
                .arg(QString::fromStdString(options.error().message));
        return QString();
    }
    // Our own format: line 1 must be the header naming the columns. Reading it costs one line.
    Result<TraceReader> reader = TraceReader::open(path.toStdString(), TraceReadOptions{});
    if (!reader)
        return QString::fromStdString(reader.error().message);
    if (const Result<TraceLayout> layout = reader->layout(); !layout)
        return tr("%1. If this is another program's log, choose \u201cForeign log\u201d and map "
                  "its fields.")
            .arg(QString::fromStdString(layout.error().message));
    return QString();
}

QString ConnectionDialog::nodesProblem() const {
    const QString endpoints = m_endpointsEdit->text().trimmed();
    const Result<QStringList> parsed = parseEndpointList(endpoints);
    if (!parsed)
        return tr("Nodes: %1.").arg(QString::fromStdString(parsed.error().message));
    if (parsed->isEmpty())
        return tr("Enter the nodes' addresses: host:port, separated by commas.");
    const QString store = m_storePathEdit->text().trimmed();
    if (store.isEmpty())
        return tr("Choose the ownership store file (it is created when missing).");
    if (QFileInfo(store).isDir())
        return tr("Ownership store: %1 is a folder, not a file.")
            .arg(QDir::toNativeSeparators(store));
    // traceFileProblem() words what is wrong with any file that must be read.
    if (const QString ca = m_tlsCaEdit->text().trimmed(); !ca.isEmpty()) {
        if (const QString problem = traceFileProblem(ca); !problem.isEmpty())
            return tr("TLS CA file: %1").arg(problem);
    }
    if (const QString token = m_tokenFileEdit->text().trimmed(); !token.isEmpty()) {
        if (const QString problem = traceFileProblem(token); !problem.isEmpty())
            return tr("Token file: %1").arg(problem);
    }
    return QString();
}

QString ConnectionDialog::currentProblem() const {
    switch (chosenKind()) {
    case ConnectorKind::Simulated: {
        bool ok = false;
        m_seedEdit->text().toULongLong(&ok);
        if (!ok)
            return tr("The seed must be a whole number from 0 to %1.")
                .arg(std::numeric_limits<std::uint64_t>::max());
        return QString();
    }
    case ConnectorKind::TraceReplay:
        return traceProblem();
    case ConnectorKind::NodeCluster:
        return nodesProblem();
    }
    return QString();
}

void ConnectionDialog::updateState() {
    m_problem = currentProblem();
    m_errorLabel->setText(m_problem);
    m_errorLabel->setVisible(!m_problem.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_problem.isEmpty());
    const bool readable = traceFileProblem(m_pathEdit->text().trimmed()).isEmpty();
    m_mappingButton->setEnabled(m_foreignRadio->isChecked() && readable);
    m_mappingButton->setToolTip(
        readable ? tr("Map the log's fields to trace columns, with a preview.")
                 : tr("Choose a readable file first: the mapping shows a preview of it."));
}

void ConnectionDialog::updateMappingSummary() {
    if (!m_foreignRadio->isChecked()) {
        m_mappingSummary->setText(tr("The header row names the columns; ts in milliseconds "
                                     "since 1970 or ISO-8601."));
        return;
    }
    if (m_trace.columns.trimmed().isEmpty()) {
        m_mappingSummary->setText(tr("No column mapping yet."));
        return;
    }
    m_mappingSummary->setText(
        tr("%1 \u00b7 %2 \u00b7 numeric ts in %3 \u00b7 %4-delimited")
            .arg(m_trace.columns, m_trace.header ? tr("line 1 is a header") : tr("no header"),
                 timeUnitLabel(m_trace.time_unit), delimiterName(m_trace.delimiter)));
}

void ConnectionDialog::updateScenarioDescription() {
    m_scenarioDescription->setText(
        scenarioDescription(static_cast<Scenario>(m_scenarioCombo->currentData().toInt())));
}

} // namespace rangepilot
