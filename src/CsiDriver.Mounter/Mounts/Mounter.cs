using CsiDriver.Core.Errors;
using CsiDriver.Mounter.Commands;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Mounter.Mounts;

/// <summary>Mounts and unmounts. Callers decide what may be touched; this only runs mount(8) and umount(8).</summary>
public interface IMounter
{
    /// <summary>Mounts a filesystem: mount -t fsType -o options device target.</summary>
    Task MountAsync(string device, string target, string fsType, IReadOnlyList<string> options, CancellationToken cancellationToken);

    /// <summary>
    /// Bind-mounts source (a directory, or a device node onto a file) at target, read-only when asked.
    /// When the read-only remount fails the bind is undone, so a caller never sees a writable half-result.
    /// </summary>
    Task BindAsync(string source, string target, bool readOnly, CancellationToken cancellationToken);

    Task UnmountAsync(string target, CancellationToken cancellationToken);
}

public sealed class Mounter(ICommandRunner runner, ILogger<Mounter> logger) : IMounter
{
    private const string MountCommand = "mount";
    private const string UnmountCommand = "umount";

    public async Task MountAsync(string device, string target, string fsType, IReadOnlyList<string> options, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "-t", fsType };
        if (options.Count > 0)
        {
            arguments.Add("-o");
            arguments.Add(string.Join(',', options));
        }
        // "--" so a path can never be read as an option.
        arguments.AddRange(["--", device, target]);
        await RunAsync(MountCommand, arguments, $"mount {device} ({fsType}) at {target}", cancellationToken).ConfigureAwait(false);
        MounterLog.Mounted(logger, device, fsType, target);
    }

    public async Task BindAsync(string source, string target, bool readOnly, CancellationToken cancellationToken)
    {
        await RunAsync(MountCommand, ["--bind", "--", source, target], $"bind-mount {source} at {target}", cancellationToken).ConfigureAwait(false);
        if (readOnly)
        {
            // A bind mount takes no flags of its own on the first call; ro needs a remount of the new mount only.
            try
            {
                await RunAsync(MountCommand, ["-o", "remount,bind,ro", "--", target], $"remount {target} read-only", cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (StorageException)
            {
                await RunAsync(UnmountCommand, ["--", target], $"unmount {target}", CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }
        MounterLog.BindMounted(logger, source, target, readOnly ? "ro" : "rw");
    }

    public async Task UnmountAsync(string target, CancellationToken cancellationToken)
    {
        await RunAsync(UnmountCommand, ["--", target], $"unmount {target}", cancellationToken).ConfigureAwait(false);
        MounterLog.Unmounted(logger, target);
    }

    private async Task RunAsync(string command, IReadOnlyList<string> arguments, string what, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(command, arguments, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var detail = (string.IsNullOrWhiteSpace(result.StandardError) ? result.StandardOutput : result.StandardError).Trim();
            throw StorageException.Internal($"cannot {what}: {detail} (exit {result.ExitCode})");
        }
    }
}
