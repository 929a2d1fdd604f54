using System.Globalization;

namespace CsiDriver.Footprint;

/// <summary>The footprint table, with issue 11's targets beside the figures.</summary>
public static class Report
{
    public const double StartTargetMs = 100;
    public const double NodeRssTargetMiB = 25;
    public const double ControllerRssTargetMiB = 40;
    public const double GrowthTarget = 0.10;

    public static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    public static string MiB(double value) => value.ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    public static void Print(IReadOnlyList<BuildFigures> results, FootprintSettings settings, TextWriter output)
    {
        output.WriteLine($"| build | node start → Probe (median of {settings.StartRuns}) | socket bound | node idle RSS | aws controller idle RSS | " +
            $"node RSS after {settings.WarmupLifecycles} → {settings.Lifecycles} lifecycles (at the end; settled) | growth | vs idle | per lifecycle |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var probe = Median(r.Start.ProbeReady.Select(t => t.TotalMilliseconds));
            var socket = Median(r.Start.SocketReady.Select(t => t.TotalMilliseconds));
            var rss = Median(r.Start.IdleRssMiB);
            output.WriteLine(string.Join(" | ",
                "| " + r.Build.Name,
                $"{probe:0} ms {Mark(probe <= StartTargetMs)} (min {r.Start.ProbeReady.Min().TotalMilliseconds:0}, max {r.Start.ProbeReady.Max().TotalMilliseconds:0})",
                $"{socket:0} ms",
                $"{MiB(rss)} {Mark(rss <= NodeRssTargetMiB)}",
                r.Controller is { } c ? $"{MiB(c.IdleRssMiB)} {Mark(c.IdleRssMiB <= ControllerRssTargetMiB)}" : "–",
                r.Lifecycles is { } l ? $"{MiB(l.AfterWarmupRssMiB)} → {MiB(l.AtEndRssMiB)}; {MiB(l.AfterRssMiB)}" : "–",
                r.Lifecycles is { } g ? $"{g.Growth:+0.0%;-0.0%} {Mark(g.Growth <= GrowthTarget)}" : "–",
                r.Lifecycles is { } v ? $"{v.GrowthOverIdle:+0.0%;-0.0%} {Mark(v.GrowthOverIdle <= GrowthTarget)}" : "–",
                r.Lifecycles is { } m ? Ms(m.Mean) + " |" : "– |"));
        }
        output.WriteLine();
        output.WriteLine($"targets: start ≤ {StartTargetMs:0} ms, node idle RSS ≤ {NodeRssTargetMiB:0} MiB, controller idle RSS ≤ {ControllerRssTargetMiB:0} MiB, growth ≤ {GrowthTarget:0%} (settled after the lifecycles against settled after the warm-up, and against idle: issue 11 asks for RSS after the lifecycles within 10 % of idle; every settled figure is read after --settle s and a liveness Probe) (✓ met, ✗ missed)");
    }

    private static string Mark(bool met) => met ? "✓" : "✗";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return double.NaN;
        }
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
