using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Group snapshots of the local backend: one point in time across every member. Each member that is attached and
/// mounted read-write has its filesystem frozen (fsfreeze, through any of its mount points the controller sees),
/// then every image is copied (reflink where the filesystem has it), then everything is thawed — in a finally path,
/// and after a crash by the start-up recovery from the freeze record. Detached members take no writes, so their
/// copy is already of that point in time. Members are ordinary snapshots carrying the group id.
/// </summary>
public sealed partial class LocalVolumeProvider
{
    /// <remarks>The copy is complete when this returns (the group is ready at once): the deadline is not needed.</remarks>
    public async Task<GroupSnapshotInfo> CreateGroupSnapshotAsync(string name, IReadOnlyList<string> sourceVolumeIds,
        IReadOnlyDictionary<string, string> parameters, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        foreach (var key in parameters.Keys.Order(StringComparer.Ordinal))
        {
            if (!key.StartsWith(CsiKeyPrefix, StringComparison.Ordinal))
            {
                throw StorageException.InvalidArgument($"unknown group snapshot parameter '{key}': the local backend has none");
            }
        }
        var groupId = LocalStatePaths.GroupIdFor(name);
        var wanted = new SortedSet<string>(sourceVolumeIds, StringComparer.Ordinal);
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_groups.TryGetValue(groupId, out var existing))
            {
                if (existing.Name != name || !existing.Members.Keys.SequenceEqual(wanted, StringComparer.Ordinal))
                {
                    throw StorageException.AlreadyExists(
                        $"group snapshot {name} already exists as {groupId} of volumes {string.Join(", ", existing.Members.Keys)}, not of {string.Join(", ", wanted)}");
                }
                return ToGroupInfo(existing);
            }
            var missing = wanted.Where(id => !_volumes.ContainsKey(id)).ToList();
            if (missing.Count > 0)
            {
                throw StorageException.NotFound($"source volumes {string.Join(", ", missing)} not found");
            }
            var sources = wanted.Select(id => _volumes[id]).ToList();
            foreach (var source in sources.Where(s => !File.Exists(_paths.VolumeImage(s.VolumeId))))
            {
                throw StorageException.FailedPrecondition($"the backing file of volume {source.VolumeId} is missing: {_paths.VolumeImage(source.VolumeId)}");
            }
            var mountPoints = sources.Select(FreezePointOf).OfType<string>().ToList();

            var members = new SortedDictionary<string, string>(StringComparer.Ordinal);
            var createdAt = DateTimeOffset.UtcNow;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await using (await _freezer.FreezeAsync(mountPoints).ConfigureAwait(false))
                {
                    createdAt = DateTimeOffset.UtcNow;
                    foreach (var source in sources)
                    {
                        var snapshotId = LocalStatePaths.MemberSnapshotIdFor(name, source.VolumeId);
                        await MakeImageAsync(_paths.SnapshotImage(snapshotId), _paths.VolumeImage(source.VolumeId), source.CapacityBytes).ConfigureAwait(false);
                        members[source.VolumeId] = snapshotId;
                    }
                }
                // Members first, the group record last: the group record is the commit point.
                foreach (var source in sources)
                {
                    var snapshotId = members[source.VolumeId];
                    var member = new LocalSnapshotRecord(snapshotId, $"{name}/{source.VolumeId}", source.VolumeId, source.CapacityBytes, createdAt, groupId);
                    AtomicFile.WriteJson(_paths.SnapshotRecord(snapshotId), member, LocalJsonContext.Default.LocalSnapshotRecord);
                    _snapshots[snapshotId] = member;
                }
                var record = new LocalGroupSnapshotRecord(groupId, name, members, createdAt);
                AtomicFile.WriteJson(_paths.GroupRecord(groupId), record, LocalJsonContext.Default.LocalGroupSnapshotRecord);
                _groups[groupId] = record;
                _logger.LogInformation("Created group snapshot {GroupSnapshotId} ({Name}) of {Count} volumes, {Frozen} filesystems frozen, in {Elapsed}",
                    groupId, name, sources.Count, mountPoints.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                return ToGroupInfo(record);
            }
            catch
            {
                // Nothing was committed: remove the members made so far (records, then images).
                foreach (var snapshotId in members.Values)
                {
                    if (_snapshots.Remove(snapshotId))
                    {
                        AtomicFile.TryDelete(_paths.SnapshotRecord(snapshotId));
                    }
                    AtomicFile.TryDelete(_paths.SnapshotImage(snapshotId));
                }
                throw;
            }
        }
    }

    public async Task DeleteGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_groups.TryGetValue(groupSnapshotId, out var record))
            {
                return;
            }
            EnsureMembers(ToGroupInfo(record), snapshotIds);
            // The group record goes first: once it is gone the group is gone, and recovery removes leftover members.
            File.Delete(_paths.GroupRecord(groupSnapshotId));
            AtomicFile.SyncDirectory(_paths.GroupsDir);
            _groups.Remove(groupSnapshotId);
            foreach (var snapshotId in record.Members.Values)
            {
                if (_snapshots.Remove(snapshotId))
                {
                    File.Delete(_paths.SnapshotRecord(snapshotId));
                }
                AtomicFile.TryDelete(_paths.SnapshotImage(snapshotId));
            }
            AtomicFile.SyncDirectory(_paths.SnapshotsDir);
            _logger.LogInformation("Deleted group snapshot {GroupSnapshotId} ({Name})", groupSnapshotId, record.Name);
        }
    }

    public async Task<GroupSnapshotInfo?> GetGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_groups.TryGetValue(groupSnapshotId, out var record))
            {
                return null;
            }
            var info = ToGroupInfo(record);
            EnsureMembers(info, snapshotIds);
            return info;
        }
    }

    /// <summary>Ids the CO lists that are snapshots, but not of this group → the spec's snapshot list mismatch.</summary>
    private void EnsureMembers(GroupSnapshotInfo group, IReadOnlyList<string> snapshotIds)
    {
        var strangers = group.NotMembers(snapshotIds).Where(_snapshots.ContainsKey).ToList();
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
            ? _mounts.ReadAll().FirstOrDefault(m => m.Device == number && !m.IsReadOnly)
            : null;
        if (mount is not null)
        {
            return mount.MountPoint;
        }
        if (device is not null && _mounts.ReadAll().Any(m => m.Device == device))
        {
            return null; // mounted read-only everywhere: nothing writes to it
        }
        throw StorageException.FailedPrecondition(
            $"volume {volume.VolumeId} is attached to node {attachment.NodeId} as {attachment.LoopDevice} but no mounted filesystem of it is " +
            "visible to the controller, so its writes cannot be held for a group snapshot: a raw block volume must be detached first, " +
            "and the controller needs the kubelet directory mounted with HostToContainer propagation to see staged volumes");
    }

    private GroupSnapshotInfo ToGroupInfo(LocalGroupSnapshotRecord record) =>
        new(record.GroupSnapshotId,
            record.Members.Values.Where(_snapshots.ContainsKey).Select(id => ToInfo(_snapshots[id])).ToList(),
            record.CreatedAt);
}
