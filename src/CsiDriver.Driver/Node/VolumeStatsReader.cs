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
/// </summary>
internal sealed class VolumeStatsReader(IMountTable mounts, IBlockDevices devices, IPathInspector paths, IFilesystemStats stats)
{
    private static readonly VolumeConditionInfo Healthy = new(false, "volume is mounted and its device is present");

    public VolumeStats Read(string volumeId, string volumePath)
    {
        var info = paths.Inspect(volumePath);
        switch (info.Kind)
        {
            case PathKind.Missing:
                throw StorageException.NotFound($"volume_path {volumePath} of volume {volumeId} does not exist");
            case PathKind.BlockDevice:
                return devices.IsPresent(info.Rdev)
                    ? new VolumeStats(null, devices.GetSizeBytes(info.Rdev), Healthy)
                    : Abnormal($"the block device {info.Rdev} at {volumePath} is gone (detached or without media)");
            case PathKind.RegularFile:
                return Abnormal($"{volumePath} is a plain file: the block device is no longer bound there");
            case PathKind.Directory:
                break;
            default:
                throw StorageException.NotFound($"volume_path {volumePath} is neither a directory nor a block device");
        }

        var mount = mounts.FindByMountPoint(volumePath);
        if (mount is null)
        {
            return Abnormal($"{volumePath} is no longer a mount point: the volume's filesystem is not mounted there");
        }
        // Block-backed filesystems carry their device's number; a gone device means I/O errors ahead.
        if (mount.Device.Major != 0 && !devices.IsPresent(mount.Device))
        {
            return Abnormal($"the device {mount.Source} ({mount.Device}) mounted at {volumePath} is gone");
        }
        try
        {
            return new VolumeStats(stats.Get(volumePath), null, Healthy);
        }
        catch (IOException ex)
        {
            return Abnormal($"cannot read filesystem statistics of {volumePath}: {ex.Message}");
        }
    }

    private static VolumeStats Abnormal(string message) => new(null, null, new VolumeConditionInfo(true, message));
}
