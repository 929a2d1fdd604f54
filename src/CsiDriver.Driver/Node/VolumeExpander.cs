using CsiDriver.Core.Errors;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;

namespace CsiDriver.Driver.Node;

/// <summary>
/// Grows a volume on the node after the controller grew its device: a mounted filesystem is grown online to fill
/// the device; a block volume only has its device size checked. The returned capacity is the device's size.
/// </summary>
internal sealed class VolumeExpander(IMountTable mounts, IResizer resizer, IBlockDevices devices, IPathInspector paths)
{
    public async Task<long> ExpandAsync(string volumeId, string volumePath, bool isBlock, long requiredBytes, CancellationToken cancellationToken)
    {
        var info = paths.Inspect(volumePath);
        if (info.Kind == PathKind.Missing)
        {
            throw StorageException.NotFound($"volume_path {volumePath} does not exist");
        }
        if (isBlock || info.Kind == PathKind.BlockDevice)
        {
            if (info.Kind != PathKind.BlockDevice)
            {
                throw StorageException.NotFound($"volume_path {volumePath} is not a published block volume");
            }
            return EnsureLargeEnough(volumeId, info.Rdev, requiredBytes);
        }

        var mount = mounts.FindByMountPoint(volumePath)
            ?? throw StorageException.NotFound($"volume {volumeId} is not mounted at volume_path {volumePath}");
        var device = devices.GetDevicePath(mount.Device)
            ?? throw StorageException.NotFound($"the device {mount.Source} ({mount.Device}) mounted at {volumePath} no longer exists");
        var size = EnsureLargeEnough(volumeId, mount.Device, requiredBytes);
        // Not cancelled half-way: the CO retries anyway, and a grow is finished faster than it is rolled back.
        await resizer.ResizeAsync(device, volumePath, CancellationToken.None).ConfigureAwait(false);
        return size;
    }

    private long EnsureLargeEnough(string volumeId, DeviceNumber device, long requiredBytes)
    {
        var size = devices.GetSizeBytes(device);
        if (requiredBytes > 0 && size < requiredBytes)
        {
            throw StorageException.OutOfRange(
                $"the device of volume {volumeId} is {size} bytes on this node, less than the required {requiredBytes}; "
                + "the controller has not grown it (yet)");
        }
        return size;
    }
}
