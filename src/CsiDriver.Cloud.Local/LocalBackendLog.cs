using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>Source-generated log messages of the local backend (event ids 2100-2199; the freezer's are 1101-1105).</summary>
internal static partial class LocalBackendLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Modified volume {VolumeId}: {Parameters} (applied to its loop device: {Applied})")]
    public static partial void VolumeModified(ILogger logger, string volumeId, string parameters, bool applied);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Created volume {VolumeId} ({Name}, {CapacityBytes} bytes, source {Source})")]
    public static partial void VolumeCreated(ILogger logger, string volumeId, string name, long capacityBytes, string source);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Deleted volume {VolumeId} ({Name})")]
    public static partial void VolumeDeleted(ILogger logger, string volumeId, string name);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Volume {VolumeId} deleted but its image could not be removed yet")]
    public static partial void VolumeImageLeft(ILogger logger, string volumeId, Exception exception);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Information, Message = "Attached volume {VolumeId} to {LoopDevice} for node {NodeId}")]
    public static partial void VolumeAttached(ILogger logger, string volumeId, string loopDevice, string nodeId);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Loop device {LoopDevice} of volume {VolumeId} vanished; attaching again")]
    public static partial void LoopDeviceVanished(ILogger logger, string loopDevice, string volumeId);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Detached volume {VolumeId} from node {NodeId}")]
    public static partial void VolumeDetached(ILogger logger, string volumeId, string nodeId);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Information, Message = "Expanded volume {VolumeId} from {OldBytes} to {NewBytes} bytes")]
    public static partial void VolumeExpanded(ILogger logger, string volumeId, long oldBytes, long newBytes);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Information, Message = "Created snapshot {SnapshotId} ({Name}) of volume {VolumeId}")]
    public static partial void SnapshotCreated(ILogger logger, string snapshotId, string name, string volumeId);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Deleted snapshot {SnapshotId} ({Name})")]
    public static partial void SnapshotDeleted(ILogger logger, string snapshotId, string name);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information,
        Message = "Created group snapshot {GroupSnapshotId} ({Name}) of {Count} volumes, {Frozen} filesystems frozen, in {Elapsed}")]
    public static partial void GroupSnapshotCreated(ILogger logger, string groupSnapshotId, string name, int count, int frozen, TimeSpan elapsed);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Information, Message = "Deleted group snapshot {GroupSnapshotId} ({Name})")]
    public static partial void GroupSnapshotDeleted(ILogger logger, string groupSnapshotId, string name);

    // Start-up recovery (LocalStateRecovery).

    [LoggerMessage(EventId = 2120, Level = LogLevel.Information,
        Message = "Local state recovered from {StateDir}: {Volumes} volumes, {Snapshots} snapshots, {Attached} attached")]
    public static partial void Recovered(ILogger logger, string stateDir, int volumes, int snapshots, int attached);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Warning,
        Message = "Removing snapshot {SnapshotId}: a member of group snapshot {GroupSnapshotId}, which was never committed or was deleted")]
    public static partial void RemovingUncommittedMember(ILogger logger, string snapshotId, string? groupSnapshotId);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Warning, Message = "Removing {Path}, left half-written by an interrupted operation")]
    public static partial void RemovingTempFile(ILogger logger, string path);

    [LoggerMessage(EventId = 2123, Level = LogLevel.Error, Message = "Cannot read {Path}")]
    public static partial void CannotRead(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2124, Level = LogLevel.Error, Message = "Record {Path} is unreadable: its data is kept but not served")]
    public static partial void UnreadableRecord(ILogger logger, string path);

    [LoggerMessage(EventId = 2125, Level = LogLevel.Warning, Message = "Detaching {LoopDevice}: it is backed by {Path}, which belongs to no volume")]
    public static partial void DetachingOrphanLoop(ILogger logger, string loopDevice, string path);

    [LoggerMessage(EventId = 2126, Level = LogLevel.Warning, Message = "Removing {Path}: no record, left by an interrupted create or delete")]
    public static partial void RemovingOrphanImage(ILogger logger, string path);

    [LoggerMessage(EventId = 2127, Level = LogLevel.Error, Message = "Volume {VolumeId} has lost its backing file {Path}")]
    public static partial void LostBackingFile(ILogger logger, string volumeId, string path);

    [LoggerMessage(EventId = 2128, Level = LogLevel.Warning, Message = "Volume {VolumeId}: file holds {Length} bytes, record {Recorded}; adopting the file's size")]
    public static partial void AdoptingGrownFile(ILogger logger, string volumeId, long length, long recorded);

    [LoggerMessage(EventId = 2129, Level = LogLevel.Warning, Message = "Volume {VolumeId}: loop device {Old} vanished, re-attached as {New}")]
    public static partial void Reattached(ILogger logger, string volumeId, string old, string @new);

    [LoggerMessage(EventId = 2130, Level = LogLevel.Warning, Message = "Volume {VolumeId}: {LoopDevice} still shows {KernelBytes} bytes; refreshing its capacity")]
    public static partial void RefreshingCapacity(ILogger logger, string volumeId, string loopDevice, long kernelBytes);

    [LoggerMessage(EventId = 2131, Level = LogLevel.Warning, Message = "Detaching {LoopDevice} of volume {VolumeId}: not recorded as its attachment")]
    public static partial void DetachingUnrecordedLoop(ILogger logger, string loopDevice, string volumeId);

    [LoggerMessage(EventId = 2132, Level = LogLevel.Warning, Message = "Removing stale device link {Link}")]
    public static partial void RemovingStaleLink(ILogger logger, string link);
}
