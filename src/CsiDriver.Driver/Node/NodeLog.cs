using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>The node service's log lines that carry an event id (source-generated; ids 2100-2199).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Debug,
        Message = "Left {TargetPath} of volume {VolumeId} in place: this driver did not create it")]
    public static partial void LeftTargetNotCreated(ILogger logger, string volumeId, string targetPath);

    [LoggerMessage(EventId = 2150, Level = LogLevel.Warning,
        Message = "Volume {VolumeId} ({Device}): this node's format of it as {FsType} was interrupted; formatting it again")]
    public static partial void FormattingAgainAfterInterruptedFormat(ILogger logger, string volumeId, string device, string fsType);
}
