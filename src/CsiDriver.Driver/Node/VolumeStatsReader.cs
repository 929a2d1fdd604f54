using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;

namespace CsiDriver.Driver.Node;

/// <summary>What NodeGetVolumeStats reports. Usage is null when the volume is not usable (see Condition).</summary>
internal sealed record VolumeStats(FilesystemUsage? Filesystem, long? BlockBytes, VolumeConditionInfo Condition);

/// <summary>
/// Usage and health of a published or staged volume: bytes and inodes of a mounted filesystem, the size of a
/// block device. Abnormal when the path is no longer a mount point or the device behind it has gone.
/// Only this volume is ever reported: a path holding another volume's or the host's filesystem, or a path this
/// driver never staged or published the volume at, is NOT_FOUND (the spec's "volume does not exist at volume_path"),
/// never someone else's usage.
/// </summary>
internal sealed class VolumeStatsReader(
    IMountTable mounts, IBlockDevices devices, IPathInspector paths, IFilesystemStats stats, VolumeMountIdentity identity, NodeVolumeRecords records)
{
    private static readonly VolumeConditionInfo Healthy = new(false, "volume is mounted and its device is present");

    public async Task<VolumeStats> ReadAsync(string volumeId, ConfinedPath volumePath, CancellationToken cancellationToken)
    {
        var path = volumePath.Canonical;
        var shown = NodePathConfinement.Show(path);
        var info = volumePath.Kind == PathKind.Unreachable ? new PathInfo(PathKind.Unreachable, default, default, 0) : paths.Inspect(path);
        if (info.Kind == PathKind.Missing)
        {
            throw StorageException.NotFound($"volume_path {shown} of volume {volumeId} does not exist");
        }
        var volumeDevices = await identity.DevicesOfAsync(volumeId, path, cancellationToken).ConfigureAwait(false);
        // Only a path this driver staged or published the volume at may report a volume that is no longer there.
        var wasOurs = records.Read(volumeId).DevicesAt(path).Any();
        switch (info.Kind)
        {
            case PathKind.BlockDevice when VolumeMountIdentity.IsVolumeBlockBind(info, volumeDevices):
                return devices.IsPresent(info.Rdev)
                    ? new VolumeStats(null, devices.GetSizeBytes(info.Rdev), Healthy)
                    : Abnormal($"the block device {info.Rdev} at {shown} is gone (detached or without media)");
            case PathKind.RegularFile when wasOurs && mounts.FindAt(path) is null:
                return Abnormal($"{shown} is a plain file: the block device is no longer bound there");
            case PathKind.Directory or PathKind.Unreachable:
                break;
            default:
                throw NotThisVolume(volumeId, shown);
        }

        var mount = mounts.FindAt(path);
        if (mount is null)
        {
            return wasOurs
                ? Abnormal($"{shown} is no longer a mount point: the volume's filesystem is not mounted there")
                : throw NotThisVolume(volumeId, shown);
        }
        if (!VolumeMountIdentity.IsVolumeFilesystem(mount, volumeDevices))
        {
            throw NotThisVolume(volumeId, shown);
        }
        // Block-backed filesystems carry their device's number; a gone device means I/O errors ahead.
        if (!devices.IsPresent(mount.Device))
        {
            return Abnormal($"the device {mount.Source} ({mount.Device}) mounted at {shown} is gone");
        }
        try
        {
            return new VolumeStats(stats.Get(path), null, Healthy);
        }
        catch (IOException ex)
        {
            return Abnormal($"cannot read filesystem statistics of {shown}: {ex.Message}");
        }
    }

    private static StorageException NotThisVolume(string volumeId, string shownPath) =>
        StorageException.NotFound($"volume {volumeId} is not staged or published at volume_path {shownPath}");

    private static VolumeStats Abnormal(string message) => new(null, null, new VolumeConditionInfo(true, message));
}
