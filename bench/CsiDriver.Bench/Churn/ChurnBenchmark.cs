using System.Collections.Concurrent;
using System.Diagnostics;
using Csi.V1;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;
using Grpc.Core;

namespace CsiDriver.Bench.Churn;

/// <summary>One churn run: which driver build, how many volumes over how many instances, the mix, the limits.</summary>
/// <param name="Label">Names the build in the tables ("19adb95", "this build").</param>
/// <param name="DriverDll">The csi-driver.dll to start as the controller process.</param>
public sealed record ChurnSettings(
    string Label,
    string DriverDll,
    int Volumes,
    int Instances,
    int ExpandPercent,
    int SnapshotPercent,
    TimeSpan RunTimeout,
    TimeSpan RpcDeadline)
{
    public bool Expands(int volume) => Selected(volume, ExpandPercent, 3);

    public bool Snapshots(int volume) => Selected(volume, SnapshotPercent, 7);

    public int ExpandCount => Enumerable.Range(0, Volumes).Count(Expands);

    public int SnapshotCount => Enumerable.Range(0, Volumes).Count(Snapshots);

    /// <summary>Spreads the chosen volumes evenly (every 100 / percent-th one, offset so expands and snapshots differ).</summary>
    private static bool Selected(int volume, int percent, int offset) =>
        percent > 0 && ((volume + offset) * percent % 100) < percent;
}

/// <summary>The CSI operations a lifecycle is made of, in the order a volume goes through them.</summary>
public static class ChurnOperation
{
    public const string Create = "create";
    public const string Attach = "attach";
    public const string Expand = "expand";
    public const string Snapshot = "snapshot";
    public const string DeleteSnapshot = "delete snapshot";
    public const string Detach = "detach";
    public const string Delete = "delete";

    public static readonly string[] All = [Create, Attach, Expand, Snapshot, DeleteSnapshot, Detach, Delete];
}

/// <summary>What one churn run measured.</summary>
public sealed record ChurnResult(
    ChurnSettings Settings,
    TimeSpan Wall,
    int Completed,
    int Failed,
    IReadOnlyList<Ec2ActionCounts> Calls,
    IReadOnlyList<BucketFloor> Floors,
    TimeSpan PathFloor,
    IReadOnlyDictionary<string, IReadOnlyList<TimeSpan>> Latencies,
    IReadOnlyDictionary<string, long> RpcRetries,
    MemoryFigures Memory,
    IReadOnlyList<string> FailureSamples,
    IReadOnlyList<string> Ec2Errors)
{
    public TimeSpan BucketFloor => Floors.Max(f => f.Floor);
}

/// <summary>The least time one EC2 bucket allows for the calls the churn must make of its action.</summary>
public sealed record BucketFloor(string Action, long Calls, TokenBucketLimit Limit)
{
    public TimeSpan Floor => Limit.Floor(Calls);
}

/// <summary>
/// Full-lifecycle churn through the real controller: N volumes at once, each created, attached to one of the
/// instances, in some cases expanded (ControllerExpandVolume) or snapshotted (CreateSnapshot until ready_to_use,
/// then DeleteSnapshot), detached and deleted, as a CO would drive it: a deadline per call, retriable codes retried
/// with backoff. The controller is a separate csi-driver process (so its memory is its own and another commit's
/// build can run the same workload) talking to the in-process EC2 simulator with EC2's token buckets.
/// </summary>
public static class ChurnBenchmark
{
    private static readonly string[] Zones = ["us-east-1a", "us-east-1b", "us-east-1c"];

