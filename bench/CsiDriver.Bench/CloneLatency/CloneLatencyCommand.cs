using System.Globalization;

namespace CsiDriver.Bench.CloneLatency;

/// <summary>The "clone-latency" command line. See bench/README.md.</summary>
public static class CloneLatencyCommand
{
    private const string Usage = """
        usage: CsiDriver.Bench clone-latency [--smoke] [--clone-mib 1024] [--clones 3] [--interval-ms 50] [--idle-creates 20]
                                             [--driver PATH/csi-driver.dll] [--label NAME]
                                             [--baseline PATH/csi-driver.dll] [--baseline-label NAME]
          --smoke      one 64 MiB clone, this build only (CI): prints the table, fails only when a call failed
          --baseline   another build's csi-driver.dll, run first on the same workload
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var cloneMiB = 1024;
        var clones = 3;
        var interval = TimeSpan.FromMilliseconds(50);
        var idleCreates = 20;
        var builds = new DriverBuilds();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--smoke":
                    cloneMiB = 64;
                    clones = 1;
                    idleCreates = 5;
                    break;
                case "--clone-mib":
                    cloneMiB = Int();
                    break;
                case "--clones":
                    clones = Int();
                    break;
                case "--interval-ms":
                    interval = TimeSpan.FromMilliseconds(Int());
                    break;
                case "--idle-creates":
                    idleCreates = Int();
                    break;
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    return 0;
                case var option when builds.TryTake(option, Value):
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]} (try clone-latency --help)");
                    return 2;
            }
        }
        if (cloneMiB <= 0 || clones <= 0 || interval <= TimeSpan.Zero || idleCreates <= 0)
        {
            Console.Error.WriteLine("--clone-mib, --clones, --interval-ms and --idle-creates must be positive");
            return 2;
        }
        var missing = builds.Errors().ToList();
        if (missing.Count > 0)
        {
            missing.ForEach(Console.Error.WriteLine);
            return 2;
        }
        Console.WriteLine($"CsiDriver clone-latency benchmark: {Environment.ProcessorCount} cores, {clones} clone(s) of {cloneMiB} MiB, " +
                          $"a create every {interval.TotalMilliseconds:0} ms while each copies, state dir under {Path.GetTempPath()}");
        var results = new List<CloneLatencyResult>();
        foreach (var (buildLabel, dll) in builds.InOrder())
        {
            Console.WriteLine($"== {buildLabel} (load average {BenchArguments.LoadAverage()}) ...");
            results.Add(await CloneLatencyBenchmark.RunAsync(new CloneLatencySettings(buildLabel, dll, (long)cloneMiB << 20, clones, interval, idleCreates)));
        }
        Console.WriteLine();
        CloneLatencyBenchmark.Print(results, Console.Out);
        Console.WriteLine($"load average at the end: {BenchArguments.LoadAverage()}");
        return results.All(r => r.Failed == 0) ? 0 : 1;
    }
}
