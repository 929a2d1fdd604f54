using System.Diagnostics;
using System.Globalization;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Mounter.Commands;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Mounter.Filesystems;

/// <summary>Creates a filesystem on a blank device, and only on a blank one.</summary>
public interface IFormatter
{
    /// <summary>
    /// Formats the device with ext4, ext3 or xfs. Probes the device first, whatever the caller checked:
    /// anything but a blank device fails with FailedPrecondition and nothing is written.
    /// </summary>
    Task FormatAsync(string device, string fsType, FormatOptions options, CancellationToken cancellationToken);
}

public sealed class Formatter(ICommandRunner runner, IFilesystemProbe probe, ILogger<Formatter> logger) : IFormatter
{
    public async Task FormatAsync(string device, string fsType, FormatOptions options, CancellationToken cancellationToken)
    {
        var content = await probe.ProbeAsync(device, cancellationToken).ConfigureAwait(false);
        if (!content.IsBlank)
        {
            throw StorageException.FailedPrecondition($"refusing to format {device}: it holds {content.Describe()}");
        }
        var (command, arguments) = MkfsCommand(device, fsType, options);
        MounterLog.Formatting(logger, device, fsType);
        var started = Stopwatch.GetTimestamp();
        var result = await runner.RunAsync(command, arguments, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw StorageException.Internal(
                $"{command} {device} failed (exit {result.ExitCode}): {FirstLines(result.StandardError, result.StandardOutput)}");
        }
        MounterLog.Formatted(logger, device, fsType, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// The mkfs command line. No force flag (-F / -f): mkfs.xfs then refuses an existing signature on its own,
    /// a second guard behind the probe. ext: -m 0 because a volume belongs to one workload, so blocks reserved for
    /// root would only be lost space; lazy_itable_init=1 and lazy_journal_init=1 because the device was just found
    /// blank, so zeroing inode tables and the journal up front would only cost time and, on thin or sparse
    /// backends, allocate real space; the kernel initialises inode tables in the background after mount.
    /// </summary>
    public static (string Command, IReadOnlyList<string> Arguments) MkfsCommand(string device, string fsType, FormatOptions options)
    {
        var arguments = new List<string>();
        switch (fsType)
        {
            case "ext4":
            case "ext3":
                arguments.AddRange(["-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1"]);
                AddIf(arguments, "-b", options.BlockSize);
                AddIf(arguments, "-I", options.InodeSize);
                AddIf(arguments, "-i", options.BytesPerInode);
                AddIf(arguments, "-N", options.NumberOfInodes);
                if (options.Ext4BigAlloc)
                {
                    arguments.AddRange(["-O", "bigalloc"]);
                }
                AddIf(arguments, "-C", options.Ext4ClusterSize);
                break;
            case "xfs":
                if (options.BlockSize is { } blockSize)
                {
                    arguments.AddRange(["-b", "size=" + blockSize.ToString(CultureInfo.InvariantCulture)]);
                }
                if (options.InodeSize is { } inodeSize)
                {
                    arguments.AddRange(["-i", "size=" + inodeSize.ToString(CultureInfo.InvariantCulture)]);
                }
                break;
            default:
                throw StorageException.InvalidArgument($"cannot format {InputEcho.Of(fsType)}: supported filesystems are ext4, ext3 and xfs");
        }
        arguments.AddRange(["--", device]);
        return ("mkfs." + fsType, arguments);
    }

    private static void AddIf(List<string> arguments, string flag, long? value)
    {
        if (value is { } v)
        {
            arguments.AddRange([flag, v.ToString(CultureInfo.InvariantCulture)]);
        }
    }

    private static string FirstLines(string stderr, string stdout)
    {
        var text = string.IsNullOrWhiteSpace(stderr) ? stdout : stderr;
        return string.Join(" ", text.Trim().Split('\n').Take(3).Select(l => l.Trim()));
    }
}
