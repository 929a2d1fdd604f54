using CsiDriver.Core;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host;

/// <summary>Source-generated log messages of the host process (event ids 1000-1099).</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "csi-driver {Version} serving {DriverName} on {Endpoint}: mode {Mode}, backend {Backend}, node {NodeId}")]
    public static partial void Serving(ILogger logger, Version? version, string driverName, string endpoint, DriverMode mode, BackendKind backend, string nodeId);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug,
        Message = "gave memory back after {QuietSeconds} s without calls in {DurationMs} ms: resident {BeforeMiB} -> {AfterMiB} MiB ({FileMiB} MiB of file mappings advised out)")]
    public static partial void MemoryTrimmed(ILogger logger, double quietSeconds, long beforeMiB, long afterMiB, long fileMiB, long durationMs);
}
