#include "node_directory.h"

#include <chrono>

namespace rangepilot {

NodeDirectory::NodeDirectory(ChannelSecurity security)
    : m_security(std::move(security)) {}

Status NodeDirectory::add(const HostId& id, const std::string& address) {
    Result<std::shared_ptr<grpc::Channel>> channel = makeChannel(address, m_security);
    if (!channel)
        return Error{"node " + id + " at " + address + ": " + channel.error().message};
    const std::lock_guard lock(m_mutex);
    m_nodes[id] = Node{address, v1::NodeAgent::NewStub(channel.value())};
    return {};
}

std::shared_ptr<NodeStub> NodeDirectory::stub(const HostId& id) const {
    const std::lock_guard lock(m_mutex);
    const auto found = m_nodes.find(id);
    return found == m_nodes.end() ? nullptr : found->second.stub;
}

std::string NodeDirectory::address(const HostId& id) const {
    const std::lock_guard lock(m_mutex);
    const auto found = m_nodes.find(id);
    return found == m_nodes.end() ? std::string() : found->second.address;
}

std::vector<HostId> NodeDirectory::ids() const {
    const std::lock_guard lock(m_mutex);
    std::vector<HostId> ids;
    ids.reserve(m_nodes.size());
    for (const auto& [id, node] : m_nodes)
        ids.push_back(id);
    return ids;
}

std::unique_ptr<grpc::ClientContext> NodeDirectory::context(int deadlineMs) const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadlineMs));
    addToken(*context, m_security.token);
    return context;
}

} // namespace rangepilot
