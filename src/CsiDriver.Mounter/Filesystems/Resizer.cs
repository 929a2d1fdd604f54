using System.Diagnostics;
using CsiDriver.Core.Errors;
using CsiDriver.Mounter.Commands;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Mounter.Filesystems;

/// <summary>Grows a mounted filesystem to fill its device.</summary>
public interface IResizer
{
    /// <summary>Grows the filesystem on device (mounted at mountPoint) to the device's size; a no-op when it already fills it.</summary>
    Task ResizeAsync(string device, string mountPoint, CancellationToken cancellationToken);

    /// <summary>
    /// Grows an unmounted ext2/3/4 filesystem that is smaller than its device (a volume restored into a larger
    /// one, or grown while unstaged): e2fsck -f -p, then resize2fs. Returns false when it already fills the device.
    /// An offline grow needs no CAP_SYS_RESOURCE, unlike an online one.
    /// </summary>
    Task<bool> GrowExtUnmountedAsync(string device, long deviceBytes, CancellationToken cancellationToken);
}

/// <summary>resize2fs for ext2/3/4 (takes the device), xfs_growfs for xfs (takes a mount point); both grow online.</summary>
public sealed class Resizer(ICommandRunner runner, IFilesystemProbe probe, ILogger<Resizer> logger) : IResizer
{
    public async Task ResizeAsync(string device, string mountPoint, CancellationToken cancellationToken)
    {
        var content = await probe.ProbeAsync(device, cancellationToken).ConfigureAwait(false);
        if (content.Kind != DeviceContentKind.Filesystem)
        {
            throw StorageException.FailedPrecondition($"cannot grow {device}: it holds {content.Describe()}, not a filesystem");
        }
        var (command, arguments) = content.Type switch
        {
            "ext4" or "ext3" or "ext2" => ("resize2fs", (IReadOnlyList<string>)["--", device]),
            "xfs" => ("xfs_growfs", ["-d", "--", mountPoint]),
            _ => throw StorageException.FailedPrecondition($"cannot grow a {content.Type} filesystem on {device}: only ext2/3/4 and xfs"),
        };
        var started = Stopwatch.GetTimestamp();
        var result = await runner.RunAsync(command, arguments, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var detail = (string.IsNullOrWhiteSpace(result.StandardError) ? result.StandardOutput : result.StandardError).Trim();
            // The kernel refuses an online ext grow without CAP_SYS_RESOURCE; say so instead of a bare EPERM.
            var hint = command == "resize2fs" && detail.Contains("Permission denied", StringComparison.Ordinal)
                ? " (online ext resize needs CAP_SYS_RESOURCE: run the node plugin privileged)"
                : string.Empty;
            throw StorageException.Internal($"{command} on {device} failed (exit {result.ExitCode}): {detail}{hint}");
        }
        MounterLog.GrewMounted(logger, content.Type, device, mountPoint, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    public async Task<bool> GrowExtUnmountedAsync(string device, long deviceBytes, CancellationToken cancellationToken)
    {
        var filesystemBytes = await ExtSizeBytesAsync(device, cancellationToken).ConfigureAwait(false);
        // Less than one MiB of slack is alignment, not growth.
        if (filesystemBytes + (1 << 20) > deviceBytes)
        {
            return false;
        }
        var started = Stopwatch.GetTimestamp();
        // resize2fs wants a freshly checked filesystem; -p repairs only what is safe without asking.
        var check = await runner.RunAsync("e2fsck", ["-f", "-p", "--", device], cancellationToken).ConfigureAwait(false);
        if (check.ExitCode > 1)
        {
            throw StorageException.FailedPrecondition(
                $"e2fsck found problems on {device} (exit {check.ExitCode}) it will not fix unattended; not growing it: {check.StandardOutput.Trim()}");
        }
        var result = await runner.RunAsync("resize2fs", ["--", device], cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw StorageException.Internal($"resize2fs on {device} failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
        }
        MounterLog.GrewUnmounted(logger, device, filesystemBytes, deviceBytes, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return true;
    }

    /// <summary>Block count × block size from the superblock (dumpe2fs -h reads nothing else).</summary>
    private async Task<long> ExtSizeBytesAsync(string device, CancellationToken cancellationToken)
    {
        var result = (await runner.RunAsync("dumpe2fs", ["-h", "--", device], cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        long blockCount = 0, blockSize = 0;
        foreach (var line in result.StandardOutput.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim())
            {
                case "Block count":
                    blockCount = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "Block size":
                    blockSize = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
        return blockCount > 0 && blockSize > 0
            ? blockCount * blockSize
            : throw StorageException.Internal($"dumpe2fs -h {device} printed no block count or block size");
    }
}
