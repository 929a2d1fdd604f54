using System.Diagnostics;
using System.Globalization;
using Csi.V1;
using CsiDriver.Cloud.Local;
using CsiDriver.Testing;

namespace CsiDriver.Bench.CloneLatency;

/// <summary>One clone-latency run: which build, how big the clone, how many clones, how often an unrelated create is sent.</summary>
public sealed record CloneLatencySettings(string Label, string DriverDll, long CloneBytes, int Clones, TimeSpan CreateInterval, int IdleCreates);

/// <summary>What one run measured: CreateVolume latencies of unrelated volumes, idle and while a clone copied.</summary>
public sealed record CloneLatencyResult(
    CloneLatencySettings Settings,
    IReadOnlyList<TimeSpan> Idle,
    IReadOnlyList<TimeSpan> DuringClone,
    IReadOnlyList<TimeSpan> CloneTimes,
    int Failed,
    IReadOnlyList<string> FailureSamples);

/// <summary>
/// CreateVolume latency of unrelated volumes while a volume clone copies its source, through a real local-backend
/// controller process (a given build's csi-driver.dll) over its socket. The source is filled with random data, so
/// the clone is a real byte copy on a filesystem without reflinks (the state dir is under the temp dir: ext4 or
/// tmpfs here); on xfs with reflinks a clone is instant and there is nothing to measure. While each clone runs, a
/// create of a new 16 MiB volume is sent every interval, open loop (not waiting for the previous one), as a CO
/// provisioning other claims would; each is deleted afterwards.
/// </summary>
public static class CloneLatencyBenchmark
{
    private const long MiB = 1L << 20;
    private const string NodeId = "bench-node";

    public static async Task<CloneLatencyResult> RunAsync(CloneLatencySettings settings)
    {
        using var dir = new TestDirectory("bench-clone");
        var socket = dir.Path("csi.sock");
        var stateDir = dir.Path("state");
        await using var driver = await DriverProcess.StartAsync(settings.DriverDll, new Dictionary<string, string>(), socket,
            "--mode", "controller", "--backend", "local", "--state-dir", stateDir, "--node-id", NodeId, "--log-level", "Error");
        var controller = driver.Controller;
        var failures = new List<string>();

        var source = (await controller.CreateVolumeAsync(Create("clone-source", settings.CloneBytes))).Volume;
        // Real bytes: a sparse hole would copy in no time.
        await BenchData.WriteRandomAsync(new LocalStatePaths(stateDir).VolumeImage(source.VolumeId), settings.CloneBytes, FileMode.Open);

        // Idle: one create at a time, nothing else running (also warms the connection and the driver's code paths).
        var idle = new List<TimeSpan>();
        for (var i = 0; i < settings.IdleCreates; i++)
        {
            idle.Add(await TimedCreateAsync(controller, $"idle-{i}", failures));
        }

        var during = new List<TimeSpan>();
        var cloneTimes = new List<TimeSpan>();
        var created = new List<string>();
        for (var c = 0; c < settings.Clones; c++)
        {
            var request = Create($"clone-{c}", settings.CloneBytes);
            request.VolumeContentSource = new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = source.VolumeId } };
            var started = Stopwatch.GetTimestamp();
            var clone = controller.CreateVolumeAsync(request).ResponseAsync;
            var creates = new List<Task<TimeSpan>>();
            var n = 0;
            // Open loop while the clone copies (at least one create, so a clone faster than the interval still counts).
            do
            {
                creates.Add(TimedCreateAsync(controller, $"during-{c}-{n++}", failures));
                await Task.WhenAny(clone, Task.Delay(settings.CreateInterval));
            }
            while (!clone.IsCompleted);
            var cloned = await clone;
            cloneTimes.Add(Stopwatch.GetElapsedTime(started));
            during.AddRange(await Task.WhenAll(creates));
            created.Add(cloned.Volume.VolumeId);
            // The clone's bytes go before the next one, so every clone copies onto a filesystem in the same state.
            await controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = cloned.Volume.VolumeId });
        }

        var listed = await controller.ListVolumesAsync(new ListVolumesRequest());
        foreach (var entry in listed.Entries)
        {
            await controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = entry.Volume.VolumeId });
        }
        return new CloneLatencyResult(settings, idle, during, cloneTimes, failures.Count, failures.Distinct().Take(5).ToList());
    }

    public static void Print(IReadOnlyList<CloneLatencyResult> results, TextWriter output)
    {
        output.WriteLine("CreateVolume latency of unrelated 16 MiB volumes (p50 / p99 / max), and how long each clone took");
        BenchReport.Table(output, ["build", "phase", "creates", "p50", "p99", "max", "clone time (each)"], results.SelectMany(r => new[]
        {
            Row(r, "idle", r.Idle, "-"),
            Row(r, $"during {r.Settings.CloneBytes / MiB} MiB clone", r.DuringClone,
                string.Join(", ", r.CloneTimes.Select(t => Milliseconds(t)))),
        }).ToList());
        foreach (var failure in results.SelectMany(r => r.FailureSamples.Select(f => $"{r.Settings.Label}: {f}")))
        {
            output.WriteLine($"failure: {BenchReport.Truncate(failure, 200)}");
        }
    }

    private static string[] Row(CloneLatencyResult r, string phase, IReadOnlyList<TimeSpan> latencies, string cloneTimes)
    {
        var sorted = latencies.Order().ToList();
        return sorted.Count == 0
            ? [r.Settings.Label, phase, "0", "-", "-", "-", cloneTimes]
            : [r.Settings.Label, phase, sorted.Count.ToString(CultureInfo.InvariantCulture),
               Milliseconds(BenchReport.Percentile(sorted, 0.50)), Milliseconds(BenchReport.Percentile(sorted, 0.99)), Milliseconds(sorted[^1]), cloneTimes];
    }

    private static string Milliseconds(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    private static async Task<TimeSpan> TimedCreateAsync(Controller.ControllerClient controller, string name, List<string> failures)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await controller.CreateVolumeAsync(Create(name, 16 * MiB), deadline: DateTime.UtcNow.AddMinutes(5));
        }
        catch (Grpc.Core.RpcException ex)
        {
            lock (failures)
            {
                failures.Add($"{name}: {ex.StatusCode} {ex.Status.Detail}");
            }
        }
        return Stopwatch.GetElapsedTime(started);
    }

    private static CreateVolumeRequest Create(string name, long bytes) => new()
    {
        Name = name,
        CapacityRange = new CapacityRange { RequiredBytes = bytes },
        VolumeCapabilities = { ControlPlaneBenchmark.MountCapability() },
    };
}
