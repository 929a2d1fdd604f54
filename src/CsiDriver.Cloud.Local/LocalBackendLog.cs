using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>Source-generated log messages of the local backend (event ids 2100-2199).</summary>
internal static partial class LocalBackendLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Modified volume {VolumeId}: {Parameters} (applied to its loop device: {Applied})")]
    public static partial void VolumeModified(ILogger logger, string volumeId, string parameters, bool applied);
}
