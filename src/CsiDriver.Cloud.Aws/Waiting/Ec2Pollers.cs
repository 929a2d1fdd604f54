using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Waiting;

/// <summary>
/// The shared pollers, one per EC2 resource type. Every read of a volume, snapshot, modification or
/// instance state goes through these, so concurrent operations share Describe calls.
/// Ids are passed as filters (volume-id, snapshot-id, instance-id) rather than as id lists: with an id
/// list, one unknown id fails the whole call; with a filter it is just absent from the answer. Their loops run under
/// the host's <see cref="BackgroundLoops"/>, which stops and awaits them at shutdown.
/// </summary>
public sealed class Ec2Pollers
{
    /// <summary>EC2 accepts up to 200 values per filter.</summary>
    public const int MaxIdsPerCall = 200;

    public Ec2Pollers(Ec2Caller ec2, AwsTuning tuning, DriverMetrics metrics, ILogger<Ec2Pollers> logger, TimeProvider? time = null, BackgroundLoops? loops = null)
    {
        Volumes = new BatchPoller<Volume>("volume", MaxIdsPerCall,
            (ids, ct) => DescribeVolumesAsync(ec2, ids, ct), tuning, metrics, logger, time, loops);
        Snapshots = new BatchPoller<Snapshot>("snapshot", MaxIdsPerCall,
            (ids, ct) => DescribeSnapshotsAsync(ec2, ids, ct), tuning, metrics, logger, time, loops);
        Modifications = new BatchPoller<VolumeModification>("volume-modification", MaxIdsPerCall,
            (ids, ct) => DescribeModificationsAsync(ec2, ids, ct), tuning, metrics, logger, time, loops);
        Instances = new BatchPoller<Instance>("instance", MaxIdsPerCall,
            (ids, ct) => DescribeInstancesAsync(ec2, ids, ct), tuning, metrics, logger, time, loops);
        VolumesByName = new BatchPoller<Volume>("volume-name", MaxIdsPerCall,
            (names, ct) => DescribeVolumesByNameAsync(ec2, names, ct), tuning, metrics, logger, time, loops);
        SnapshotsByName = new BatchPoller<Snapshot>("snapshot-name", MaxIdsPerCall,
            (names, ct) => DescribeSnapshotsByNameAsync(ec2, names, ct), tuning, metrics, logger, time, loops);
    }

    /// <summary>
    /// Volumes by CSI name (the CSIVolumeName tag): the idempotency lookup of CreateVolume. Hundreds of
    /// concurrent creates share a few DescribeVolumes calls with the names as values of one tag filter.
    /// Volumes being deleted are ignored.
    /// </summary>
    public BatchPoller<Volume> VolumesByName { get; }

    /// <summary>Snapshots by CSI name (the CSIVolumeSnapshotName tag), owned by this account; failed ones are ignored.</summary>
    public BatchPoller<Snapshot> SnapshotsByName { get; }

    public BatchPoller<Volume> Volumes { get; }

    public BatchPoller<Snapshot> Snapshots { get; }

    /// <summary>The latest modification of each volume id.</summary>
    public BatchPoller<VolumeModification> Modifications { get; }

    public BatchPoller<Instance> Instances { get; }

    private static Task<IReadOnlyDictionary<string, Volume>> DescribeVolumesAsync(Ec2Caller ec2, IReadOnlyList<string> ids, CancellationToken ct) =>
        AllPagesAsync<Volume>(async token =>
        {
            var request = new DescribeVolumesRequest { Filters = [new Filter("volume-id", [.. ids])], MaxResults = 500, NextToken = token };
            var response = await ec2.CallAsync("DescribeVolumes", (c, t) => c.DescribeVolumesAsync(request, t), ct).ConfigureAwait(false);
            return (response.Volumes, response.NextToken);
        }, (found, volume) => found[volume.VolumeId] = volume);

    private static Task<IReadOnlyDictionary<string, Snapshot>> DescribeSnapshotsAsync(Ec2Caller ec2, IReadOnlyList<string> ids, CancellationToken ct) =>
        AllPagesAsync<Snapshot>(async token =>
        {
            var request = new DescribeSnapshotsRequest { Filters = [new Filter("snapshot-id", [.. ids])], MaxResults = 1000, NextToken = token };
            var response = await ec2.CallAsync("DescribeSnapshots", (c, t) => c.DescribeSnapshotsAsync(request, t), ct).ConfigureAwait(false);
            return (response.Snapshots, response.NextToken);
        }, (found, snapshot) => found[snapshot.SnapshotId] = snapshot);

