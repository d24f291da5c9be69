// rangepilot-load: the workload driver for a cluster of rangepilot-nodes (load_driver.h).
// Exit codes: 0 ok, 1 runtime failure or verification failed, 2 bad flags.

#include "load_driver.h"
#include "load_options.h"

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    // A closed stdout pipe (rangepilot-load --json | head) should end in a write error, not
    // a signal in the middle of a gRPC call.
    std::signal(SIGPIPE, SIG_IGN);
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    const auto command = rangepilot::parseLoadArguments(arguments);
    if (!command) {
        std::cerr << "rangepilot-load: " << command.error().message << "\n";
        return 2;
    }
    if (command->help) {
        std::cout << rangepilot::loadHelpText();
        return 0;
    }
    return rangepilot::runLoadCommand(command->options, std::cout, std::cerr);
}
