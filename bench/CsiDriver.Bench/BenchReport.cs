using System.Globalization;

namespace CsiDriver.Bench;

/// <summary>Prints a run as plain-text tables.</summary>
public static class BenchReport
{
    public static void Print(BenchResult r, TextWriter output)
    {
        var n = r.Settings.Volumes;
        output.WriteLine($"volumes completed     {r.Completed} / {n}" + (r.Failed > 0 ? $"  ({r.Failed} failed or cut off at the {Seconds(r.Settings.RunTimeout)} run timeout)" : ""));
        output.WriteLine($"wall time             {Seconds(r.Wall)}");
        output.WriteLine($"token-bucket floor    {Seconds(r.BucketFloor)}   (slowest bucket for the calls that must happen; see below)");
        output.WriteLine($"wall / floor          {Ratio(r.Wall, r.BucketFloor)}");
        output.WriteLine($"one volume's path     {Seconds(r.PathFloor)}   (create + attach state delays + 2 x latency in the simulator)");
        var retries = r.RpcRetries.Count == 0 ? "none" : string.Join(", ", r.RpcRetries.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"));
        output.WriteLine($"CO retries            {r.RpcRetries.Values.Sum()}   ({retries})");
        if (r.VolumeLatencies.Count > 0)
        {
            var sorted = r.VolumeLatencies.Order().ToList();
            output.WriteLine($"per-volume latency    p50 {Seconds(Percentile(sorted, 0.50))}   p95 {Seconds(Percentile(sorted, 0.95))}   max {Seconds(sorted[^1])}   (create + publish)");
        }
        foreach (var failure in r.FailureSamples)
        {
            output.WriteLine($"failure               {Truncate(failure, 160)}");
        }

        output.WriteLine();
        output.WriteLine("EC2 calls by action");
        var rows = r.Calls.Select(c => new[]
        {
            c.Action,
            c.Calls.ToString(CultureInfo.InvariantCulture),
            c.Throttled.ToString(CultureInfo.InvariantCulture),
            c.Errors.ToString(CultureInfo.InvariantCulture),
            c.Succeeded.ToString(CultureInfo.InvariantCulture),
            (c.Calls / (double)n).ToString("0.00", CultureInfo.InvariantCulture),
        }).ToList();
        var total = r.Calls.Aggregate((Calls: 0L, Throttled: 0L, Errors: 0L), (t, c) => (t.Calls + c.Calls, t.Throttled + c.Throttled, t.Errors + c.Errors));
        rows.Add(
        [
            "total",
            total.Calls.ToString(CultureInfo.InvariantCulture),
            total.Throttled.ToString(CultureInfo.InvariantCulture),
            total.Errors.ToString(CultureInfo.InvariantCulture),
            (total.Calls - total.Throttled - total.Errors).ToString(CultureInfo.InvariantCulture),
            (total.Calls / (double)n).ToString("0.00", CultureInfo.InvariantCulture),
        ]);
        Table(output, ["action", "calls", "throttled", "other errors", "ok", "calls/volume"], rows);

        output.WriteLine();
        output.WriteLine("token-bucket floor (each action has its own bucket; they refill independently)");
        Table(output, ["action", "calls needed", "burst", "refill/s", "floor"], r.FloorByAction.Select(f => new[]
        {
            f.Action,
            f.Calls.ToString(CultureInfo.InvariantCulture),
            f.Limit.Burst.ToString(CultureInfo.InvariantCulture),
            f.Limit.RefillPerSecond.ToString("0.##", CultureInfo.InvariantCulture),
            Seconds(f.Floor),
        }).ToList());
    }

    public static void PrintSummary(IReadOnlyList<BenchResult> results, TextWriter output)
    {
        output.WriteLine("summary");
        Table(output, ["N", "done", "wall", "floor", "wall/floor", "EC2 calls", "calls/volume", "throttled"], results.Select(r =>
        {
            var calls = r.Calls.Sum(c => c.Calls);
            return new[]
            {
                r.Settings.Volumes.ToString(CultureInfo.InvariantCulture),
                r.Completed.ToString(CultureInfo.InvariantCulture),
                Seconds(r.Wall),
                Seconds(r.BucketFloor),
                Ratio(r.Wall, r.BucketFloor),
                calls.ToString(CultureInfo.InvariantCulture),
                (calls / (double)r.Settings.Volumes).ToString("0.00", CultureInfo.InvariantCulture),
                r.Calls.Sum(c => c.Throttled).ToString(CultureInfo.InvariantCulture),
            };
        }).ToList());
    }

    internal static void Table(TextWriter output, string[] header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => "  " + string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i])));
        output.WriteLine(Line(header));
        output.WriteLine("  " + string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in rows)
        {
            output.WriteLine(Line(row));
        }
    }

    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    internal static string Ratio(TimeSpan wall, TimeSpan floor) =>
        floor <= TimeSpan.Zero ? "n/a (no floor)" : (wall / floor).ToString("0.00", CultureInfo.InvariantCulture);

    internal static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    internal static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "...";
}
