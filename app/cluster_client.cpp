#include "cluster_client.h"

#include "proto_convert.h"
#include "random.h"
#include "rangepilot/v1/node.grpc.pb.h"

#include <algorithm>
#include <map>
#include <thread>

namespace rangepilot {

namespace {

using Clock = std::chrono::steady_clock;

// The protocol's largest Scan page (node.proto, Limits).
constexpr std::size_t kMaxScanPageEntries = 10'000;

ValueVersion fromProto(const v1::Version& version) {
    return ValueVersion{version.hlc(), version.node()};
}

// gRPC deadlines are wall-clock time points; our budget is kept on the steady clock so that a
// clock step cannot stretch or cut a call.
std::chrono::system_clock::time_point wallDeadline(Clock::time_point deadline) {
    const auto remaining = std::max(Clock::duration::zero(), deadline - Clock::now());
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(remaining);
}

// Each thread jitters its backoff with its own generator: threads that failed together must not
// all come back at the same instant. Seeded by a counter, not the clock, so runs stay repeatable
// per thread order.
Random& jitterRandom() {
    static std::atomic<std::uint64_t> nextStream{1};
    thread_local Random random = Random::forStream(0x6a17'7e5e'ed00'0001ULL, nextStream++);
    return random;
}

std::string describeNode(const std::string& id, const std::string& address) {
    return id.empty() ? address : "node " + id + " (" + address + ")";
}

} // namespace

std::strong_ordering ValueVersion::operator<=>(const ValueVersion& other) const {
    if (const auto byHlc = hlc <=> other.hlc; byHlc != 0)
        return byHlc;
    // std::string's <=> compares by char_traits<char>, which orders as unsigned bytes: the
    // protocol's byte order for node ids.
    return node <=> other.node;
}

std::string formatVersion(const ValueVersion& version) {
    if (version.empty())
        return "none";
    return std::to_string(version.hlc) + "@" + formatKey(version.node);
}

bool writeMayHaveApplied(grpc::StatusCode code) {
    switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
        return false;
    default:
        // DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, INTERNAL, ABORTED, DATA_LOSS and UNAVAILABLE: the
        // request may have reached the node and been stored before the answer was lost.
        return true;
    }
}

std::string statusCodeName(grpc::StatusCode code) {
    // describeStatus() owns the code names; its text is "NAME: message".
    const std::string described = describeStatus(grpc::Status(code, std::string()));
    return described.substr(0, described.find(':'));
}

// One endpoint: its channel and stub (thread-safe, shared by all calls) and the id it reported.
struct ClusterClient::Node {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::NodeAgent::Stub> stub;
    std::string id; // guarded by m_nodesMutex; routing snapshots keep their own copy
};

// An immutable routing snapshot: a table and the nodes its owners map to.
struct ClusterClient::Routing {
    std::shared_ptr<const OwnershipTable> table;
    std::map<std::string, std::shared_ptr<Node>, std::less<>> nodesById;

