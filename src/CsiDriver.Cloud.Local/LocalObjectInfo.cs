using CsiDriver.Core.Volumes;

namespace CsiDriver.Cloud.Local;

/// <summary>Turns records into what the CO sees: topology, publication, the volume's condition as the files and devices show it.</summary>
internal sealed class LocalObjectInfo(LocalStatePaths paths, string zone)
{
    public IReadOnlyList<TopologySegments> Topology { get; } = [new TopologySegments { [LocalVolumeProvider.ZoneKey] = zone }];

    public VolumeInfo Of(LocalVolumeRecord record)
    {
        var source = record.SourceSnapshotId is not null || record.SourceVolumeId is not null
            ? new VolumeContentSourceSpec(record.SourceSnapshotId, record.SourceVolumeId)
            : null;
        return new VolumeInfo(
            record.VolumeId,
            record.CapacityBytes,
            record.VolumeContext,
            source,
            Topology,
            record.Attachment is { } attachment ? [attachment.NodeId] : [],
            ConditionOf(record));
    }

    public static SnapshotInfo Of(LocalSnapshotRecord record) =>
        new(record.SnapshotId, record.SourceVolumeId, record.SizeBytes, record.CreatedAt, ReadyToUse: true, record.GroupSnapshotId);

    /// <summary>A group with the members that still exist (lookup: the catalog's snapshot by id).</summary>
    public static GroupSnapshotInfo Of(LocalGroupSnapshotRecord record, Func<string, LocalSnapshotRecord?> snapshot) =>
        new(record.GroupSnapshotId,
            record.Members.Values.Select(snapshot).OfType<LocalSnapshotRecord>().Select(Of).ToList(),
            record.CreatedAt);

    private VolumeConditionInfo ConditionOf(LocalVolumeRecord record)
    {
        var image = paths.VolumeImage(record.VolumeId);
        if (!File.Exists(image))
        {
            return new VolumeConditionInfo(true, $"the backing file {image} is missing");
        }
        if (record.Attachment is { } attachment && !LoopDevices.IsBackedBy(attachment.LoopDevice, image))
        {
            return new VolumeConditionInfo(true, $"loop device {attachment.LoopDevice} of the attachment to node {attachment.NodeId} vanished");
        }
        return new VolumeConditionInfo(false, "volume is healthy");
    }
}
