using System.Globalization;

namespace CsiDriver.Bench;

/// <summary>Values of the benchmarks' command-line options.</summary>
public static class BenchArguments
{
    /// <summary>"100,500" → [100, 500].</summary>
    public static List<int> Counts(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();

    /// <summary>"60" or "2.5" seconds.</summary>
    public static TimeSpan Seconds(string value) => TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));

    /// <summary>The 1, 5 and 15 minute load averages, printed with the figures (the machine is shared).</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
