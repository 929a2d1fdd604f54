using CsiDriver.Mounter.Commands;
using CsiDriver.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using TestLoop = CsiDriver.Testing.LoopDevice;

namespace CsiDriver.Cloud.Local.Tests;

public sealed class LoopDevicesTests
{
    private readonly LoopDevices _loops = new(new ProcessCommandRunner(NullLogger<ProcessCommandRunner>.Instance));

    [Fact]
    public async Task A_detach_waits_for_a_brief_holder_to_let_go_so_that_sysfs_agrees_when_it_returns()
    {
        using var dir = new TestDirectory("loop-held");
        var loop = TestLoop.Create(dir, 8 * TestLoop.MiB);
        var holder = new FileStream(loop.Device, FileMode.Open, FileAccess.Read);
        Task<bool> detach;
        try
        {
            detach = _loops.DetachAsync(loop.Device, loop.BackingFile, CancellationToken.None);
            await Task.Delay(200);

            // The kernel only marked the held device for autoclear: still bound, and the detach still waits.
            Assert.False(detach.IsCompleted, "the detach returned while the device was still bound");
            Assert.True(LoopDevices.IsBackedBy(loop.Device, loop.BackingFile));
        }
        finally
        {
            holder.Dispose();
        }

        Assert.True(await detach);
        Assert.False(LoopDevices.IsBackedBy(loop.Device, loop.BackingFile));
    }

    [Fact]
    public async Task A_device_backed_by_another_file_is_not_detached()
    {
        using var dir = new TestDirectory("loop-other");
        var loop = TestLoop.Create(dir, 8 * TestLoop.MiB);

        Assert.False(await _loops.DetachAsync(loop.Device, dir.Path("someone-else.img"), CancellationToken.None));
        Assert.True(LoopDevices.IsBackedBy(loop.Device, loop.BackingFile));
    }
}
