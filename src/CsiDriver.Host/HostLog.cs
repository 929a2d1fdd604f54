using CsiDriver.Core;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host;

/// <summary>Source-generated log messages of the host process (event ids 1000-1099).</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "csi-driver {Version} serving {DriverName} on {Endpoint}: mode {Mode}, backend {Backend}, node {NodeId}")]
    public static partial void Serving(ILogger logger, Version? version, string driverName, string endpoint, DriverMode mode, BackendKind backend, string nodeId);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "advised the kernel to page out {MiB} MiB of the executable's start-up pages")]
    public static partial void StartupPagesReleased(ILogger logger, long miB);
}
