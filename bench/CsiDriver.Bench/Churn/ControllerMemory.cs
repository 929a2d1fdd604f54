using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace CsiDriver.Bench.Churn;

/// <summary>What the controller process used during a run.</summary>
/// <param name="IdleRssMiB">Resident set before the first request (after start-up).</param>
/// <param name="PeakRssMiB">Highest resident set sampled during the run (VmHWM of /proc).</param>
/// <param name="MeanRssMiB">Mean of the samples taken during the run.</param>
/// <param name="EndRssMiB">Resident set once every lifecycle was done.</param>
/// <param name="PeakGcHeapMiB">Highest GC heap size the runtime reported (null when its counters could not be read).</param>
/// <param name="EndGcHeapMiB">The last GC heap size the runtime reported.</param>
public sealed record MemoryFigures(double IdleRssMiB, double PeakRssMiB, double MeanRssMiB, double EndRssMiB, double? PeakGcHeapMiB, double? EndGcHeapMiB);

/// <summary>
/// Samples another process's memory: the resident set from /proc/PID/status every 250 ms, and the GC heap size from
/// the runtime's own counters (System.Runtime gc-heap-size, once a second) over its diagnostics port. The driver is a
/// separate process, so neither the simulator nor the benchmark's client is counted.
/// </summary>
public sealed class ControllerMemory : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<double> _rss = [];
    private readonly Task _rssLoop;
    private readonly EventPipeSession? _session;
    private readonly Task? _counterLoop;
    private double? _peakGcHeap;
    private double? _lastGcHeap;

    private ControllerMemory(int pid, double idleRss)
    {
        _pid = pid;
        IdleRssMiB = idleRss;
        _rssLoop = Task.Run(SampleRssAsync);
        try
        {
            var client = new DiagnosticsClient(pid);
            _session = client.StartEventPipeSession(
                new EventPipeProvider("System.Runtime", EventLevel.Informational, (long)EventKeywords.All,
                    new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" }),
                requestRundown: false);
            _counterLoop = Task.Run(() => ReadCounters(_session));
        }
        catch (Exception ex) when (ex is DiagnosticsClientException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            Console.Error.WriteLine($"note: the controller's GC counters cannot be read ({ex.Message}); reporting RSS only");
        }
    }

    public double IdleRssMiB { get; }

    /// <summary>Starts sampling <paramref name="pid"/>; the current resident set counts as idle.</summary>
    public static ControllerMemory Start(int pid) => new(pid, ReadStatusMiB(pid, "VmRSS:") ?? 0);

    public async Task<MemoryFigures> StopAsync()
    {
        var end = ReadStatusMiB(_pid, "VmRSS:") ?? 0;
        var peak = ReadStatusMiB(_pid, "VmHWM:") ?? 0;
        await _stop.CancelAsync();
        await _rssLoop;
        _session?.Stop();
        if (_counterLoop is not null)
        {
            await Task.WhenAny(_counterLoop, Task.Delay(TimeSpan.FromSeconds(5)));
        }
        double mean;
        lock (_rss)
        {
            mean = _rss.Count == 0 ? end : _rss.Average();
            peak = Math.Max(peak, _rss.Count == 0 ? end : _rss.Max());
        }
        return new MemoryFigures(IdleRssMiB, peak, mean, end, _peakGcHeap, _lastGcHeap);
    }

    private async Task SampleRssAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            if (ReadStatusMiB(_pid, "VmRSS:") is { } rss)
            {
                lock (_rss)
                {
                    _rss.Add(rss);
                }
            }
            try
            {
                await Task.Delay(250, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void ReadCounters(EventPipeSession session)
    {
        try
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Dynamic.All += data =>
            {
                if (data.EventName != "EventCounters" || data.PayloadValue(0) is not IDictionary<string, object> payload
                    || payload.TryGetValue("Payload", out var inner) is false || inner is not IDictionary<string, object> counter)
                {
                    return;
                }
                if (counter.TryGetValue("Name", out var name) && (string)name == "gc-heap-size"
                    && counter.TryGetValue("Mean", out var mean))
                {
                    // gc-heap-size is reported in MB.
                    var value = Convert.ToDouble(mean, CultureInfo.InvariantCulture) * 1_000_000 / (1 << 20);
                    _lastGcHeap = value;
                    _peakGcHeap = Math.Max(_peakGcHeap ?? 0, value);
                }
            };
            source.Process();
        }
#pragma warning disable CA1031 // The process may exit mid-stream; the figures so far stand.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>A "Vm...: N kB" line of /proc/PID/status in MiB, null when the process is gone.</summary>
    internal static double? ReadStatusMiB(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var kb = long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        _session?.Dispose();
        _stop.Dispose();
    }
}