    public static async Task<ChurnResult> RunAsync(ChurnSettings settings, CancellationToken cancellationToken)
    {
        var simulatorOptions = Ec2SimulatorOptions.Realistic();
        // EC2 moves a modification to optimizing within seconds; the new size is usable from then on.
        simulatorOptions.ModificationModifyingDelay = TimeSpan.FromSeconds(2);
        simulatorOptions.ModificationOptimizingDelay = TimeSpan.FromSeconds(5);
        await using var simulator = await Ec2Simulator.StartAsync(simulatorOptions, cancellationToken);
        var instances = Enumerable.Range(0, settings.Instances)
            .Select(i => (Id: $"i-{0xc0000000 + i:x8}", Zone: Zones[i % Zones.Length]))
            .ToList();
        foreach (var (id, zone) in instances)
        {
            simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(id, zone, "m5.4xlarge"));
        }
        simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(SimulatedAws.ControllerInstanceId, SimulatedAws.ControllerZone));

        using var directory = new TestDirectory("churn");
        var socket = directory.Path("csi.sock");
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AWS_ACCESS_KEY_ID"] = "bench",
            ["AWS_SECRET_ACCESS_KEY"] = "bench",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        };
        // The controller as a user runs it: production poll intervals and pacing, only the endpoint and identity given.
        await using var driver = await DriverProcess.StartAsync(settings.DriverDll, environment, socket,
            "--mode", "controller", "--backend", "aws", "--log-level", "Error",
            "--node-id", SimulatedAws.ControllerInstanceId, "--state-dir", directory.Path("state"),
            "--region", simulatorOptions.Region, "--aws-ec2-endpoint", simulator.Url,
            "--instance-id", SimulatedAws.ControllerInstanceId, "--availability-zone", SimulatedAws.ControllerZone);
        using var channel = ControlPlaneBenchmark.CreateChannel(socket);
        var controller = new Controller.ControllerClient(channel);
        // One call to warm the connection and the driver's EC2 clients before the clock starts.
        await controller.ControllerGetCapabilitiesAsync(new ControllerGetCapabilitiesRequest(), cancellationToken: cancellationToken);

        await using var memory = ControllerMemory.Start(driver.Id);
        simulator.Statistics.Reset();
        simulator.ResetThrottling();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.RunTimeout);

        var run = new LifecycleRun(settings, controller, instances, timeout.Token);
        var wall = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, settings.Volumes).Select(run.RunAsync));
        wall.Stop();
        var figures = await memory.StopAsync();

        var throttling = simulatorOptions.Throttling;
        var floors = new (string Action, long Calls)[]
            {
                ("CreateVolume", settings.Volumes),
                ("AttachVolume", settings.Volumes),
                ("DetachVolume", settings.Volumes),
                ("DeleteVolume", settings.Volumes),
                ("ModifyVolume", settings.ExpandCount),
                ("CreateSnapshot", settings.SnapshotCount),
                ("DeleteSnapshot", settings.SnapshotCount),
            }
            .Where(f => f.Calls > 0)
            .Select(f => new BucketFloor(f.Action, f.Calls, throttling.LimitFor(f.Action)))
            .ToList();
        var pathFloor = simulatorOptions.VolumeCreateDelay + simulatorOptions.AttachDelay + simulatorOptions.DetachDelay + (4 * simulatorOptions.Latency);
        return new ChurnResult(
            settings, wall.Elapsed, outcomes.Count(o => o), outcomes.Count(o => !o), simulator.Statistics.ByAction(), floors, pathFloor,
            run.Latencies.ToDictionary(l => l.Key, l => (IReadOnlyList<TimeSpan>)[.. l.Value], StringComparer.Ordinal),
            run.Retries.ToDictionary(StringComparer.Ordinal), figures, run.Failures.Distinct().Take(5).ToList(), Ec2Errors(simulator.Statistics));
    }

    /// <summary>The errors EC2 answered other than throttling, as "action code × count".</summary>
    private static List<string> Ec2Errors(Ec2Statistics statistics) =>
        statistics.CallLog()
            .Where(c => c.ErrorCode is { } code && code != "RequestLimitExceeded")
            .GroupBy(c => $"{c.Action} {c.ErrorCode}", StringComparer.Ordinal)
            .Select(g => $"{g.Key} x {g.Count()}")
            .ToList();

    /// <summary>The lifecycles of one run and what they observed.</summary>
    private sealed class LifecycleRun(
        ChurnSettings settings,
        Controller.ControllerClient controller,
        IReadOnlyList<(string Id, string Zone)> instances,
        CancellationToken cancellationToken)
    {
        public ConcurrentDictionary<string, ConcurrentBag<TimeSpan>> Latencies { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, long> Retries { get; } = new(StringComparer.Ordinal);

        public ConcurrentBag<string> Failures { get; } = [];

        public async Task<bool> RunAsync(int i)
        {
            var (instanceId, zone) = instances[i % instances.Count];
            var operation = ChurnOperation.Create;
            try
            {
                var create = new CreateVolumeRequest
                {
                    Name = $"churn-{settings.Volumes}-{i:D5}",
                    CapacityRange = new CapacityRange { RequiredBytes = 10L << 30 },
                    VolumeCapabilities = { ControlPlaneBenchmark.MountCapability() },
                    Parameters = { ["type"] = "gp3" },
                    AccessibilityRequirements = new TopologyRequirement { Requisite = { new Topology { Segments = { ["topology.kubernetes.io/zone"] = zone } } } },
                };
                var volume = await TimedAsync(operation, d => controller.CreateVolumeAsync(create, deadline: d, cancellationToken: cancellationToken));
                var volumeId = volume.Volume.VolumeId;

                operation = ChurnOperation.Attach;
                var publish = new ControllerPublishVolumeRequest { VolumeId = volumeId, NodeId = instanceId, VolumeCapability = ControlPlaneBenchmark.MountCapability() };
                await TimedAsync(operation, d => controller.ControllerPublishVolumeAsync(publish, deadline: d, cancellationToken: cancellationToken));

                if (settings.Expands(i))
                {
                    operation = ChurnOperation.Expand;
                    var expand = new ControllerExpandVolumeRequest
                    {
                        VolumeId = volumeId,
                        CapacityRange = new CapacityRange { RequiredBytes = 20L << 30 },
                        VolumeCapability = ControlPlaneBenchmark.MountCapability(),
                    };
                    await TimedAsync(operation, d => controller.ControllerExpandVolumeAsync(expand, deadline: d, cancellationToken: cancellationToken));
                }
                if (settings.Snapshots(i))
                {
                    operation = ChurnOperation.Snapshot;
                    var snapshotId = await SnapshotUntilReadyAsync(new CreateSnapshotRequest { Name = $"churn-snap-{settings.Volumes}-{i:D5}", SourceVolumeId = volumeId });
                    operation = ChurnOperation.DeleteSnapshot;
                    var deleteSnapshot = new DeleteSnapshotRequest { SnapshotId = snapshotId };
                    await TimedAsync(operation, d => controller.DeleteSnapshotAsync(deleteSnapshot, deadline: d, cancellationToken: cancellationToken));
                }

                operation = ChurnOperation.Detach;
                var unpublish = new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = instanceId };
                await TimedAsync(operation, d => controller.ControllerUnpublishVolumeAsync(unpublish, deadline: d, cancellationToken: cancellationToken));

                operation = ChurnOperation.Delete;
                var delete = new DeleteVolumeRequest { VolumeId = volumeId };
                await TimedAsync(operation, d => controller.DeleteVolumeAsync(delete, deadline: d, cancellationToken: cancellationToken));
                return true;
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException)
            {
                Failures.Add($"{operation}: " + (ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : "run timeout"));
                return false;
            }
        }

        /// <summary>As external-snapshotter: CreateSnapshot again (1 s, doubling to 5 s) until the snapshot is ready to use.</summary>
        private async Task<string> SnapshotUntilReadyAsync(CreateSnapshotRequest request)
        {
            var started = Stopwatch.GetTimestamp();
            var backoff = TimeSpan.FromSeconds(1);
            while (true)
            {
                var response = await ControlPlaneBenchmark.CallLikeACoAsync(
                    d => controller.CreateSnapshotAsync(request, deadline: d, cancellationToken: cancellationToken),
                    settings.RpcDeadline, Retried, cancellationToken);
                if (response.Snapshot.ReadyToUse)
                {
                    Record(ChurnOperation.Snapshot, Stopwatch.GetElapsedTime(started));
                    return response.Snapshot.SnapshotId;
                }
                await Task.Delay(backoff, cancellationToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }

        private async Task<T> TimedAsync<T>(string operation, Func<DateTime, AsyncUnaryCall<T>> call)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await ControlPlaneBenchmark.CallLikeACoAsync(call, settings.RpcDeadline, Retried, cancellationToken);
            Record(operation, Stopwatch.GetElapsedTime(started));
            return result;
        }

        private void Record(string operation, TimeSpan latency) => Latencies.GetOrAdd(operation, _ => []).Add(latency);

        private void Retried(StatusCode code) => Retries.AddOrUpdate(code.ToString(), 1, (_, v) => v + 1);
    }
}
