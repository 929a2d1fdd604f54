using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Observability;
using CsiDriver.Core.Volumes;
using CsiDriver.Mounter.Commands;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// The local backend: a volume is a sparse file under the state dir, attaching it sets up a loop device reached
/// through the stable link devices/&lt;volume-id&gt;. Metadata is one JSON file per object, written atomically;
/// the JSON file is each object's commit point (written last on create, deleted first on delete), so after a
/// kill -9 the start-up recovery can tell finished objects from leftovers and remove or repair the rest.
/// One controller process per state dir.
/// <para>
/// Locking: each change holds the keys (ids) of the objects it reads or writes — a volume, its content source, a
/// snapshot and its source volume, a group with its members — and waits for them, so a long copy (a clone, a
/// snapshot on a filesystem without reflinks) holds only its source and its target. Reads (Get, List, Probe) take
/// no key: they see the committed records in <see cref="LocalCatalog"/>, which also keeps the capacity and attach
/// limits exact with reservations. ABORTED for a second concurrent call on the same object is the driver layer's.
/// </para>
/// </summary>
public sealed class LocalVolumeProvider : IVolumeProvider, IGroupSnapshotProvider, IDisposable
{
    public const string ZoneKey = "topology.kubernetes.io/zone";
    public const string DevicePathKey = "devicePath";
    public const long DefaultSizeBytes = 1L << 30;
    public const long SizeStep = 1L << 20;
    /// <summary>Attach limit when --volume-attach-limit is not set: the kernel's loop driver allows far more,
    /// 128 keeps a runaway workload from exhausting a node's loop devices (and matches max_loop's old default).</summary>
    public const long DefaultMaxVolumesPerNode = 128;
    public const string CsiKeyPrefix = "csi.storage.k8s.io/";
    public const string FsTypeParameter = "csi.storage.k8s.io/fstype";

    /// <summary>The key of the one freeze record (freeze.json): group snapshots are made one at a time.</summary>
    private const string FreezeRecordKey = "freeze-record";

    private readonly LocalStatePaths _paths;
    private readonly LocalBackendOptions _options;
    private readonly LoopDevices _loops;
    private readonly ILogger<LocalVolumeProvider> _logger;
    private readonly LocalCatalog _catalog = new();
    private readonly OperationLocks _locks = new();
    private readonly LocalObjectInfo _info;
    private readonly LocalAttacher _attacher;
    private readonly LocalVolumes _volumes;
    private readonly LocalSnapshots _snapshots;
    private readonly LocalGroupSnapshots _groups;
    private readonly FilesystemFreezer _freezer;
    private readonly SemaphoreSlim _recovery = new(1, 1);
    private bool _recovered;
    private FileStream? _stateLock;

    public LocalVolumeProvider(
        IOptions<LocalBackendOptions> localOptions,
        IOptions<DriverOptions> driverOptionsAccessor,
        ICommandRunner commands,
        DriverMetrics metrics,
        ILogger<LocalVolumeProvider> logger)
    {
        var options = localOptions.Value;
        var driverOptions = driverOptionsAccessor.Value;
        _options = options;
        _paths = new LocalStatePaths(options.StateDir);
        _loops = new LoopDevices(commands);
        _logger = logger;
        NodeId = LocalNodeIdentity.NodeIdOf(driverOptions);
        MaxVolumesPerNode = driverOptions.VolumeAttachLimit > 0 ? driverOptions.VolumeAttachLimit : DefaultMaxVolumesPerNode;
        var sizeRules = new SizeRules(SizeStep, SizeStep,
            options.MaxVolumeBytes > 0 ? options.MaxVolumeBytes / SizeStep * SizeStep : long.MaxValue / SizeStep * SizeStep,
            DefaultSizeBytes, "local");
        var images = new LocalImages(commands);
        _freezer = new FilesystemFreezer(_paths.FreezeRecord, commands, logger);
        _info = new LocalObjectInfo(_paths, options.Zone);
        _attacher = new LocalAttacher(_paths, _catalog, _loops, NodeId, MaxVolumesPerNode, logger);
        _volumes = new LocalVolumes(_paths, options, sizeRules, _catalog, images, _attacher, _loops, logger);
        _snapshots = new LocalSnapshots(_paths, _catalog, images, logger);
        _groups = new LocalGroupSnapshots(_paths, _catalog, images, _freezer, new ProcMountTable(new PathInspector()), logger);
        metrics.ObserveLoopDevices(() => _attacher.AttachedHere);
    }

