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
    /// <summary>A symbolic link (only from <see cref="IPathInspector.InspectNoFollow"/>).</summary>
    Symlink,
    /// <summary>
    /// The path exists but cannot be looked at: a corrupted mount (ENOTCONN from a dead FUSE daemon, ESTALE from
    /// a gone NFS export, EIO from a vanished device). Only from <see cref="IPathInspector.InspectNoFollow"/>.
    /// </summary>
    Unreachable,
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

    /// <summary>
    /// Like Inspect, but a final-component symlink is reported as PathKind.Symlink instead of followed, and a
    /// corrupted mount as PathKind.Unreachable instead of an exception.
    /// </summary>
    PathInfo InspectNoFollow(string path);

    /// <summary>The canonical absolute path (symlinks resolved), or null when the path does not exist.</summary>
    string? RealPath(string path);
}

/// <summary>statx and realpath from libc.</summary>
public sealed class PathInspector : IPathInspector
{
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;
    private const int EIO = 5;
    private const int ENOTCONN = 107;
    private const int ESTALE = 116;
    private const int AtSymlinkNoFollow = 0x100;

    public PathInfo Inspect(string path) => Stat(path, 0);

    public PathInfo InspectNoFollow(string path)
    {
        try
        {
            return Stat(path, AtSymlinkNoFollow);
        }
        catch (CorruptedMountException)
        {
            return new PathInfo(PathKind.Unreachable, default, default, 0);
        }
    }

    private unsafe PathInfo Stat(string path, int flags)
    {
        var buffer = stackalloc byte[LibC.StatxSize];
        if (LibC.Statx(LibC.AtFdCwd, path, flags, LibC.StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ENOENT or ENOTDIR)
            {
                return PathInfo.Missing;
            }
            var message = $"statx {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
            throw errno is ENOTCONN or ESTALE or EIO ? new CorruptedMountException(message) : new IOException(message);
        }
        var mode = *(ushort*)(buffer + LibC.StatxModeOffset);
        var kind = (mode & 0xF000) switch
        {
            0x4000 => PathKind.Directory,
            0x8000 => PathKind.RegularFile,
            0x6000 => PathKind.BlockDevice,
            0xA000 => PathKind.Symlink,
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

/// <summary>statx failed with ENOTCONN, ESTALE or EIO: something is mounted there, but it no longer answers.</summary>
public sealed class CorruptedMountException(string message) : IOException(message);
