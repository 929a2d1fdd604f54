using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace CsiDriver.Core.Storage;

/// <summary>
/// Crash-safe file writes: write a temp file, fsync it, rename over the target, fsync the directory.
/// After a kill -9 the target holds either the old or the new content, never a mix.
/// </summary>
public static class AtomicFile
{
    /// <summary>Names of files still being written contain this; a crash leaves them behind and their owner removes them at start.</summary>
    public const string TempMarker = ".tmp-";

    /// <summary>Writes the value as JSON through its source-generated contract (no reflection: the driver is NativeAOT-compiled).</summary>
    public static void WriteJson<T>(string path, T value, JsonTypeInfo<T> typeInfo)
    {
        var temp = TempFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, value, typeInfo);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    public static T? ReadJson<T>(string path, JsonTypeInfo<T> typeInfo)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize(stream, typeInfo);
    }

    /// <summary>Flushes a finished data file to disk before it is renamed into place.</summary>
    public static void SyncFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Makes renames and deletions in the directory durable.</summary>
    public static void SyncDirectory(string directory)
    {
        // Opening a directory read-only and fsyncing it is how POSIX persists its entries; .NET refuses to open
        // directories as files, so this goes straight to libc.
        var fd = NativeMethods.open(directory, NativeMethods.O_RDONLY | NativeMethods.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>A fresh temp name next to the final path, so the rename that publishes it stays in one directory.</summary>
    public static string TempFor(string finalPath) =>
        Path.Combine(Path.GetDirectoryName(finalPath)!, Path.GetFileName(finalPath) + TempMarker + Guid.NewGuid().ToString("N")[..8]);

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal static class NativeMethods
{
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;

    [DllImport("libc", SetLastError = true)]
#pragma warning disable CA2101, SYSLIB1054 // plain ASCII paths; DllImport keeps the project free of unsafe code
    public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore CA2101, SYSLIB1054

    [DllImport("libc", SetLastError = true)]
    public static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);
}