    private static Task<IReadOnlyDictionary<string, VolumeModification>> DescribeModificationsAsync(Ec2Caller ec2, IReadOnlyList<string> ids, CancellationToken ct) =>
        AllPagesAsync<VolumeModification>(async token =>
        {
            var request = new DescribeVolumesModificationsRequest { Filters = [new Filter("volume-id", [.. ids])], MaxResults = 500, NextToken = token };
            var response = await ec2.CallAsync("DescribeVolumesModifications", (c, t) => c.DescribeVolumesModificationsAsync(request, t), ct).ConfigureAwait(false);
            return (response.VolumesModifications, response.NextToken);
        }, (found, modification) =>
        {
            // EC2 may return older modifications of the same volume; the latest start wins.
            if (!found.TryGetValue(modification.VolumeId, out var seen) || (modification.StartTime ?? DateTime.MinValue) >= (seen.StartTime ?? DateTime.MinValue))
            {
                found[modification.VolumeId] = modification;
            }
        });

    private static Task<IReadOnlyDictionary<string, Volume>> DescribeVolumesByNameAsync(Ec2Caller ec2, IReadOnlyList<string> names, CancellationToken ct) =>
        AllPagesAsync<Volume>(async token =>
        {
            var request = new DescribeVolumesRequest { Filters = [new Filter("tag:" + EbsTags.VolumeName, [.. names])], MaxResults = 500, NextToken = token };
            var response = await ec2.CallAsync("DescribeVolumes", (c, t) => c.DescribeVolumesAsync(request, t), ct).ConfigureAwait(false);
            return (response.Volumes, response.NextToken);
        }, (found, volume) =>
        {
            if (volume.State != VolumeState.Deleting && volume.State != VolumeState.Deleted
                && EbsTags.Get(volume.Tags, EbsTags.VolumeName) is { } name)
            {
                found.TryAdd(name, volume);
            }
        });

    private static Task<IReadOnlyDictionary<string, Snapshot>> DescribeSnapshotsByNameAsync(Ec2Caller ec2, IReadOnlyList<string> names, CancellationToken ct) =>
        AllPagesAsync<Snapshot>(async token =>
        {
            var request = new DescribeSnapshotsRequest
            {
                OwnerIds = ["self"],
                Filters = [new Filter("tag:" + EbsTags.SnapshotName, [.. names])],
                MaxResults = 1000,
                NextToken = token,
            };
            var response = await ec2.CallAsync("DescribeSnapshots", (c, t) => c.DescribeSnapshotsAsync(request, t), ct).ConfigureAwait(false);
            return (response.Snapshots, response.NextToken);
        }, (found, snapshot) =>
        {
            if (snapshot.State != SnapshotState.Error && EbsTags.Get(snapshot.Tags, EbsTags.SnapshotName) is { } name)
            {
                found.TryAdd(name, snapshot);
            }
        });

    private static Task<IReadOnlyDictionary<string, Instance>> DescribeInstancesAsync(Ec2Caller ec2, IReadOnlyList<string> ids, CancellationToken ct) =>
        AllPagesAsync<Instance>(async token =>
        {
            var request = new DescribeInstancesRequest { Filters = [new Filter("instance-id", [.. ids])], MaxResults = 1000, NextToken = token };
            var response = await ec2.CallAsync("DescribeInstances", (c, t) => c.DescribeInstancesAsync(request, t), ct).ConfigureAwait(false);
            return ((response.Reservations ?? []).SelectMany(r => r.Instances ?? []), response.NextToken);
        }, (found, instance) => found[instance.InstanceId] = instance);

    /// <summary>Follows NextToken to the last page, folding every item into one map the way <paramref name="add"/> says.</summary>
    private static async Task<IReadOnlyDictionary<string, T>> AllPagesAsync<T>(
        Func<string?, Task<(IEnumerable<T>? Items, string? NextToken)>> page,
        Action<Dictionary<string, T>, T> add)
    {
        var found = new Dictionary<string, T>(StringComparer.Ordinal);
        string? token = null;
        do
        {
            var (items, next) = await page(token).ConfigureAwait(false);
            foreach (var item in items ?? [])
            {
                add(found, item);
            }
            token = string.IsNullOrEmpty(next) ? null : next;
        }
        while (token is not null);
        return found;
    }
}
