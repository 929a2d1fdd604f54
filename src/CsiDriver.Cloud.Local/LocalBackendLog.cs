using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>Source-generated log messages of the local backend (event ids 1100-1199).</summary>
internal static partial class LocalBackendLog
{
    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Modified volume {VolumeId}: {Parameters} (applied to its loop device: {Applied})")]
    public static partial void VolumeModified(ILogger logger, string volumeId, string parameters, bool applied);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "Local state recovered from {StateDir}: {Volumes} volumes, {Snapshots} snapshots, {Attached} attached")]
    public static partial void StateRecovered(ILogger logger, string? stateDir, long volumes, long snapshots, long attached);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Warning, Message = "Removing snapshot {SnapshotId}: a member of group snapshot {GroupSnapshotId}, which was never committed or was deleted")]
    public static partial void RemovingUncommittedGroupMember(ILogger logger, string? snapshotId, string? groupSnapshotId);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Removing {Path}, left half-written by an interrupted operation")]
    public static partial void RemovingHalfWritten(ILogger logger, string? path);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Error, Message = "Cannot read {Path}")]
    public static partial void CannotRead(ILogger logger, Exception exception, string? path);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Error, Message = "Record {Path} is unreadable: its data is kept but not served")]
    public static partial void RecordUnreadable(ILogger logger, string? path);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Warning, Message = "Detaching {LoopDevice}: it is backed by {Path}, which belongs to no volume")]
    public static partial void DetachingOrphanLoop(ILogger logger, string? loopDevice, string? path);

    [LoggerMessage(EventId = 1116, Level = LogLevel.Warning, Message = "Removing {Path}: no record, left by an interrupted create or delete")]
    public static partial void RemovingUnrecorded(ILogger logger, string? path);

    [LoggerMessage(EventId = 1117, Level = LogLevel.Error, Message = "Volume {VolumeId} has lost its backing file {Path}")]
    public static partial void BackingFileLost(ILogger logger, string? volumeId, string? path);

    [LoggerMessage(EventId = 1118, Level = LogLevel.Warning, Message = "Volume {VolumeId}: file holds {Length} bytes, record {Recorded}; adopting the file's size")]
    public static partial void AdoptingFileSize(ILogger logger, string? volumeId, long length, long recorded);

    [LoggerMessage(EventId = 1119, Level = LogLevel.Warning, Message = "Volume {VolumeId}: loop device {Old} vanished, re-attached as {New}")]
    public static partial void LoopReattached(ILogger logger, string? volumeId, string? old, string? @new);

    [LoggerMessage(EventId = 1120, Level = LogLevel.Warning, Message = "Volume {VolumeId}: {LoopDevice} still shows {KernelBytes} bytes; refreshing its capacity")]
    public static partial void RefreshingLoopCapacity(ILogger logger, string? volumeId, string? loopDevice, long kernelBytes);

    [LoggerMessage(EventId = 1121, Level = LogLevel.Warning, Message = "Detaching {LoopDevice} of volume {VolumeId}: not recorded as its attachment")]
    public static partial void DetachingUnrecordedLoop(ILogger logger, string? loopDevice, string? volumeId);

    [LoggerMessage(EventId = 1122, Level = LogLevel.Warning, Message = "Removing stale device link {Link}")]
    public static partial void RemovingStaleLink(ILogger logger, string? link);
}
