using System.Runtime.InteropServices;
using CsiDriver.Mounter.Native;

namespace CsiDriver.Mounter.Devices;

public enum PathKind
{
    Missing,
    Directory,
    RegularFile,
    BlockDevice,
    Other,
}

/// <summary>
/// What a path is. Device is the device holding the file (the filesystem it lives on);
/// Rdev is the device a block device node stands for (only for BlockDevice).
/// </summary>
public sealed record PathInfo(PathKind Kind, DeviceNumber Device, DeviceNumber Rdev, long Size)
{
    public static readonly PathInfo Missing = new(PathKind.Missing, default, default, 0);
}

/// <summary>Looks at paths without opening them: their kind and device numbers, their canonical form.</summary>
public interface IPathInspector
{
    /// <summary>Follows symlinks. A path that does not exist is PathKind.Missing, never an exception.</summary>
    PathInfo Inspect(string path);

    /// <summary>The canonical absolute path (symlinks resolved), or null when the path does not exist.</summary>
    string? RealPath(string path);
}

/// <summary>statx and realpath from libc.</summary>
public sealed class PathInspector : IPathInspector
{
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    public unsafe PathInfo Inspect(string path)
    {
        var buffer = stackalloc byte[LibC.StatxSize];
        if (LibC.Statx(LibC.AtFdCwd, path, 0, LibC.StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ENOENT or ENOTDIR)
            {
                return PathInfo.Missing;
            }
            throw new IOException($"statx {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        var mode = *(ushort*)(buffer + LibC.StatxModeOffset);
        var kind = (mode & 0xF000) switch
        {
            0x4000 => PathKind.Directory,
            0x8000 => PathKind.RegularFile,
            0x6000 => PathKind.BlockDevice,
            _ => PathKind.Other,
        };
        var size = *(long*)(buffer + LibC.StatxSizeOffset);
        var rdev = new DeviceNumber(*(uint*)(buffer + LibC.StatxRdevMajorOffset), *(uint*)(buffer + LibC.StatxRdevMinorOffset));
        var dev = new DeviceNumber(*(uint*)(buffer + LibC.StatxDevMajorOffset), *(uint*)(buffer + LibC.StatxDevMinorOffset));
        return new PathInfo(kind, dev, kind == PathKind.BlockDevice ? rdev : default, size);
    }

    public string? RealPath(string path)
    {
        var resolved = LibC.RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            LibC.Free(resolved);
        }
    }
}
