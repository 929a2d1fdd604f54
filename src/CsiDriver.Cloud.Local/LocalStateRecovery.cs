using CsiDriver.Core.Storage;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Rebuilds the backend's view from the state dir at start, after a clean stop or a kill -9:
/// removes half-written temp files and images that never got their record (an interrupted create or delete),
/// adopts a file that grew before its record did (an interrupted expand), and reconciles loop devices backed by
/// our volume images with the attachment records. Loop devices backed by anything else are never touched.
/// </summary>
internal sealed class LocalStateRecovery(
    LocalStatePaths paths,
    LoopDevices loops,
    Dictionary<string, LocalVolumeRecord> volumes,
    Dictionary<string, LocalSnapshotRecord> snapshots,
    Dictionary<string, LocalGroupSnapshotRecord> groups,
    ILogger logger)
{
    private const string ImageExtension = ".img";
    private const string RecordExtension = ".json";

    public async Task RunAsync()
    {
        paths.EnsureCreated();
        volumes.Clear();
        snapshots.Clear();
        groups.Clear();
        RemoveTempFiles(paths.VolumesDir);
        RemoveTempFiles(paths.SnapshotsDir);
        RemoveTempFiles(paths.DevicesDir);
        RemoveTempFiles(paths.GroupsDir);

        var unreadableVolumes = Load(paths.VolumesDir, LocalStatePaths.IsVolumeId, (id, path) =>
        {
            var record = AtomicFile.ReadJson(path, LocalJsonContext.Default.LocalVolumeRecord);
            if (record is null || record.VolumeId != id)
            {
                return false;
            }
            volumes[id] = record;
            return true;
        });
        var unreadableSnapshots = Load(paths.SnapshotsDir, LocalStatePaths.IsSnapshotId, (id, path) =>
        {
            var record = AtomicFile.ReadJson(path, LocalJsonContext.Default.LocalSnapshotRecord);
            if (record is null || record.SnapshotId != id)
            {
                return false;
            }
            snapshots[id] = record;
            return true;
        });

        var unreadableGroups = Load(paths.GroupsDir, LocalStatePaths.IsGroupId, (id, path) =>
        {
            var record = AtomicFile.ReadJson(path, LocalJsonContext.Default.LocalGroupSnapshotRecord);
            if (record is null || record.GroupSnapshotId != id)
            {
                return false;
            }
            groups[id] = record;
            return true;
        });
        RemoveUncommittedGroupMembers(unreadableGroups);

        var loopsByVolume = LoopDevices.List()
            .Select(l => (Loop: l, VolumeId: paths.VolumeIdOfImage(StripDeleted(l.BackingFile))))
            .Where(x => x.VolumeId is not null)
            .GroupBy(x => x.VolumeId!, x => x.Loop, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        await RemoveOrphanImagesAsync(paths.VolumesDir, LocalStatePaths.IsVolumeId, id => volumes.ContainsKey(id) || unreadableVolumes.Contains(id), loopsByVolume).ConfigureAwait(false);
        await RemoveOrphanImagesAsync(paths.SnapshotsDir, LocalStatePaths.IsSnapshotId, id => snapshots.ContainsKey(id) || unreadableSnapshots.Contains(id), loopsByVolume).ConfigureAwait(false);

        foreach (var record in volumes.Values.ToList())
        {
            AdoptGrownFile(record);
        }
        foreach (var record in volumes.Values.ToList())
        {
            await ReconcileAttachmentAsync(record, loopsByVolume.GetValueOrDefault(record.VolumeId) ?? []).ConfigureAwait(false);
        }
        RemoveStaleLinks();
        LocalBackendLog.StateRecovered(logger, paths.StateDir, volumes.Count, snapshots.Count, volumes.Values.Count(v => v.Attachment is not null));
    }

    /// <summary>
    /// The group record is a group's commit point: member snapshots of a group without one are what an interrupted
    /// group create or delete left behind (the CO never saw that group succeed, or saw it deleted). The record goes
    /// first, so its image is removed by the orphan-image pass after it.
    /// </summary>
    private void RemoveUncommittedGroupMembers(HashSet<string> unreadableGroups)
    {
        // A group whose record cannot be read keeps its members: their data is kept for a human, like the record.
        foreach (var member in snapshots.Values.Where(s => s.GroupSnapshotId is { } g && !groups.ContainsKey(g) && !unreadableGroups.Contains(g)).ToList())
        {
            LocalBackendLog.RemovingUncommittedGroupMember(logger, member.SnapshotId, member.GroupSnapshotId);
            File.Delete(paths.SnapshotRecord(member.SnapshotId));
            snapshots.Remove(member.SnapshotId);
        }
        AtomicFile.SyncDirectory(paths.SnapshotsDir);
    }

    private void RemoveTempFiles(string directory)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(directory).Where(p => Path.GetFileName(p).Contains(LocalStatePaths.TempMarker, StringComparison.Ordinal)))
        {
            LocalBackendLog.RemovingHalfWritten(logger, path);
            File.Delete(path);
        }
    }

    /// <summary>Loads every record; returns the ids whose record cannot be read (kept on disk, not served).</summary>
    private HashSet<string> Load(string directory, Func<string, bool> isId, Func<string, string, bool> add)
    {
        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(directory, "*" + RecordExtension))
        {
            var id = Path.GetFileNameWithoutExtension(path);
            if (!isId(id))
            {
                continue;
            }
            try
            {
                if (add(id, path))
                {
                    continue;
                }
            }
            catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
            {
                LocalBackendLog.CannotRead(logger, ex, path);
            }
            // Atomic writes make this unexpected; keep its data for a human rather than deleting it.
            LocalBackendLog.RecordUnreadable(logger, path);
            unreadable.Add(id);
        }
        return unreadable;
    }

    private async Task RemoveOrphanImagesAsync(string directory, Func<string, bool> isId, Func<string, bool> hasRecord,
        Dictionary<string, List<LoopDevice>> loopsByVolume)
    {
        foreach (var path in Directory.EnumerateFiles(directory, "*" + ImageExtension))
        {
            var id = Path.GetFileNameWithoutExtension(path);
            if (!isId(id) || hasRecord(id))
            {
                continue;
            }
            // The record is the commit point: an image without one is an interrupted create or delete.
            if (loopsByVolume.Remove(id, out var attached))
            {
                foreach (var loop in attached)
                {
                    LocalBackendLog.DetachingOrphanLoop(logger, loop.Device, path);
                    await loops.DetachAsync(loop.Device, loop.BackingFile, CancellationToken.None).ConfigureAwait(false);
                }
            }
            LocalBackendLog.RemovingUnrecorded(logger, path);
            File.Delete(path);
        }
    }

    private void AdoptGrownFile(LocalVolumeRecord record)
    {
        var image = paths.VolumeImage(record.VolumeId);
        if (!File.Exists(image))
        {
            LocalBackendLog.BackingFileLost(logger, record.VolumeId, image);
            return;
        }
        var length = new FileInfo(image).Length;
        if (length > record.CapacityBytes)
        {
            // An expand grew the file and stopped before its record: finish it.
            LocalBackendLog.AdoptingFileSize(logger, record.VolumeId, length, record.CapacityBytes);
            var grown = record with { CapacityBytes = length };
            AtomicFile.WriteJson(paths.VolumeRecord(record.VolumeId), grown, LocalJsonContext.Default.LocalVolumeRecord);
            volumes[record.VolumeId] = grown;
        }
    }

    private async Task ReconcileAttachmentAsync(LocalVolumeRecord record, List<LoopDevice> attached)
    {
        var image = paths.VolumeImage(record.VolumeId);
        var live = attached.Where(l => l.BackingFile == image).ToList();
        var keep = (LoopDevice?)null;

        if (record.Attachment is { } attachment)
        {
            keep = live.FirstOrDefault(l => l.Device == attachment.LoopDevice) ?? live.FirstOrDefault();
            if (keep is null && File.Exists(image))
            {
                // Recorded as attached but the device is gone (a reboot, a manual losetup -d): attach again,
                // so the CO's view (published) stays true.
                var device = await loops.AttachAsync(image, attachment.ReadOnly, CancellationToken.None).ConfigureAwait(false);
                LocalBackendLog.LoopReattached(logger, record.VolumeId, attachment.LoopDevice, device);
                keep = new LoopDevice(device, image);
            }
            if (keep is not null && keep.Device != attachment.LoopDevice)
            {
                var repaired = record with { Attachment = attachment with { LoopDevice = keep.Device } };
                AtomicFile.WriteJson(paths.VolumeRecord(record.VolumeId), repaired, LocalJsonContext.Default.LocalVolumeRecord);
                volumes[record.VolumeId] = repaired;
            }
            if (keep is not null)
            {
                DeviceLinks.Replace(paths.DeviceLink(record.VolumeId), keep.Device);
                // An expand that grew the file but died before `losetup --set-capacity`: finish it.
                if (File.Exists(image) && LoopDevices.SizeBytes(keep.Device) is var kernelSize and >= 0 && kernelSize < new FileInfo(image).Length)
                {
                    LocalBackendLog.RefreshingLoopCapacity(logger, record.VolumeId, keep.Device, kernelSize);
                    await loops.RefreshCapacityAsync(keep.Device, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }

        // Anything else backed by this image is a publish that crashed before its record, or a duplicate: the
        // CO never saw it succeed, so detaching is safe and it will retry.
        foreach (var loop in attached.Where(l => l != keep))
        {
            LocalBackendLog.DetachingUnrecordedLoop(logger, loop.Device, record.VolumeId);
            await loops.DetachAsync(loop.Device, loop.BackingFile, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private void RemoveStaleLinks()
    {
        foreach (var link in Directory.EnumerateFileSystemEntries(paths.DevicesDir))
        {
            var id = Path.GetFileName(link);
            if (volumes.TryGetValue(id, out var record) && record.Attachment is { } attachment &&
                DeviceLinks.Read(link) == attachment.LoopDevice)
            {
                continue;
            }
            LocalBackendLog.RemovingStaleLink(logger, link);
            File.Delete(link);
        }
    }

    private static string StripDeleted(string backingFile) =>
        backingFile.EndsWith(" (deleted)", StringComparison.Ordinal) ? backingFile[..^" (deleted)".Length] : backingFile;
}
