using System.Globalization;
using CsiDriver.Footprint;

// Footprint benchmark (issue 11): the NativeAOT csi-driver against the JIT build, started as a user would.
// See bench/README.md ("Footprint"). bench/footprint.sh publishes both builds and runs this.
var repo = FindRepoRoot(AppContext.BaseDirectory);
var aotPath = Path.Combine(repo, "artifacts", "aot", "csi-driver");
var jitPath = Path.Combine(AppContext.BaseDirectory, "csi-driver.dll");
var runs = 5;
var lifecycles = 1000;
var settle = TimeSpan.FromSeconds(3);
var smoke = false;
var only = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
var extra = new List<DriverBuild>();

for (var i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--aot":
            aotPath = Path.GetFullPath(Value());
            break;
        case "--jit":
            jitPath = Path.GetFullPath(Value());
            break;
        case "--runs":
            runs = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--lifecycles":
            lifecycles = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--settle":
            settle = TimeSpan.FromSeconds(double.Parse(Value(), CultureInfo.InvariantCulture));
            break;
        case "--only":
            only.UnionWith(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            break;
        case "--build":
            // NAME=PATH: another build to compare in the same run (e.g. the previous commit's); *.dll runs on the JIT.
            var pair = Value().Split('=', 2);
            extra.Add(DriverBuild.From(pair[0], Path.GetFullPath(pair[1])));
            break;
        case "--smoke":
            smoke = true;
            break;
        case "-h" or "--help":
            Console.WriteLine("""
                usage: CsiDriver.Footprint [--aot PATH (default artifacts/aot/csi-driver)] [--jit PATH (default csi-driver.dll beside this)]
                                           [--runs 5] [--lifecycles 1000] [--settle SECONDS (3)] [--only start,controller,lifecycles] [--smoke]
                                           [--build NAME=PATH]... (more builds to compare, e.g. the previous commit's)
                --smoke: 1 start, 10 lifecycles, 1 s settle; a build whose binary is missing is skipped (not an error).
                """);
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]} (try --help)");
            return 2;
    }
}
if (smoke)
{
    (runs, lifecycles, settle) = (1, 10, TimeSpan.FromSeconds(1));
}
var settings = new FootprintSettings(runs, lifecycles, Math.Min(20, Math.Max(1, lifecycles / 10)), settle, TimeSpan.FromSeconds(60));
bool Wanted(string part) => only.Count == 0 || only.Contains(part);

var builds = new List<DriverBuild>();
foreach (var build in new[] { DriverBuild.Aot(aotPath), DriverBuild.Jit(jitPath) }.Concat(extra))
{
    if (File.Exists(build.Artifact))
    {
        builds.Add(build);
    }
    else
    {
        Console.WriteLine($"{build.Name}: {build.Artifact} not found, skipped (bench/footprint.sh publishes it)");
    }
}
if (builds.Count == 0)
{
    Console.Error.WriteLine("no csi-driver build to measure");
    return smoke ? 0 : 1;
}
var root = Environment.UserName == "root";
if (!root)
{
    Console.WriteLine("not root: the node lifecycles (loop devices, mounts) are skipped");
}

Console.WriteLine($"CsiDriver footprint benchmark: {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, " +
    $"{runs} start(s) per build, {lifecycles} lifecycles, settle {settle.TotalSeconds:0.#} s");
var results = new List<BuildFigures>();
foreach (var build in builds)
{
    Console.WriteLine($"== {build.Name}: {build.FileName} {string.Join(' ', build.Prefix)}");
    var start = await FootprintBenchmark.MeasureNodeStartAsync(build, settings);
    Console.WriteLine($"   node start → Probe: {string.Join(", ", start.ProbeReady.Select(Report.Ms))}; idle RSS {string.Join(", ", start.IdleRssMiB.Select(Report.MiB))}");
    ControllerFigures? controller = null;
    if (Wanted("controller"))
    {
        controller = await FootprintBenchmark.MeasureAwsControllerAsync(build, settings);
        Console.WriteLine($"   aws controller: Probe after {Report.Ms(controller.ProbeReady)}, idle RSS {Report.MiB(controller.IdleRssMiB)} (peak {Report.MiB(controller.PeakRssMiB)})");
    }
    LifecycleFigures? cycles = null;
    if (root && Wanted("lifecycles") && lifecycles > 0)
    {
        cycles = await FootprintBenchmark.MeasureNodeLifecyclesAsync(build, settings);
        Console.WriteLine($"   {cycles.Count} lifecycles: {Report.Ms(cycles.Mean)} each; RSS idle {Report.MiB(cycles.IdleRssMiB)}, after warm-up {Report.MiB(cycles.AfterWarmupRssMiB)}, at the end {Report.MiB(cycles.AtEndRssMiB)} (peak {Report.MiB(cycles.PeakRssMiB)}), settled after {Report.MiB(cycles.AfterRssMiB)} ({cycles.Growth:+0.0%;-0.0%})");
    }
    results.Add(new BuildFigures(build, start, controller, cycles));
}
Console.WriteLine();
Report.Print(results, settings, Console.Out);
return 0;

static string FindRepoRoot(string from)
{
    for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "CsiDriver.sln")))
        {
            return dir.FullName;
        }
    }
    return Directory.GetCurrentDirectory();
}
