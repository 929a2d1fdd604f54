using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// The volume lifecycle of the local backend: create (empty, from a snapshot, or a clone of a volume), delete, expand
/// and modify. A volume is an image file plus its record; the record is the commit point (written last on create,
/// deleted first on delete). The caller holds the keys of the volume and of its content source.
/// </summary>
internal sealed class LocalVolumes(
    LocalStatePaths paths,
    LocalBackendOptions options,
    SizeRules sizeRules,
    LocalCatalog catalog,
    LocalImages images,
    LocalAttacher attacher,
    LoopDevices loops,
    ILogger logger)
{
    public async Task<LocalVolumeRecord> CreateAsync(CreateVolumeSpec spec, IReadOnlyDictionary<string, string> volumeContext,
        Dictionary<string, string> mutableParameters)
    {
        var volumeId = LocalStatePaths.VolumeIdFor(spec.Name);
        var sourceSnapshotId = spec.ContentSource?.SnapshotId;
        var sourceVolumeId = spec.ContentSource?.VolumeId;
        // A retry finds the volume it made, even when its source is gone by now.
        if (catalog.Volume(volumeId) is { } existing)
        {
            LocalCreateRequests.EnsureSameVolume(existing, spec, volumeContext);
            return existing;
        }
        string? sourceFile = null;
        long sourceSize = 0;
        if (sourceSnapshotId is not null)
        {
            var snapshot = catalog.Snapshot(sourceSnapshotId)
                ?? throw StorageException.NotFound($"snapshot {sourceSnapshotId} not found");
            sourceFile = paths.SnapshotImage(snapshot.SnapshotId);
            sourceSize = snapshot.SizeBytes;
        }
        else if (sourceVolumeId is not null)
        {
            var source = catalog.Volume(sourceVolumeId)
                ?? throw StorageException.NotFound($"source volume {sourceVolumeId} not found");
            sourceFile = paths.VolumeImage(source.VolumeId);
            sourceSize = source.CapacityBytes;
        }

        var size = CapacityPlan.ForCreate(spec.RequiredBytes, spec.LimitBytes, sourceSize, sizeRules);
        // Reserved for the whole copy: volumes created meanwhile see this one's bytes as taken.
        using var reserved = catalog.ReserveCapacity(size, options.CapacityBytes);
        if (sourceFile is not null && !File.Exists(sourceFile))
        {
            throw StorageException.FailedPrecondition($"the data of content source {sourceSnapshotId ?? sourceVolumeId} is missing from {sourceFile}");
        }

        var record = new LocalVolumeRecord(
            volumeId, spec.Name, size,
            new Dictionary<string, string>(spec.Parameters, StringComparer.Ordinal),
            new Dictionary<string, string>(volumeContext, StringComparer.Ordinal), sourceSnapshotId, sourceVolumeId, DateTimeOffset.UtcNow, Attachment: null,
            mutableParameters.Count > 0 ? mutableParameters : null);
        var image = paths.VolumeImage(volumeId);
        await images.MakeAsync(image, sourceFile, size).ConfigureAwait(false);
        try
        {
            AtomicFile.WriteJson(paths.VolumeRecord(volumeId), record, LocalJsonContext.Default.LocalVolumeRecord);
        }
        catch
        {
            AtomicFile.TryDelete(image);
            throw;
        }
        catalog.Put(record, heldFor: reserved);
        LocalBackendLog.VolumeCreated(logger, volumeId, spec.Name, size, sourceSnapshotId ?? sourceVolumeId ?? "none");
        return record;
    }

    public async Task DeleteAsync(string volumeId)
    {
        if (catalog.Volume(volumeId) is not { } record)
        {
            return;
        }
        if (record.Attachment is { } attachment)
        {
            throw StorageException.FailedPrecondition($"volume {volumeId} is published to node {attachment.NodeId}; unpublish it first");
        }
        // Out of the listing before its files go, so a concurrent List never shows a volume without its image.
        catalog.RemoveVolume(volumeId);
        // The record goes first: once it is gone the volume is gone, and recovery removes a leftover image.
        LocalCommitPoint.Remove(paths.VolumeRecord(volumeId), () => catalog.Put(record));
        await attacher.DetachAllBackedByAsync(paths.VolumeImage(volumeId)).ConfigureAwait(false);
        try
        {
            File.Delete(paths.VolumeImage(volumeId));
        }
        catch (IOException ex)
        {
            // Past the commit point the volume is gone; the next start removes the leftover image.
            LocalBackendLog.VolumeImageLeft(logger, volumeId, ex);
        }
        LocalBackendLog.VolumeDeleted(logger, volumeId, record.Name);
    }

    public async Task<ExpandResult> ExpandAsync(string volumeId, long requiredBytes, long limitBytes)
    {
        var record = catalog.Volume(volumeId)
            ?? throw StorageException.NotFound($"volume {volumeId} not found");
        if (requiredBytes <= record.CapacityBytes)
        {
            // Never shrink: a smaller or equal request is already satisfied.
            return new ExpandResult(record.CapacityBytes, NodeExpansionRequired: true);
        }
        var target = CapacityPlan.ForExpand(requiredBytes, limitBytes, sizeRules);
        using var reserved = catalog.ReserveCapacity(target - record.CapacityBytes, options.CapacityBytes);
        var image = paths.VolumeImage(volumeId);
        if (!File.Exists(image))
        {
            throw StorageException.FailedPrecondition($"the backing file of volume {volumeId} is missing: {image}");
        }
        // File first, record second: recovery adopts a file that grew without its record.
        LocalImages.Grow(image, target);
        var grown = record with { CapacityBytes = target };
        AtomicFile.WriteJson(paths.VolumeRecord(volumeId), grown, LocalJsonContext.Default.LocalVolumeRecord);
        catalog.Put(grown, heldFor: reserved);
        if (record.Attachment is { } attachment && LoopDevices.IsBackedBy(attachment.LoopDevice, image))
        {
            await loops.RefreshCapacityAsync(attachment.LoopDevice, CancellationToken.None).ConfigureAwait(false);
        }
        LocalBackendLog.VolumeExpanded(logger, volumeId, record.CapacityBytes, target);
        return new ExpandResult(target, NodeExpansionRequired: true);
    }

    public void Modify(string volumeId, IReadOnlyDictionary<string, string> mutableParameters)
    {
        var record = catalog.Volume(volumeId)
            ?? throw StorageException.NotFound($"volume {volumeId} not found");
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
        var applied = record.Attachment is { } attachment && LoopDevices.IsBackedBy(attachment.LoopDevice, paths.VolumeImage(volumeId));
        if (applied)
        {
            LocalAttacher.ApplyMutableParameters(record.Attachment!.LoopDevice, merged);
        }
        var modified = record with { MutableParameters = merged };
        AtomicFile.WriteJson(paths.VolumeRecord(volumeId), modified, LocalJsonContext.Default.LocalVolumeRecord);
        catalog.Put(modified);
        LocalBackendLog.VolumeModified(logger, volumeId, string.Join(", ", changes.Select(c => $"{c.Key}={c.Value}")), applied);
    }
}
