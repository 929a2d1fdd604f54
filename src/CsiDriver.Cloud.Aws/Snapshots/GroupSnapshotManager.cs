using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Logging;
using SnapshotInfo = CsiDriver.Core.Volumes.SnapshotInfo;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Snapshots;

/// <summary>
/// EBS group snapshots through EC2 CreateSnapshots, which cuts crash-consistent snapshots of the volumes attached
/// to one instance at one point in time. The group is every member volume, all attached to one instance; the
/// instance's boot volume and its other data volumes are excluded. Members on several instances, or detached, cannot
/// be snapshotted at one point in time by EC2, and that is said plainly (FAILED_PRECONDITION) — never replaced by
/// per-volume snapshots that would not be consistent. Members are ordinary EBS snapshots tagged with the group's
/// name (idempotency) and id (lookup); their status is read through the shared snapshot poller.
/// EC2 answers CreateSnapshots with pending snapshots, and csi-snapshotter v8.2–v8.6 never asks again about a group
/// answered ready_to_use=false (kubernetes-csi/external-snapshotter#1457). So a create waits for the members to
/// complete (<see cref="AwsBackendOptions.GroupSnapshotWait"/>, within the call's deadline) and, if they are still
/// pending, answers DEADLINE_EXCEEDED, which every csi-snapshotter retries with the same name: the retry finds the
/// group by its name tag (no second cut) and answers it ready once EC2 has completed it.
/// </summary>
public sealed partial class GroupSnapshotManager(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    SnapshotManager snapshots,
    IOptions<AwsBackendOptions> awsOptions,
    IOptions<DriverOptions> driver,
    ILogger<GroupSnapshotManager> logger,
    TimeProvider? time = null) : IGroupSnapshotProvider
{
    private readonly AwsBackendOptions _options = awsOptions.Value;
    private readonly DriverOptions _driverOptions = driver.Value;

    public const string GroupIdPrefix = "vgs-";
    public const string GroupSnapshotNameKey = "csi.storage.k8s.io/volumegroupsnapshot/name";
    public const string GroupSnapshotNamespaceKey = "csi.storage.k8s.io/volumegroupsnapshot/namespace";
    public const string GroupSnapshotContentNameKey = "csi.storage.k8s.io/volumegroupsnapshotcontent/name";

    /// <summary>Groups this process created, by name: new snapshots may stay invisible to DescribeSnapshots for a
    /// moment, and CreateSnapshots has no client token, so a retry in that window must not cut a second group.</summary>
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _recent = new(StringComparer.Ordinal);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Deterministic from the CSI name.</summary>
    public static string GroupIdFor(string name) =>
        GroupIdPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..17];

    public async Task<GroupSnapshotInfo> CreateGroupSnapshotAsync(string name, IReadOnlyList<string> sourceVolumeIds,
        IReadOnlyDictionary<string, string> parameters, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        var group = await FindOrCutAsync(name, sourceVolumeIds, parameters, cancellationToken).ConfigureAwait(false);
        return await AwaitCompletionAsync(name, group, deadline, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The group of this name if it was cut before (same set of volumes, else ALREADY_EXISTS), else one new
    /// EC2 CreateSnapshots: the point in time is fixed by the first call that gets here.</summary>
    private async Task<GroupSnapshotInfo> FindOrCutAsync(string name, IReadOnlyList<string> sourceVolumeIds,
        IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        var (tagSpecifications, templateValues, fsrZones) = SnapshotManager.ParseParameters(parameters);
        var unsupported = fsrZones.Count > 0 ? SnapshotManager.FastSnapshotRestoreZonesKey : parameters.Keys.FirstOrDefault(CopyPlan.IsCopyKey);
        if (unsupported is not null)
        {
            throw StorageException.InvalidArgument($"parameter {unsupported} is not supported for group snapshots");
        }
        var groupId = GroupIdFor(name);
        var wanted = new SortedSet<string>(sourceVolumeIds, StringComparer.Ordinal);

        var existing = await FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing.Count > 0)
        {
            var volumes = new SortedSet<string>(existing.Select(s => s.SourceVolumeId), StringComparer.Ordinal);
            if (!volumes.SetEquals(wanted))
            {
                throw StorageException.AlreadyExists(
                    $"group snapshot {name} already exists as {groupId} of volumes {string.Join(", ", volumes)}, not of {string.Join(", ", wanted)}");
            }
            return new GroupSnapshotInfo(groupId, existing, existing.Min(s => s.CreatedAt));
        }

        var instanceId = await CommonInstanceAsync(wanted, cancellationToken).ConfigureAwait(false);
        var instance = await pollers.Instances.GetAsync(instanceId, cancellationToken).ConfigureAwait(false)
            ?? throw StorageException.FailedPrecondition($"instance {instanceId}, which the group's volumes are attached to, is not found");
        var rootVolume = instance.BlockDeviceMappings?.FirstOrDefault(b => b.DeviceName == instance.RootDeviceName)?.Ebs?.VolumeId;
        var others = (instance.BlockDeviceMappings ?? [])
            .Select(b => b.Ebs?.VolumeId)
            .OfType<string>()
            .Where(id => id != rootVolume && !wanted.Contains(id))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        var driverTags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [EbsTags.GroupSnapshotName] = name,
            [EbsTags.GroupSnapshotId] = groupId,
            [EbsTags.ManagedBy] = _driverOptions.DriverName,
        };
        AddFromParameter(driverTags, EbsTags.VolumeGroupSnapshotName, parameters, GroupSnapshotNameKey);
        AddFromParameter(driverTags, EbsTags.VolumeGroupSnapshotNamespace, parameters, GroupSnapshotNamespaceKey);
        AddFromParameter(driverTags, EbsTags.VolumeGroupSnapshotContentName, parameters, GroupSnapshotContentNameKey);
        var request = new CreateSnapshotsRequest
        {
            InstanceSpecification = new InstanceSpecification
            {
                InstanceId = instanceId,
                ExcludeBootVolume = rootVolume is null || !wanted.Contains(rootVolume),
                ExcludeDataVolumeIds = others,
            },
            Description = $"Created by {_driverOptions.DriverName} for group {name}",
            TagSpecifications = [new TagSpecification
            {
                ResourceType = ResourceType.Snapshot,
                Tags = EbsTags.Build(_options.ExtraTags, tagSpecifications, templateValues, driverTags),
            }],
        };
        var response = await ec2.CallAsync("CreateSnapshots", (c, t) => c.CreateSnapshotsAsync(request, t), cancellationToken).ConfigureAwait(false);
        var made = (response.Snapshots ?? []).Select(s => ToInfo(s, groupId)).ToList();

        // A volume attached after the instance was described is in the cut too: not ours, remove it. A member that
        // is missing (detached meanwhile) means the group is incomplete: remove all of it and say so.
        var extras = made.Where(s => !wanted.Contains(s.SourceVolumeId)).ToList();
        var members = made.Where(s => wanted.Contains(s.SourceVolumeId)).ToList();
        foreach (var extra in extras)
        {
            await snapshots.DeleteAsync(extra.SnapshotId, CancellationToken.None).ConfigureAwait(false);
        }
        var missing = wanted.Except(members.Select(m => m.SourceVolumeId), StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            foreach (var member in members)
            {
                await snapshots.DeleteAsync(member.SnapshotId, CancellationToken.None).ConfigureAwait(false);
            }
            throw StorageException.Aborted(
                $"volumes {string.Join(", ", missing)} were no longer attached to instance {instanceId} when the group snapshot was cut; the incomplete group was removed, try again");
        }
        _recent[name] = members.Select(m => m.SnapshotId).ToList();
        LogCreated(logger, groupId, name, members.Count, instanceId);
        return new GroupSnapshotInfo(groupId, members, members.Min(m => m.CreatedAt));
    }

    /// <summary>
    /// The group once every member has completed, waiting through the shared snapshot poller for the window the
    /// options and the call's deadline allow. Still pending at its end → DEADLINE_EXCEEDED saying so (the snapshotter
    /// calls again). A member that failed in EC2 → INTERNAL naming it. With no window configured the group is answered
    /// as it is (ready_to_use=false while pending).
    /// </summary>
    private async Task<GroupSnapshotInfo> AwaitCompletionAsync(string name, GroupSnapshotInfo group, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        if (group.ReadyToUse || _options.GroupSnapshotWait <= TimeSpan.Zero)
        {
            return group;
        }
        var latest = new ConcurrentDictionary<string, Snapshot>(StringComparer.Ordinal);
        var window = WaitWindow(deadline);
        if (window > TimeSpan.Zero)
        {
            using var timer = new CancellationTokenSource(window, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
            try
            {
                var members = await Task.WhenAll(group.Members.Select(m => m.ReadyToUse
                    ? Task.FromResult(m)
                    : AwaitMemberAsync(m, group.GroupSnapshotId, latest, linked.Token))).ConfigureAwait(false);
                return group with { Members = members };
            }
            catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // The window is over: say so below, while the caller still listens.
            }
        }
        var current = group.Members.Select(m => latest.TryGetValue(m.SnapshotId, out var seen) ? SnapshotManager.ToInfo(seen) : m).ToList();
        if (current.All(m => m.ReadyToUse))
        {
            // The last one completed as the window closed.
            return group with { Members = current };
        }
        var pending = current
            .Where(m => !m.ReadyToUse)
            .Select(m => latest.TryGetValue(m.SnapshotId, out var seen) && !string.IsNullOrEmpty(seen.Progress) ? $"{m.SnapshotId} {seen.Progress}" : m.SnapshotId)
            .ToList();
        LogStillPending(logger, group.GroupSnapshotId, name, pending.Count, group.Members.Count, window.TotalSeconds);
        throw StorageException.DeadlineExceeded(
            $"group snapshot {group.GroupSnapshotId} ({name}) was cut at {group.CreatedAt:O}, one point in time for all {group.Members.Count} volumes, " +
            $"but EC2 has not completed {pending.Count} of its snapshots yet ({string.Join(", ", pending)}) after {Math.Max(0, window.TotalSeconds):0.#}s: " +
            "call CreateVolumeGroupSnapshot again with the same name to learn when it is ready (no new snapshot is taken)");
    }

    /// <summary>How long this call may wait: the configured window, less than what is left of the caller's deadline
    /// (a tenth of it, at least a second, is kept for the answer to reach the caller).</summary>
    private TimeSpan WaitWindow(DateTimeOffset? deadline)
    {
        var window = _options.GroupSnapshotWait;
        if (deadline is { } end)
        {
            var left = end - _time.GetUtcNow();
            var margin = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, left.Ticks / 10));
            window = left - margin < window ? left - margin : window;
        }
        return window;
    }

    /// <summary>One member until EC2 says completed (or error: INTERNAL), through the shared poller; what each look
    /// saw goes into <paramref name="latest"/> for the answer if the window ends first.</summary>
    private async Task<SnapshotInfo> AwaitMemberAsync(SnapshotInfo member, string groupId, ConcurrentDictionary<string, Snapshot> latest, CancellationToken cancellationToken)
    {
        var recent = _recent.Values.Any(ids => ids.Contains(member.SnapshotId));
        var snapshot = await pollers.Snapshots.WaitAsync(member.SnapshotId, s =>
        {
            if (s is null)
            {
                throw StorageException.Internal($"snapshot {member.SnapshotId} of volume {member.SourceVolumeId} in group {groupId} no longer exists in EC2");
            }
            latest[s.SnapshotId] = s;
            return s.State != SnapshotState.Pending;
        }, new WaitSpec($"snapshot {member.SnapshotId} of group {groupId} to complete", RecentlyCreated: recent), cancellationToken).ConfigureAwait(false);
        // Completed, or error (ToInfo says which snapshot failed and why).
        return SnapshotManager.ToInfo(snapshot!);
    }

    public async Task DeleteGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken)
    {
        var group = await GetGroupSnapshotAsync(groupSnapshotId, snapshotIds, cancellationToken).ConfigureAwait(false);
        foreach (var member in group?.Members ?? [])
        {
            await snapshots.DeleteAsync(member.SnapshotId, cancellationToken).ConfigureAwait(false);
        }
        foreach (var name in _recent.Where(r => group?.Members.Any(m => r.Value.Contains(m.SnapshotId)) == true).Select(r => r.Key).ToList())
        {
            _recent.TryRemove(name, out _);
        }
        if (group is not null)
        {
            LogDeleted(logger, groupSnapshotId, group.Members.Count);
        }
    }

    /// <summary>
    /// The members the CO lists, read through the shared snapshot poller (one Describe for many callers); without a
    /// list, the snapshots tagged with the group id.
    /// </summary>
    public async Task<GroupSnapshotInfo?> GetGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken)
    {
        List<Snapshot> existing;
        if (snapshotIds.Count == 0)
        {
            existing = await DescribeTaggedAsync(EbsTags.GroupSnapshotId, groupSnapshotId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var found = await Task.WhenAll(snapshotIds.Select(id => GetMemberAsync(id, cancellationToken))).ConfigureAwait(false);
            existing = found.OfType<Snapshot>().ToList();
        }
        var strangers = existing.Where(s => EbsTags.Get(s.Tags, EbsTags.GroupSnapshotId) != groupSnapshotId).Select(s => s.SnapshotId).ToList();
        if (strangers.Count > 0)
        {
            throw GroupSnapshotInfo.Mismatch(groupSnapshotId, strangers);
        }
        if (existing.Count == 0)
        {
            return null;
        }
        var members = existing.Select(SnapshotManager.ToInfo).ToList();
        return new GroupSnapshotInfo(groupSnapshotId, members, members.Min(m => m.CreatedAt));
    }

    /// <summary>
    /// The one instance every member is attached to. Detached members, or members on different instances, cannot be
    /// cut at one point in time by EC2: FAILED_PRECONDITION naming them and what to do.
    /// </summary>
    private async Task<string> CommonInstanceAsync(IReadOnlyCollection<string> volumeIds, CancellationToken cancellationToken)
    {
        var volumes = await Task.WhenAll(volumeIds.Select(async id => (Id: id, Volume: await pollers.Volumes.GetAsync(id, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
        var missing = volumes.Where(v => v.Volume is null || v.Volume.State == VolumeState.Deleting || v.Volume.State == VolumeState.Deleted).Select(v => v.Id).ToList();
        if (missing.Count > 0)
        {
            throw StorageException.NotFound($"source volumes {string.Join(", ", missing)} do not exist");
        }
        var instancesOf = volumes.ToDictionary(
            v => v.Id,
            v => (v.Volume!.Attachments ?? []).Where(a => a.State == AttachmentStatus.Attached).Select(a => a.InstanceId).ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        var detached = instancesOf.Where(kv => kv.Value.Count == 0).Select(kv => kv.Key).ToList();
        if (detached.Count > 0)
        {
            throw StorageException.FailedPrecondition(
                $"volumes {string.Join(", ", detached)} are not attached to any instance: EC2 takes a crash-consistent group snapshot " +
                "(CreateSnapshots) only of volumes attached to one instance. Run the group's workloads on one node, or snapshot the volumes one by one (not consistent with each other)");
        }
        var common = instancesOf.Values.Skip(1).Aggregate(new HashSet<string>(instancesOf.Values.First(), StringComparer.Ordinal), (all, next) =>
        {
            all.IntersectWith(next);
            return all;
        });
        if (common.Count == 0)
        {
            var where = string.Join("; ", instancesOf.GroupBy(kv => string.Join("+", kv.Value.Order(StringComparer.Ordinal)))
                .Select(g => $"{string.Join(", ", g.Select(kv => kv.Key))} on {g.Key}"));
            throw StorageException.FailedPrecondition(
                $"the volumes are attached to different instances ({where}): EC2 takes a crash-consistent group snapshot (CreateSnapshots) " +
                "only of volumes attached to one instance. Schedule the group's pods on one node (e.g. pod affinity), or snapshot the volumes one by one (not consistent with each other)");
        }
        return common.Order(StringComparer.Ordinal).First();
    }

    private async Task<IReadOnlyList<SnapshotInfo>> FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        var found = await DescribeTaggedAsync(EbsTags.GroupSnapshotName, name, cancellationToken).ConfigureAwait(false);
        if (found.Count == 0 && _recent.TryGetValue(name, out var recentIds))
        {
            // Made by this process moments ago and not visible yet: answer from the poller, which waits that out.
            var recent = await Task.WhenAll(recentIds.Select(id => GetMemberAsync(id, cancellationToken))).ConfigureAwait(false);
            found.AddRange(recent.OfType<Snapshot>());
        }
        return found.Select(SnapshotManager.ToInfo).ToList();
    }

    /// <summary>This account's snapshots with the tag, failed ones left out.</summary>
    private async Task<List<Snapshot>> DescribeTaggedAsync(string tagKey, string value, CancellationToken cancellationToken)
    {
        var found = new List<Snapshot>();
        string? token = null;
        do
        {
            var request = new DescribeSnapshotsRequest
            {
                OwnerIds = ["self"],
                Filters = [new Filter("tag:" + tagKey, [value])],
                MaxResults = 1000,
                NextToken = token,
            };
            var response = await ec2.CallAsync("DescribeSnapshots", (c, t) => c.DescribeSnapshotsAsync(request, t), cancellationToken).ConfigureAwait(false);
            found.AddRange((response.Snapshots ?? []).Where(s => s.State != SnapshotState.Error));
            token = string.IsNullOrEmpty(response.NextToken) ? null : response.NextToken;
        }
        while (token is not null);
        return found;
    }

    /// <summary>A member through the shared poller; one this process cut moments ago counts as "not visible yet"
    /// rather than gone while DescribeSnapshots catches up (EC2 is eventually consistent).</summary>
    private Task<Snapshot?> GetMemberAsync(string snapshotId, CancellationToken cancellationToken)
    {
        var recent = _recent.Values.Any(ids => ids.Contains(snapshotId));
        return pollers.Snapshots.WaitAsync(snapshotId, _ => true,
            new WaitSpec($"snapshot {snapshotId}", Immediate: true, RecentlyCreated: recent), cancellationToken);
    }

    private static SnapshotInfo ToInfo(Amazon.EC2.Model.SnapshotInfo snapshot, string groupId)
    {
        if (snapshot.State == SnapshotState.Error)
        {
            throw StorageException.Internal($"snapshot {snapshot.SnapshotId} of group {groupId} failed");
        }
        var created = snapshot.StartTime is { } start ? new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc)) : DateTimeOffset.UtcNow;
        return new SnapshotInfo(snapshot.SnapshotId, snapshot.VolumeId ?? string.Empty, (snapshot.VolumeSize ?? 0) * EbsVolumeProvider.GiB,
            created, snapshot.State == SnapshotState.Completed, groupId);
    }

    private static void AddFromParameter(Dictionary<string, string> tags, string tagKey, IReadOnlyDictionary<string, string> parameters, string parameterKey)
    {
        if (parameters.FirstOrDefault(p => p.Key.Equals(parameterKey, StringComparison.OrdinalIgnoreCase)).Value is { Length: > 0 } value)
        {
            tags[tagKey] = value;
        }
    }

    [LoggerMessage(EventId = 2208, Level = LogLevel.Information, Message = "Created group snapshot {GroupSnapshotId} ({Name}): {Count} volumes of instance {InstanceId} at one point in time")]
    private static partial void LogCreated(ILogger logger, string groupSnapshotId, string name, int count, string instanceId);

    [LoggerMessage(EventId = 2209, Level = LogLevel.Information, Message = "Deleted group snapshot {GroupSnapshotId} ({Count} members)")]
    private static partial void LogDeleted(ILogger logger, string groupSnapshotId, int count);

    [LoggerMessage(EventId = 2210, Level = LogLevel.Information, Message = "Group snapshot {GroupSnapshotId} ({Name}): {Pending} of {Count} snapshots still pending in EC2 after {Seconds:0.#}s; answered DEADLINE_EXCEEDED so the caller asks again")]
    private static partial void LogStillPending(ILogger logger, string groupSnapshotId, string name, int pending, int count, double seconds);
}
