namespace CsiDriver.Core.Volumes;

/// <summary>
/// The controller-side backend (a cloud or the local loop-device store). Every method is idempotent.
/// Failures are <see cref="Errors.StorageException"/> with the kind the CSI spec asks for.
/// The gRPC surface has already checked the request's shape (required fields, capability shape);
/// the provider checks what only it knows (parameters, sizes, limits, existence).
/// </summary>
public interface IVolumeProvider
{
    /// <summary>Short name for logs and metrics: "local", "aws".</summary>
    string Name { get; }

    /// <summary>True when the backend answers; false (not an exception) while it is still starting.</summary>
    Task<bool> ProbeAsync(CancellationToken cancellationToken);

    /// <summary>Creates or returns the volume with this name. Same name, different request → AlreadyExists.
    /// Capacity that cannot be met → OutOfRange. Unknown parameter → InvalidArgument naming the key.</summary>
    Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken);

    /// <summary>Deletes the volume; an unknown id is success. Attached → FailedPrecondition.</summary>
    Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken);

    /// <summary>The volume, or null when it does not exist.</summary>
    Task<VolumeInfo?> GetVolumeAsync(string volumeId, CancellationToken cancellationToken);

    /// <summary>A page of volumes. An unknown or stale token → Aborted.</summary>
    Task<Page<VolumeInfo>> ListVolumesAsync(int maxEntries, string? startingToken, CancellationToken cancellationToken);

    /// <summary>Attaches the volume to the node and returns the publish_context the node needs to find it.
    /// Unknown volume or node → NotFound; attached elsewhere for a single-node mode → FailedPrecondition;
    /// node at its attach limit → ResourceExhausted.</summary>
    Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken);

    /// <summary>Detaches the volume from the node (from every node when nodeId is null). Already detached or gone → success.</summary>
    Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken);

    /// <summary>Grows the volume to at least requiredBytes (never beyond limitBytes when set). Never shrinks.</summary>
    Task<ExpandResult> ExpandVolumeAsync(string volumeId, long requiredBytes, long limitBytes, CancellationToken cancellationToken);

    /// <summary>Applies VolumeAttributesClass parameters. Unknown key → InvalidArgument.</summary>
    Task ModifyVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> mutableParameters, CancellationToken cancellationToken);

    /// <summary>Creates or returns the snapshot with this name. Same name, other source → AlreadyExists.</summary>
    Task<SnapshotInfo> CreateSnapshotAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken);

    /// <summary>Deletes the snapshot; an unknown id is success. In use → FailedPrecondition.</summary>
    Task DeleteSnapshotAsync(string snapshotId, CancellationToken cancellationToken);

    /// <summary>The snapshot, or null when it does not exist.</summary>
    Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken);

    /// <summary>A page of snapshots matching the filter. An unknown or stale token → Aborted.</summary>
    Task<Page<SnapshotInfo>> ListSnapshotsAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken);
}
