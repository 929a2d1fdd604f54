using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>The local backend's volume, attachment, snapshot and group snapshot operations (event ids 1130-1149).</summary>
internal static partial class LocalBackendLog
{
    [LoggerMessage(EventId = 1130, Level = LogLevel.Information, Message = "Created volume {VolumeId} ({Name}, {CapacityBytes} bytes, source {Source})")]
    public static partial void VolumeCreated(ILogger logger, string volumeId, string name, long capacityBytes, string source);

    [LoggerMessage(EventId = 1131, Level = LogLevel.Information, Message = "Deleted volume {VolumeId} ({Name})")]
    public static partial void VolumeDeleted(ILogger logger, string volumeId, string name);

    [LoggerMessage(EventId = 1132, Level = LogLevel.Warning, Message = "Volume {VolumeId} deleted but its image could not be removed yet")]
    public static partial void VolumeImageLeft(ILogger logger, string volumeId, Exception exception);

    [LoggerMessage(EventId = 1133, Level = LogLevel.Information, Message = "Attached volume {VolumeId} to {LoopDevice} for node {NodeId}")]
    public static partial void VolumeAttached(ILogger logger, string volumeId, string loopDevice, string nodeId);

    [LoggerMessage(EventId = 1134, Level = LogLevel.Warning, Message = "Loop device {LoopDevice} of volume {VolumeId} vanished; attaching again")]
    public static partial void LoopDeviceVanished(ILogger logger, string loopDevice, string volumeId);

    [LoggerMessage(EventId = 1135, Level = LogLevel.Information, Message = "Detached volume {VolumeId} from node {NodeId}")]
    public static partial void VolumeDetached(ILogger logger, string volumeId, string nodeId);

    [LoggerMessage(EventId = 1136, Level = LogLevel.Information, Message = "Expanded volume {VolumeId} from {OldBytes} to {NewBytes} bytes")]
    public static partial void VolumeExpanded(ILogger logger, string volumeId, long oldBytes, long newBytes);

    [LoggerMessage(EventId = 1137, Level = LogLevel.Information, Message = "Created snapshot {SnapshotId} ({Name}) of volume {VolumeId}")]
    public static partial void SnapshotCreated(ILogger logger, string snapshotId, string name, string volumeId);

    [LoggerMessage(EventId = 1138, Level = LogLevel.Information, Message = "Deleted snapshot {SnapshotId} ({Name})")]
    public static partial void SnapshotDeleted(ILogger logger, string snapshotId, string name);

    [LoggerMessage(EventId = 1139, Level = LogLevel.Information,
        Message = "Created group snapshot {GroupSnapshotId} ({Name}) of {Count} volumes, {Frozen} filesystems frozen, in {Elapsed}")]
    public static partial void GroupSnapshotCreated(ILogger logger, string groupSnapshotId, string name, int count, int frozen, TimeSpan elapsed);

    [LoggerMessage(EventId = 1140, Level = LogLevel.Information, Message = "Deleted group snapshot {GroupSnapshotId} ({Name})")]
    public static partial void GroupSnapshotDeleted(ILogger logger, string groupSnapshotId, string name);
}
