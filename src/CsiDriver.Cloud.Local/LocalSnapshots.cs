using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Snapshots of single volumes: a full copy of the volume's image (a reflink where the filesystem has it) plus the
/// snapshot's record, its commit point. The caller holds the keys of the snapshot and of its source volume.
/// </summary>
internal sealed class LocalSnapshots(LocalStatePaths paths, LocalCatalog catalog, LocalImages images, ILogger logger)
{
    public async Task<LocalSnapshotRecord> CreateAsync(string name, string sourceVolumeId)
    {
        var snapshotId = LocalStatePaths.SnapshotIdFor(name);
        if (catalog.Snapshot(snapshotId) is { } existing)
        {
            if (existing.Name != name || existing.SourceVolumeId != sourceVolumeId)
            {
                throw StorageException.AlreadyExists(
                    $"snapshot name {name} is already used by snapshot {existing.SnapshotId} of volume {existing.SourceVolumeId}");
            }
            return existing;
        }
        var source = catalog.Volume(sourceVolumeId)
            ?? throw StorageException.NotFound($"source volume {sourceVolumeId} not found");
        var sourceImage = paths.VolumeImage(source.VolumeId);
        if (!File.Exists(sourceImage))
        {
            throw StorageException.FailedPrecondition($"the backing file of volume {sourceVolumeId} is missing: {sourceImage}");
        }
        var image = paths.SnapshotImage(snapshotId);
        // A snapshot of an attached volume copies the file as the page cache shows it: crash-consistent
        // (like pulling the plug), not application-consistent. Freeze the filesystem for more.
        await images.MakeAsync(image, sourceImage, source.CapacityBytes).ConfigureAwait(false);
        var record = new LocalSnapshotRecord(snapshotId, name, sourceVolumeId, source.CapacityBytes, DateTimeOffset.UtcNow);
        try
        {
            AtomicFile.WriteJson(paths.SnapshotRecord(snapshotId), record, LocalJsonContext.Default.LocalSnapshotRecord);
        }
        catch
        {
            AtomicFile.TryDelete(image);
            throw;
        }
        catalog.Put(record);
        LocalBackendLog.SnapshotCreated(logger, snapshotId, name, sourceVolumeId);
        return record;
    }

    public void Delete(string snapshotId)
    {
        if (catalog.Snapshot(snapshotId) is not { } record)
        {
            return;
        }
        // Restored volumes are full copies, so a snapshot is never in use.
        catalog.RemoveSnapshot(snapshotId);
        LocalCommitPoint.Remove(paths.SnapshotRecord(snapshotId), () => catalog.Put(record));
        File.Delete(paths.SnapshotImage(snapshotId));
        LocalBackendLog.SnapshotDeleted(logger, snapshotId, record.Name);
    }
}
