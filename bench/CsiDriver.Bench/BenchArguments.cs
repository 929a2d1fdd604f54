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

/// <summary>The options both benchmark commands take: which N to run, how long one run may take, one RPC's deadline.</summary>
public sealed class RunOptions(List<int> volumes, TimeSpan runTimeout)
{
    public List<int> Volumes { get; set; } = volumes;

    public TimeSpan RunTimeout { get; set; } = runTimeout;

    public TimeSpan RpcDeadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Takes <paramref name="option"/> (reading its value) if it is one of these; false for any other.</summary>
    public bool TryTake(string option, Func<string> value)
    {
        switch (option)
        {
            case "--volumes":
                Volumes = BenchArguments.Counts(value());
                return true;
            case "--timeout":
                RunTimeout = BenchArguments.Seconds(value());
                return true;
            case "--rpc-deadline":
                RpcDeadline = BenchArguments.Seconds(value());
                return true;
            default:
                return false;
        }
    }
}
