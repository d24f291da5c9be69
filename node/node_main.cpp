// rangepilot-node: parses the command line and runs the node until SIGTERM or SIGINT.
// Exit codes: 0 after a clean stop (or --help, --version), 2 for a bad command line, 1 when the
// node could not start or stop cleanly (the reason is on stderr).

#include "node_options.h"
#include "node_server.h"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char* argv[]) {
    using namespace rangepilot::node;
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    rangepilot::Result<NodeOptions> options = parseNodeOptions(arguments);
    if (!options) {
        std::cerr << "rangepilot-node: " << options.error().message << std::endl;
        return 2;
    }
    if (options->help) {
        std::cout << nodeHelpText();
        return 0;
    }
    if (options->version) {
        std::cout << nodeVersionText();
        return 0;
    }
    return runNode(options.value());
}
