using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using CsiDriver.Core.Volumes;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Group snapshots of the local backend: one point in time across every member. Each member that is attached and
/// mounted read-write has its filesystem frozen (fsfreeze, through any of its mount points the controller sees),
/// then every image is copied (reflink where the filesystem has it), then everything is thawed — in a finally path,
/// and after a crash by the start-up recovery from the freeze record. Detached members take no writes, so their
/// copy is already of that point in time. Members are ordinary snapshots carrying the group id.
/// The caller holds the keys of the group, its member volumes and member snapshots, and (to create) the freeze record's.
/// </summary>
internal sealed class LocalGroupSnapshots(
    LocalStatePaths paths,
    LocalCatalog catalog,
    LocalImages images,
    FilesystemFreezer freezer,
    IMountTable mounts,
    ILogger logger)
{
    /// <summary>Checks the parameters (the local backend takes only the CO's own csi.storage.k8s.io/ ones).</summary>
    public static void EnsureParameters(IReadOnlyDictionary<string, string> parameters)
    {
        foreach (var key in parameters.Keys.Order(StringComparer.Ordinal))
        {
            if (!key.StartsWith(LocalVolumeProvider.CsiKeyPrefix, StringComparison.Ordinal))
            {
                throw StorageException.InvalidArgument($"unknown group snapshot parameter '{key}': the local backend has none");
            }
        }
    }

    public async Task<GroupSnapshotInfo> CreateAsync(string name, SortedSet<string> wanted)
    {
        var groupId = LocalStatePaths.GroupIdFor(name);
        if (catalog.Group(groupId) is { } existing)
        {
            if (existing.Name != name || !existing.Members.Keys.SequenceEqual(wanted, StringComparer.Ordinal))
            {
                throw StorageException.AlreadyExists(
                    $"group snapshot {name} already exists as {groupId} of volumes {string.Join(", ", existing.Members.Keys)}, not of {string.Join(", ", wanted)}");
            }
            return InfoOf(existing);
        }
        var sources = wanted.Select(id => (Id: id, Record: catalog.Volume(id))).ToList();
        var missing = sources.Where(s => s.Record is null).Select(s => s.Id).ToList();
        if (missing.Count > 0)
        {
            throw StorageException.NotFound($"source volumes {string.Join(", ", missing)} not found");
        }
        var volumes = sources.Select(s => s.Record!).ToList();
        foreach (var source in volumes.Where(s => !File.Exists(paths.VolumeImage(s.VolumeId))))
        {
            throw StorageException.FailedPrecondition($"the backing file of volume {source.VolumeId} is missing: {paths.VolumeImage(source.VolumeId)}");
        }
        var mountPoints = volumes.Select(FreezePointOf).OfType<string>().ToList();

        var members = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var createdAt = DateTimeOffset.UtcNow;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await using (await freezer.FreezeAsync(mountPoints).ConfigureAwait(false))
            {
                createdAt = DateTimeOffset.UtcNow;
                foreach (var source in volumes)
                {
                    var snapshotId = LocalStatePaths.MemberSnapshotIdFor(name, source.VolumeId);
                    await images.MakeAsync(paths.SnapshotImage(snapshotId), paths.VolumeImage(source.VolumeId), source.CapacityBytes).ConfigureAwait(false);
                    members[source.VolumeId] = snapshotId;
                }
            }
            // Members first, the group record last: the group record is the commit point.
            foreach (var source in volumes)
            {
                var snapshotId = members[source.VolumeId];
                var member = new LocalSnapshotRecord(snapshotId, $"{name}/{source.VolumeId}", source.VolumeId, source.CapacityBytes, createdAt, groupId);
                AtomicFile.WriteJson(paths.SnapshotRecord(snapshotId), member, LocalJsonContext.Default.LocalSnapshotRecord);
                catalog.Put(member);
            }
            var record = new LocalGroupSnapshotRecord(groupId, name, members, createdAt);
            AtomicFile.WriteJson(paths.GroupRecord(groupId), record, LocalJsonContext.Default.LocalGroupSnapshotRecord);
            catalog.Put(record);
            LocalBackendLog.GroupSnapshotCreated(logger, groupId, name, volumes.Count, mountPoints.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            return InfoOf(record);
        }
        catch
        {
            // Nothing was committed: remove the members made so far (records, then images).
            foreach (var snapshotId in members.Values)
            {
                if (catalog.RemoveSnapshot(snapshotId))
                {
                    AtomicFile.TryDelete(paths.SnapshotRecord(snapshotId));
                }
                AtomicFile.TryDelete(paths.SnapshotImage(snapshotId));
            }
            throw;
        }
    }

    public void Delete(LocalGroupSnapshotRecord record, IReadOnlyList<string> snapshotIds)
    {
        EnsureMembers(InfoOf(record), snapshotIds);
        // The group record goes first: once it is gone the group is gone, and recovery removes leftover members.
        File.Delete(paths.GroupRecord(record.GroupSnapshotId));
        AtomicFile.SyncDirectory(paths.GroupsDir);
        catalog.RemoveGroup(record.GroupSnapshotId);
        foreach (var snapshotId in record.Members.Values)
        {
            if (catalog.RemoveSnapshot(snapshotId))
            {
                File.Delete(paths.SnapshotRecord(snapshotId));
            }
            AtomicFile.TryDelete(paths.SnapshotImage(snapshotId));
        }
        AtomicFile.SyncDirectory(paths.SnapshotsDir);
        LocalBackendLog.GroupSnapshotDeleted(logger, record.GroupSnapshotId, record.Name);
    }

    public GroupSnapshotInfo? Get(string groupSnapshotId, IReadOnlyList<string> snapshotIds)
    {
        if (catalog.Group(groupSnapshotId) is not { } record)
        {
            return null;
        }
        var info = InfoOf(record);
        EnsureMembers(info, snapshotIds);
        return info;
    }

    private GroupSnapshotInfo InfoOf(LocalGroupSnapshotRecord record) => LocalObjectInfo.Of(record, catalog.Snapshot);

    /// <summary>Ids the CO lists that are snapshots, but not of this group → the spec's snapshot list mismatch.</summary>
    private void EnsureMembers(GroupSnapshotInfo group, IReadOnlyList<string> snapshotIds)
    {
        var strangers = group.NotMembers(snapshotIds).Where(id => catalog.Snapshot(id) is not null).ToList();
        if (strangers.Count > 0)
        {
            throw GroupSnapshotInfo.Mismatch(group.GroupSnapshotId, strangers);
        }
    }

    /// <summary>
    /// Where to freeze a member: a mount point of its loop device's filesystem (any one: a freeze holds the whole
    /// filesystem), or null when nothing can write to it (detached, or attached read-only). Attached read-write with no
    /// mounted filesystem in sight (a raw block volume, or a controller that cannot see the node's mounts) cannot
    /// be held, so no point in time can be promised: that is refused, never silently copied torn.
    /// </summary>
    private string? FreezePointOf(LocalVolumeRecord volume)
    {
        if (volume.Attachment is not { } attachment || attachment.ReadOnly)
        {
            return null;
        }
        var device = LoopDevices.DeviceNumberOf(attachment.LoopDevice);
        var mount = device is { } number
            ? mounts.ReadAll().FirstOrDefault(m => m.Device == number && !m.IsReadOnly)
            : null;
        if (mount is not null)
        {
            return mount.MountPoint;
        }
        if (device is not null && mounts.ReadAll().Any(m => m.Device == device))
        {
            return null; // mounted read-only everywhere: nothing writes to it
        }
        throw StorageException.FailedPrecondition(
            $"volume {volume.VolumeId} is attached to node {attachment.NodeId} as {attachment.LoopDevice} but no mounted filesystem of it is " +
            "visible to the controller, so its writes cannot be held for a group snapshot: a raw block volume must be detached first, " +
            "and the controller needs the kubelet directory mounted with HostToContainer propagation to see staged volumes");
    }
}
