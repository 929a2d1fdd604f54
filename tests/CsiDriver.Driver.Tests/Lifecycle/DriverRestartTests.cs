using System.Security.Cryptography;
using Csi.V1;
using CsiDriver.Testing;

namespace CsiDriver.Driver.Tests.Lifecycle;

/// <summary>kill -9 of the driver mid-lifecycle: a new process on the same state finishes the job, losing and leaking nothing.</summary>
public sealed class DriverRestartTests
{
    private const string NodeId = "restart-node";

    [Fact]
    public async Task Killed_driver_restarts_and_finishes_the_lifecycle_with_the_data_intact()
    {
        using var dir = new TestDirectory("restart");
        var socket = dir.Path("csi.sock");
        string[] args = ["--mode", "all", "--backend", "local", "--state-dir", dir.Path("state"), "--node-id", NodeId, "--log-level", "Warning",
            "--allowed-path-root", dir.Root, "--node-state-dir", dir.Path("node-state")];
        var capability = VolumeSteps.Mount();
        var staging = dir.Path("staging");
        var target = dir.Path("pods", "p", "vol");
        var payload = RandomNumberGenerator.GetBytes(1 << 20);

        Volume volume;
        IDictionary<string, string> publishContext;
        await using (var first = await DriverProcess.StartAsync(socket, args))
        {
            var steps = new VolumeSteps(first.Controller, first.Node, NodeId);
            volume = await steps.CreateAsync("pvc-restart", 256L << 20, capability);
            publishContext = await steps.AttachAsync(volume.VolumeId, capability);
            await steps.StageAsync(volume, publishContext, staging, capability);
            await steps.PublishAsync(volume, publishContext, staging, target, capability);
            await File.WriteAllBytesAsync(Path.Combine(target, "data.bin"), payload);
            LocalLifecycleTests.Sync();
            await first.KillAsync();
        }

        await using var second = await DriverProcess.StartAsync(socket, args);
        var again = new VolumeSteps(second.Controller, second.Node, NodeId);

        // The new process knows the volume and its attachment, and every retried call is idempotent.
        var listed = await second.Controller.ListVolumesAsync(new ListVolumesRequest());
        var entry = Assert.Single(listed.Entries);
        Assert.Equal(volume.VolumeId, entry.Volume.VolumeId);
        Assert.Contains(NodeId, entry.Status.PublishedNodeIds);
        var recreated = await again.CreateAsync("pvc-restart", 256L << 20, capability);
        Assert.Equal(volume.VolumeId, recreated.VolumeId);
        Assert.Equal(publishContext, await again.AttachAsync(volume.VolumeId, capability));
        await again.StageAsync(volume, publishContext, staging, capability);
        await again.PublishAsync(volume, publishContext, staging, target, capability);
        Assert.Equal(payload, await File.ReadAllBytesAsync(Path.Combine(target, "data.bin")));

        await again.TearDownAsync(volume.VolumeId, staging, target);
        await second.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        Assert.Empty((await second.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries);
        Assert.Empty(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
    }
}
