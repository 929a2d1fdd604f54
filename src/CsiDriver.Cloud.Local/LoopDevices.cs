using CsiDriver.Mounter.Commands;

namespace CsiDriver.Cloud.Local;

/// <summary>A loop device and the file behind it, as the kernel reports them in /sys/block.</summary>
public sealed record LoopDevice(string Device, string BackingFile);

/// <summary>
/// Loop device operations through losetup (argument lists, no shell) and /sys/block. Every destructive call
/// re-checks the device's backing file first, so a device another program attached is never touched.
/// </summary>
public sealed class LoopDevices(ICommandRunner commands)
{
    private const string SysBlock = "/sys/block";

    /// <summary>Every attached loop device with its backing file (a deleted file reads "path (deleted)").</summary>
    public static IReadOnlyList<LoopDevice> List()
    {
        var devices = new List<LoopDevice>();
        if (!Directory.Exists(SysBlock))
        {
            return devices;
        }
        foreach (var dir in Directory.EnumerateDirectories(SysBlock, "loop*"))
        {
            if (BackingFileOf("/dev/" + Path.GetFileName(dir)) is { } backing)
            {
                devices.Add(new LoopDevice("/dev/" + Path.GetFileName(dir), backing));
            }
        }
        return devices;
    }

    /// <summary>The backing file of /dev/loopN, or null when the device is not attached.</summary>
    public static string? BackingFileOf(string device)
    {
        var name = Path.GetFileName(device);
        if (!name.StartsWith("loop", StringComparison.Ordinal))
        {
            return null;
        }
        try
        {
            var text = File.ReadAllText(Path.Combine(SysBlock, name, "loop", "backing_file")).TrimEnd('\n');
            return text.Length == 0 ? null : text;
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

    /// <summary>major:minor of /dev/loopN from /sys/block, or null when the device is not there.</summary>
    public static CsiDriver.Mounter.Devices.DeviceNumber? DeviceNumberOf(string device)
    {
        try
        {
            return CsiDriver.Mounter.Devices.DeviceNumber.TryParse(File.ReadAllText(Path.Combine(SysBlock, Path.GetFileName(device), "dev")).Trim());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Size of the block device as the kernel sees it, or -1 when it is gone.</summary>
    public static long SizeBytes(string device)
    {
        try
        {
            var sectors = long.Parse(File.ReadAllText(Path.Combine(SysBlock, Path.GetFileName(device), "size")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            return sectors * 512;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>Attaches the file to a free loop device and returns /dev/loopN.</summary>
    public async Task<string> AttachAsync(string file, bool readOnly, CancellationToken cancellationToken)
    {
        List<string> args = ["--find", "--show", "--direct-io=off"];
        if (readOnly)
        {
            args.Add("--read-only");
        }
        args.Add(file);
        var result = (await commands.RunAsync("losetup", args, cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        var device = result.StandardOutput.Trim();
        if (!device.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"losetup printed '{device}' instead of a loop device");
        }
        return device;
    }

    /// <summary>Detaches the device only when it is still backed by expectedBackingFile; true when it was.</summary>
    public async Task<bool> DetachAsync(string device, string expectedBackingFile, CancellationToken cancellationToken)
    {
        if (!IsBackedBy(device, expectedBackingFile))
        {
            return false;
        }
        var result = await commands.RunAsync("losetup", ["--detach", device], cancellationToken).ConfigureAwait(false);
        // Detached in between (by the kernel's autoclear) is as good as detached by us.
        if (!result.Succeeded && IsBackedBy(device, expectedBackingFile))
        {
            result.EnsureSuccess();
        }
        // While anything holds the device open (a blkid or udev probe, for a moment), the kernel only marks it for
        // autoclear and releases it at the last close. Wait for that briefly, so that a detach we report is one the
        // next look at /sys/block agrees with; a holder that stays (a mount) gets the device released when it lets go.
        var deadline = DateTime.UtcNow + ReleaseWait;
        while (IsBackedBy(device, expectedBackingFile) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>How long a detach waits for the kernel to release a device that was briefly held open.</summary>
    public static TimeSpan ReleaseWait { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Makes the kernel re-read the backing file's size after it grew.</summary>
    public async Task RefreshCapacityAsync(string device, CancellationToken cancellationToken) =>
        (await commands.RunAsync("losetup", ["--set-capacity", device], cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>Sets the kernel read-ahead of a loop device (/sys/block/loopN/queue/read_ahead_kb).</summary>
    public static void SetReadAheadKiB(string device, int kib) =>
        File.WriteAllText(ReadAheadPath(device), kib.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The kernel read-ahead of a loop device in KiB.</summary>
    public static int ReadAheadKiB(string device) =>
        int.Parse(File.ReadAllText(ReadAheadPath(device)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static string ReadAheadPath(string device) => Path.Combine(SysBlock, Path.GetFileName(device), "queue", "read_ahead_kb");

    public static bool IsBackedBy(string device, string file) => BackingFileOf(device) == file;
}
