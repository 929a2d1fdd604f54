namespace CsiDriver.Cloud.Local;

/// <summary>Where a volume is attached: the node and the loop device behind devices/&lt;volume-id&gt;.</summary>
public sealed record LocalAttachment(string NodeId, string LoopDevice, bool ReadOnly);

/// <summary>
/// The metadata file of one volume (volumes/&lt;id&gt;.json). Its presence is the volume's commit point.
/// MutableParameters (see <see cref="LocalMutableParameters"/>) is absent from records written before it existed.
/// </summary>
public sealed record LocalVolumeRecord(
    string VolumeId,
    string Name,
    long CapacityBytes,
    Dictionary<string, string> Parameters,
    Dictionary<string, string> VolumeContext,
    string? SourceSnapshotId,
    string? SourceVolumeId,
    DateTimeOffset CreatedAt,
    LocalAttachment? Attachment,
    Dictionary<string, string>? MutableParameters = null);

/// <summary>The metadata file of one snapshot (snapshots/&lt;id&gt;.json).</summary>
public sealed record LocalSnapshotRecord(
    string SnapshotId,
    string Name,
    string SourceVolumeId,
    long SizeBytes,
    DateTimeOffset CreatedAt);
