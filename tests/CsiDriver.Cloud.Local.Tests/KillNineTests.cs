using System.Diagnostics;
using Csi.V1;
using CsiDriver.Cli;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Cloud.Local.Tests.LocalTestSupport;

namespace CsiDriver.Cloud.Local.Tests;

/// <summary>
/// The real csi-driver process killed with SIGKILL in the middle of work: the next start must serve everything
/// that was acknowledged, and leave no half-made file, orphan image or unrecorded loop device behind.
/// </summary>
public sealed class KillNineTests
{
    [Fact]
    public async Task A_driver_killed_mid_work_restarts_with_every_acknowledged_change_and_nothing_half_done()
    {
        using var dir = new TestDirectory("local-kill9");
        var socket = dir.Path("kill.sock");
        using var process = StartDriverProcess(dir, socket);
        var acknowledged = new List<string>();
        var acknowledgedCount = 0;
        string publishedId, snapshotId, expandedId;
        try
        {
            using var channel = UnixSocketChannel.Create("unix://" + socket);
            var controller = new Controller.ControllerClient(channel);
            await WaitUntilServingAsync(new Identity.IdentityClient(channel), process);

            publishedId = (await controller.CreateVolumeAsync(Create("pvc-k9-published"))).Volume.VolumeId;
            await controller.ControllerPublishVolumeAsync(Publish(publishedId));
            expandedId = (await controller.CreateVolumeAsync(Create("pvc-k9-expanded"))).Volume.VolumeId;
            await controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest { VolumeId = expandedId, CapacityRange = new CapacityRange { RequiredBytes = 40 * MiB } });
            snapshotId = (await controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-k9", SourceVolumeId = expandedId })).Snapshot.SnapshotId;

            // A burst of work still in flight when the process dies.
            var burst = Enumerable.Range(0, 12).Select(async i =>
            {
                try
                {
                    var id = (await controller.CreateVolumeAsync(Create($"pvc-k9-burst-{i}", (8 + i) * MiB))).Volume.VolumeId;
                    lock (acknowledged)
                    {
                        acknowledged.Add(id);
                    }
                    Interlocked.Increment(ref acknowledgedCount);
                    await controller.ControllerPublishVolumeAsync(Publish(id));
                }
                catch (RpcException)
                {
                    // Cut off by the kill: not acknowledged, so the CO would retry.
                }
            }).ToList();
            // Kill once the first of them is acknowledged, while the rest are still queued or running.
            // Bounded by time, not by a count of polls, so a busy CI disk cannot cut the wait short.
            var giveUp = Stopwatch.StartNew();
            while (Volatile.Read(ref acknowledgedCount) == 0 && giveUp.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(10);
            }
            // SIGKILL to the driver and its losetup/cp children at once, as a container runtime kills the cgroup.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            await Task.WhenAll(burst);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await using var restarted = await RunningDriver.StartLocalAsync(dir);
        var paths = Paths(dir);
        var volumes = (await restarted.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries.ToDictionary(e => e.Volume.VolumeId);

        Assert.Equal(["test-node"], volumes[publishedId].Status.PublishedNodeIds);
        Assert.Equal(40 * MiB, volumes[expandedId].Volume.CapacityBytes);
        Assert.NotEmpty(acknowledged);
        Assert.All(acknowledged, id => Assert.True(volumes.ContainsKey(id), $"acknowledged volume {id} was lost"));
        Assert.NotNull((await restarted.Controller.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = snapshotId })).Snapshot);
        // Nothing half-made: every image has its record and the recorded size, no temp file survives.
        var entries = Directory.GetFileSystemEntries(paths.StateDir, "*", SearchOption.AllDirectories);
        Assert.DoesNotContain(entries, e => e.Contains(LocalStatePaths.TempMarker, StringComparison.Ordinal));
        foreach (var image in Directory.GetFiles(paths.VolumesDir, "*.img"))
        {
            var id = Path.GetFileNameWithoutExtension(image);
            Assert.True(volumes.ContainsKey(id), $"{image} has no volume");
            Assert.Equal(volumes[id].Volume.CapacityBytes, new FileInfo(image).Length);
        }
        // Exactly one loop device per recorded attachment, and each link leads to its own volume's device.
        var published = volumes.Values.Where(v => v.Status.PublishedNodeIds.Count > 0).Select(v => v.Volume.VolumeId).ToList();
        var loops = LoopsBelow(dir);
        Assert.Equal(published.Count, loops.Count);
        foreach (var id in published)
        {
            var device = new FileInfo(paths.DeviceLink(id)).LinkTarget!;
            Assert.Equal(paths.VolumeImage(id), BackingFile(device));
        }
    }

    private static Process StartDriverProcess(TestDirectory dir, string socket)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "csi-driver"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
        {
            "--endpoint", "unix://" + socket, "--mode", "Controller", "--backend", "Local",
            "--state-dir", dir.Path("state"), "--node-id", "test-node", "--log-level", "Warning",
        })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilServingAsync(Identity.IdentityClient identity, Process process)
    {
        var started = Stopwatch.StartNew();
        while (started.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(process.HasExited, $"csi-driver exited with {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                if ((await identity.ProbeAsync(new ProbeRequest())).Ready == true)
                {
                    return;
                }
            }
            catch (RpcException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        Assert.Fail("csi-driver did not start serving within 60 s");
    }
}
