using System.Globalization;
using System.Runtime.InteropServices;

namespace CsiDriver.Host.Memory;

/// <summary>What one trim gave back: resident bytes before and after, and the bytes of file mappings advised out.</summary>
public readonly record struct TrimResult(long ResidentBefore, long ResidentAfter, long FilePagesAdvised);

/// <summary>Gives memory that idle work no longer needs back to the kernel (<see cref="IdleMemoryTrimmer"/> decides when).</summary>
public interface IProcessMemory
{
    TrimResult Trim();
}

/// <summary>
/// The driver process's memory, given back in three parts:
/// <list type="bullet">
/// <item>the managed heap: a blocking, compacting, aggressive collection, which also decommits the free regions and
/// gen0 space a burst of work left committed (bench/README.md: ~4–8 MiB on an idle node or controller);</item>
/// <item>the native heap: glibc's <c>malloc_trim</c> returns free arena pages (absent elsewhere: skipped);</item>
/// <item>the file pages (Linux): start-up and a burst of work fault in type data and code of every module of the
/// executable, plus the kernel's 64 KiB fault-around, and much of it is not touched again; the same holds for the
/// shared libraries. <c>MADV_PAGEOUT</c> on the private file mappings drops the clean pages only this process maps;
/// what runs again faults back in from the file. Pages the process wrote are only swapped where swap exists, which
/// Kubernetes nodes normally do not have.</item>
/// </list>
/// Every part is a hint to the runtime or the kernel: a failure (an old kernel, another libc) changes nothing.
/// </summary>
public sealed partial class ProcessMemory : IProcessMemory
{
    private const int MadvPageout = 21;

    public TrimResult Trim()
    {
        var before = ResidentBytes();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
        var advised = PageOutFileMappings();
        return new TrimResult(before, ResidentBytes(), advised);
    }

    /// <summary>This process's resident set (the second field of <c>/proc/self/statm</c>, in pages); 0 where unknown.</summary>
    public static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
                ? pages * Environment.SystemPageSize
                : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Advises the kernel to page out this process's private file mappings: its own executable (NativeAOT) or the
    /// runtime and assemblies (JIT), and the shared libraries it loaded (libssl and libcrypto once TLS has been used,
    /// e.g. by the Kubernetes API client at start). The kernel skips pages other processes map too, so only what this
    /// process alone keeps resident goes; returns the bytes advised.
    /// </summary>
    public static long PageOutFileMappings()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }
        IEnumerable<(long Start, long Length)> mappings;
        try
        {
            mappings = PrivateFileMappings(File.ReadAllLines("/proc/self/maps"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        long advised = 0;
        try
        {
            foreach (var (start, length) in mappings)
            {
                if (MAdvise((nint)start, (nuint)length, MadvPageout) == 0)
                {
                    advised += length;
                }
            }
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            // No C library answers to "libc" here: nothing is paged out this way.
        }
        return advised;
    }

    /// <summary>
    /// The address ranges of <c>/proc/self/maps</c> lines that map a file privately: not anonymous memory, the stack or
    /// the vDSO (no path, or "[…]"), not shared mappings (written back, or the runtime's diagnostics memfd), not devices.
    /// </summary>
    internal static IEnumerable<(long Start, long Length)> PrivateFileMappings(IEnumerable<string> mapsLines)
    {
        foreach (var line in mapsLines)
        {
            // "00400000-00405000 r--p 00000000 fd:01 1234   /path/to/file"; the path is the sixth field and may hold spaces.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[1].Length != 4 || fields[1][3] != 'p')
            {
                continue;
            }
            var path = fields[5].TrimStart(' ');
            if (!path.StartsWith('/') || path.StartsWith("/memfd:", StringComparison.Ordinal) || path.StartsWith("/dev/", StringComparison.Ordinal))
            {
                continue;
            }
            var range = fields[0].Split('-');
            if (range.Length == 2
                && long.TryParse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                && long.TryParse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end)
                && end > start)
            {
                yield return (start, end - start);
            }
        }
    }

    private static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            MallocTrim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): nothing to give back this way.
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(nint address, nuint length, int advice);
}
