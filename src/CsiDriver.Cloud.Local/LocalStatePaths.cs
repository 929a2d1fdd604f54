using System.Security.Cryptography;
using System.Text;
using CsiDriver.Core.Storage;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// The state dir layout. Everything the backend owns lives below it:
/// volumes/&lt;id&gt;.img + volumes/&lt;id&gt;.json, snapshots/&lt;id&gt;.img + snapshots/&lt;id&gt;.json,
/// devices/&lt;volume-id&gt; → /dev/loopN (the stable path the node finds the device by).
/// Half-written files carry the <see cref="TempMarker"/> in their name and are removed at start.
/// </summary>
public sealed class LocalStatePaths(string stateDir)
{
    /// <summary>Names of files still being written contain this; a crash leaves them behind and recovery deletes them.</summary>
    public const string TempMarker = AtomicFile.TempMarker;

    public const string VolumePrefix = "vol-";
    public const string SnapshotPrefix = "snap-";
    public const string GroupPrefix = "group-";

    /// <summary>The state dir with every symlink resolved: the kernel reports loop backing files by their
    /// physical path, and only an exact match proves a loop device is ours.</summary>
    public string StateDir { get; } = PhysicalPath(Path.GetFullPath(stateDir));

    public string VolumesDir => Path.Combine(StateDir, "volumes");

    public string SnapshotsDir => Path.Combine(StateDir, "snapshots");

    public string DevicesDir => Path.Combine(StateDir, "devices");

    public string GroupsDir => Path.Combine(StateDir, "groups");

    public string GroupRecord(string groupSnapshotId) => Path.Combine(GroupsDir, groupSnapshotId + ".json");

    /// <summary>Present only while a group snapshot holds filesystems frozen (see <see cref="LocalFreezeRecord"/>).</summary>
    public string FreezeRecord => Path.Combine(StateDir, "freeze.json");

    public string VolumeImage(string volumeId) => Path.Combine(VolumesDir, volumeId + ".img");

    public string VolumeRecord(string volumeId) => Path.Combine(VolumesDir, volumeId + ".json");

    public string SnapshotImage(string snapshotId) => Path.Combine(SnapshotsDir, snapshotId + ".img");

    public string SnapshotRecord(string snapshotId) => Path.Combine(SnapshotsDir, snapshotId + ".json");

    public string DeviceLink(string volumeId) => Path.Combine(DevicesDir, volumeId);

    /// <summary>A fresh temp name next to the final path, so the rename that publishes it stays in one directory.</summary>
    public static string TempFor(string finalPath) => AtomicFile.TempFor(finalPath);

    public void EnsureCreated()
    {
        Directory.CreateDirectory(VolumesDir);
        Directory.CreateDirectory(SnapshotsDir);
        Directory.CreateDirectory(DevicesDir);
        Directory.CreateDirectory(GroupsDir);
    }

    /// <summary>Deterministic from the CSI name, so a retry after a crash lands on the same volume.</summary>
    public static string VolumeIdFor(string name) => VolumePrefix + Hash(name);

    public static string SnapshotIdFor(string name) => SnapshotPrefix + Hash(name);

    public static string GroupIdFor(string name) => GroupPrefix + Hash(name);

    /// <summary>A group member's snapshot id: from the group name and the volume, so a retry lands on the same file.
    /// The '/' keeps it apart from any CSI snapshot name (Kubernetes object names have none).</summary>
    public static string MemberSnapshotIdFor(string groupName, string volumeId) => SnapshotIdFor(groupName + "/" + volumeId);

    /// <summary>True when the id has the shape this backend hands out (so it can name a file safely).</summary>
    public static bool IsVolumeId(string id) => HasShape(id, VolumePrefix);

    public static bool IsSnapshotId(string id) => HasShape(id, SnapshotPrefix);

    public static bool IsGroupId(string id) => HasShape(id, GroupPrefix);

    /// <summary>The volume id whose image this is, or null when the path is not a volume image of this state dir.</summary>
    public string? VolumeIdOfImage(string backingFile)
    {
        if (Path.GetDirectoryName(backingFile) != VolumesDir || !backingFile.EndsWith(".img", StringComparison.Ordinal))
        {
            return null;
        }
        var id = Path.GetFileNameWithoutExtension(backingFile);
        return IsVolumeId(id) ? id : null;
    }

    /// <summary>realpath(3) of the deepest existing ancestor, with the not-yet-existing rest appended.</summary>
    public static string PhysicalPath(string path)
    {
        var existing = path;
        var rest = new Stack<string>();
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var resolved = NativeMethods.realpath(existing, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return path;
        }
        try
        {
            existing = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved) ?? existing;
        }
        finally
        {
            NativeMethods.free(resolved);
        }
        return Path.Combine([existing, .. rest]);
    }

    private static bool HasShape(string id, string prefix) =>
        id.Length == prefix.Length + 16 && id.StartsWith(prefix, StringComparison.Ordinal) &&
        id.AsSpan(prefix.Length).IndexOfAnyExcept("0123456789abcdef") < 0;

    private static string Hash(string name) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..16];
}
