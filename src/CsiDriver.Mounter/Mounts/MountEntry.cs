using CsiDriver.Mounter.Devices;

namespace CsiDriver.Mounter.Mounts;

/// <summary>
/// One line of /proc/self/mountinfo. Root is the path inside the filesystem that is mounted (a bind mount of a
/// subdirectory or of a device node shows it here); MountOptions are the per-mount flags (ro, noatime, ...),
/// SuperOptions those of the filesystem.
/// </summary>
public sealed record MountEntry(
    int MountId,
    int ParentId,
    DeviceNumber Device,
    string Root,
    string MountPoint,
    IReadOnlyList<string> MountOptions,
    string FsType,
    string Source,
    IReadOnlyList<string> SuperOptions)
{
    public bool IsReadOnly => MountOptions.Contains("ro", StringComparer.Ordinal);

    public bool HasOption(string option) =>
        MountOptions.Contains(option, StringComparer.Ordinal) || SuperOptions.Contains(option, StringComparer.Ordinal);
}
