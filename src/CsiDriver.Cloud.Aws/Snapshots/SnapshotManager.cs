using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using SnapshotInfo = CsiDriver.Core.Volumes.SnapshotInfo;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Snapshots;

/// <summary>EBS snapshots: create (name-tag idempotent, never waits for completion), delete, get, list.</summary>
public sealed class SnapshotManager(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    IOptions<AwsBackendOptions> awsOptions,
    IOptions<DriverOptions> driver,
    ILogger<SnapshotManager> logger,
    SnapshotCopier? copier = null)
{
    private readonly AwsBackendOptions _options = awsOptions.Value;
    private readonly DriverOptions _driverOptions = driver.Value;

    public const string FastSnapshotRestoreZonesKey = "fastSnapshotRestoreAvailabilityZones";
    public const string SnapshotNameKey = "csi.storage.k8s.io/volumesnapshot/name";
    public const string SnapshotNamespaceKey = "csi.storage.k8s.io/volumesnapshot/namespace";
    public const string SnapshotContentNameKey = "csi.storage.k8s.io/volumesnapshotcontent/name";

    public async Task<SnapshotInfo> CreateAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        var (tagSpecifications, templateValues, fsrZones) = ParseParameters(parameters);
        var copyPlan = ParseCopyPlan(parameters);
        var driverTags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [EbsTags.SnapshotName] = name,
            [EbsTags.ManagedBy] = _driverOptions.DriverName,
        };
        AddIfPresent(driverTags, EbsTags.VolumeSnapshotName, templateValues, TagTemplate.VolumeSnapshotName);
        AddIfPresent(driverTags, EbsTags.VolumeSnapshotNamespace, templateValues, TagTemplate.VolumeSnapshotNamespace);
        AddIfPresent(driverTags, EbsTags.VolumeSnapshotContentName, templateValues, TagTemplate.VolumeSnapshotContentName);
        foreach (var (key, value) in copyPlan?.ToTags() ?? [])
        {
            driverTags[key] = value;
        }
        var tags = EbsTags.Build(_options.ExtraTags, tagSpecifications, templateValues, driverTags);

        var existing = await FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            if (existing.VolumeId != sourceVolumeId)
            {
                throw StorageException.AlreadyExists($"snapshot {name} already exists as {existing.SnapshotId} of volume {existing.VolumeId}, not of {sourceVolumeId}");
            }
            // A retry after completion must not answer ready before the copies are: the snapshotter stops checking then.
            return await ResolveAsync(existing, throwOnCopyFailure: true, cancellationToken).ConfigureAwait(false);
        }

        // The source must exist: read on the volume poller's next round (within one poll interval), not a call of its own.
        if (await pollers.Volumes.GetAsync(sourceVolumeId, _options.Tuning.PollInitialInterval, cancellationToken).ConfigureAwait(false) is null)
        {
            throw StorageException.NotFound($"source volume {sourceVolumeId} does not exist");
        }
        var request = new CreateSnapshotRequest
        {
            VolumeId = sourceVolumeId,
            Description = $"Created by {_driverOptions.DriverName} for {name}",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = tags }],
        };
        var response = await ec2.CallAsync("CreateSnapshot", (c, t) => c.CreateSnapshotAsync(request, t), cancellationToken).ConfigureAwait(false);
        var snapshot = response.Snapshot ?? throw StorageException.Internal("EC2 CreateSnapshot returned no snapshot");
        AwsBackendLog.SnapshotCreated(logger, snapshot.SnapshotId, sourceVolumeId, name);

        if (fsrZones.Count > 0)
        {
            await EnableFastRestoreAsync(snapshot.SnapshotId, fsrZones, cancellationToken).ConfigureAwait(false);
        }
        return ToInfo(snapshot);
    }

    public async Task DeleteAsync(string snapshotId, CancellationToken cancellationToken)
    {
        // Copies first: while the source exists its tags say where they are, so a failed delete can be retried.
        if (copier is not null && await pollers.Snapshots.GetAsync(snapshotId, cancellationToken).ConfigureAwait(false) is { } source
            && CopyPlan.FromTags(source.Tags) is { } plan)
        {
            await copier.DeleteCopiesAsync(source, plan, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            var request = new DeleteSnapshotRequest { SnapshotId = snapshotId };
            await ec2.CallAsync("DeleteSnapshot", (c, t) => c.DeleteSnapshotAsync(request, t), cancellationToken).ConfigureAwait(false);
            AwsBackendLog.SnapshotDeleted(logger, snapshotId);
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.NotFound)
        {
        }
    }

    public async Task<SnapshotInfo?> GetAsync(string snapshotId, CancellationToken cancellationToken)
    {
        var snapshot = await pollers.Snapshots.GetAsync(snapshotId, cancellationToken).ConfigureAwait(false);
        return snapshot is null ? null : await ResolveAsync(snapshot, throwOnCopyFailure: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The snapshot as CSI sees it. With a copy plan it is ready only when its copies are, and each check moves the
    /// copies on (<see cref="SnapshotCopier"/>); a failed copy fails the check (the snapshotter records the error)
    /// when <paramref name="throwOnCopyFailure"/>, or else just keeps it not ready (an unfiltered listing).
    /// </summary>
    private async Task<SnapshotInfo> ResolveAsync(Snapshot snapshot, bool throwOnCopyFailure, CancellationToken cancellationToken)
    {
        var info = ToInfo(snapshot);
        if (copier is null || !info.ReadyToUse || CopyPlan.FromTags(snapshot.Tags) is not { } plan)
        {
            return info;
        }
        var progress = await copier.ReconcileAsync(snapshot, plan, cancellationToken).ConfigureAwait(false);
        if (progress.Failures.Count > 0 && throwOnCopyFailure)
        {
            throw StorageException.Internal(
                $"snapshot {snapshot.SnapshotId} is complete in {copier.HomeRegion}, but {string.Join("; ", progress.Failures)}");
        }
        return info with { ReadyToUse = progress.AllCompleted };
    }

    private CopyPlan? ParseCopyPlan(IReadOnlyDictionary<string, string> parameters)
    {
        if (!parameters.Keys.Any(CopyPlan.IsCopyKey))
        {
            return null;
        }
        if (copier is null)
        {
            throw StorageException.InvalidArgument($"{CopyPlan.ToRegionsKey} is not available in this configuration");
        }
        return CopyPlan.Parse(parameters, copier.HomeRegion);
    }

    public async Task<Page<SnapshotInfo>> ListAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken)
    {
        var token = PageToken.Decode(startingToken);
        if (filter.SnapshotId is { } snapshotId)
        {
            if (token.Ec2Token is not null || token.Skip > 0)
            {
                throw StorageException.Aborted("starting_token does not belong to a listing by snapshot id");
            }
            var snapshot = await pollers.Snapshots.GetAsync(snapshotId, cancellationToken).ConfigureAwait(false);
            var matches = snapshot is not null && (filter.SourceVolumeId is null || snapshot.VolumeId == filter.SourceVolumeId);
            return new Page<SnapshotInfo>(matches ? [await ResolveAsync(snapshot!, throwOnCopyFailure: true, cancellationToken).ConfigureAwait(false)] : [], null);
        }
        var request = new DescribeSnapshotsRequest
        {
            OwnerIds = ["self"],
            Filters = filter.SourceVolumeId is { } volumeId
                ? [new Filter("volume-id", [volumeId])]
                // Group members carry the group id instead of a snapshot name of their own.
                : [new Filter("tag-key", [EbsTags.SnapshotName, EbsTags.GroupSnapshotId])],
            MaxResults = maxEntries > 0 ? Math.Clamp(maxEntries + token.Skip, 5, 1000) : 1000,
            NextToken = token.Ec2Token,
        };
        DescribeSnapshotsResponse response;
        try
        {
            response = await ec2.CallAsync("DescribeSnapshots", (c, t) => c.DescribeSnapshotsAsync(request, t), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.InvalidArgument && token.Ec2Token is not null)
        {
            throw StorageException.Aborted($"starting_token is no longer valid: {ex.Message}");
        }
        var snapshots = new List<SnapshotInfo>();
        foreach (var snapshot in response.Snapshots ?? [])
        {
            snapshots.Add(await ResolveAsync(snapshot, throwOnCopyFailure: false, cancellationToken).ConfigureAwait(false));
        }
        var (items, next) = PageToken.Slice(snapshots, token, response.NextToken, maxEntries);
        return new Page<SnapshotInfo>(items, next);
    }

    internal static SnapshotInfo ToInfo(Snapshot snapshot)
    {
        if (snapshot.State == SnapshotState.Error)
        {
            throw StorageException.Internal($"snapshot {snapshot.SnapshotId} failed: {snapshot.StateMessage}");
        }
        var created = snapshot.StartTime is { } start ? new DateTimeOffset(DateTime.SpecifyKind(start, DateTimeKind.Utc)) : DateTimeOffset.UtcNow;
        return new SnapshotInfo(snapshot.SnapshotId, snapshot.VolumeId ?? string.Empty, (snapshot.VolumeSize ?? 0) * EbsVolumeProvider.GiB,
            created, snapshot.State == SnapshotState.Completed, EbsTags.Get(snapshot.Tags, EbsTags.GroupSnapshotId));
    }

    private async Task EnableFastRestoreAsync(string snapshotId, List<string> zones, CancellationToken cancellationToken)
    {
        var request = new EnableFastSnapshotRestoresRequest { SourceSnapshotIds = [snapshotId], AvailabilityZones = zones };
        try
        {
            var response = await ec2.CallAsync("EnableFastSnapshotRestores", (c, t) => c.EnableFastSnapshotRestoresAsync(request, t), cancellationToken).ConfigureAwait(false);
            if (response.Unsuccessful is { Count: > 0 } failed)
            {
                var reasons = string.Join("; ", failed.SelectMany(f => f.FastSnapshotRestoreStateErrors ?? []).Select(e => $"{e.AvailabilityZone}: {e.Error?.Message}"));
                throw StorageException.InvalidArgument($"fast snapshot restore could not be enabled for {snapshotId}: {reasons}");
            }
        }
        catch (StorageException)
        {
            // Without FSR the snapshot is not what was asked for: remove it so the retry starts over.
            await DeleteAsync(snapshotId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The by-name lookup rides on the next round of lookups (within one poll interval) instead of a call of its own:
    /// the CO asks CreateSnapshot again and again until the snapshot is ready, and answered at once, nearly every ask
    /// cost a DescribeSnapshots (2.9 per snapshot under churn); lookups of different snapshots now share calls.
    /// </summary>
    private Task<Snapshot?> FindByNameAsync(string name, CancellationToken cancellationToken) =>
        pollers.SnapshotsByName.GetAsync(name, _options.Tuning.PollInitialInterval, cancellationToken);

    internal static (List<string> TagSpecifications, Dictionary<string, string> TemplateValues, List<string> FsrZones) ParseParameters(IReadOnlyDictionary<string, string> parameters)
    {
        var tagSpecifications = new List<(string Key, string Value)>();
        var templateValues = new Dictionary<string, string>(StringComparer.Ordinal);
        var fsrZones = new List<string>();
        foreach (var (key, value) in parameters)
        {
            if (key.StartsWith(VolumeParameters.TagSpecificationPrefix, StringComparison.OrdinalIgnoreCase))
            {
                tagSpecifications.Add((key, value));
            }
            else if (key.Equals(FastSnapshotRestoreZonesKey, StringComparison.OrdinalIgnoreCase))
            {
                fsrZones.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else if (key.Equals(SnapshotNameKey, StringComparison.OrdinalIgnoreCase))
            {
                templateValues[TagTemplate.VolumeSnapshotName] = value;
            }
            else if (key.Equals(SnapshotNamespaceKey, StringComparison.OrdinalIgnoreCase))
            {
                templateValues[TagTemplate.VolumeSnapshotNamespace] = value;
            }
            else if (key.Equals(SnapshotContentNameKey, StringComparison.OrdinalIgnoreCase))
            {
                templateValues[TagTemplate.VolumeSnapshotContentName] = value;
            }
            else if (!key.StartsWith("csi.storage.k8s.io/", StringComparison.OrdinalIgnoreCase) && !CopyPlan.IsCopyKey(key))
            {
                throw StorageException.InvalidArgument($"snapshot parameter {InputEcho.Of(key)} is not supported by the aws backend (use {VolumeParameters.TagSpecificationPrefix}N, {FastSnapshotRestoreZonesKey}, {CopyPlan.ToRegionsKey})");
            }
        }
        return ([.. tagSpecifications.OrderBy(t => t.Key, StringComparer.OrdinalIgnoreCase).Select(t => t.Value)], templateValues, fsrZones);
    }

    internal static void AddIfPresent(Dictionary<string, string> tags, string tagKey, Dictionary<string, string> values, string valueKey)
    {
        if (values.TryGetValue(valueKey, out var value))
        {
            tags[tagKey] = value;
        }
    }
}
