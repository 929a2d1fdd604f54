using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Grpc;

/// <summary>Source-generated log messages of the CSI gRPC surface (event ids 2000-2099; the per-RPC line is event 0).</summary>
internal static partial class GrpcLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "{Method} failed unexpectedly")]
    public static partial void CallCrashed(ILogger logger, Exception exception, string? method);
}
