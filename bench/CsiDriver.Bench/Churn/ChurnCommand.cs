using System.Globalization;

namespace CsiDriver.Bench.Churn;

/// <summary>The "churn" command line: which N, which builds, how many repetitions. See bench/README.md.</summary>
public static class ChurnCommand
{
    private const string Usage = """
        usage: CsiDriver.Bench churn [--smoke] [--volumes 1000] [--instances 40] [--expand-percent 10] [--snapshot-percent 10]
                                     [--driver PATH/csi-driver.dll] [--label NAME]
                                     [--baseline PATH/csi-driver.dll] [--baseline-label NAME] [--runs 1]
                                     [--timeout SECONDS (per run, default 900)] [--rpc-deadline SECONDS (default 60)]
          --smoke      40 volumes over 4 instances, well under a minute per build (CI): prints the tables, asserts nothing on time
          --baseline   another build's csi-driver.dll; each run of it alternates with a run of --driver on the same workload
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var common = new RunOptions([1000], TimeSpan.FromSeconds(900));
        var instances = 40;
        var expandPercent = 10;
        var snapshotPercent = 10;
        var builds = new DriverBuilds();
        var runs = 1;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--smoke":
                    common.Volumes = [40];
                    instances = 4;
                    common.RunTimeout = TimeSpan.FromSeconds(120);
                    break;
                case "--instances":
                    instances = Int();
                    break;
                case "--expand-percent":
                    expandPercent = Int();
                    break;
                case "--snapshot-percent":
                    snapshotPercent = Int();
                    break;
                case "--runs":
                    runs = Int();
                    break;
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    return 0;
                case var option when common.TryTake(option, Value):
                    break;
                case var option when builds.TryTake(option, Value):
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]} (try churn --help)");
                    return 2;
            }
        }
        var errors = new List<string>();
        if (common.Volumes.Count == 0 || common.Volumes.Any(v => v <= 0) || instances <= 0 || runs <= 0)
        {
            errors.Add("--volumes, --instances and --runs must be positive");
        }
        else if (common.Volumes.Any(v => (v + instances - 1) / instances > 26))
        {
            errors.Add("more than 26 volumes per instance (27 attachment slots less the root volume): raise --instances");
        }
        if (expandPercent is < 0 or > 100 || snapshotPercent is < 0 or > 100)
        {
            errors.Add("--expand-percent and --snapshot-percent must be 0..100");
        }
        errors.AddRange(builds.Errors());
        if (errors.Count > 0)
        {
            errors.ForEach(Console.Error.WriteLine);
            return 2;
        }

        Console.WriteLine($"CsiDriver churn benchmark: {Environment.ProcessorCount} cores, load average {BenchArguments.LoadAverage()}, "
            + $"{instances} instances, {expandPercent} % expanded, {snapshotPercent} % snapshotted, {runs} run(s) per build");
        var results = new List<ChurnResult>();
        foreach (var n in common.Volumes)
        {
            for (var run = 1; run <= runs; run++)
            {
                foreach (var (buildLabel, dll) in builds.InOrder())
                {
                    var settings = new ChurnSettings(buildLabel, dll, n, instances, expandPercent, snapshotPercent, common.RunTimeout, common.RpcDeadline);
                    Console.WriteLine();
                    Console.WriteLine($"== {buildLabel}, N = {n}, run {run}/{runs} (load average {BenchArguments.LoadAverage()}) ...");
                    var result = await ChurnBenchmark.RunAsync(settings, CancellationToken.None);
                    ChurnReport.Print(result, Console.Out);
                    results.Add(result);
                }
            }
        }
        Console.WriteLine();
        ChurnReport.PrintSummary(results, Console.Out);
        Console.WriteLine($"load average at the end: {BenchArguments.LoadAverage()}");
        return results.All(r => r.Failed == 0) ? 0 : 1;
    }
}
