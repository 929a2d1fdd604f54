using System.Collections.Concurrent;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Snapshots;

/// <summary>What the copies of one snapshot look like now: all completed, or the failures (empty when only pending).</summary>
public sealed record CopyProgress(bool AllCompleted, IReadOnlyList<string> Failures);

/// <summary>
/// Copies a completed snapshot to the regions of its <see cref="CopyPlan"/> with EC2 CopySnapshot in each target
/// region, driven by the snapshotter's status checks: each check starts the copies that are missing, and a snapshot
/// is ready to use only when every copy has completed. A copy that fails (the call, or the copy itself) is counted
/// in snapshot_copy_failures, logged, reported as the status check's error (the snapshotter records it in the
/// VolumeSnapshotContent's status and an event) and retried at the next check; never silently dropped. Copies are
/// found again by the CSICopyOfSnapshot tag and deleted with the source unless the plan says Retain.
/// </summary>
public sealed partial class SnapshotCopier(
    RegionalEc2 regions,
    AwsHomeRegion home,
    IOptions<AwsBackendOptions> awsOptions,
    IOptions<DriverOptions> driver,
    DriverMetrics metrics,
    ILogger<SnapshotCopier> logger)
{
    private readonly AwsBackendOptions _options = awsOptions.Value;
    private readonly DriverOptions _driverOptions = driver.Value;

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _starting = new(StringComparer.Ordinal);

    public string HomeRegion => home.Name;

    public async Task<CopyProgress> ReconcileAsync(Snapshot source, CopyPlan plan, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var completed = 0;
        foreach (var region in plan.Regions)
        {
            try
            {
                var copy = await EnsureCopyAsync(source, plan, region, cancellationToken).ConfigureAwait(false);
                if (copy.State == SnapshotState.Completed)
                {
                    completed++;
                }
                else if (copy.State == SnapshotState.Error)
                {
                    var reason = $"copy {copy.SnapshotId} to {region} failed: {copy.StateMessage}";
                    Fail(region, "CopyFailed", source.SnapshotId, reason);
                    failures.Add(reason);
                    // Removed so the next status check starts a new one.
                    await DeleteQuietlyAsync(regions.CallerFor(region), copy.SnapshotId, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (StorageException ex)
            {
                var reason = $"copy to {region} could not be started: {ex.Message}";
                Fail(region, ex.Kind.ToString(), source.SnapshotId, reason);
                failures.Add(reason);
            }
        }
        return new CopyProgress(completed == plan.Regions.Count, failures);
    }

    /// <summary>Deletes every copy the plan made (unless it says Retain). A failure leaves the source for the retry.</summary>
    public async Task DeleteCopiesAsync(Snapshot source, CopyPlan plan, CancellationToken cancellationToken)
    {
        if (plan.Retain)
        {
            LogRetained(logger, source.SnapshotId, string.Join(",", plan.Regions));
            return;
        }
        foreach (var region in plan.Regions)
        {
            var caller = regions.CallerFor(region);
            foreach (var copy in await FindCopiesAsync(caller, source.SnapshotId, cancellationToken).ConfigureAwait(false))
            {
                await DeleteQuietlyAsync(caller, copy.SnapshotId, cancellationToken).ConfigureAwait(false);
                LogCopyDeleted(logger, copy.SnapshotId, region, source.SnapshotId);
            }
        }
    }

    private async Task<Snapshot> EnsureCopyAsync(Snapshot source, CopyPlan plan, string region, CancellationToken cancellationToken)
    {
        var caller = regions.CallerFor(region);
        var existing = (await FindCopiesAsync(caller, source.SnapshotId, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
        if (existing is not null)
        {
            return existing;
        }
        // CopySnapshot has no client token: one start per source and region at a time in this process, and a
        // look again under the gate, so two status checks do not make two copies.
        var gate = _starting.GetOrAdd(source.SnapshotId + "/" + region, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            existing = (await FindCopiesAsync(caller, source.SnapshotId, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
            if (existing is not null)
            {
                return existing;
            }
            var tags = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [CopyPlan.CopyOfTag] = source.SnapshotId,
                [CopyPlan.CopySourceRegionTag] = home.Name,
                [EbsTags.ManagedBy] = _driverOptions.DriverName,
            };
            foreach (var key in new[] { EbsTags.VolumeSnapshotName, EbsTags.VolumeSnapshotNamespace, EbsTags.VolumeSnapshotContentName })
            {
                if (EbsTags.Get(source.Tags, key) is { } value)
                {
                    tags[key] = value;
                }
            }
            var request = new CopySnapshotRequest
            {
                SourceRegion = home.Name,
                SourceSnapshotId = source.SnapshotId,
                Description = $"Copy of {source.SnapshotId} from {home.Name} by {_driverOptions.DriverName}",
                Encrypted = plan.Encrypted ? true : null,
                KmsKeyId = plan.KmsKeyIds.GetValueOrDefault(region),
                TagSpecifications = [new TagSpecification
                {
                    ResourceType = ResourceType.Snapshot,
                    Tags = EbsTags.Build(_options.ExtraTags, [], new Dictionary<string, string>(), tags),
                }],
            };
            var response = await caller.CallAsync("CopySnapshot", (c, t) => c.CopySnapshotAsync(request, t), cancellationToken).ConfigureAwait(false);
            metrics.SnapshotCopyStarted(region);
            LogCopyStarted(logger, response.SnapshotId, region, source.SnapshotId);
            return new Snapshot { SnapshotId = response.SnapshotId, State = SnapshotState.Pending };
        }
        finally
        {
            gate.Release();
        }
    }

    private static async Task<List<Snapshot>> FindCopiesAsync(Ec2Caller caller, string sourceSnapshotId, CancellationToken cancellationToken)
    {
        var request = new DescribeSnapshotsRequest
        {
            OwnerIds = ["self"],
            Filters = [new Filter("tag:" + CopyPlan.CopyOfTag, [sourceSnapshotId])],
        };
        var response = await caller.CallAsync("DescribeSnapshots", (c, t) => c.DescribeSnapshotsAsync(request, t), cancellationToken).ConfigureAwait(false);
        return response.Snapshots ?? [];
    }

    private static async Task DeleteQuietlyAsync(Ec2Caller caller, string snapshotId, CancellationToken cancellationToken)
    {
        try
        {
            var request = new DeleteSnapshotRequest { SnapshotId = snapshotId };
            await caller.CallAsync("DeleteSnapshot", (c, t) => c.DeleteSnapshotAsync(request, t), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.NotFound)
        {
        }
    }

    private void Fail(string region, string reason, string sourceSnapshotId, string message)
    {
        metrics.SnapshotCopyFailed(region, reason);
        LogCopyFailed(logger, sourceSnapshotId, region, message);
    }

    [LoggerMessage(EventId = 2211, Level = LogLevel.Information, Message = "Started copy {CopyId} in {Region} of snapshot {SnapshotId}")]
    private static partial void LogCopyStarted(ILogger logger, string copyId, string region, string snapshotId);

    [LoggerMessage(EventId = 2212, Level = LogLevel.Warning, Message = "Snapshot {SnapshotId}, copy to {Region}: {Message}; retried at the next status check")]
    private static partial void LogCopyFailed(ILogger logger, string snapshotId, string region, string message);

    [LoggerMessage(EventId = 2213, Level = LogLevel.Information, Message = "Deleted copy {CopyId} in {Region} of snapshot {SnapshotId}")]
    private static partial void LogCopyDeleted(ILogger logger, string copyId, string region, string snapshotId);

    [LoggerMessage(EventId = 2214, Level = LogLevel.Information, Message = "Snapshot {SnapshotId}: copies in {Regions} kept (copySnapshotDeletionPolicy=Retain)")]
    private static partial void LogRetained(ILogger logger, string snapshotId, string regions);
}
