using System.Globalization;

namespace CsiDriver.Bench.Churn;

/// <summary>Prints churn runs as plain-text tables: one run in detail, then every run side by side.</summary>
public static class ChurnReport
{
    public static void Print(ChurnResult r, TextWriter output)
    {
        var s = r.Settings;
        output.WriteLine($"build                 {s.Label} ({s.DriverDll})");
        output.WriteLine($"lifecycles completed  {r.Completed} / {s.Volumes}  ({s.ExpandCount} with an expansion, {s.SnapshotCount} with a snapshot)"
            + (r.Failed > 0 ? $"  {r.Failed} failed or cut off at the {BenchReport.Seconds(s.RunTimeout)} run timeout" : ""));
        output.WriteLine($"wall time             {BenchReport.Seconds(r.Wall)}");
        output.WriteLine($"token-bucket floor    {BenchReport.Seconds(r.BucketFloor)}   (slowest bucket for the mutating calls that must happen; below)");
        output.WriteLine($"wall / floor          {BenchReport.Ratio(r.Wall, r.BucketFloor)}");
        output.WriteLine($"one volume's path     {BenchReport.Seconds(r.PathFloor)}   (create + attach + detach state delays + 4 x latency in the simulator)");
        var retries = r.RpcRetries.Count == 0 ? "none" : string.Join(", ", r.RpcRetries.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"));
        output.WriteLine($"CO retries            {r.RpcRetries.Values.Sum()}   ({retries})");
        var m = r.Memory;
        output.WriteLine($"controller memory     RSS idle {MiB(m.IdleRssMiB)}, mean {MiB(m.MeanRssMiB)}, peak {MiB(m.PeakRssMiB)}, end {MiB(m.EndRssMiB)}; "
            + $"GC heap peak {MiB(m.PeakGcHeapMiB)}, end {MiB(m.EndGcHeapMiB)}");
        if (r.Ec2Errors.Count > 0)
        {
            output.WriteLine($"EC2 errors            {string.Join(", ", r.Ec2Errors)}   (other than throttling)");
        }
        foreach (var failure in r.FailureSamples)
        {
            output.WriteLine($"failure               {BenchReport.Truncate(failure, 160)}");
        }

        output.WriteLine();
        output.WriteLine("EC2 calls by action");
        var n = (double)s.Volumes;
        var rows = r.Calls.Select(c => new[] { c.Action, Count(c.Calls), Count(c.Throttled), Count(c.Errors), Count(c.Succeeded), PerVolume(c.Calls, n) }).ToList();
        var mutating = Sum(r.Calls.Where(c => !IsDescribe(c.Action)));
        var describe = Sum(r.Calls.Where(c => IsDescribe(c.Action)));
        var total = Sum(r.Calls);
        rows.Add(["mutating", Count(mutating.Calls), Count(mutating.Throttled), Count(mutating.Errors), Count(mutating.Succeeded), PerVolume(mutating.Calls, n)]);
        rows.Add(["Describe*", Count(describe.Calls), Count(describe.Throttled), Count(describe.Errors), Count(describe.Succeeded), PerVolume(describe.Calls, n)]);
        rows.Add(["total", Count(total.Calls), Count(total.Throttled), Count(total.Errors), Count(total.Succeeded), PerVolume(total.Calls, n)]);
        BenchReport.Table(output, ["action", "calls", "throttled", "other errors", "ok", "calls/volume"], rows);

        output.WriteLine();
        output.WriteLine("per-operation latency, as the CO saw it (CO retries included; snapshot = until ready_to_use)");
        BenchReport.Table(output, ["operation", "count", "p50", "p99", "max"], ChurnOperation.All
            .Where(r.Latencies.ContainsKey)
            .Select(op =>
            {
                var sorted = r.Latencies[op].Order().ToList();
                return new[] { op, Count(sorted.Count), BenchReport.Seconds(BenchReport.Percentile(sorted, 0.50)), BenchReport.Seconds(BenchReport.Percentile(sorted, 0.99)), BenchReport.Seconds(sorted[^1]) };
            }).ToList());

        output.WriteLine();
        output.WriteLine("token-bucket floor (each action has its own bucket; they refill independently)");
        BenchReport.Table(output, ["action", "calls needed", "burst", "refill/s", "floor"], r.Floors.Select(f => new[]
        {
            f.Action, Count(f.Calls), Count(f.Limit.Burst), f.Limit.RefillPerSecond.ToString("0.##", CultureInfo.InvariantCulture), BenchReport.Seconds(f.Floor),
        }).ToList());
    }

    /// <summary>Every run in one table, the builds of the same N next to each other.</summary>
    public static void PrintSummary(IReadOnlyList<ChurnResult> results, TextWriter output)
    {
        output.WriteLine("summary");
        BenchReport.Table(output,
            ["build", "N", "done", "wall", "floor", "wall/floor", "EC2 calls/vol", "mutating/vol", "Describe/vol", "throttled mutating", "throttled Describe", "CO retries", "RSS peak", "GC heap peak"],
            results.Select(r =>
            {
                var n = (double)r.Settings.Volumes;
                var mutating = Sum(r.Calls.Where(c => !IsDescribe(c.Action)));
                var describe = Sum(r.Calls.Where(c => IsDescribe(c.Action)));
                return new[]
                {
                    r.Settings.Label, Count(r.Settings.Volumes), Count(r.Completed), BenchReport.Seconds(r.Wall), BenchReport.Seconds(r.BucketFloor),
                    BenchReport.Ratio(r.Wall, r.BucketFloor), PerVolume(mutating.Calls + describe.Calls, n), PerVolume(mutating.Calls, n), PerVolume(describe.Calls, n),
                    Count(mutating.Throttled), Count(describe.Throttled), Count(r.RpcRetries.Values.Sum()), MiB(r.Memory.PeakRssMiB), MiB(r.Memory.PeakGcHeapMiB),
                };
            }).ToList());

        output.WriteLine();
        output.WriteLine("latency p50 / p99 by operation");
        BenchReport.Table(output, ["build", "N", .. ChurnOperation.All], results.Select(r =>
            new[] { r.Settings.Label, Count(r.Settings.Volumes) }.Concat(ChurnOperation.All.Select(op =>
            {
                if (!r.Latencies.TryGetValue(op, out var latencies) || latencies.Count == 0)
                {
                    return "-";
                }
                var sorted = latencies.Order().ToList();
                return $"{BenchReport.Seconds(BenchReport.Percentile(sorted, 0.50))} / {BenchReport.Seconds(BenchReport.Percentile(sorted, 0.99))}";
            })).ToArray()).ToList());
    }

    private static bool IsDescribe(string action) => action.StartsWith("Describe", StringComparison.Ordinal);

    private static (long Calls, long Throttled, long Errors, long Succeeded) Sum(IEnumerable<Testing.Aws.Ec2ActionCounts> calls) =>
        calls.Aggregate((Calls: 0L, Throttled: 0L, Errors: 0L, Succeeded: 0L), (t, c) => (t.Calls + c.Calls, t.Throttled + c.Throttled, t.Errors + c.Errors, t.Succeeded + c.Succeeded));

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string PerVolume(long calls, double volumes) => (calls / volumes).ToString("0.00", CultureInfo.InvariantCulture);

    private static string MiB(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) + " MiB" : "n/a";
}
