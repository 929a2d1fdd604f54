using System.Globalization;
using CsiDriver.Bench;

// Control-plane benchmarks against the in-process EC2 simulator with EC2's token buckets. See bench/README.md.
//   (no command)  N volumes created and attached concurrently through the driver (controller, --backend aws)
//   churn         full lifecycles (create, attach, expand / snapshot, detach, delete) through a controller process
//   clone-latency CreateVolume latency of unrelated volumes while a volume clone copies (local backend)
if (args.Length > 0 && args[0] == "churn")
{
    return await CsiDriver.Bench.Churn.ChurnCommand.RunAsync(args[1..]);
}
if (args.Length > 0 && args[0] == "clone-latency")
{
    return await CsiDriver.Bench.CloneLatency.CloneLatencyCommand.RunAsync(args[1..]);
}

var run = new RunOptions([100, 500], TimeSpan.FromSeconds(240));
var perInstance = 25;
var client = Ec2ClientChoice.Provider;
var groupSnapshot = false;
var groupDataMiB = 256;
var groupStateFs = "";

for (var i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--per-instance":
            perInstance = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--ec2-client":
            client = Enum.Parse<Ec2ClientChoice>(Value(), ignoreCase: true);
            break;
        case "--group-snapshot":
            groupSnapshot = true;
            break;
        case "--group-state-fs":
            groupStateFs = Value();
            break;
        case "--group-data-mib":
            groupDataMiB = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "-h" or "--help":
            Console.WriteLine("""
                usage: CsiDriver.Bench [--volumes 100,500] [--per-instance 25] [--ec2-client provider|standard]
                                       [--timeout SECONDS (per N, default 240)] [--rpc-deadline SECONDS (default 60)]
                       CsiDriver.Bench --group-snapshot [--volumes 4] [--group-data-mib 256] [--group-state-fs xfs]   (group snapshot time to ready, local + aws)
                """);
            return 0;
        case var option when run.TryTake(option, Value):
            break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]} (try --help)");
            return 2;
    }
}
if (run.Volumes.Count == 0 || run.Volumes.Any(v => v <= 0) || perInstance is <= 0 or > 26)
{
    Console.Error.WriteLine("--volumes must list positive counts and --per-instance must be 1..26 (27 slots less the root volume)");
    return 2;
}

if (groupSnapshot)
{
    var members = args.Contains("--volumes") ? run.Volumes[0] : 4;
    Console.WriteLine($"CsiDriver group snapshot benchmark: {Environment.ProcessorCount} cores, {members} members");
    await GroupSnapshotBenchmark.RunLocalAsync(members, 1L << 30, (long)groupDataMiB << 20, groupStateFs, Console.Out);
    await GroupSnapshotBenchmark.RunAwsAsync(members, Console.Out);
    return 0;
}

Console.WriteLine($"CsiDriver control-plane benchmark: {Environment.ProcessorCount} cores, EC2 client: {client}, {perInstance} volumes per instance");
var results = new List<BenchResult>();
foreach (var n in run.Volumes)
{
    Console.WriteLine();
    Console.WriteLine($"== N = {n}: creating and attaching {n} volumes concurrently ...");
    var result = await ControlPlaneBenchmark.RunAsync(new BenchSettings(n, perInstance, client, run.RunTimeout, run.RpcDeadline), CancellationToken.None);
    BenchReport.Print(result, Console.Out);
    results.Add(result);
}
Console.WriteLine();
BenchReport.PrintSummary(results, Console.Out);
return results.All(r => r.Failed == 0) ? 0 : 1;