    std::shared_ptr<Node> nodeFor(const std::string& id) const {
        const auto found = nodesById.find(id);
        return found == nodesById.end() ? nullptr : found->second;
    }
};

ClusterClient::ClusterClient(ClusterClientOptions options)
    : m_options(std::move(options)) {}

ClusterClient::~ClusterClient() = default;

Result<std::unique_ptr<ClusterClient>> ClusterClient::connect(ClusterClientOptions options) {
    if (options.endpoints.empty())
        return Error{"no node endpoints given"};
    std::unique_ptr<ClusterClient> client(new ClusterClient(std::move(options)));
    for (const std::string& address : client->m_options.endpoints) {
        auto channel = makeChannel(address, client->m_options.security);
        if (!channel)
            return Error{address + ": " + channel.error().message};
        auto node = std::make_shared<Node>();
        node->address = address;
        node->channel = std::move(channel.value());
        node->stub = v1::NodeAgent::NewStub(node->channel);
        client->m_nodes.push_back(std::move(node));
    }
    if (Status probed = client->probeEndpoints(false); !probed)
        return Error{probed.message()};
    if (Status fetched = client->fetchTable(0); !fetched)
        return Error{fetched.message()};
    return client;
}

Status ClusterClient::probeEndpoints(bool onlyUnknown) {
    std::string failures;
    bool anyAnswered = false;
    // Peers learned in one round are probed in the next; the node count bounds the rounds.
    for (std::size_t round = 0; round < 8; ++round) {
        std::vector<std::shared_ptr<Node>> toProbe;
        {
            std::lock_guard lock(m_nodesMutex);
            for (const auto& node : m_nodes) {
                if (!onlyUnknown || node->id.empty())
                    toProbe.push_back(node);
            }
        }
        if (toProbe.empty())
            break;
        std::vector<NodeEndpoint> learnedPeers;
        for (const auto& node : toProbe) {
            grpc::ClientContext context;
            context.set_deadline(wallDeadline(Clock::now() + m_options.connect_timeout));
            v1::NodeInfo info;
            const grpc::Status status = node->stub->GetNodeInfo(&context, {}, &info);
            if (!status.ok() || info.node_id().empty()) {
                failures += "\n  " + node->address + ": " +
                            (status.ok() ? "answered without a node id" : describeStatus(status));
                continue;
            }
            anyAnswered = true;
            {
                std::lock_guard lock(m_nodesMutex);
                node->id = info.node_id();
            }
            for (const v1::PeerStatus& peer : info.peers()) {
                if (!peer.address().empty())
                    learnedPeers.push_back({peer.node_id(), peer.address()});
            }
        }
        if (!addPeers(learnedPeers))
            break;
        onlyUnknown = true; // later rounds only look at the peers just added
    }
    if (!anyAnswered && !failures.empty())
        return Error{"no node answered GetNodeInfo:" + failures};
    return Status::success();
}

bool ClusterClient::addPeers(const std::vector<NodeEndpoint>& peers) {
    bool added = false;
    std::lock_guard lock(m_nodesMutex);
    for (const NodeEndpoint& peer : peers) {
        const bool known = std::any_of(m_nodes.begin(), m_nodes.end(), [&](const auto& node) {
            return node->address == peer.address ||
                   (!peer.node_id.empty() && node->id == peer.node_id);
        });
        if (known)
            continue;
        auto channel = makeChannel(peer.address, m_options.security);
        if (!channel)
            continue; // the same security worked for the given endpoints; a peer that fails is
                      // skipped
        auto node = std::make_shared<Node>();
        node->address = peer.address;
        node->channel = std::move(channel.value());
        node->stub = v1::NodeAgent::NewStub(node->channel);
        m_nodes.push_back(std::move(node));
        added = true;
    }
    return added;
}

bool ClusterClient::placeUnknownNodes() {
    std::lock_guard refreshLock(m_refreshMutex);
    // At most one probe round a second: a silent endpoint costs connect_timeout per round, and
    // every thread routing to the unplaced owner comes through here.
    const Clock::time_point now = Clock::now();
    if (now - m_lastProbe >= std::chrono::seconds(1)) {
        m_lastProbe = now;
        (void)probeEndpoints(true);
        publishRouting(routing()->table);
    }
    std::lock_guard lock(m_nodesMutex);
    return std::any_of(m_nodes.begin(), m_nodes.end(),
                       [](const auto& node) { return node->id.empty(); });
}

std::vector<HostId> ClusterClient::unplacedOwners() const {
    std::vector<HostId> unplaced;
    const auto current = routing();
    if (!current)
        return unplaced;
    for (const Shard& shard : current->table->shards()) {
        if (!current->nodeFor(shard.owner) &&
            std::find(unplaced.begin(), unplaced.end(), shard.owner) == unplaced.end())
            unplaced.push_back(shard.owner);
    }
    return unplaced;
}

std::vector<std::shared_ptr<ClusterClient::Node>> ClusterClient::knownNodes() const {
    std::lock_guard lock(m_nodesMutex);
    return m_nodes;
}

std::shared_ptr<const ClusterClient::Routing> ClusterClient::routing() const {
    return m_routing.load(std::memory_order_acquire);
}

void ClusterClient::publishRouting(std::shared_ptr<const OwnershipTable> table) {
    auto next = std::make_shared<Routing>();
    next->table = std::move(table);
    std::lock_guard lock(m_nodesMutex);
    for (const auto& node : m_nodes) {
        if (!node->id.empty())
            next->nodesById.emplace(node->id, node);
    }
    m_routing.store(std::move(next), std::memory_order_release);
}

Status ClusterClient::fetchTable(std::uint64_t routedEpoch) {
    std::lock_guard refreshLock(m_refreshMutex);
    const auto current = routing();
    const std::uint64_t currentEpoch = current ? current->table->epoch() : 0;
    if (current && currentEpoch > routedEpoch)
        return Status::success(); // another thread refreshed while this one waited
    ++m_tableFetches;

    std::shared_ptr<const OwnershipTable> newest;
    std::string failures;
    for (const auto& node : knownNodes()) {
        grpc::ClientContext context;
        context.set_deadline(wallDeadline(Clock::now() + m_options.connect_timeout));
        v1::OwnershipTable reply;
        const grpc::Status status = node->stub->GetTable(&context, {}, &reply);
        if (!status.ok()) {
            failures += "\n  " + node->address + ": " + describeStatus(status);
            continue;
        }
        if (reply.epoch() == 0 || reply.shards_size() == 0) {
            failures += "\n  " + node->address + ": has no ownership table yet";
            continue;
        }
        auto table = rangepilot::fromProto(reply, "GetTable from " + node->address);
        if (!table) {
            failures += "\n  " + table.error().message;
            continue;
        }
        if (!newest || table->epoch() > newest->epoch())
            newest = std::make_shared<const OwnershipTable>(std::move(table.value()));
    }
    if (!newest) {
        if (current)
            return Error{"table refresh failed:" + failures};
        return Error{"no node gave an ownership table:" + failures};
    }
    if (current && newest->epoch() <= currentEpoch)
        return Status::success();

    // A new table may name owners this client has not placed yet: look for them first.
    const bool ownerUnknown = [&] {
        std::lock_guard lock(m_nodesMutex);
        for (const HostId& host : newest->hosts()) {
            const bool placed = std::any_of(m_nodes.begin(), m_nodes.end(),
                                            [&](const auto& node) { return node->id == host; });
            if (!placed)
                return true;
        }
        return false;
    }();
    if (ownerUnknown)
        (void)probeEndpoints(true); // best effort: a call to an unplaced owner reports it
    publishRouting(std::move(newest));
    if (current)
        ++m_tableRefreshes;
    return Status::success();
}

Status ClusterClient::refreshTable() {
    const auto current = routing();
    return fetchTable(current ? current->table->epoch() : 0);
}

std::shared_ptr<const OwnershipTable> ClusterClient::table() const {
    const auto current = routing();
    return current ? current->table : nullptr;
}

std::vector<NodeEndpoint> ClusterClient::endpoints() const {
    std::vector<NodeEndpoint> result;
    std::lock_guard lock(m_nodesMutex);
    for (const auto& node : m_nodes)
        result.push_back({node->id, node->address});
    return result;
}

std::string ClusterClient::addressOf(const std::string& nodeId) const {
    std::lock_guard lock(m_nodesMutex);
    for (const auto& node : m_nodes) {
        if (node->id == nodeId)
            return node->address;
    }
    return {};
}

ClientCounters ClusterClient::counters() const {
    ClientCounters counters;
    counters.calls = m_calls.load();
    counters.stale_epoch_retries = m_staleEpochRetries.load();
    counters.unavailable_retries = m_unavailableRetries.load();
    counters.retries = counters.stale_epoch_retries + counters.unavailable_retries;
    counters.table_fetches = m_tableFetches.load();
    counters.table_refreshes = m_tableRefreshes.load();
    const auto current = routing();
    counters.table_epoch = current ? current->table->epoch() : 0;
    return counters;
}

void ClusterClient::backoff(int unavailableAttempt, Clock::time_point deadline) const {
    // Exponential from initial_backoff, capped, with "equal jitter": half fixed, half random.
    auto delay = m_options.initial_backoff;
    for (int i = 1; i < unavailableAttempt && delay < m_options.max_backoff; ++i)
        delay *= 2;
    delay = std::min(delay, m_options.max_backoff);
    const auto half = delay / 2;
    const auto jitter = std::chrono::milliseconds(static_cast<std::int64_t>(
        jitterRandom().uniform() * static_cast<double>(half.count() + 1)));
    const auto wakeUp = std::min(deadline, Clock::now() + half + jitter);
    std::this_thread::sleep_until(wakeUp);
}

template <typename Rpc>
Status ClusterClient::routedCall(const char* what, std::string_view key, bool isWrite, Rpc rpc,
                                 CallReport* report) {
    CallReport ignored;
    CallReport& outcome = report ? *report : ignored;
    outcome = CallReport{};
    ++m_calls;
    const Clock::time_point deadline = Clock::now() + m_options.call_deadline;
    grpc::Status last;
    std::string lastNode;
    int unavailableAttempts = 0;
    for (int attempt = 1;; ++attempt) {
        outcome.attempts = attempt;
        const auto snapshot = routing();
        const Shard& shard = snapshot->table->shardFor(key);
        const std::uint64_t epoch = snapshot->table->epoch();
        const std::shared_ptr<Node> node = snapshot->nodeFor(shard.owner);
        bool ownerMayAppear = true;
        if (!node) {
            // The table names an owner this client cannot place: ask the endpoints that have not
            // answered yet (and their peers). When every endpoint answered and none is the
            // owner, waiting cannot help: fail now with a message that says what to give.
            lastNode = "node " + shard.owner;
            ownerMayAppear = placeUnknownNodes();
            last = grpc::Status(
                grpc::StatusCode::UNAVAILABLE,
                ownerMayAppear
                    ? "not reachable yet (owner of shard " + std::to_string(shard.id) + ")"
                    : "no known endpoint is this node (owner of shard " + std::to_string(shard.id) +
                          "); give its address with the others");
        } else {
            lastNode = describeNode(shard.owner, node->address);
            grpc::ClientContext context;
            context.set_deadline(wallDeadline(deadline));
            if (isWrite)
                addToken(context, m_options.security.token);
            last = rpc(*node->stub, context, epoch);
            if (last.ok()) {
                outcome.code = grpc::StatusCode::OK;
                return Status::success();
            }
            if (isWrite && writeMayHaveApplied(last.error_code()))
                ++outcome.ambiguous_attempts;
        }

        const auto mismatch = epochMismatchOf(last);
        const bool retryable =
            mismatch.has_value() ||
            (last.error_code() == grpc::StatusCode::UNAVAILABLE && ownerMayAppear);
        if (!retryable || attempt >= m_options.max_attempts || Clock::now() >= deadline)
            break;
        if (mismatch) {
            ++m_staleEpochRetries;
            // A failed refresh, or one that found nothing newer (the node disagrees about the key
            // at our own epoch), is waited out like an unavailable node.
            const bool refreshed = fetchTable(epoch).ok() && routing()->table->epoch() > epoch;
            if (!refreshed)
                backoff(++unavailableAttempts, deadline);
        } else {
            ++m_unavailableRetries;
            backoff(++unavailableAttempts, deadline);
        }
    }
    outcome.code = last.error_code();
    std::string message =
        std::string(what) + " " + formatKey(key) + ": " + lastNode + ": " + describeStatus(last);
    if (outcome.attempts > 1)
        message += " (after " + std::to_string(outcome.attempts) + " attempts)";
    return Error{std::move(message)};
}

Result<ReadValue> ClusterClient::get(const Key& key, CallReport* report) {
    v1::GetResponse response;
    const Status status = routedCall(
        "get", key, false,
        [&](v1::NodeAgent::Stub& stub, grpc::ClientContext& context, std::uint64_t epoch) {
            v1::GetRequest request;
            request.set_epoch(epoch);
            request.set_key(key);
            response.Clear();
            return stub.Get(&context, request, &response);
        },
        report);
    if (!status)
        return Error{status.message()};
    ReadValue read;
    read.found = response.found();
    read.value = std::move(*response.mutable_value());
    read.version = fromProto(response.version());
    return read;
}

Result<WriteAck> ClusterClient::put(const Key& key, const std::string& value, CallReport* report) {
    v1::PutResponse response;
    const Status status = routedCall(
        "put", key, true,
        [&](v1::NodeAgent::Stub& stub, grpc::ClientContext& context, std::uint64_t epoch) {
            v1::PutRequest request;
            request.set_epoch(epoch);
            request.set_key(key);
            request.set_value(value);
            response.Clear();
            return stub.Put(&context, request, &response);
        },
        report);
    if (!status)
        return Error{status.message()};
    return WriteAck{fromProto(response.version()), true};
}

Result<WriteAck> ClusterClient::remove(const Key& key, CallReport* report) {
    v1::DeleteResponse response;
    const Status status = routedCall(
        "delete", key, true,
        [&](v1::NodeAgent::Stub& stub, grpc::ClientContext& context, std::uint64_t epoch) {
            v1::DeleteRequest request;
            request.set_epoch(epoch);
            request.set_key(key);
            response.Clear();
            return stub.Delete(&context, request, &response);
        },
        report);
    if (!status)
        return Error{status.message()};
    return WriteAck{fromProto(response.version()), response.existed()};
}

Result<ScanResult> ClusterClient::scanPage(const KeyRange& range, std::size_t limit,
                                           CallReport* report) {
    v1::ScanResponse response;
    const Status status = routedCall(
        "scan", range.start, false,
        [&](v1::NodeAgent::Stub& stub, grpc::ClientContext& context, std::uint64_t epoch) {
            v1::ScanRequest request;
            request.set_epoch(epoch);
            *request.mutable_range() = toProto(range);
            request.set_limit(static_cast<std::uint32_t>(limit));
            response.Clear();
            return stub.Scan(&context, request, &response);
        },
        report);
    if (!status)
        return Error{status.message()};
    ScanResult page;
    page.entries.reserve(static_cast<std::size_t>(response.entries_size()));
    for (v1::Entry& entry : *response.mutable_entries()) {
        page.entries.push_back(ScanEntry{std::move(*entry.mutable_key()),
                                         std::move(*entry.mutable_value()),
                                         fromProto(entry.version())});
    }
    page.resume_key = std::move(*response.mutable_resume_key());
    page.pages = 1;
    return page;
}

Result<ScanResult> ClusterClient::scan(const KeyRange& range, std::size_t limit,
                                       CallReport* report) {
    CallReport total;
    ScanResult result;
    Key cursor = range.start;
    for (;;) {
        std::size_t pageLimit = kMaxScanPageEntries;
        if (limit != 0)
            pageLimit = std::min(pageLimit, limit - result.entries.size());
        CallReport pageReport;
        auto page = scanPage(KeyRange{cursor, range.end}, pageLimit, &pageReport);
        total.attempts += pageReport.attempts;
        total.code = pageReport.code;
        if (!page) {
            if (report)
                *report = total;
            return page.error();
        }
        ++result.pages;
        for (ScanEntry& entry : page->entries)
            result.entries.push_back(std::move(entry));
        const Key& resume = page->resume_key;
        if (resume.empty() || (!range.end.empty() && resume >= range.end))
            break;
        if (resume <= cursor) {
            if (report)
                *report = total;
            return Error{"scan " + formatKeyRange(range) + ": the node's resume key " +
                         formatKey(resume) + " does not advance past " + formatKey(cursor)};
        }
        cursor = resume;
        if (limit != 0 && result.entries.size() >= limit) {
            result.resume_key = cursor;
            break;
        }
    }
    if (report)
        *report = total;
    return result;
}

} // namespace rangepilot
