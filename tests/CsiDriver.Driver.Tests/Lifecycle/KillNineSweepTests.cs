using System.Diagnostics;
using System.Globalization;
using Csi.V1;
using CsiDriver.Cloud.Local;
using CsiDriver.Testing;
using Grpc.Core;
using Xunit.Abstractions;

namespace CsiDriver.Driver.Tests.Lifecycle;

/// <summary>
/// kill -9 of the real csi-driver process (local backend, controller and node in one) at every step of a volume's
/// life: at the start of the RPC (just sent), in the middle (a random moment within how long that step takes) or at
/// the end (answered, before the CO moves on). A new process on the same state then gets the same RPC again, as the
/// CO would retry it, and the life goes on to its end. Checked after the retry: nothing double-created (one volume,
/// one snapshot, one loop device, one mount per path); before unpublishing: the data written is still there; at the
/// end: nothing left (no volume or snapshot, no file in the state dir, no loop device, no mount).
/// KILL_SWEEP_RUNS sets the number of runs (the stress mode is 200 or more); CI runs a short sample spread over the
/// steps and positions. Every run names its step, position and delay, so a failure can be replayed.
/// </summary>
public sealed class KillNineSweepTests(ITestOutputHelper output)
{
    private const string NodeId = "sweep-node";
    private const long MiB = 1L << 20;
    private const int SampleRuns = 6;

    private enum Position { Start, Middle, End }

    private static readonly string[] Steps =
    [
        "CreateVolume", "ControllerPublishVolume", "NodeStageVolume", "NodePublishVolume", "ControllerExpandVolume", "CreateSnapshot",
        "NodeUnpublishVolume", "NodeUnstageVolume", "ControllerUnpublishVolume", "DeleteSnapshot", "DeleteVolume",
    ];

