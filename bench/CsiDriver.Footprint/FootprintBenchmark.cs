using System.Diagnostics;
using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Footprint;

public sealed record FootprintSettings(int StartRuns, int Lifecycles, int WarmupLifecycles, TimeSpan Settle, TimeSpan StartTimeout);

/// <summary>start → Probe for each run (the median is what counts) and the idle RSS after each start (read after a liveness Probe).</summary>
public sealed record StartFigures(IReadOnlyList<TimeSpan> ProbeReady, IReadOnlyList<TimeSpan> SocketReady, IReadOnlyList<double> IdleRssMiB);

public sealed record ControllerFigures(TimeSpan ProbeReady, double IdleRssMiB, double PeakRssMiB);

/// <summary>
/// RSS of the node over its lifecycles. Idle, after the warm-up and after the run are each read as the idle figure is:
/// after the settle time and a liveness Probe (what a probed DaemonSet pod sits at between pods);
/// <see cref="AtEndRssMiB"/> is read at once after the last lifecycle.
/// </summary>
public sealed record LifecycleFigures(int Count, double IdleRssMiB, double AfterWarmupRssMiB, double AtEndRssMiB, double AfterRssMiB, double PeakRssMiB, TimeSpan Mean)
{
    /// <summary>Growth over the run, against the RSS after warm-up (first-use allocations are not growth).</summary>
    public double Growth => AfterRssMiB / AfterWarmupRssMiB - 1;

    /// <summary>Growth against the idle process before the first lifecycle (first-use allocations and pages included).</summary>
    public double GrowthOverIdle => AfterRssMiB / IdleRssMiB - 1;
}

public sealed record BuildFigures(DriverBuild Build, StartFigures Start, ControllerFigures? Controller, LifecycleFigures? Lifecycles);

/// <summary>The three measurements of issue 11's footprint targets, for one build of csi-driver.</summary>
public static class FootprintBenchmark
{
    public const string NodeId = "footprint-node";

