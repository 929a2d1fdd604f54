using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host;

/// <summary>
/// Gives back the executable's pages that only start-up needed. The NativeAOT image is paged in from the file, and
/// start-up (type data of every module, DI, Kestrel, options validation) plus the kernel's 64 KiB fault-around leave
/// ~28 MiB of it resident, much of it never used again (bench/README.md "Where the node binary's bytes go": node idle
/// 42.5 -> 21 MiB, 28 MiB once a Probe has run again). <c>MADV_PAGEOUT</c> on the image's mappings after start-up
/// drops the clean file pages from this process (they fault back in from the file when run again); pages the process
/// wrote (anonymous copies) are only swapped where swap exists, which Kubernetes nodes normally do not have. A hint:
/// a failure (an old kernel without MADV_PAGEOUT) changes nothing.
/// </summary>
internal static partial class StartupPages
{
    /// <summary>
    /// How long after the host started: the kubelet's registration calls and the hosted services' first work run on
    /// the start-up pages; paging out at once evicted pages they faulted straight back in (bench: start → Probe
    /// 88 → 122 ms, idle 35.8 MiB instead of 21).
    /// </summary>
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(1.5);

    private const int MadvPageout = 21;

    /// <summary>After <see cref="Delay"/>, <see cref="Release"/> in a NativeAOT build (the JIT build's executable is the dotnet host).</summary>
    public static async Task ReleaseAfterStartAsync(TimeProvider time, ILogger logger, CancellationToken stopping)
    {
        if (RuntimeFeature.IsDynamicCodeSupported || !OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            await Task.Delay(Delay, time, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        HostLog.StartupPagesReleased(logger, Release() >> 20);
    }

    /// <summary>Advises the kernel to page out this process's mappings of its own executable; returns the bytes advised.</summary>
    public static long Release()
    {
        string executable;
        try
        {
            executable = Path.GetFullPath(new FileInfo("/proc/self/exe").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "");
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
        long advised = 0;
        foreach (var (start, length) in ImageMappings(File.ReadLines("/proc/self/maps"), executable))
        {
            if (MAdvise((nint)start, (nuint)length, MadvPageout) == 0)
            {
                advised += length;
            }
        }
        return advised;
    }

    /// <summary>The address ranges of <c>/proc/self/maps</c> lines that map <paramref name="path"/>.</summary>
    internal static IEnumerable<(long Start, long Length)> ImageMappings(IEnumerable<string> mapsLines, string path)
    {
        foreach (var line in mapsLines)
        {
            // "00400000-00405000 r--p 00000000 fd:01 1234   /path/to/exe"; the path is the sixth field and may hold spaces.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[5].TrimStart(' ') != path)
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

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(nint address, nuint length, int advice);
}
