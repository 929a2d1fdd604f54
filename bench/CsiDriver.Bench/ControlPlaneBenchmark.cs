using System.Diagnostics;
using System.Net.Sockets;
using Csi.V1;
using CsiDriver.Host;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Bench;

/// <summary>Which EC2 client the driver uses during a run.</summary>
public enum Ec2ClientChoice
{
    /// <summary>The provider's own client, as shipped.</summary>
    Provider,

    /// <summary>The SDK's Standard retry mode (no client-side rate limiter), for comparison.</summary>
    Standard,
}

public sealed record BenchSettings(
    int Volumes,
    int VolumesPerInstance,
    Ec2ClientChoice Client,
    TimeSpan RunTimeout,
    TimeSpan RpcDeadline);

/// <summary>What one run measured.</summary>
public sealed record BenchResult(
    BenchSettings Settings,
    TimeSpan Wall,
    int Completed,
    int Failed,
    IReadOnlyDictionary<string, long> RpcRetries,
    IReadOnlyList<Ec2ActionCounts> Calls,
    TimeSpan BucketFloor,
    IReadOnlyList<(string Action, long Calls, TokenBucketLimit Limit, TimeSpan Floor)> FloorByAction,
    TimeSpan PathFloor,
    IReadOnlyList<TimeSpan> VolumeLatencies,
    IReadOnlyList<string> FailureSamples);

/// <summary>
/// N volumes created and attached concurrently through the driver's gRPC socket (controller, --backend aws)
/// against the EC2 simulator with EC2's real token buckets, as a CO would: every volume its own
/// CreateVolume then ControllerPublishVolume, UNAVAILABLE / ABORTED / DEADLINE_EXCEEDED retried with backoff.
/// </summary>
public static class ControlPlaneBenchmark
{
    private static readonly string[] Zones = ["us-east-1a", "us-east-1b", "us-east-1c"];

    public static async Task<BenchResult> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var simulatorOptions = Ec2SimulatorOptions.Realistic();
        await using var simulator = await Ec2Simulator.StartAsync(simulatorOptions, cancellationToken);
        var instances = Enumerable.Range(0, (settings.Volumes + settings.VolumesPerInstance - 1) / settings.VolumesPerInstance)
            .Select(i => (Id: $"i-{0xb0000000 + i:x8}", Zone: Zones[i % Zones.Length]))
            .ToList();
        foreach (var (id, zone) in instances)
        {
            simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(id, zone, "m5.4xlarge"));
        }

        using var directory = new TestDirectory("bench");
        var configuration = SimulatedAws.ControllerConfiguration(directory, simulator, logLevel: "Error");
        await using var driver = await RunningDriver.StartAsync(
            configuration,
            configureServices: settings.Client == Ec2ClientChoice.Standard ? s => SimulatedAws.UseStandardRetries(s, configuration) : null);
        using var channel = CreateChannel(configuration.Driver.SocketPath);
        var controller = new Controller.ControllerClient(channel);

        simulator.Statistics.Reset();
        simulator.ResetThrottling();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.RunTimeout);

        var retries = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        void Retried(StatusCode code) => retries.AddOrUpdate(code.ToString(), 1, (_, v) => v + 1);
        var latencies = new List<TimeSpan>();
        var failures = new List<string>();
        var wall = Stopwatch.StartNew();
        var runs = Enumerable.Range(0, settings.Volumes).Select(async i =>
        {
            var (instanceId, zone) = instances[i / settings.VolumesPerInstance];
            var started = Stopwatch.GetTimestamp();
            try
            {
                var create = new CreateVolumeRequest
                {
                    Name = $"bench-{settings.Volumes}-{i:D4}",
                    CapacityRange = new CapacityRange { RequiredBytes = 10L << 30 },
                    VolumeCapabilities = { MountCapability() },
                    Parameters = { ["type"] = "gp3" },
                    AccessibilityRequirements = new TopologyRequirement { Requisite = { new Topology { Segments = { ["topology.kubernetes.io/zone"] = zone } } } },
                };
                var volume = await CallLikeACoAsync(
                    deadline => controller.CreateVolumeAsync(create, deadline: deadline, cancellationToken: timeout.Token),
                    settings.RpcDeadline, Retried, timeout.Token).ConfigureAwait(false);
                var publish = new ControllerPublishVolumeRequest
                {
                    VolumeId = volume.Volume.VolumeId,
                    NodeId = instanceId,
                    VolumeCapability = MountCapability(),
                };
                await CallLikeACoAsync(
                    deadline => controller.ControllerPublishVolumeAsync(publish, deadline: deadline, cancellationToken: timeout.Token),
                    settings.RpcDeadline, Retried, timeout.Token).ConfigureAwait(false);
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started));
                }
                return true;
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException)
            {
                lock (failures)
                {
                    failures.Add(ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : "run timeout");
                }
                return false;
            }
        }).ToList();
        var outcomes = await Task.WhenAll(runs).ConfigureAwait(false);
        wall.Stop();

        var calls = simulator.Statistics.ByAction();
        var throttling = simulatorOptions.Throttling;
        // The calls that must happen: one CreateVolume and one AttachVolume per volume. Each action has its
        // own bucket, refilling independently, so the floor is the slowest bucket's.
        var floorByAction = new[] { "CreateVolume", "AttachVolume" }
            .Select(action => (action, (long)settings.Volumes, throttling.LimitFor(action), throttling.LimitFor(action).Floor(settings.Volumes)))
            .ToList();
        var bucketFloor = floorByAction.Max(f => f.Item4);
        var pathFloor = simulatorOptions.VolumeCreateDelay + simulatorOptions.AttachDelay + (2 * simulatorOptions.Latency);
        return new BenchResult(
            settings, wall.Elapsed, outcomes.Count(o => o), outcomes.Count(o => !o), retries.ToDictionary(StringComparer.Ordinal), calls,
            bucketFloor, floorByAction, pathFloor, latencies, failures.Distinct().Take(5).ToList());
    }

    internal static VolumeCapability MountCapability() => new()
    {
        AccessMode = new VolumeCapability.Types.AccessMode { Mode = Mode.SingleNodeWriter },
        Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
    };

    /// <summary>As external-provisioner and external-attacher: a deadline per call; retriable codes retried with backoff.</summary>
    internal static async Task<T> CallLikeACoAsync<T>(Func<DateTime, AsyncUnaryCall<T>> call, TimeSpan deadline, Action<StatusCode> retried, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await call(DateTime.UtcNow + deadline).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Aborted or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted
                                          && !cancellationToken.IsCancellationRequested)
            {
                retried(ex.StatusCode);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>A channel that opens more HTTP/2 connections when one connection's 100 streams are busy, so N calls really run at once.</summary>
    internal static GrpcChannel CreateChannel(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
    }
}
