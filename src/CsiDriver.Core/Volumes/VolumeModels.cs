namespace CsiDriver.Core.Volumes;

/// <summary>Where a new volume's data comes from: exactly one of the two is set.</summary>
public sealed record VolumeContentSourceSpec(string? SnapshotId, string? VolumeId);

/// <summary>A validated CreateVolume request. Byte counts of 0 mean "not specified", as in CSI.</summary>
public sealed record CreateVolumeSpec(
    string Name,
    long RequiredBytes,
    long LimitBytes,
    IReadOnlyList<VolumeCapabilitySpec> Capabilities,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyDictionary<string, string> MutableParameters,
    VolumeContentSourceSpec? ContentSource,
    TopologyRequirementSpec? AccessibilityRequirements);

/// <summary>Health of a volume as the backend sees it.</summary>
public sealed record VolumeConditionInfo(bool Abnormal, string Message);

/// <summary>A provisioned volume.</summary>
public sealed record VolumeInfo(
    string VolumeId,
    long CapacityBytes,
    IReadOnlyDictionary<string, string> VolumeContext,
    VolumeContentSourceSpec? ContentSource,
    IReadOnlyList<TopologySegments> AccessibleTopology,
    IReadOnlyList<string> PublishedNodeIds,
    VolumeConditionInfo? Condition = null);

/// <summary>A validated ControllerPublishVolume request.</summary>
public sealed record PublishSpec(
    string VolumeId,
    string NodeId,
    VolumeCapabilitySpec Capability,
    bool ReadOnly,
    IReadOnlyDictionary<string, string> VolumeContext);

/// <summary>The result of an expansion: the new capacity and whether the node must grow the filesystem.</summary>
public sealed record ExpandResult(long CapacityBytes, bool NodeExpansionRequired);

/// <summary>A point-in-time copy of a volume.</summary>
public sealed record SnapshotInfo(
    string SnapshotId,
    string SourceVolumeId,
    long SizeBytes,
    DateTimeOffset CreatedAt,
    bool ReadyToUse,
    string? GroupSnapshotId = null);

/// <summary>ListSnapshots filters; each is optional.</summary>
public sealed record SnapshotFilter(string? SnapshotId, string? SourceVolumeId);

/// <summary>One page of a listing; NextToken is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextToken);
