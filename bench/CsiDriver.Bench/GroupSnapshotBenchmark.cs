using System.Diagnostics;
using Csi.V1;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;

namespace CsiDriver.Bench;

/// <summary>
/// Time to a ready group snapshot of N volumes through the real driver over its socket:
/// local — N staged ext4 loop volumes holding data, frozen, copied and thawed;
/// aws — N volumes attached to one instance, one EC2 CreateSnapshots, CreateVolumeGroupSnapshot called as
/// csi-snapshotter calls it (again after DEADLINE_EXCEEDED) against the simulator with realistic delays and EC2's buckets.
/// </summary>
public static class GroupSnapshotBenchmark
{
    private const long MiB = 1L << 20;

    /// <param name="stateFs">"" for the state dir on the machine's filesystem; "xfs" for one on a fresh xfs
    /// (reflink: the copies share blocks, so the freeze lasts only as long as the metadata takes).</param>
    public static async Task RunLocalAsync(int volumes, long sizeBytes, long dataBytes, string stateFs, TextWriter output)
    {
        using var dir = new TestDirectory("bench-group");
        var configuration = RunningDriver.LocalConfiguration(dir);
        if (stateFs == "xfs")
        {
            configuration.Local.StateDir = await MountXfsAsync(dir, volumes * sizeBytes * 3);
        }
        await using var driver = await RunningDriver.StartAsync(configuration);
        var capability = new VolumeCapability
        {
            Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
            AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
        };
        var ids = new List<string>();
        var stagings = new List<(string VolumeId, string Staging)>();
        for (var i = 0; i < volumes; i++)
        {
            var create = new CreateVolumeRequest { Name = $"bench-{i}", CapacityRange = new CapacityRange { RequiredBytes = sizeBytes } };
            create.VolumeCapabilities.Add(capability);
            var volume = (await driver.Controller.CreateVolumeAsync(create)).Volume;
            var publish = await driver.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest
            {
                VolumeId = volume.VolumeId, NodeId = "test-node", VolumeCapability = capability,
            });
            var staging = dir.Path($"staging-{i}");
            var stage = new NodeStageVolumeRequest { VolumeId = volume.VolumeId, StagingTargetPath = staging, VolumeCapability = capability };
            stage.PublishContext.Add(publish.PublishContext);
            await driver.Node.NodeStageVolumeAsync(stage);
            await BenchData.WriteRandomAsync(Path.Combine(staging, "data.bin"), dataBytes, FileMode.CreateNew);
            ids.Add(volume.VolumeId);
            stagings.Add((volume.VolumeId, staging));
        }
        using (var sync = Process.Start("sync")!)
        {
            await sync.WaitForExitAsync();
        }
        output.WriteLine($"local: {volumes} x {sizeBytes / MiB} MiB ext4 volumes, staged, {dataBytes / MiB} MiB written to each; state dir on {(stateFs.Length == 0 ? "the machine's filesystem" : stateFs)}");

        var started = Stopwatch.GetTimestamp();
        var request = new CreateVolumeGroupSnapshotRequest { Name = "bench-group" };
        request.SourceVolumeIds.Add(ids);
        var group = (await driver.GroupController.CreateVolumeGroupSnapshotAsync(request)).GroupSnapshot;
        var elapsed = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"  group snapshot ready: {group.ReadyToUse}, {group.Snapshots.Count} members, {elapsed.TotalSeconds:F2} s " +
                         "(writes held from the first freeze to the last thaw)");

        started = Stopwatch.GetTimestamp();
        for (var i = 0; i < ids.Count; i++)
        {
            await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = $"bench-single-{i}", SourceVolumeId = ids[i] });
        }
        output.WriteLine($"  for comparison, {ids.Count} single snapshots one after the other (no freeze): {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s");

        foreach (var (volumeId, staging) in stagings)
        {
            await driver.Node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = volumeId, StagingTargetPath = staging });
            await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "test-node" });
        }
    }

    public static async Task RunAwsAsync(int volumes, TextWriter output)
    {
        await using var simulator = await Ec2Simulator.StartAsync(Ec2SimulatorOptions.Realistic());
        using var dir = new TestDirectory("bench-group-aws");
        const string instance = "i-0123456789abcdef0";
        simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(instance, "us-east-1a", "m5.4xlarge"));
        await using var driver = await SimulatedAws.StartControllerAsync(dir, simulator);
        var capability = new VolumeCapability
        {
            Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
            AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
        };
        var ids = new List<string>();
        for (var i = 0; i < volumes; i++)
        {
            var create = new CreateVolumeRequest { Name = $"bench-{i}", CapacityRange = new CapacityRange { RequiredBytes = 10L << 30 } };
            create.VolumeCapabilities.Add(capability);
            create.AccessibilityRequirements = new TopologyRequirement();
            create.AccessibilityRequirements.Requisite.Add(new Topology { Segments = { ["topology.kubernetes.io/zone"] = "us-east-1a" } });
            var volume = (await driver.Controller.CreateVolumeAsync(create)).Volume;
            await driver.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = instance, VolumeCapability = capability });
            ids.Add(volume.VolumeId);
        }
        var callsBefore = simulator.Statistics.TotalCalls;
        output.WriteLine($"aws (simulator, realistic delays: snapshot completes in {simulator.Options.SnapshotDelay.TotalSeconds:F0} s, " +
                         $"{simulator.Options.VisibilityDelay.TotalMilliseconds:F0} ms until visible, {simulator.Options.Latency.TotalMilliseconds:F0} ms per call): {volumes} volumes attached to one instance");

        // As csi-snapshotter does: CreateVolumeGroupSnapshot with the sidecar's 60 s timeout, called again with the
        // same name after a DEADLINE_EXCEEDED ("still pending"), backing off from 1 s (its --retry-interval-start).
        var started = Stopwatch.GetTimestamp();
        var request = new CreateVolumeGroupSnapshotRequest { Name = "bench-group" };
        request.SourceVolumeIds.Add(ids);
        VolumeGroupSnapshot group;
        var attempts = 0;
        var backoff = TimeSpan.FromSeconds(1);
        while (true)
        {
            attempts++;
            try
            {
                group = (await driver.GroupController.CreateVolumeGroupSnapshotAsync(request, deadline: DateTime.UtcNow.AddSeconds(60))).GroupSnapshot;
                break;
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.DeadlineExceeded)
            {
                await Task.Delay(backoff);
                backoff *= 2;
            }
        }
        var ready = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"  ready after {ready.TotalSeconds:F2} s (CreateVolumeGroupSnapshot calls: {attempts}, ready_to_use={group.ReadyToUse}); " +
                         $"EC2 calls: CreateSnapshots {simulator.Statistics.Calls("CreateSnapshots")}, all {simulator.Statistics.TotalCalls - callsBefore}");
    }

    private static async Task<string> MountXfsAsync(TestDirectory dir, long bytes)
    {
        var image = dir.Path("state-xfs.img");
        await using (var file = new FileStream(image, FileMode.CreateNew, FileAccess.Write))
        {
            file.SetLength(bytes);
        }
        var mountPoint = dir.Path("state-xfs");
        Directory.CreateDirectory(mountPoint);
        await RunAsync("mkfs.xfs", "-q", "-m", "reflink=1", image);
        await RunAsync("mount", "-o", "loop", image, mountPoint);
        return Path.Combine(mountPoint, "state");
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: {error}");
        }
    }
}
