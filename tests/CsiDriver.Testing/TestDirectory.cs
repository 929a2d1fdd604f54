using System.Diagnostics;

namespace CsiDriver.Testing;

/// <summary>
/// A scratch directory for one test. Disposing it unmounts everything mounted below it and detaches
/// every loop device whose backing file lies below it, even when the test failed half-way, then deletes it.
/// It never touches mounts or loop devices outside its own root.
/// </summary>
public sealed class TestDirectory : IDisposable
{
    // Root's tests and another user's unit tests (Category=Unit runs as any user) each get their own base directory:
    // one made by root is not writable by the other.
    private static readonly string BaseDir = System.IO.Path.Combine(
        System.IO.Path.GetTempPath(), Environment.UserName is "root" ? "csidriver-tests" : "csidriver-tests-" + Environment.UserName);

    public TestDirectory(string? name = null)
    {
        Root = System.IO.Path.Combine(BaseDir, $"{name ?? "t"}-{Guid.NewGuid():N}"[..((name?.Length ?? 1) + 13)]);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public void Dispose()
    {
        CleanUp(Root);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Unmounts mounts below root (deepest first) and detaches loop devices backed by files below root.</summary>
    public static void CleanUp(string root)
    {
        var prefix = root.TrimEnd('/') + "/";
        // Detach first, while every backing path is still visible: a loop device backed by a file on a filesystem
        // mounted below root keeps that filesystem busy, and once it is lazily unmounted the backing path no longer
        // starts with root, so both would leak. A device still mounted is only marked; the kernel frees it at unmount.
        foreach (var device in LoopDevicesBackedBelow(prefix))
        {
            Run("losetup", "-d", device);
        }
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var mounts = MountPointsBelow(prefix);
            if (mounts.Count == 0)
            {
                break;
            }
            foreach (var mount in mounts.OrderByDescending(m => m.Length))
            {
                Run("umount", mount);
            }
        }
        foreach (var mount in MountPointsBelow(prefix))
        {
            Run("umount", "-l", mount);
        }
        foreach (var device in LoopDevicesBackedBelow(prefix))
        {
            Run("losetup", "-d", device);
        }
    }

    public static List<string> MountPointsBelow(string prefix) =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => Unescape(line.Split(' ')[4]))
            .Where(mountPoint => mountPoint.StartsWith(prefix, StringComparison.Ordinal))
            .ToList();

    /// <summary>Loop devices whose backing file lies below prefix (read the way the local backend reads them,
    /// tolerating a device that is detached while the list is made).</summary>
    public static List<string> LoopDevicesBackedBelow(string prefix) =>
        CsiDriver.Cloud.Local.LoopDevices.List()
            .Where(loop => loop.BackingFile.StartsWith(prefix, StringComparison.Ordinal))
            .Select(loop => loop.Device)
            .ToList();

    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    private static void Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info);
        process?.WaitForExit(30_000);
    }
}
