using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using CsiDriver.Core.Storage;
using CsiDriver.Core.Volumes;
using CsiDriver.Core;
using CsiDriver.Mounter.Commands;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// The local backend: a volume is a sparse file under the state dir, attaching it sets up a loop device reached
/// through the stable link devices/&lt;volume-id&gt;. Metadata is one JSON file per object, written atomically;
/// the JSON file is each object's commit point (written last on create, deleted first on delete), so after a
/// kill -9 the start-up recovery can tell finished objects from leftovers and remove or repair the rest.
/// All state changes run one at a time behind one gate: operations are short (sparse files, reflink copies)
/// and it makes the capacity and attach-limit checks exact. One controller process per state dir.
/// </summary>
public sealed partial class LocalVolumeProvider : IVolumeProvider, IGroupSnapshotProvider, IDisposable
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

    private static readonly HashSet<string> FsTypes = new(StringComparer.Ordinal) { "ext4", "ext3", "xfs" };

    private readonly LocalStatePaths _paths;
    private readonly LocalBackendOptions _options;
    private readonly LoopDevices _loops;
    private readonly ICommandRunner _commands;
    private readonly ILogger<LocalVolumeProvider> _logger;
    private readonly SizeRules _sizeRules;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, LocalVolumeRecord> _volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LocalSnapshotRecord> _snapshots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LocalGroupSnapshotRecord> _groups = new(StringComparer.Ordinal);
    private readonly FilesystemFreezer _freezer;
    private readonly IMountTable _mounts;
    private bool _recovered;
    private FileStream? _stateLock;
    private long _attachedHere;

    public LocalVolumeProvider(
        LocalBackendOptions options,
        DriverOptions driverOptions,
        ICommandRunner commands,
        DriverMetrics metrics,
        ILogger<LocalVolumeProvider> logger)
    {
        _options = options;
        _paths = new LocalStatePaths(options.StateDir);
        _commands = commands;
        _loops = new LoopDevices(commands);
        _logger = logger;
        _sizeRules = new SizeRules(SizeStep, SizeStep, options.MaxVolumeBytes > 0 ? options.MaxVolumeBytes / SizeStep * SizeStep : long.MaxValue / SizeStep * SizeStep,
            DefaultSizeBytes, "local");
        _freezer = new FilesystemFreezer(_paths.FreezeRecord, commands, logger);
        _mounts = new ProcMountTable(new PathInspector());
        NodeId = LocalNodeIdentity.NodeIdOf(driverOptions);
        MaxVolumesPerNode = driverOptions.VolumeAttachLimit > 0 ? driverOptions.VolumeAttachLimit : DefaultMaxVolumesPerNode;
        metrics.ObserveLoopDevices(() => Interlocked.Read(ref _attachedHere));
    }

    public string Name => "local";

    /// <summary>The only node this backend serves.</summary>
    public string NodeId { get; }

    public long MaxVolumesPerNode { get; }

    public LocalStatePaths Paths => _paths;

    public async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        // Once recovered the backend is a directory on this machine: ready, without queueing behind a long copy.
        if (Volatile.Read(ref _recovered))
        {
            return true;
        }
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            return true;
        }
    }

    /// <summary>Runs the start-up recovery now instead of on the first call.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
        }
    }

    // ---------------------------------------------------------------- volumes

    public async Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken)
    {
        var volumeContext = ValidateParameters(spec);
        var mutableParameters = LocalMutableParameters.Validate(spec.MutableParameters);
        EnsureTopologyReachable(spec.AccessibilityRequirements);
        var volumeId = LocalStatePaths.VolumeIdFor(spec.Name);
        var sourceSnapshotId = spec.ContentSource?.SnapshotId;
        var sourceVolumeId = spec.ContentSource?.VolumeId;

        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            // A retry finds the volume it made, even when its source is gone by now.
            if (_volumes.TryGetValue(volumeId, out var existing))
            {
                EnsureSameVolume(existing, spec, volumeContext, sourceSnapshotId, sourceVolumeId);
                return ToInfo(existing);
            }
            string? sourceFile = null;
            long sourceSize = 0;
            if (sourceSnapshotId is not null)
            {
                var snapshot = _snapshots.GetValueOrDefault(sourceSnapshotId)
                    ?? throw StorageException.NotFound($"snapshot {sourceSnapshotId} not found");
                sourceFile = _paths.SnapshotImage(snapshot.SnapshotId);
                sourceSize = snapshot.SizeBytes;
            }
            else if (sourceVolumeId is not null)
            {
                var source = _volumes.GetValueOrDefault(sourceVolumeId)
                    ?? throw StorageException.NotFound($"source volume {sourceVolumeId} not found");
                sourceFile = _paths.VolumeImage(source.VolumeId);
                sourceSize = source.CapacityBytes;
            }

            var size = CapacityPlan.ForCreate(spec.RequiredBytes, spec.LimitBytes, sourceSize, _sizeRules);
            EnsureCapacityAvailable(size, alreadyCounted: 0);
            if (sourceFile is not null && !File.Exists(sourceFile))
            {
                throw StorageException.FailedPrecondition($"the data of content source {sourceSnapshotId ?? sourceVolumeId} is missing from {sourceFile}");
            }

            var record = new LocalVolumeRecord(
                volumeId, spec.Name, size,
                new Dictionary<string, string>(spec.Parameters, StringComparer.Ordinal),
                new Dictionary<string, string>(volumeContext, StringComparer.Ordinal), sourceSnapshotId, sourceVolumeId, DateTimeOffset.UtcNow, Attachment: null,
                mutableParameters.Count > 0 ? mutableParameters : null);
            var image = _paths.VolumeImage(volumeId);
            await MakeImageAsync(image, sourceFile, size).ConfigureAwait(false);
            try
            {
                AtomicFile.WriteJson(_paths.VolumeRecord(volumeId), record, LocalJsonContext.Default.LocalVolumeRecord);
            }
            catch
            {
                AtomicFile.TryDelete(image);
                throw;
            }
            _volumes[volumeId] = record;
            _logger.LogInformation("Created volume {VolumeId} ({Name}, {CapacityBytes} bytes, source {Source})",
                volumeId, spec.Name, size, sourceSnapshotId ?? sourceVolumeId ?? "none");
            return ToInfo(record);
        }
    }

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_volumes.TryGetValue(volumeId, out var record))
            {
                return;
            }
            if (record.Attachment is { } attachment)
            {
                throw StorageException.FailedPrecondition($"volume {volumeId} is published to node {attachment.NodeId}; unpublish it first");
            }
            // The record goes first: once it is gone the volume is gone, and recovery removes a leftover image.
            File.Delete(_paths.VolumeRecord(volumeId));
            AtomicFile.SyncDirectory(_paths.VolumesDir);
            _volumes.Remove(volumeId);
            await DetachAllBackedByAsync(_paths.VolumeImage(volumeId)).ConfigureAwait(false);
            try
            {
                File.Delete(_paths.VolumeImage(volumeId));
            }
            catch (IOException ex)
            {
                // Past the commit point the volume is gone; the next start removes the leftover image.
                _logger.LogWarning(ex, "Volume {VolumeId} deleted but its image could not be removed yet", volumeId);
            }
            _logger.LogInformation("Deleted volume {VolumeId} ({Name})", volumeId, record.Name);
        }
    }

    public async Task<VolumeInfo?> GetVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            return _volumes.TryGetValue(volumeId, out var record) ? ToInfo(record) : null;
        }
    }

    public async Task<Page<VolumeInfo>> ListVolumesAsync(int maxEntries, string? startingToken, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            var all = _volumes.Values.OrderBy(v => v.VolumeId, StringComparer.Ordinal).ToList();
            return Paginate(all, v => v.VolumeId, LocalStatePaths.IsVolumeId, maxEntries, startingToken, ToInfo);
        }
    }

    public async Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            var record = _volumes.GetValueOrDefault(spec.VolumeId)
                ?? throw StorageException.NotFound($"volume {spec.VolumeId} not found");
            // A volume held by another node is refused first (the CO must detach it there), whether or not the
            // requested node exists: FAILED_PRECONDITION names the holder, which is what the CO needs to know.
            if (record.Attachment is { } holder && holder.NodeId != spec.NodeId)
            {
                throw StorageException.FailedPrecondition(
                    $"volume {record.VolumeId} is published to node {holder.NodeId}; a local volume is attached to one node at a time");
            }
            if (spec.NodeId != NodeId)
            {
                throw StorageException.NotFound($"node {spec.NodeId} is not served by the local backend (it serves node {NodeId})");
            }
            var image = _paths.VolumeImage(record.VolumeId);
            var link = _paths.DeviceLink(record.VolumeId);
            var publishContext = new Dictionary<string, string>(StringComparer.Ordinal) { [DevicePathKey] = link };

            if (record.Attachment is { } attachment)
            {
                if (attachment.ReadOnly != spec.ReadOnly)
                {
                    throw StorageException.AlreadyExists(
                        $"volume {record.VolumeId} is already published to node {spec.NodeId} with readonly={attachment.ReadOnly.ToString().ToLowerInvariant()}");
                }
                if (LoopDevices.IsBackedBy(attachment.LoopDevice, image))
                {
                    DeviceLinks.Replace(link, attachment.LoopDevice);
                    return publishContext;
                }
                // The recorded loop device vanished (detached by hand, or a reboot): attach again below.
                _logger.LogWarning("Loop device {LoopDevice} of volume {VolumeId} vanished; attaching again", attachment.LoopDevice, record.VolumeId);
            }
            else if (AttachedCount(spec.NodeId) >= MaxVolumesPerNode)
            {
                throw StorageException.ResourceExhausted($"node {spec.NodeId} already has {MaxVolumesPerNode} volumes attached, its limit");
            }
            if (!File.Exists(image))
            {
                throw StorageException.FailedPrecondition($"the backing file of volume {record.VolumeId} is missing: {image}");
            }

            var device = await _loops.AttachAsync(image, spec.ReadOnly, CancellationToken.None).ConfigureAwait(false);
            try
            {
                ApplyMutableParameters(device, record.MutableParameters);
                DeviceLinks.Replace(link, device);
                var attached = record with { Attachment = new LocalAttachment(spec.NodeId, device, spec.ReadOnly) };
                AtomicFile.WriteJson(_paths.VolumeRecord(record.VolumeId), attached, LocalJsonContext.Default.LocalVolumeRecord);
                _volumes[record.VolumeId] = attached;
            }
            catch
            {
                await _loops.DetachAsync(device, image, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            UpdateGauge();
            _logger.LogInformation("Attached volume {VolumeId} to {LoopDevice} for node {NodeId}", record.VolumeId, device, spec.NodeId);
            return publishContext;
        }
    }

    public async Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_volumes.TryGetValue(volumeId, out var record) || record.Attachment is not { } attachment)
            {
                return;
            }
            if (nodeId is not null && attachment.NodeId != nodeId)
            {
                // Published elsewhere, so it is not published to this node: nothing to do.
                return;
            }
            // Detach first, record last: a crash in between leaves a record whose device is gone, which
            // recovery repairs, never a device nobody knows about.
            await DetachAllBackedByAsync(_paths.VolumeImage(volumeId)).ConfigureAwait(false);
            DeviceLinks.Remove(_paths.DeviceLink(volumeId));
            var detached = record with { Attachment = null };
            AtomicFile.WriteJson(_paths.VolumeRecord(volumeId), detached, LocalJsonContext.Default.LocalVolumeRecord);
            _volumes[volumeId] = detached;
            UpdateGauge();
            _logger.LogInformation("Detached volume {VolumeId} from node {NodeId}", volumeId, attachment.NodeId);
        }
    }

    public async Task<ExpandResult> ExpandVolumeAsync(string volumeId, long requiredBytes, long limitBytes, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            var record = _volumes.GetValueOrDefault(volumeId)
                ?? throw StorageException.NotFound($"volume {volumeId} not found");
            if (requiredBytes <= record.CapacityBytes)
            {
                // Never shrink: a smaller or equal request is already satisfied.
                return new ExpandResult(record.CapacityBytes, NodeExpansionRequired: true);
            }
            var target = CapacityPlan.ForExpand(requiredBytes, limitBytes, _sizeRules);
            EnsureCapacityAvailable(target, alreadyCounted: record.CapacityBytes);
            var image = _paths.VolumeImage(volumeId);
            if (!File.Exists(image))
            {
                throw StorageException.FailedPrecondition($"the backing file of volume {volumeId} is missing: {image}");
            }
            // File first, record second: recovery adopts a file that grew without its record.
            Grow(image, target);
            var grown = record with { CapacityBytes = target };
            AtomicFile.WriteJson(_paths.VolumeRecord(volumeId), grown, LocalJsonContext.Default.LocalVolumeRecord);
            _volumes[volumeId] = grown;
            if (record.Attachment is { } attachment && LoopDevices.IsBackedBy(attachment.LoopDevice, image))
            {
                await _loops.RefreshCapacityAsync(attachment.LoopDevice, CancellationToken.None).ConfigureAwait(false);
            }
            _logger.LogInformation("Expanded volume {VolumeId} from {OldBytes} to {NewBytes} bytes", volumeId, record.CapacityBytes, target);
            return new ExpandResult(target, NodeExpansionRequired: true);
        }
    }

    public async Task ModifyVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> mutableParameters, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_volumes.TryGetValue(volumeId, out var record))
            {
                throw StorageException.NotFound($"volume {volumeId} not found");
            }
            var changes = LocalMutableParameters.Validate(mutableParameters);
            if (changes.Count == 0)
            {
                return;
            }
            var merged = new Dictionary<string, string>(record.MutableParameters ?? [], StringComparer.Ordinal);
            foreach (var (key, value) in changes)
            {
                merged[key] = value;
            }
            // Device first, record second: a failed write to the device changes nothing, and a crash in between
            // leaves a record that the next attach applies anyway.
            var applied = record.Attachment is { } attachment && LoopDevices.IsBackedBy(attachment.LoopDevice, _paths.VolumeImage(volumeId));
            if (applied)
            {
                ApplyMutableParameters(record.Attachment!.LoopDevice, merged);
            }
            var modified = record with { MutableParameters = merged };
            AtomicFile.WriteJson(_paths.VolumeRecord(volumeId), modified, LocalJsonContext.Default.LocalVolumeRecord);
            _volumes[volumeId] = modified;
            LocalBackendLog.VolumeModified(_logger, volumeId, string.Join(", ", changes.Select(c => $"{c.Key}={c.Value}")), applied);
        }
    }

    private static void ApplyMutableParameters(string device, IReadOnlyDictionary<string, string>? parameters)
    {
        if (LocalMutableParameters.ReadAheadKiB(parameters) is { } kib)
        {
            LoopDevices.SetReadAheadKiB(device, kib);
        }
    }

    // ---------------------------------------------------------------- snapshots

    public async Task<SnapshotInfo> CreateSnapshotAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        foreach (var key in parameters.Keys)
        {
            if (!key.StartsWith(CsiKeyPrefix, StringComparison.Ordinal))
            {
                throw StorageException.InvalidArgument($"unknown parameter '{InputEcho.Of(key)}'");
            }
        }
        var snapshotId = LocalStatePaths.SnapshotIdFor(name);
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_snapshots.TryGetValue(snapshotId, out var existing))
            {
                if (existing.Name != name || existing.SourceVolumeId != sourceVolumeId)
                {
                    throw StorageException.AlreadyExists(
                        $"snapshot name {name} is already used by snapshot {existing.SnapshotId} of volume {existing.SourceVolumeId}");
                }
                return ToInfo(existing);
            }
            var source = _volumes.GetValueOrDefault(sourceVolumeId)
                ?? throw StorageException.NotFound($"source volume {sourceVolumeId} not found");
            var sourceImage = _paths.VolumeImage(source.VolumeId);
            if (!File.Exists(sourceImage))
            {
                throw StorageException.FailedPrecondition($"the backing file of volume {sourceVolumeId} is missing: {sourceImage}");
            }
            var image = _paths.SnapshotImage(snapshotId);
            // A snapshot of an attached volume copies the file as the page cache shows it: crash-consistent
            // (like pulling the plug), not application-consistent. Freeze the filesystem for more.
            await MakeImageAsync(image, sourceImage, source.CapacityBytes).ConfigureAwait(false);
            var record = new LocalSnapshotRecord(snapshotId, name, sourceVolumeId, source.CapacityBytes, DateTimeOffset.UtcNow);
            try
            {
                AtomicFile.WriteJson(_paths.SnapshotRecord(snapshotId), record, LocalJsonContext.Default.LocalSnapshotRecord);
            }
            catch
            {
                AtomicFile.TryDelete(image);
                throw;
            }
            _snapshots[snapshotId] = record;
            _logger.LogInformation("Created snapshot {SnapshotId} ({Name}) of volume {VolumeId}", snapshotId, name, sourceVolumeId);
            return ToInfo(record);
        }
    }

    public async Task DeleteSnapshotAsync(string snapshotId, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_snapshots.Remove(snapshotId, out var record))
            {
                return;
            }
            // Restored volumes are full copies, so a snapshot is never in use.
            File.Delete(_paths.SnapshotRecord(snapshotId));
            AtomicFile.SyncDirectory(_paths.SnapshotsDir);
            File.Delete(_paths.SnapshotImage(snapshotId));
            _logger.LogInformation("Deleted snapshot {SnapshotId} ({Name})", snapshotId, record.Name);
        }
    }

    public async Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            return _snapshots.TryGetValue(snapshotId, out var record) ? ToInfo(record) : null;
        }
    }

    public async Task<Page<SnapshotInfo>> ListSnapshotsAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken)
    {
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            var matching = _snapshots.Values
                .Where(s => filter.SnapshotId is null || s.SnapshotId == filter.SnapshotId)
                .Where(s => filter.SourceVolumeId is null || s.SourceVolumeId == filter.SourceVolumeId)
                .OrderBy(s => s.SnapshotId, StringComparer.Ordinal)
                .ToList();
            return Paginate(matching, s => s.SnapshotId, LocalStatePaths.IsSnapshotId, maxEntries, startingToken, ToInfo);
        }
    }

    public void Dispose()
    {
        _stateLock?.Dispose();
        _gate.Dispose();
    }

    // ---------------------------------------------------------------- helpers

    private IReadOnlyDictionary<string, string> ValidateParameters(CreateVolumeSpec spec)
    {
        foreach (var key in spec.Parameters.Keys.Order(StringComparer.Ordinal))
        {
            if (!FormatOptions.IsFormatKey(key) && !key.StartsWith(CsiKeyPrefix, StringComparison.Ordinal))
            {
                throw StorageException.InvalidArgument($"unknown parameter '{InputEcho.Of(key)}'");
            }
        }
        var fsType = spec.Capabilities.FirstOrDefault(c => !c.IsBlock && c.FsType.Length > 0)?.FsType;
        if (fsType is null)
        {
            if (spec.Parameters.TryGetValue(FsTypeParameter, out var fromParameter) && fromParameter.Length > 0)
            {
                if (!FsTypes.Contains(fromParameter))
                {
                    throw StorageException.InvalidArgument($"parameter {FsTypeParameter}={InputEcho.Of(fromParameter)} is not supported (supported: ext4, ext3, xfs)");
                }
                fsType = fromParameter;
            }
            else
            {
                fsType = spec.Capabilities.Count > 0 && spec.Capabilities.All(c => c.IsBlock) ? string.Empty : "ext4";
            }
        }
        return FormatOptions.Parse(spec.Parameters, fsType).ToVolumeContext();
    }

    private IReadOnlyList<TopologySegments> Topology => [new TopologySegments { [ZoneKey] = _options.Zone }];

    /// <summary>Local volumes exist in our zone only: a requisite list that excludes it cannot be met.</summary>
    private void EnsureTopologyReachable(TopologyRequirementSpec? requirements)
    {
        if (requirements is null || requirements.Requisite.Count == 0)
        {
            return;
        }
        var ours = Topology[0];
        if (!requirements.Requisite.Any(segment => segment.All(kv => ours.TryGetValue(kv.Key, out var value) && value == kv.Value)))
        {
            throw StorageException.ResourceExhausted(
                $"cannot provision in the requested topology: local volumes are only accessible in {ZoneKey}={_options.Zone}");
        }
    }

    private static void EnsureSameVolume(LocalVolumeRecord existing, CreateVolumeSpec spec, IReadOnlyDictionary<string, string> volumeContext,
        string? sourceSnapshotId, string? sourceVolumeId)
    {
        if (existing.Name != spec.Name)
        {
            throw StorageException.AlreadyExists($"volume id {existing.VolumeId} is already used by volume name {existing.Name}");
        }
        if (existing.CapacityBytes < spec.RequiredBytes || (spec.LimitBytes > 0 && existing.CapacityBytes > spec.LimitBytes))
        {
            throw StorageException.AlreadyExists(
                $"volume {spec.Name} already exists with {existing.CapacityBytes} bytes, outside the requested capacity range");
        }
        if (!SameEntries(existing.Parameters, spec.Parameters) || !SameEntries(existing.VolumeContext, volumeContext))
        {
            throw StorageException.AlreadyExists($"volume {spec.Name} already exists with different parameters");
        }
        if (existing.SourceSnapshotId != sourceSnapshotId || existing.SourceVolumeId != sourceVolumeId)
        {
            throw StorageException.AlreadyExists($"volume {spec.Name} already exists with a different content source");
        }
    }

    private static bool SameEntries(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var value) && value == kv.Value);

    private void EnsureCapacityAvailable(long bytes, long alreadyCounted)
    {
        if (_options.CapacityBytes <= 0)
        {
            return;
        }
        var used = _volumes.Values.Sum(v => v.CapacityBytes) - alreadyCounted;
        if (used + bytes > _options.CapacityBytes)
        {
            throw StorageException.ResourceExhausted(
                $"the local backend has {_options.CapacityBytes - used} of {_options.CapacityBytes} bytes left; {bytes} requested");
        }
    }

    /// <summary>Builds an image under a temp name (empty sparse file or a reflink/sparse copy), grows it, then renames it into place.</summary>
    private async Task MakeImageAsync(string image, string? sourceFile, long size)
    {
        var temp = LocalStatePaths.TempFor(image);
        try
        {
            if (sourceFile is null)
            {
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
                SetLength(stream, size);
                stream.Flush(flushToDisk: true);
            }
            else
            {
                (await _commands.RunAsync("cp", ["--reflink=auto", "--sparse=always", sourceFile, temp], CancellationToken.None)
                    .ConfigureAwait(false)).EnsureSuccess();
                Grow(temp, size);
            }
            File.Move(temp, image, overwrite: true);
            AtomicFile.SyncDirectory(Path.GetDirectoryName(image)!);
        }
        catch
        {
            AtomicFile.TryDelete(temp);
            throw;
        }
    }

    private static void Grow(string file, long size)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        if (stream.Length < size)
        {
            SetLength(stream, size);
        }
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Sizes a sparse image. A size beyond what the state dir's filesystem can hold in one file (ext4: 16 TiB
    /// with 4 KiB blocks) fails in ftruncate with EFBIG, which .NET reports as ArgumentOutOfRangeException:
    /// that is the backend's maximum, so OUT_OF_RANGE, not INTERNAL.
    /// </summary>
    private static void SetLength(FileStream stream, long size)
    {
        try
        {
            stream.SetLength(size);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw StorageException.OutOfRange(
                $"unsupported capacity: {size} bytes is more than the local backend's filesystem holds in one file (set --local-max-volume-size to say so up front)", ex);
        }
    }

    private async Task DetachAllBackedByAsync(string image)
    {
        foreach (var loop in LoopDevices.List().Where(l => l.BackingFile == image || l.BackingFile == image + " (deleted)"))
        {
            await _loops.DetachAsync(loop.Device, loop.BackingFile, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private long AttachedCount(string nodeId) => _volumes.Values.Count(v => v.Attachment?.NodeId == nodeId);

    private void UpdateGauge() => Interlocked.Exchange(ref _attachedHere, AttachedCount(NodeId));

    /// <summary>
    /// Keyset pagination over a list sorted by id: the token is the last id of the previous page, and the next
    /// page starts after it. Deleting or adding objects between pages never shifts a page (the spec allows
    /// misses and duplicates, this has neither for objects that stay). A token that is not an id → ABORTED.
    /// </summary>
    private static Page<TOut> Paginate<TIn, TOut>(List<TIn> sorted, Func<TIn, string> idOf, Func<string, bool> isId,
        int maxEntries, string? startingToken, Func<TIn, TOut> map)
    {
        IEnumerable<TIn> rest = sorted;
        if (!string.IsNullOrEmpty(startingToken))
        {
            if (!isId(startingToken))
            {
                throw StorageException.Aborted($"starting_token '{InputEcho.Of(startingToken)}' was not issued by this listing; list again from the start");
            }
            rest = sorted.Where(item => string.CompareOrdinal(idOf(item), startingToken) > 0);
        }
        var remaining = rest.ToList();
        var count = maxEntries > 0 ? Math.Min(maxEntries, remaining.Count) : remaining.Count;
        var page = remaining.Take(count).ToList();
        var next = count < remaining.Count ? idOf(page[^1]) : null;
        return new Page<TOut>(page.Select(map).ToList(), next);
    }

    private VolumeInfo ToInfo(LocalVolumeRecord record)
    {
        var source = record.SourceSnapshotId is not null || record.SourceVolumeId is not null
            ? new VolumeContentSourceSpec(record.SourceSnapshotId, record.SourceVolumeId)
            : null;
        return new VolumeInfo(
            record.VolumeId,
            record.CapacityBytes,
            record.VolumeContext,
            source,
            Topology,
            record.Attachment is { } attachment ? [attachment.NodeId] : [],
            ConditionOf(record));
    }

    private VolumeConditionInfo ConditionOf(LocalVolumeRecord record)
    {
        var image = _paths.VolumeImage(record.VolumeId);
        if (!File.Exists(image))
        {
            return new VolumeConditionInfo(true, $"the backing file {image} is missing");
        }
        if (record.Attachment is { } attachment && !LoopDevices.IsBackedBy(attachment.LoopDevice, image))
        {
            return new VolumeConditionInfo(true, $"loop device {attachment.LoopDevice} of the attachment to node {attachment.NodeId} vanished");
        }
        return new VolumeConditionInfo(false, "volume is healthy");
    }

    private static SnapshotInfo ToInfo(LocalSnapshotRecord record) =>
        new(record.SnapshotId, record.SourceVolumeId, record.SizeBytes, record.CreatedAt, ReadyToUse: true, record.GroupSnapshotId);

    // ---------------------------------------------------------------- gate and recovery

    private async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_recovered)
            {
                _stateLock ??= LockStateDir();
                // Thaw first: a filesystem left frozen by a crash blocks every writer on the node.
                await _freezer.RecoverAsync().ConfigureAwait(false);
                await new LocalStateRecovery(_paths, _loops, _volumes, _snapshots, _groups, _logger).RunAsync().ConfigureAwait(false);
                UpdateGauge();
                Volatile.Write(ref _recovered, true);
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }
        return new GateRelease(_gate);
    }

    /// <summary>
    /// Holds an exclusive lock on the state dir for the process's lifetime: two controllers on one state dir would
    /// each believe their own view. .NET takes FileShare.None as an advisory flock, which the kernel drops when the
    /// process dies, even by kill -9, so a crash never leaves the dir locked.
    /// </summary>
    private FileStream LockStateDir()
    {
        Directory.CreateDirectory(_paths.StateDir);
        var path = Path.Combine(_paths.StateDir, "lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw StorageException.Unavailable($"state dir {_paths.StateDir} is in use by another controller process", ex);
        }
    }

    private sealed class GateRelease(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
