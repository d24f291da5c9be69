#include "peer_links.h"

#include <future>

namespace rangepilot::node {

namespace {

constexpr auto kPingPeriod = std::chrono::seconds(1);
constexpr auto kPingDeadline = std::chrono::seconds(1);

std::int64_t unixNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t unixNowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

Result<std::unique_ptr<PeerLinks>> PeerLinks::create(std::string selfId,
                                                     std::vector<PeerAddress> peers,
                                                     const ChannelSecurity& security) {
    // Pings and GetTable are reads: no token on these channels.
    ChannelSecurity peerSecurity = security;
    peerSecurity.token.clear();
    std::vector<std::unique_ptr<Link>> links;
    for (PeerAddress& peer : peers) {
        Result<std::shared_ptr<grpc::Channel>> channel = makeChannel(peer.address, peerSecurity);
        if (!channel)
            return Error{"peer " + peer.id + ": " + channel.error().message};
        auto link = std::make_unique<Link>();
        link->channel = std::move(channel.value());
        link->stub = v1::NodeAgent::NewStub(link->channel);
        link->status.set_node_id(peer.id);
        link->status.set_address(peer.address);
        link->status.set_last_error("not pinged yet");
        link->peer = std::move(peer);
        links.push_back(std::move(link));
    }
    return std::unique_ptr<PeerLinks>(new PeerLinks(std::move(selfId), std::move(links)));
}

PeerLinks::PeerLinks(std::string selfId, std::vector<std::unique_ptr<Link>> links)
    : m_selfId(std::move(selfId))
    , m_links(std::move(links)) {}

PeerLinks::~PeerLinks() {
    stop();
}

void PeerLinks::start() {
    std::lock_guard lock(m_mutex);
    if (!m_threads.empty() || m_stopping)
        return;
    for (const std::unique_ptr<Link>& link : m_links)
        m_threads.emplace_back([this, &link = *link] { pingLoop(link); });
}

void PeerLinks::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    for (std::thread& thread : m_threads)
        thread.join();
    m_threads.clear();
}

void PeerLinks::pingLoop(Link& link) {
    for (;;) {
        const auto next = std::chrono::steady_clock::now() + kPingPeriod;
        pingOnce(link);
        std::unique_lock lock(m_mutex);
        if (m_wake.wait_until(lock, next, [this] { return m_stopping; }))
            return;
    }
}

void PeerLinks::pingOnce(Link& link) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kPingDeadline);
    v1::PingRequest request;
    request.set_from_node(m_selfId);
    request.set_sent_unix_us(unixNowUs());
    v1::PingResponse response;
    const auto started = std::chrono::steady_clock::now();
    const grpc::Status status = link.stub->Ping(&context, request, &response);
    const std::chrono::duration<double, std::milli> rtt =
        std::chrono::steady_clock::now() - started;

    std::string error;
    if (!status.ok())
        error = describeStatus(status);
    else if (response.node_id() != link.peer.id)
        error = "answered as node '" + response.node_id() + "', expected '" + link.peer.id + "'";

    if (!error.empty()) {
        // A peer that is down puts the channel into exponential reconnect backoff; start over so
        // the next ping (a second from now) really tries to connect.
        grpc::experimental::ChannelResetConnectionBackoff(link.channel.get());
    }
    std::lock_guard lock(m_mutex);
    link.status.set_reachable(error.empty());
    link.status.set_last_error(error);
    if (error.empty())
        link.status.set_rtt_ms(rtt.count());
    link.status.set_measured_unix_ms(unixNowMs());
}

std::vector<v1::PeerStatus> PeerLinks::statuses() const {
    std::lock_guard lock(m_mutex);
    std::vector<v1::PeerStatus> result;
    result.reserve(m_links.size());
    for (const std::unique_ptr<Link>& link : m_links)
        result.push_back(link->status);
    return result;
}

std::vector<PeerTable> PeerLinks::fetchTables(std::chrono::milliseconds deadline,
                                              std::vector<std::string>* failures) const {
    struct Answer {
        grpc::Status status;
        v1::OwnershipTable table;
    };
    // All at once: a node restarting among unreachable peers waits one deadline, not one each.
    std::vector<std::future<Answer>> answers;
    for (const std::unique_ptr<Link>& link : m_links) {
        answers.push_back(std::async(std::launch::async, [&stub = *link->stub, deadline] {
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() + deadline);
            Answer answer;
            answer.status = stub.GetTable(&context, v1::GetTableRequest(), &answer.table);
            return answer;
        }));
    }
    std::vector<PeerTable> tables;
    for (std::size_t i = 0; i < answers.size(); ++i) {
        Answer answer = answers[i].get();
        const PeerAddress& peer = m_links[i]->peer;
        if (answer.status.ok()) {
            tables.push_back(PeerTable{peer.id, std::move(answer.table)});
        } else if (failures != nullptr) {
            failures->push_back("peer " + peer.id + " (" + peer.address +
                                "): " + describeStatus(answer.status));
        }
    }
    return tables;
}

} // namespace rangepilot::node
