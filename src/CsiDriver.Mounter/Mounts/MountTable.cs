using CsiDriver.Mounter.Devices;

namespace CsiDriver.Mounter.Mounts;

/// <summary>The mounts this process sees.</summary>
public interface IMountTable
{
    IReadOnlyList<MountEntry> ReadAll();

    /// <summary>
    /// The visible (topmost) mount whose mount point is the path, symlinks resolved; null when the path
    /// is not a mount point or does not exist.
    /// </summary>
    MountEntry? FindByMountPoint(string path);

    /// <summary>
    /// The visible mount at a path that is already canonical (no symlinks, no "..", no duplicate slashes), looked up
    /// without touching the path itself, so a corrupted mount there (ENOTCONN, ESTALE) is still found.
    /// </summary>
    MountEntry? FindAt(string canonicalPath);
}

/// <summary>Reads /proc/self/mountinfo on every call: mounts change behind our back, so nothing is cached.</summary>
public sealed class ProcMountTable(IPathInspector paths, string mountInfoPath = "/proc/self/mountinfo") : IMountTable
{
    public IReadOnlyList<MountEntry> ReadAll() => MountInfoParser.Parse(File.ReadAllText(mountInfoPath));

    public MountEntry? FindByMountPoint(string path)
    {
        var canonical = paths.RealPath(path);
        return canonical is null ? null : Topmost(ReadAll(), canonical);
    }

    public MountEntry? FindAt(string canonicalPath) => Topmost(ReadAll(), canonicalPath);

    /// <summary>Of the mounts stacked on one mount point, the one no other mount there sits on.</summary>
    public static MountEntry? Topmost(IReadOnlyList<MountEntry> entries, string mountPoint)
    {
        var stacked = entries.Where(e => string.Equals(e.MountPoint, mountPoint, StringComparison.Ordinal)).ToList();
        return stacked.LastOrDefault(e => !stacked.Any(other => other.ParentId == e.MountId));
    }
}
