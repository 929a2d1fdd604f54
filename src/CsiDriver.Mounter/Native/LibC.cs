using System.Runtime.InteropServices;

namespace CsiDriver.Mounter.Native;

/// <summary>
/// The few libc calls .NET has no API for. statx and statvfs are used because their layouts are the same
/// on every 64-bit Linux (x86_64, arm64), so one declaration serves all the architectures we ship.
/// </summary>
internal static partial class LibC
{
    public const int AtFdCwd = -100;
    public const int StatxBasicStats = 0x7ff;

    /// <summary>struct statx is 256 bytes; only the fields read here are named.</summary>
    public const int StatxSize = 256;
    public const int StatxModeOffset = 28;
    public const int StatxSizeOffset = 40;
    public const int StatxRdevMajorOffset = 128;
    public const int StatxRdevMinorOffset = 132;
    public const int StatxDevMajorOffset = 136;
    public const int StatxDevMinorOffset = 140;

    /// <summary>struct statvfs on LP64 glibc: eleven 8-byte fields then spare ints (112 bytes).</summary>
    public const int StatvfsSize = 112;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int Statvfs(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    public static partial void Free(IntPtr pointer);
}
