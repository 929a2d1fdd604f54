using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Node;

/// <summary>
/// Finds an attached EBS volume's block device on the node.
/// <list type="bullet">
/// <item>Nitro: EBS volumes are NVMe namespaces whose controller serial is the volume id without the dash
/// (vol0123…). The udev link /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123… is tried first, but the
/// device it points to is always checked against /sys/block/&lt;dev&gt;/device/serial: a stale link (left from
/// a detached volume whose name was reused) must never lead to mounting another volume. Without a usable
/// link, the NVMe devices are scanned by serial.</item>
/// <item>Xen: the device is the name given to AttachVolume (publish_context devicePath, /dev/xvdba),
/// possibly shown by the kernel as /dev/sdba.</item>
/// </list>
/// Paths are rooted at <see cref="AwsTuning.HostRoot"/> so tests can build a fake /dev and /sys.
/// </summary>
public sealed class EbsDeviceFinder(IOptions<AwsBackendOptions> options, ILogger<EbsDeviceFinder> logger) : IDeviceFinder
{
    private readonly AwsTuning _tuning = options.Value.Tuning;

    public const string NvmeLinkPrefix = "nvme-Amazon_Elastic_Block_Store_";
    public const string InstanceStoreModel = "Amazon EC2 NVMe Instance Storage";

    public Task<string> FindDeviceAsync(string volumeId, IReadOnlyDictionary<string, string> publishContext, CancellationToken cancellationToken)
    {
        if (!volumeId.StartsWith("vol-", StringComparison.Ordinal))
        {
            throw StorageException.InvalidArgument($"{volumeId} is not an EBS volume id");
        }
        var serial = volumeId.Replace("-", string.Empty, StringComparison.Ordinal);

        var link = HostPath("dev/disk/by-id/" + NvmeLinkPrefix + serial);
        if (File.Exists(link) || Directory.Exists(link) || new FileInfo(link).LinkTarget is not null)
        {
            var target = ResolveLink(link);
            var name = Path.GetFileName(target);
            var actual = ReadSerial(name);
            if (actual == serial)
            {
                return Task.FromResult(DevicePath(name));
            }
            AwsBackendLog.StaleDeviceLink(logger, link, name, actual, serial);
        }

        var scanned = ScanNvme(serial);
        if (scanned is not null)
        {
            return Task.FromResult(DevicePath(scanned));
        }

        if (publishContext.TryGetValue(AttachmentManager.DevicePathKey, out var devicePath) && devicePath.StartsWith("/dev/", StringComparison.Ordinal))
        {
            // Xen: no serial to check. A device name EC2 lists as this volume's attachment is what we have.
            foreach (var candidate in XenCandidates(devicePath))
            {
                var hostPath = HostPath(candidate.TrimStart('/'));
                // On Nitro, udev may link /dev/xvdba to an NVMe device: that one was already judged by its serial.
                if (File.Exists(hostPath) && !IsNvme(Path.GetFileName(ResolveLink(hostPath))))
                {
                    return Task.FromResult(candidate);
                }
            }
        }
        throw StorageException.NotFound($"volume {volumeId} is not attached to this node yet (no NVMe device with serial {serial}, no {devicePath ?? "device path"})");
    }

    /// <summary>NVMe instance-store disks (they use Nitro attachment slots).</summary>
    public int CountInstanceStoreDisks()
    {
        var classDir = HostPath("sys/class/nvme");
        if (!Directory.Exists(classDir))
        {
            return 0;
        }
        return Directory.EnumerateFileSystemEntries(classDir)
            .Count(controller => ReadTrimmed(Path.Combine(controller, "model")) == InstanceStoreModel);
    }

    private string? ScanNvme(string serial)
    {
        var blockDir = HostPath("sys/block");
        if (!Directory.Exists(blockDir))
        {
            return null;
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(blockDir, "nvme*"))
        {
            var name = Path.GetFileName(entry);
            if (ReadSerial(name) == serial)
            {
                return name;
            }
        }
        return null;
    }

    /// <summary>The serial of an NVMe block device (nvme1n1), trimmed; EBS pads it with spaces.</summary>
    private string? ReadSerial(string deviceName)
    {
        // /sys/block/nvme1n1/device is the controller; its serial file holds the volume id.
        return ReadTrimmed(HostPath($"sys/block/{deviceName}/device/serial"));
    }

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ResolveLink(string link)
    {
        var info = new FileInfo(link);
        var target = info.LinkTarget;
        if (target is null)
        {
            return link;
        }
        return Path.GetFullPath(target, Path.GetDirectoryName(link)!);
    }

    private static IEnumerable<string> XenCandidates(string devicePath)
    {
        yield return devicePath;
        if (devicePath.StartsWith("/dev/xvd", StringComparison.Ordinal))
        {
            yield return "/dev/sd" + devicePath["/dev/xvd".Length..];
        }
        else if (devicePath.StartsWith("/dev/sd", StringComparison.Ordinal))
        {
            yield return "/dev/xvd" + devicePath["/dev/sd".Length..];
        }
    }

    private static bool IsNvme(string name) => name.StartsWith("nvme", StringComparison.Ordinal);

    private static string DevicePath(string name) => "/dev/" + name;

    private string HostPath(string relative) => Path.Combine(_tuning.HostRoot, relative);
}
