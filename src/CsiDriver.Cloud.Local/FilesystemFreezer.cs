using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using CsiDriver.Mounter.Commands;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Holds the writes of several mounted filesystems at once with fsfreeze(8): -f flushes each filesystem and blocks
/// new writes until -u. The mount points are recorded (atomically) before the first freeze and the record is removed
/// after the last thaw, so a thaw always follows: on every failure here, when the caller's work is done (dispose),
/// and after a kill -9 at start-up (<see cref="RecoverAsync"/>).
/// </summary>
internal sealed partial class FilesystemFreezer(string recordPath, ICommandRunner commands, ILogger logger)
{
    /// <summary>Freezes every mount point in order; on any failure thaws those already frozen and throws.</summary>
    public async Task<FrozenFilesystems> FreezeAsync(IReadOnlyList<string> mountPoints)
    {
        AtomicFile.WriteJson(recordPath, new LocalFreezeRecord(mountPoints, DateTimeOffset.UtcNow), LocalJsonContext.Default.LocalFreezeRecord);
        var frozen = new List<string>(mountPoints.Count);
        try
        {
            foreach (var mountPoint in mountPoints)
            {
                // Never cancelled half-way: a freeze that was started must reach its thaw below.
                var result = await commands.RunAsync("fsfreeze", ["--freeze", mountPoint], CancellationToken.None).ConfigureAwait(false);
                if (!result.Succeeded)
                {
                    throw StorageException.FailedPrecondition(
                        $"cannot freeze the filesystem at {mountPoint} to hold its writes: {result.StandardError.Trim()}");
                }
                frozen.Add(mountPoint);
                LogFrozen(logger, mountPoint);
            }
        }
        catch
        {
            await ThawAsync(frozen).ConfigureAwait(false);
            throw;
        }
        return new FrozenFilesystems(this, frozen);
    }

    /// <summary>Thaws what the record of an interrupted group snapshot says was frozen; no record, nothing to do.</summary>
    public async Task RecoverAsync()
    {
        if (!File.Exists(recordPath))
        {
            return;
        }
        LocalFreezeRecord? record = null;
        try
        {
            record = AtomicFile.ReadJson(recordPath, LocalJsonContext.Default.LocalFreezeRecord);
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            LogUnreadableRecord(logger, recordPath, ex);
        }
        var mountPoints = record?.MountPoints ?? [];
        LogRecovering(logger, mountPoints.Count, string.Join(", ", mountPoints));
        await ThawAsync(mountPoints).ConfigureAwait(false);
    }

    /// <summary>Thaws each mount point (one that is not frozen, or gone, is fine) and then drops the record.
    /// A thaw that fails on a filesystem that may still be frozen keeps the record for the next start.</summary>
    internal async Task ThawAsync(IReadOnlyList<string> mountPoints)
    {
        var stuck = new List<string>();
        foreach (var mountPoint in mountPoints)
        {
            CommandResult result;
            try
            {
                result = await commands.RunAsync("fsfreeze", ["--unfreeze", mountPoint], CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogThawFailed(logger, mountPoint, ex.Message);
                stuck.Add(mountPoint);
                continue;
            }
            if (result.Succeeded)
            {
                LogThawed(logger, mountPoint);
            }
            else if (!NotFrozenOrGone(result, mountPoint))
            {
                LogThawFailed(logger, mountPoint, result.StandardError.Trim());
                stuck.Add(mountPoint);
            }
        }
        if (stuck.Count == 0)
        {
            AtomicFile.TryDelete(recordPath);
        }
    }

    /// <summary>fsfreeze -u on a filesystem that is not frozen fails with EINVAL; a mount point that is gone cannot be frozen either.</summary>
    private static bool NotFrozenOrGone(CommandResult result, string mountPoint) =>
        result.StandardError.Contains("Invalid argument", StringComparison.OrdinalIgnoreCase) || !Directory.Exists(mountPoint);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Froze the filesystem at {MountPoint} for a group snapshot")]
    private static partial void LogFrozen(ILogger logger, string mountPoint);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Thawed the filesystem at {MountPoint}")]
    private static partial void LogThawed(ILogger logger, string mountPoint);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Could not thaw the filesystem at {MountPoint}: {Error}; the next start tries again (or run fsfreeze -u)")]
    private static partial void LogThawFailed(ILogger logger, string mountPoint, string error);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "A group snapshot was interrupted while {Count} filesystems were frozen; thawing {MountPoints}")]
    private static partial void LogRecovering(ILogger logger, int count, string mountPoints);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Error, Message = "The freeze record {Path} is unreadable")]
    private static partial void LogUnreadableRecord(ILogger logger, string path, Exception exception);
}

/// <summary>Filesystems frozen by <see cref="FilesystemFreezer.FreezeAsync"/>; disposing thaws them.</summary>
internal sealed class FrozenFilesystems(FilesystemFreezer freezer, IReadOnlyList<string> mountPoints) : IAsyncDisposable
{
    private int _thawed;

    public IReadOnlyList<string> MountPoints => mountPoints;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _thawed, 1) == 0)
        {
            await freezer.ThawAsync(mountPoints).ConfigureAwait(false);
        }
    }
}
