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
        logger.LogInformation("Grew the {FsType} filesystem on {Device} at {MountPoint} in {ElapsedMs} ms", content.Type, device, mountPoint,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}