    private static readonly Dictionary<string, string> AwsEnvironment = new()
    {
        ["AWS_ACCESS_KEY_ID"] = "AKIDFOOTPRINT",
        ["AWS_SECRET_ACCESS_KEY"] = "footprint-secret",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    /// <summary>The node plugin as a DaemonSet runs it: --mode node --backend local, no work yet.</summary>
    public static async Task<StartFigures> MeasureNodeStartAsync(DriverBuild build, FootprintSettings settings)
    {
        var probe = new List<TimeSpan>();
        var socket = new List<TimeSpan>();
        var rss = new List<double>();
        // Run 0 warms the page cache (binary, shared libraries) and this process's gRPC client; it is not counted.
        for (var run = 0; run <= settings.StartRuns; run++)
        {
            using var dir = new TestDirectory("fp-start");
            await using var driver = await DriverUnderTest.StartAsync(build, dir.Path("csi.sock"), NodeArguments(dir), null, settings.StartTimeout);
            if (run == 0)
            {
                continue;
            }
            probe.Add(driver.ProbeReady);
            socket.Add(driver.SocketReady);
            rss.Add(await SettledRssMiBAsync(driver, settings));
        }
        return new StartFigures(probe, socket, rss);
    }

    /// <summary>
    /// The controller with the aws backend against the EC2 simulator: Probe, then one volume created, attached,
    /// detached and deleted (so the AWS SDK's code paths have run, which also proves them under NativeAOT), then idle.
    /// </summary>
    public static async Task<ControllerFigures> MeasureAwsControllerAsync(DriverBuild build, FootprintSettings settings)
    {
        await using var simulator = await Ec2Simulator.StartAsync(new Ec2SimulatorOptions());
        simulator.AddInstance(Ec2InstanceSeed.WithRootVolume("i-0f00dfeed0000001a", "us-east-1a"));
        using var dir = new TestDirectory("fp-aws");
        await using var driver = await DriverUnderTest.StartAsync(build, dir.Path("csi.sock"),
            ["--mode", "controller", "--backend", "aws", "--region", "us-east-1", "--aws-ec2-endpoint", simulator.Url, "--log-level", "Warning", "--metrics-address", "127.0.0.1:0"],
            AwsEnvironment, settings.StartTimeout);
        var controller = driver.Controller;
        var capability = MountCapability();
        var create = new CreateVolumeRequest { Name = "pvc-footprint", CapacityRange = new CapacityRange { RequiredBytes = 1L << 30 } };
        create.VolumeCapabilities.Add(capability);
        create.AccessibilityRequirements = new TopologyRequirement();
        create.AccessibilityRequirements.Requisite.Add(new Topology { Segments = { ["topology.kubernetes.io/zone"] = "us-east-1a" } });
        var volume = (await controller.CreateVolumeAsync(create, deadline: Deadline())).Volume;
        await controller.ControllerPublishVolumeAsync(
            new ControllerPublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = "i-0f00dfeed0000001a", VolumeCapability = capability }, deadline: Deadline());
        await controller.ControllerUnpublishVolumeAsync(
            new ControllerUnpublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = "i-0f00dfeed0000001a" }, deadline: Deadline());
        await controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId }, deadline: Deadline());
        var idle = await SettledRssMiBAsync(driver, settings);
        return new ControllerFigures(driver.ProbeReady, idle, driver.PeakRssMiB);
    }

    /// <summary>
    /// One volume (local backend, real loop device, ext4) staged, published, unpublished and unstaged over and over
    /// by the node plugin process; the controller that creates and attaches it runs in this process on the same state dir.
    /// </summary>
    public static async Task<LifecycleFigures> MeasureNodeLifecyclesAsync(DriverBuild build, FootprintSettings settings)
    {
        using var dir = new TestDirectory("fp-life");
        var configuration = RunningDriver.LocalConfiguration(dir, DriverMode.Controller, NodeId);
        configuration.Driver.Endpoint = "unix://" + dir.Path("controller.sock");
        await using var controllerHost = await RunningDriver.StartAsync(configuration);
        await using var node = await DriverUnderTest.StartAsync(build, dir.Path("csi.sock"), NodeArguments(dir), null, settings.StartTimeout);
        var idle = await SettledRssMiBAsync(node, settings);

        var capability = MountCapability();
        var create = new CreateVolumeRequest { Name = "pvc-footprint-life", CapacityRange = new CapacityRange { RequiredBytes = 128L << 20 } };
        create.VolumeCapabilities.Add(capability);
        var volume = (await controllerHost.Controller.CreateVolumeAsync(create)).Volume;
        var publishContext = (await controllerHost.Controller.ControllerPublishVolumeAsync(
            new ControllerPublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = NodeId, VolumeCapability = capability })).PublishContext;
        var lifecycle = new NodeLifecycle(node.Node, volume, publishContext, capability, dir.Path("staging"), dir.Path("pods", "p", "volume"));
        try
        {
            Snapshot(node, build, "idle");
            await lifecycle.RunAsync();
            await SettledRssMiBAsync(node, settings);
            Snapshot(node, build, "after-first");
            for (var i = 1; i < settings.WarmupLifecycles; i++)
            {
                await lifecycle.RunAsync();
            }
            var afterWarmup = await SettledRssMiBAsync(node, settings);
            Snapshot(node, build, "after-warmup");
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < settings.Lifecycles; i++)
            {
                await lifecycle.RunAsync();
            }
            var mean = clock.Elapsed / Math.Max(1, settings.Lifecycles);
            var atEnd = node.RssMiB;
            Snapshot(node, build, "end");
            var after = await SettledRssMiBAsync(node, settings);
            Snapshot(node, build, "end-settled");
            return new LifecycleFigures(settings.Lifecycles, idle, afterWarmup, atEnd, after, node.PeakRssMiB, mean);
        }
        finally
        {
            await controllerHost.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = NodeId });
            await controllerHost.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        }
    }

    /// <summary>
    /// RSS once the process has sat idle for the settle time and then answered a liveness Probe: an idle DaemonSet or
    /// controller pod is still probed every few seconds, so a silence no pod has would flatter the figure (the pages
    /// the driver gives back when it goes quiet partly fault in again on the next call).
    /// </summary>
    private static async Task<double> SettledRssMiBAsync(DriverUnderTest driver, FootprintSettings settings)
    {
        await Task.Delay(settings.Settle);
        await driver.Identity.ProbeAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
        return driver.RssMiB;
    }

    /// <summary>Prints the RSS split at a point of the lifecycle run; with FOOTPRINT_SMAPS_DIR set, keeps the process's smaps there too.</summary>
    private static void Snapshot(DriverUnderTest node, DriverBuild build, string point)
    {
        Console.WriteLine($"   lifecycles, {point}: {node.RssSplit}");
        if (Environment.GetEnvironmentVariable("FOOTPRINT_SMAPS_DIR") is { Length: > 0 } smapsDir)
        {
            Directory.CreateDirectory(smapsDir);
            node.SaveSmaps(Path.Combine(smapsDir, $"{build.Name}-{point}.smaps"));
        }
    }

    /// <summary>As the DaemonSet runs it (the metrics listener on, as deploy/ sets it); staging and target paths live in the scratch dir.</summary>
    private static string[] NodeArguments(TestDirectory dir) =>
        ["--mode", "node", "--backend", "local", "--node-id", NodeId, "--state-dir", dir.Path("state"), "--log-level", "Warning", "--metrics-address", "127.0.0.1:0",
         "--allowed-path-root", dir.Root];

    private static VolumeCapability MountCapability() => new()
    {
        Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
        AccessMode = new VolumeCapability.Types.AccessMode { Mode = Mode.SingleNodeWriter },
    };

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(60);
}

/// <summary>What kubelet does for one pod using the volume: stage, publish, unpublish, unstage.</summary>
internal sealed class NodeLifecycle(Node.NodeClient node, Volume volume, IDictionary<string, string> publishContext,
    VolumeCapability capability, string stagingPath, string targetPath)
{
    public async Task RunAsync()
    {
        var stage = new NodeStageVolumeRequest { VolumeId = volume.VolumeId, StagingTargetPath = stagingPath, VolumeCapability = capability };
        stage.PublishContext.Add(publishContext);
        stage.VolumeContext.Add(volume.VolumeContext);
        await node.NodeStageVolumeAsync(stage);
        var publish = new NodePublishVolumeRequest
        {
            VolumeId = volume.VolumeId,
            StagingTargetPath = stagingPath,
            TargetPath = targetPath,
            VolumeCapability = capability,
        };
        publish.PublishContext.Add(publishContext);
        publish.VolumeContext.Add(volume.VolumeContext);
        await node.NodePublishVolumeAsync(publish);
        await node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = volume.VolumeId, TargetPath = targetPath });
        await node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = volume.VolumeId, StagingTargetPath = stagingPath });
    }
}
