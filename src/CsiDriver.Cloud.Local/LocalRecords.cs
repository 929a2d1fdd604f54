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

/// <summary>The metadata file of one snapshot (snapshots/&lt;id&gt;.json). GroupSnapshotId is set on the members of a group.</summary>
public sealed record LocalSnapshotRecord(
    string SnapshotId,
    string Name,
    string SourceVolumeId,
    long SizeBytes,
    DateTimeOffset CreatedAt,
    string? GroupSnapshotId = null);

/// <summary>
/// The metadata file of one group snapshot (groups/&lt;id&gt;.json): its commit point. Written after every member's
/// image and record, deleted before them, so recovery removes members whose group never committed.
/// </summary>
/// <param name="Members">Source volume id → member snapshot id.</param>
public sealed record LocalGroupSnapshotRecord(
    string GroupSnapshotId,
    string Name,
    SortedDictionary<string, string> Members,
    DateTimeOffset CreatedAt);

/// <summary>
/// The mount points a group snapshot is about to freeze (freeze.json), written before the first fsfreeze -f and
/// removed after the last thaw: after a kill -9 in between, start-up recovery thaws every one of them.
/// </summary>
public sealed record LocalFreezeRecord(IReadOnlyList<string> MountPoints, DateTimeOffset StartedAt);
