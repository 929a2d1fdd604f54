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

    /// <summary>
    /// Formats again a device whose formatting by this driver was interrupted (the caller proved it with its own
    /// record): mkfs with its force flag, as a half-written filesystem may have left a partial signature. The device
    /// must still probe blank, as data without a known signature, or as an unfinished fsType filesystem
    /// (<see cref="IsUnfinishedAsync"/>); anything else (a complete filesystem, a partition table, any other
    /// signature) fails with FailedPrecondition and nothing is written.
    /// </summary>
    Task FormatInterruptedAsync(string device, string fsType, FormatOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// True when the device holds a signature of fsType that mkfs had not finished: mkfs.xfs writes its superblock
    /// early with sb_inprogress set and clears it last (blkid reports such a device as xfs, mount refuses it).
    /// mke2fs writes the ext superblock last, so an ext signature is a finished one.
    /// </summary>
    Task<bool> IsUnfinishedAsync(string device, string fsType, CancellationToken cancellationToken);
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
        await RunMkfsAsync(device, fsType, MkfsCommand(device, fsType, options), cancellationToken).ConfigureAwait(false);
    }

    public async Task FormatInterruptedAsync(string device, string fsType, FormatOptions options, CancellationToken cancellationToken)
    {
        var content = await probe.ProbeAsync(device, cancellationToken).ConfigureAwait(false);
        var overwritable = content.Kind is DeviceContentKind.Blank or DeviceContentKind.UnidentifiedData
            || (content.Kind == DeviceContentKind.Filesystem && content.Type == fsType
                && await IsUnfinishedAsync(device, fsType, cancellationToken).ConfigureAwait(false));
        if (!overwritable)
        {
            throw StorageException.FailedPrecondition($"refusing to format {device} again: it holds {content.Describe()}");
        }
        await RunMkfsAsync(device, fsType, MkfsCommand(device, fsType, options, overwritePartial: true), cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsUnfinishedAsync(string device, string fsType, CancellationToken cancellationToken)
    {
        if (fsType != "xfs")
        {
            return false;
        }
        var result = await runner.RunAsync("xfs_db", ["-r", "-c", "sb 0", "-c", "print inprogress", "--", device], cancellationToken)
            .ConfigureAwait(false);
        return result.Succeeded && result.StandardOutput.Trim() == "inprogress = 1";
    }

    private async Task RunMkfsAsync(string device, string fsType, (string Command, IReadOnlyList<string> Arguments) mkfs, CancellationToken cancellationToken)
    {
        var (command, arguments) = mkfs;
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
    /// The mkfs command line. No force flag (-F / -f) unless overwritePartial: mkfs.xfs then refuses an existing signature on its own,
    /// a second guard behind the probe. ext: -m 0 because a volume belongs to one workload, so blocks reserved for
    /// root would only be lost space; lazy_itable_init=1 and lazy_journal_init=1 because the device was just found
    /// blank (or holds only this driver's own interrupted mkfs, whose journal was never written to), so zeroing inode
    /// tables and the journal up front would only cost time and, on thin or sparse backends, allocate real space; the
    /// kernel initialises inode tables in the background after mount. overwritePartial adds the force flag, for
    /// <see cref="IFormatter.FormatInterruptedAsync"/> only.
    /// </summary>
    public static (string Command, IReadOnlyList<string> Arguments) MkfsCommand(string device, string fsType, FormatOptions options, bool overwritePartial = false)
    {
        var arguments = new List<string>();

        switch (fsType)
        {
            case "ext4":
            case "ext3":
                AddIf(arguments, "-F", overwritePartial);
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
                AddIf(arguments, "-f", overwritePartial);
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

    private static void AddIf(List<string> arguments, string flag, bool when)
    {
        if (when)
        {
            arguments.Add(flag);
        }
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
