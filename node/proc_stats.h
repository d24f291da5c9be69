#pragma once

// Host capacity and utilization of a node, read from /proc (Linux): the node process's CPU time,
// resident memory and disk I/O, and the machine's cores, memory and network interface counters.
// Nodes of one test cluster share a machine, so per-process figures are what tells them apart;
// the machine-wide ones describe capacity.
//
// The parsers take file contents so tests can feed them recorded text; the readers take the /proc
// root so tests can point them at a fake tree. A file that cannot be read or parsed gives an Error
// naming the file and the field; /proc/self/io may be unreadable (containers, hardening): its
// reader reports that as an Error and callers treat the disk figure as unknown.
//
// Cost: a few small file reads per sample; meant for once a second, not per request.

#include "result.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace rangepilot::node {

struct ProcessCpu {
    double seconds = 0.0; // user + system CPU time of the process so far
};

struct ProcessIo {
    std::uint64_t read_bytes = 0;  // storage bytes read (read_bytes in /proc/self/io)
    std::uint64_t write_bytes = 0; // storage bytes written (write_bytes)
};

struct MemoryInfo {
    std::uint64_t total_bytes = 0;     // MemTotal
    std::uint64_t available_bytes = 0; // MemAvailable
};

struct NetworkTotals {
    std::uint64_t receive_bytes = 0; // summed over interfaces but "lo"
    std::uint64_t transmit_bytes = 0;
};

// /proc/self/stat: fields 14 and 15 (utime, stime) in clock ticks. The command name (field 2)
// may contain spaces and parentheses, so parsing starts after the last ')'.
Result<ProcessCpu> parseProcessStat(std::string_view text, long ticksPerSecond);
// /proc/self/status: VmRSS in kB, as bytes.
Result<std::uint64_t> parseResidentBytes(std::string_view text);
Result<ProcessIo> parseProcessIo(std::string_view text);
Result<MemoryInfo> parseMemInfo(std::string_view text);
// /proc/net/dev: two header lines, then "iface: rx_bytes ... (8 rx fields) tx_bytes ...".
Result<NetworkTotals> parseNetDev(std::string_view text);

// One sample of everything above, read from `procRoot` ("/proc" in production).
struct ProcSample {
    std::int64_t taken_unix_ms = 0;
    ProcessCpu cpu;
    std::uint64_t resident_bytes = 0;
    bool io_known = false;
    ProcessIo io;
    MemoryInfo memory;
    NetworkTotals network;
    unsigned cpu_cores = 0; // online processors (sysconf), not from procRoot
};
// Fails only when a file every Linux has (stat, status, meminfo, net/dev) cannot be read or
// parsed; io_known says whether self/io could be.
Result<ProcSample> readProcSample(const std::string& procRoot = "/proc");

} // namespace rangepilot::node
