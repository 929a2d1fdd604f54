using CsiDriver.Core.Errors;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;

namespace CsiDriver.Driver.Node;

/// <summary>
/// Grows a volume on the node after the controller grew its device: a mounted filesystem is grown online to fill
/// the device; a block volume only has its device size checked. The returned capacity is the device's size.
/// Nothing is grown before the path is proven to hold this volume: a foreign filesystem at volume_path (another
/// volume's, the host's) is NOT_FOUND, the spec's code for "no volume with this id at this path".
/// </summary>
internal sealed class VolumeExpander(IMountTable mounts, IResizer resizer, IBlockDevices devices, IPathInspector paths, VolumeMountIdentity identity)
{
    public async Task<long> ExpandAsync(string volumeId, ConfinedPath volumePath, bool isBlock, long requiredBytes, CancellationToken cancellationToken)
    {
        var path = volumePath.Canonical;
        // A corrupted mount cannot be looked at (statx fails); mountinfo still says what it is.
        var info = volumePath.Kind == PathKind.Unreachable ? new PathInfo(PathKind.Unreachable, default, default, 0) : paths.Inspect(path);
        if (info.Kind == PathKind.Missing)
        {
            throw StorageException.NotFound($"volume_path {NodePathConfinement.Show(path)} does not exist");
        }
        var volumeDevices = await identity.DevicesOfAsync(volumeId, path, cancellationToken).ConfigureAwait(false);
        if (isBlock || info.Kind == PathKind.BlockDevice)
        {
            if (!VolumeMountIdentity.IsVolumeBlockBind(info, volumeDevices))
            {
                throw StorageException.NotFound($"volume_path {NodePathConfinement.Show(path)} is not the published block volume {volumeId}");
            }
            return EnsureLargeEnough(volumeId, info.Rdev, requiredBytes);
        }

        var mount = mounts.FindAt(path)
            ?? throw StorageException.NotFound($"volume {volumeId} is not mounted at volume_path {NodePathConfinement.Show(path)}");
        if (!VolumeMountIdentity.IsVolumeFilesystem(mount, volumeDevices))
        {
            throw StorageException.NotFound(
                $"volume_path {NodePathConfinement.Show(path)} holds {VolumeMountIdentity.Describe(mount)}, not volume {volumeId}; nothing was grown");
        }
        var device = devices.GetDevicePath(mount.Device)
            ?? throw StorageException.NotFound($"the device {mount.Source} ({mount.Device}) mounted at {path} no longer exists");
        var size = EnsureLargeEnough(volumeId, mount.Device, requiredBytes);
        // Not cancelled half-way: the CO retries anyway, and a grow is finished faster than it is rolled back.
        await resizer.ResizeAsync(device, path, CancellationToken.None).ConfigureAwait(false);
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
