namespace CsiDriver.Core.Volumes;

/// <summary>
/// Crash-consistent group snapshots: one point in time across several volumes. Every member is an ordinary
/// snapshot too (restorable, listed, deletable through <see cref="IVolumeProvider"/>) that carries the group id.
/// Every method is idempotent; failures are <see cref="Errors.StorageException"/> with the kind the CSI spec asks for.
/// </summary>
public interface IGroupSnapshotProvider
{
    /// <summary>
    /// Creates or returns the group with this name. Same name and same set of volumes (any order) → the same group;
    /// same name, other set → AlreadyExists. A volume that does not exist → NotFound. Volumes the backend cannot
    /// snapshot at one point in time (e.g. attached to different instances) → FailedPrecondition saying why.
    /// <paramref name="deadline"/> is the caller's (null: none): a backend that waits for its members to complete
    /// answers before it, so the caller hears why it should call again instead of its own timeout.
    /// </summary>
    Task<GroupSnapshotInfo> CreateGroupSnapshotAsync(string name, IReadOnlyList<string> sourceVolumeIds,
        IReadOnlyDictionary<string, string> parameters, DateTimeOffset? deadline, CancellationToken cancellationToken);

    /// <summary>Deletes the group and its member snapshots; an unknown group is success. snapshotIds that are not
    /// this group's members → InvalidArgument (the spec's "snapshot list mismatch").</summary>
    Task DeleteGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken);

    /// <summary>The group, or null when it does not exist. snapshotIds that are not its members → InvalidArgument.</summary>
    Task<GroupSnapshotInfo?> GetGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken);
}

/// <summary>A group snapshot: ready only when every member is.</summary>
/// <param name="Members">The member snapshots that exist now (a member deleted on its own is no longer listed).</param>
public sealed record GroupSnapshotInfo(string GroupSnapshotId, IReadOnlyList<SnapshotInfo> Members, DateTimeOffset CreatedAt)
{
    public bool ReadyToUse => Members.Count > 0 && Members.All(m => m.ReadyToUse);

    /// <summary>The given ids that are not members of this group (candidates for the spec's snapshot list mismatch).</summary>
    public IReadOnlyList<string> NotMembers(IReadOnlyList<string> snapshotIds) =>
        snapshotIds.Where(id => Members.All(m => m.SnapshotId != id)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The spec's "snapshot list mismatch" (INVALID_ARGUMENT): ids the CO believes are members but that are snapshots of
    /// something else. Ids of snapshots that no longer exist are not a mismatch: a member may have been deleted alone.
    /// </summary>
    public static Errors.StorageException Mismatch(string groupSnapshotId, IReadOnlyList<string> strangers) =>
        Errors.StorageException.InvalidArgument(
            $"snapshot_ids {string.Join(", ", strangers)} are not members of group snapshot {groupSnapshotId}");
}