    public string Name => "local";

    /// <summary>The only node this backend serves.</summary>
    public string NodeId { get; }

    public long MaxVolumesPerNode { get; }

    public LocalStatePaths Paths => _paths;

    public async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Runs the start-up recovery now instead of on the first call.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => EnsureRecoveredAsync(cancellationToken);

    // ---------------------------------------------------------------- volumes

    public async Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken)
    {
        var volumeContext = LocalCreateRequests.VolumeContextOf(spec);
        var mutableParameters = LocalMutableParameters.Validate(spec.MutableParameters);
        LocalCreateRequests.EnsureTopologyReachable(spec.AccessibilityRequirements, _info.Topology[0], _options.Zone);
        // The target (its id follows from the name, so two creates of one name meet here) and the content source.
        List<string> keys = [LocalStatePaths.VolumeIdFor(spec.Name)];
        if ((spec.ContentSource?.SnapshotId ?? spec.ContentSource?.VolumeId) is { } sourceId)
        {
            keys.Add(sourceId);
        }
        using (await HoldAsync(keys, cancellationToken).ConfigureAwait(false))
        {
            return _info.Of(await _volumes.CreateAsync(spec, volumeContext, mutableParameters).ConfigureAwait(false));
        }
    }

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        using (await HoldAsync([volumeId], cancellationToken).ConfigureAwait(false))
        {
            await _volumes.DeleteAsync(volumeId).ConfigureAwait(false);
        }
    }

    public async Task<VolumeInfo?> GetVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        return _catalog.Volume(volumeId) is { } record ? _info.Of(record) : null;
    }

    public async Task<Page<VolumeInfo>> ListVolumesAsync(int maxEntries, string? startingToken, CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        return LocalPaging.Paginate(_catalog.Volumes(), v => v.VolumeId, LocalStatePaths.IsVolumeId, maxEntries, startingToken, _info.Of);
    }

    public async Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        using (await HoldAsync([spec.VolumeId], cancellationToken).ConfigureAwait(false))
        {
            return await _attacher.PublishAsync(spec).ConfigureAwait(false);
        }
    }

    public async Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken)
    {
        using (await HoldAsync([volumeId], cancellationToken).ConfigureAwait(false))
        {
            await _attacher.UnpublishAsync(volumeId, nodeId).ConfigureAwait(false);
        }
    }

    public async Task<ExpandResult> ExpandVolumeAsync(string volumeId, long requiredBytes, long limitBytes, CancellationToken cancellationToken)
    {
        using (await HoldAsync([volumeId], cancellationToken).ConfigureAwait(false))
        {
            return await _volumes.ExpandAsync(volumeId, requiredBytes, limitBytes).ConfigureAwait(false);
        }
    }

    public async Task ModifyVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> mutableParameters, CancellationToken cancellationToken)
    {
        using (await HoldAsync([volumeId], cancellationToken).ConfigureAwait(false))
        {
            _volumes.Modify(volumeId, mutableParameters);
        }
    }

    // ---------------------------------------------------------------- snapshots

    public async Task<SnapshotInfo> CreateSnapshotAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        LocalCreateRequests.EnsureSnapshotParameters(parameters);
        using (await HoldAsync([LocalStatePaths.SnapshotIdFor(name), sourceVolumeId], cancellationToken).ConfigureAwait(false))
        {
            return LocalObjectInfo.Of(await _snapshots.CreateAsync(name, sourceVolumeId).ConfigureAwait(false));
        }
    }

    public async Task DeleteSnapshotAsync(string snapshotId, CancellationToken cancellationToken)
    {
        using (await HoldAsync([snapshotId], cancellationToken).ConfigureAwait(false))
        {
            _snapshots.Delete(snapshotId);
        }
    }

    public async Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        return _catalog.Snapshot(snapshotId) is { } record ? LocalObjectInfo.Of(record) : null;
    }

    public async Task<Page<SnapshotInfo>> ListSnapshotsAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        var matching = _catalog.Snapshots()
            .Where(s => filter.SnapshotId is null || s.SnapshotId == filter.SnapshotId)
            .Where(s => filter.SourceVolumeId is null || s.SourceVolumeId == filter.SourceVolumeId)
            .ToList();
        return LocalPaging.Paginate(matching, s => s.SnapshotId, LocalStatePaths.IsSnapshotId, maxEntries, startingToken, LocalObjectInfo.Of);
    }

    // ---------------------------------------------------------------- group snapshots

    /// <remarks>The copy is complete when this returns (the group is ready at once): the deadline is not needed.</remarks>
    public async Task<GroupSnapshotInfo> CreateGroupSnapshotAsync(string name, IReadOnlyList<string> sourceVolumeIds,
        IReadOnlyDictionary<string, string> parameters, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        LocalGroupSnapshots.EnsureParameters(parameters);
        var wanted = new SortedSet<string>(sourceVolumeIds, StringComparer.Ordinal);
        // The group, its member volumes and the member snapshots it will make, and the one freeze record.
        string[] keys = [FreezeRecordKey, LocalStatePaths.GroupIdFor(name), .. wanted, .. wanted.Select(id => LocalStatePaths.MemberSnapshotIdFor(name, id))];
        using (await HoldAsync(keys, cancellationToken).ConfigureAwait(false))
        {
            return await _groups.CreateAsync(name, wanted).ConfigureAwait(false);
        }
    }

    public async Task DeleteGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken)
    {
        using (await HoldAsync([groupSnapshotId], cancellationToken).ConfigureAwait(false))
        {
            if (_catalog.Group(groupSnapshotId) is not { } record)
            {
                return;
            }
            // Then its members, which a restore may be copying. Snapshot ids sort after group ids ("snap-" > "group-"),
            // so taking them while holding the group keeps the one lock order.
            using (await _locks.AcquireAsync(record.Members.Values, cancellationToken).ConfigureAwait(false))
            {
                _groups.Delete(record, snapshotIds);
            }
        }
    }

    public async Task<GroupSnapshotInfo?> GetGroupSnapshotAsync(string groupSnapshotId, IReadOnlyList<string> snapshotIds, CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        return _groups.Get(groupSnapshotId, snapshotIds);
    }

    public void Dispose()
    {
        _stateLock?.Dispose();
        _recovery.Dispose();
    }

    // ---------------------------------------------------------------- keys and recovery

    /// <summary>Recovers the state dir if that has not happened yet, then waits for and takes the keys.</summary>
    private async Task<IDisposable> HoldAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        await EnsureRecoveredAsync(cancellationToken).ConfigureAwait(false);
        return await _locks.AcquireAsync(keys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The first call (or the start-up hook) takes the state dir and rebuilds the catalog; everyone else waits for that once.</summary>
    private async Task EnsureRecoveredAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _recovered))
        {
            return;
        }
        await _recovery.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_recovered)
            {
                return;
            }
            _stateLock ??= LocalStateDirLock.Take(_paths);
            // Thaw first: a filesystem left frozen by a crash blocks every writer on the node.
            await _freezer.RecoverAsync().ConfigureAwait(false);
            var volumes = new Dictionary<string, LocalVolumeRecord>(StringComparer.Ordinal);
            var snapshots = new Dictionary<string, LocalSnapshotRecord>(StringComparer.Ordinal);
            var groups = new Dictionary<string, LocalGroupSnapshotRecord>(StringComparer.Ordinal);
            await new LocalStateRecovery(_paths, _loops, volumes, snapshots, groups, _logger).RunAsync().ConfigureAwait(false);
            _catalog.Load(volumes, snapshots, groups);
            Volatile.Write(ref _recovered, true);
        }
        finally
        {
            _recovery.Release();
        }
    }
}
