using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Driver.Validation;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;

namespace CsiDriver.Driver.Node;

/// <summary>
/// Proves that what is mounted at a path is the named volume before the node unmounts, grows or reports it: the
/// mount's source device (major:minor from mountinfo) must be the volume's device. The volume's device is what the
/// backend finds for the volume id now (the local backend's devices/&lt;id&gt; link after checking the loop
/// device's backing file, an EBS volume's NVMe serial), or, when the backend no longer finds it (detached under a
/// live mount), the device this driver recorded when it staged or published the volume at that very path.
/// </summary>
internal sealed class VolumeMountIdentity(IDeviceFinder deviceFinder, IBlockDevices devices, NodeVolumeRecords records)
{
    private static readonly IReadOnlyDictionary<string, string> NoPublishContext = new Dictionary<string, string>();

    /// <summary>Every device number that is this volume's at the path; empty when nothing proves any.</summary>
    public async Task<IReadOnlySet<DeviceNumber>> DevicesOfAsync(string volumeId, string canonicalPath, CancellationToken cancellationToken)
    {
        var known = new HashSet<DeviceNumber>(records.Read(volumeId).DevicesAt(canonicalPath));
        try
        {
            var device = await deviceFinder.FindDeviceAsync(volumeId, NoPublishContext, cancellationToken).ConfigureAwait(false);
            known.Add(devices.GetDeviceNumber(device));
        }
        catch (StorageException ex) when (ex.Kind is FailureKind.NotFound or FailureKind.FailedPrecondition or FailureKind.InvalidArgument)
        {
            // Not attached, a stale link, or not an id of this backend: only the record can still prove anything.
        }
        return known;
    }

    /// <summary>
    /// True when the mount is a filesystem this driver mounts (ext4, ext3, xfs) on one of the volume's devices,
    /// from the filesystem's root: the staging mount, or a bind of it.
    /// </summary>
    public static bool IsVolumeFilesystem(MountEntry mount, IReadOnlySet<DeviceNumber> volumeDevices) =>
        volumeDevices.Contains(mount.Device) && mount.Root == "/" && CapabilityMapper.SupportedFsTypes.Contains(mount.FsType);

    /// <summary>True when the path is a bind of one of the volume's device nodes (a published block volume).</summary>
    public static bool IsVolumeBlockBind(PathInfo info, IReadOnlySet<DeviceNumber> volumeDevices) =>
        info.Kind == PathKind.BlockDevice && volumeDevices.Contains(info.Rdev);

    public static string Describe(MountEntry mount) => $"a {mount.FsType} mount of {mount.Source} ({mount.Device})";
}
