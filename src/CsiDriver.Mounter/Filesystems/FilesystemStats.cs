using System.Runtime.InteropServices;
using CsiDriver.Mounter.Native;

namespace CsiDriver.Mounter.Filesystems;

/// <summary>Space and inodes of a mounted filesystem. Available is what an unprivileged writer may still use.</summary>
public sealed record FilesystemUsage(
    long TotalBytes,
    long AvailableBytes,
    long UsedBytes,
    long TotalInodes,
    long FreeInodes,
    long UsedInodes);

public interface IFilesystemStats
{
    FilesystemUsage Get(string path);
}

/// <summary>statvfs(3).</summary>
public sealed class StatvfsFilesystemStats : IFilesystemStats
{
    public unsafe FilesystemUsage Get(string path)
    {
        var buffer = stackalloc ulong[LibC.StatvfsSize / sizeof(ulong)];
        if (LibC.Statvfs(path, (byte*)buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"statvfs {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        // f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, ...; sizes count f_frsize units.
        var fragment = (long)buffer[1];
        var blocks = (long)buffer[2];
        var free = (long)buffer[3];
        var available = (long)buffer[4];
        var files = (long)buffer[5];
        var freeFiles = (long)buffer[6];
        return new FilesystemUsage(
            blocks * fragment,
            available * fragment,
            (blocks - free) * fragment,
            files,
            freeFiles,
            files - freeFiles);
    }
}
