using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>Source-generated log messages of the node service (event ids 2100-2199).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Debug,
        Message = "Left {TargetPath} of volume {VolumeId} in place: this driver did not create it")]
    public static partial void LeftTargetNotCreated(ILogger logger, string volumeId, string targetPath);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "Volume {VolumeId} is not published at {TargetPath}")]
    public static partial void NotPublished(ILogger logger, string? volumeId, string? targetPath);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Left {Path} in place: it is not an empty directory or file this driver created")]
    public static partial void LeftInPlace(ILogger logger, string? path);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Could not remove {Path}")]
    public static partial void CouldNotRemove(ILogger logger, Exception exception, string? path);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Debug, Message = "Volume {VolumeId} is already staged at {StagingPath}")]
    public static partial void AlreadyStaged(ILogger logger, string? volumeId, string? stagingPath);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Debug, Message = "Volume {VolumeId} is not staged at {StagingPath}")]
    public static partial void NotStaged(ILogger logger, string? volumeId, string? stagingPath);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Volume {VolumeId} is staged but its xfs filesystem could not grow to its device: {Error}")]
    public static partial void XfsGrowFailed(ILogger logger, string? volumeId, string? error);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Volume {VolumeId} is already formatted as {FsType}; its format options do not apply")]
    public static partial void AlreadyFormatted(ILogger logger, string? volumeId, string? fsType);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning,
        Message = "Volume {VolumeId} ({Device}): this node's format of it as {FsType} was interrupted; formatting it again")]
    public static partial void FormattingAgainAfterInterruptedFormat(ILogger logger, string volumeId, string device, string fsType);
}