    [Fact]
    public async Task Killed_at_any_step_of_the_lifecycle_the_driver_restarts_and_the_retried_call_loses_leaks_and_doubles_nothing()
    {
        var runs = int.TryParse(Environment.GetEnvironmentVariable("KILL_SWEEP_RUNS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : SampleRuns;
        var combinations = Steps.Length * 3;
        // Stress: every (step, position) in turn. Sample: a stride that spreads the few runs over steps and positions.
        var stride = runs >= combinations ? 1 : 7;
        var durations = await CalibrateAsync();
        var random = new Random(9);
        var perStep = new Dictionary<string, int>(StringComparer.Ordinal);
        var cut = 0;
        var started = Stopwatch.StartNew();
        for (var run = 0; run < runs; run++)
        {
            var combination = run * stride % combinations;
            var step = combination % Steps.Length;
            var position = (Position)(combination / Steps.Length);
            // Within the first half of the step's round trip: the second half is mostly the answer travelling back
            // and the kill itself (enumerating the process tree) taking its time.
            var delay = position == Position.Middle ? TimeSpan.FromTicks((long)(random.NextDouble() * durations[step].Ticks / 2)) : TimeSpan.Zero;
            var label = $"run {run}: kill -9 at the {position.ToString().ToLowerInvariant()} of {Steps[step]}" +
                (position == Position.Middle ? $" after {delay.TotalMilliseconds:F0} ms" : string.Empty);
            if (await RunOnceAsync(run, step, position, delay, label))
            {
                cut++;
            }
            perStep[Steps[step]] = perStep.GetValueOrDefault(Steps[step]) + 1;
        }
        output.WriteLine($"kill -9 sweep: {runs} runs over {Steps.Length} steps x 3 positions in {started.Elapsed.TotalSeconds:F0} s, " +
            $"{cut} of them cut the call off before its answer; " +
            string.Join(", ", perStep.Select(p => $"{p.Key} {p.Value}")));
    }

    /// <summary>One undisturbed life, to learn how long each step takes here (the window a middle kill aims into).</summary>
    private static async Task<TimeSpan[]> CalibrateAsync()
    {
        using var dir = new TestDirectory("sweep-cal");
        var life = new Life(dir);
        var durations = new TimeSpan[Steps.Length];
        await using var driver = await life.StartAsync();
        for (var step = 0; step < Steps.Length; step++)
        {
            var watch = Stopwatch.StartNew();
            await life.RunStepAsync(driver, step);
            durations[step] = watch.Elapsed;
        }
        life.AssertNothingLeft();
        return durations;
    }

    /// <summary>One run; true when the kill cut the call off before it was answered.</summary>
    private async Task<bool> RunOnceAsync(int run, int killedStep, Position position, TimeSpan delay, string label)
    {
        var cutOff = false;
        using var dir = new TestDirectory($"sweep{run}");
        var life = new Life(dir);
        try
        {
            await using (var first = await life.StartAsync())
            {
                for (var step = 0; step < killedStep; step++)
                {
                    await life.RunStepAsync(first, step);
                }
                var call = life.RunStepAsync(first, killedStep);
                if (position == Position.End)
                {
                    await call;
                }
                else if (position == Position.Middle)
                {
                    await Task.WhenAny(call, Task.Delay(delay));
                }
                await first.KillAsync();
                try
                {
                    await call;
                }
                catch (RpcException)
                {
                    // Cut off by the kill: the CO did not get its answer and will ask again.
                    cutOff = true;
                }
            }

            await using var second = await life.StartAsync();
            await life.RetryStepAsync(second, killedStep);
            life.AssertNoDoubles(killedStep);
            for (var step = killedStep + 1; step < Steps.Length; step++)
            {
                await life.RunStepAsync(second, step);
            }
            await life.AssertNothingLeftAsync(second);
            life.AssertNothingLeft();
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{label}: {ex}");
        }
        catch (Xunit.Sdk.XunitException ex)
        {
            throw new Xunit.Sdk.XunitException($"{label}: {ex.Message}");
        }
        output.WriteLine($"{label}: {(cutOff ? "cut off" : "answered")}, ok");
        return cutOff;
    }

    /// <summary>One volume's life, step by step, as kubelet and the sidecars call it; knows what it must find after each step.</summary>
    private sealed class Life(TestDirectory dir)
    {
        private static readonly VolumeCapability Capability = VolumeSteps.Mount();
        private readonly string _socket = dir.Path("csi.sock");
        private readonly LocalStatePaths _paths = new(dir.Path("state"));
        private readonly string _staging = dir.Path("kubelet", "staging");
        private readonly string _target = dir.Path("kubelet", "pods", "p", "vol");
        private readonly byte[] _payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(64 * 1024);
        private Volume? _volume;
        private IDictionary<string, string> _publishContext = new Dictionary<string, string>();
        private string? _snapshotId;

        /// <summary>The flags the driver runs with: the node may act below the test directory and keeps its records there.</summary>
        public Task<DriverProcess> StartAsync() => DriverProcess.StartAsync(_socket,
            "--mode", "all", "--backend", "local", "--state-dir", dir.Path("state"), "--node-id", NodeId, "--log-level", "Warning",
            "--allowed-path-root", dir.Root, "--node-state-dir", dir.Path("node-state"));

        private string VolumeId => _volume?.VolumeId ?? LocalStatePaths.VolumeIdFor("pvc-sweep");

        public async Task RunStepAsync(DriverProcess driver, int step, bool retried = false)
        {
            switch (Steps[step])
            {
                case "CreateVolume":
                    var create = new CreateVolumeRequest { Name = "pvc-sweep", CapacityRange = new CapacityRange { RequiredBytes = 32 * MiB } };
                    create.VolumeCapabilities.Add(Capability);
                    _volume = (await driver.Controller.CreateVolumeAsync(create)).Volume;
                    break;
                case "ControllerPublishVolume":
                    _publishContext = (await driver.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest
                    {
                        VolumeId = VolumeId, NodeId = NodeId, VolumeCapability = Capability,
                    })).PublishContext;
                    break;
                case "NodeStageVolume":
                    var stage = new NodeStageVolumeRequest { VolumeId = VolumeId, StagingTargetPath = _staging, VolumeCapability = Capability };
                    stage.PublishContext.Add(_publishContext);
                    stage.VolumeContext.Add(_volume!.VolumeContext);
                    await driver.Node.NodeStageVolumeAsync(stage);
                    break;
                case "NodePublishVolume":
                    var publish = new NodePublishVolumeRequest { VolumeId = VolumeId, StagingTargetPath = _staging, TargetPath = _target, VolumeCapability = Capability };
                    publish.PublishContext.Add(_publishContext);
                    publish.VolumeContext.Add(_volume!.VolumeContext);
                    await driver.Node.NodePublishVolumeAsync(publish);
                    if (!retried || !File.Exists(Path.Combine(_target, "marker.bin")))
                    {
                        WriteMarker();
                    }
                    break;
                case "ControllerExpandVolume":
                    await driver.Controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest
                    {
                        VolumeId = VolumeId, CapacityRange = new CapacityRange { RequiredBytes = 48 * MiB }, VolumeCapability = Capability,
                    });
                    break;
                case "CreateSnapshot":
                    _snapshotId = (await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-sweep", SourceVolumeId = VolumeId })).Snapshot.SnapshotId;
                    break;
                case "NodeUnpublishVolume":
                    if (!retried)
                    {
                        // Whatever was killed before, the data written through the mount is still there.
                        Assert.Equal(_payload, await File.ReadAllBytesAsync(Path.Combine(_target, "marker.bin")));
                    }
                    await driver.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = VolumeId, TargetPath = _target });
                    break;
                case "NodeUnstageVolume":
                    await driver.Node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = VolumeId, StagingTargetPath = _staging });
                    break;
                case "ControllerUnpublishVolume":
                    await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = VolumeId, NodeId = NodeId });
                    break;
                case "DeleteSnapshot":
                    await driver.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = _snapshotId ?? LocalStatePaths.SnapshotIdFor("snap-sweep") });
                    break;
                case "DeleteVolume":
                    await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = VolumeId });
                    break;
            }
        }

        /// <summary>The CO asks again until the driver answers; only ABORTED and UNAVAILABLE (busy, still recovering) are worth a retry.</summary>
        public async Task RetryStepAsync(DriverProcess driver, int step)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await RunStepAsync(driver, step, retried: true);
                    return;
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Aborted or StatusCode.Unavailable && attempt < 20)
                {
                    await Task.Delay(200);
                }
            }
        }

        private void WriteMarker()
        {
            using var stream = new FileStream(Path.Combine(_target, "marker.bin"), FileMode.Create, FileAccess.Write);
            stream.Write(_payload);
            stream.Flush(flushToDisk: true);
        }

        /// <summary>After the retried step: exactly one of whatever that step makes.</summary>
        public void AssertNoDoubles(int step)
        {
            var images = Directory.Exists(_paths.VolumesDir) ? Directory.GetFiles(_paths.VolumesDir, "*.img") : [];
            var loops = TestDirectory.LoopDevicesBackedBelow(_paths.VolumesDir + "/");
            var name = Steps[step];
            var attached = step >= Array.IndexOf(Steps, "ControllerPublishVolume") && step < Array.IndexOf(Steps, "ControllerUnpublishVolume");
            Assert.True(images.Length == (step < Array.IndexOf(Steps, "DeleteVolume") ? 1 : 0), $"{images.Length} volume images after {name}");
            Assert.True(loops.Count == (attached ? 1 : 0), $"{loops.Count} loop devices after {name}: {string.Join(", ", loops)}");
            var staged = step >= Array.IndexOf(Steps, "NodeStageVolume") && step < Array.IndexOf(Steps, "NodeUnstageVolume");
            var published = step >= Array.IndexOf(Steps, "NodePublishVolume") && step < Array.IndexOf(Steps, "NodeUnpublishVolume");
            Assert.Equal(staged ? 1 : 0, MountsAt(_staging));
            Assert.Equal(published ? 1 : 0, MountsAt(_target));
            var snapshots = Directory.Exists(_paths.SnapshotsDir) ? Directory.GetFiles(_paths.SnapshotsDir, "*.img").Length : 0;
            var snapshotLives = step >= Array.IndexOf(Steps, "CreateSnapshot") && step < Array.IndexOf(Steps, "DeleteSnapshot");
            Assert.Equal(snapshotLives ? 1 : 0, snapshots);
            if (name == "ControllerExpandVolume")
            {
                Assert.Equal(48 * MiB, new FileInfo(_paths.VolumeImage(VolumeId)).Length);
            }
        }

        public async Task AssertNothingLeftAsync(DriverProcess driver)
        {
            Assert.Empty((await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries);
            Assert.Empty((await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries);
        }

        /// <summary>No file in the state dir (but its lock), no loop device, no mount below the test directory.</summary>
        public void AssertNothingLeft()
        {
            var files = Directory.GetFileSystemEntries(_paths.StateDir, "*", SearchOption.AllDirectories)
                .Where(f => !Directory.Exists(f) && Path.GetFileName(f) != "lock")
                .ToList();
            Assert.True(files.Count == 0, "left in the state dir: " + string.Join(", ", files));
            Assert.Empty(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
            Assert.Empty(TestDirectory.MountPointsBelow(dir.Root + "/"));
        }

        private static int MountsAt(string path) => TestDirectory.MountPointsBelow(path).Count(m => m == path);
    }
}
