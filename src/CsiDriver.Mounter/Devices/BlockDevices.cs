using System.Globalization;
using CsiDriver.Core.Errors;

namespace CsiDriver.Mounter.Devices;

/// <summary>Block devices as the kernel lists them in sysfs, found by device number.</summary>
public interface IBlockDevices
{
    /// <summary>True when the kernel still has the device and it has media (a detached loop device reads as size 0).</summary>
    bool IsPresent(DeviceNumber device);

    /// <summary>The device's size in bytes. NotFound when the kernel no longer has it.</summary>
    long GetSizeBytes(DeviceNumber device);

    /// <summary>The device number of a block device node (or a file a device node is bind-mounted on).</summary>
    DeviceNumber GetDeviceNumber(string devicePath);

    /// <summary>The /dev path of a device number, from sysfs (DEVNAME in uevent), or null when unknown.</summary>
    string? GetDevicePath(DeviceNumber device);
}

/// <summary>Reads /sys/dev/block/MAJOR:MINOR; the sysfs root is configurable for tests.</summary>
public sealed class SysfsBlockDevices(IPathInspector paths, string sysDevBlock = "/sys/dev/block") : IBlockDevices
{
    // sysfs sizes are always in 512-byte sectors, whatever the device's logical block size.
    private const long SectorBytes = 512;

    public bool IsPresent(DeviceNumber device) => ReadSectors(device) is > 0;

    public long GetSizeBytes(DeviceNumber device) =>
        ReadSectors(device) is { } sectors
            ? sectors * SectorBytes
            : throw StorageException.NotFound($"block device {device} no longer exists on this node");

    public DeviceNumber GetDeviceNumber(string devicePath)
    {
        var info = paths.Inspect(devicePath);
        return info.Kind switch
        {
            PathKind.BlockDevice => info.Rdev,
            PathKind.Missing => throw StorageException.NotFound($"device {devicePath} does not exist"),
            _ => throw StorageException.FailedPrecondition($"{devicePath} is not a block device"),
        };
    }

    public string? GetDevicePath(DeviceNumber device)
    {
        var uevent = Path.Combine(sysDevBlock, device.ToString(), "uevent");
        try
        {
            foreach (var line in File.ReadLines(uevent))
            {
                if (line.StartsWith("DEVNAME=", StringComparison.Ordinal))
                {
                    return "/dev/" + line["DEVNAME=".Length..];
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private long? ReadSectors(DeviceNumber device)
    {
        var sizeFile = Path.Combine(sysDevBlock, device.ToString(), "size");
        try
        {
            return long.Parse(File.ReadAllText(sizeFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
