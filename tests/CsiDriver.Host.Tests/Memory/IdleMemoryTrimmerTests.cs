using Csi.V1;
using CsiDriver.Host.Memory;
using CsiDriver.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CsiDriver.Host.Tests.Memory;

/// <summary>When the driver gives memory back (<see cref="IdleMemoryTrimmer"/>): the real host, over its socket.</summary>
public sealed class IdleMemoryTrimmerTests
{
    private static readonly TimeSpan QuietFor = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task Memory_is_given_back_after_start_up_and_after_each_burst_of_work_but_not_for_probes()
    {
        using var dir = new TestDirectory("trim");
        var trims = new CountingProcessMemory();
        await using var driver = await StartAsync(dir, QuietFor, trims);

        await trims.WaitForAsync(1);

        // The livenessprobe's calls are not work: three quiet times pass with probes and nothing is trimmed again.
        for (var i = 0; i < 3; i++)
        {
            await driver.Identity.ProbeAsync(new ProbeRequest());
            await Task.Delay(QuietFor);
        }
        Assert.Equal(1, trims.Count);

        await driver.Node.NodeGetInfoAsync(new NodeGetInfoRequest());
        await driver.Controller.ListVolumesAsync(new ListVolumesRequest());
        await trims.WaitForAsync(2);
    }

    [Fact]
    public async Task Zero_turns_it_off()
    {
        using var dir = new TestDirectory("trim-off");
        var trims = new CountingProcessMemory();
        await using var driver = await StartAsync(dir, TimeSpan.Zero, trims);

        await driver.Node.NodeGetInfoAsync(new NodeGetInfoRequest());
        await Task.Delay(QuietFor * 5);

        Assert.Equal(0, trims.Count);
        Assert.Empty(driver.Services.GetServices<IHostedService>().OfType<IdleMemoryTrimmer>());
    }

    private static Task<RunningDriver> StartAsync(TestDirectory dir, TimeSpan quietFor, CountingProcessMemory trims)
    {
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Driver.TrimMemoryAfter = quietFor;
        return RunningDriver.StartAsync(configuration, configureServices: services => services.AddSingleton<IProcessMemory>(trims));
    }

    /// <summary>Counts trims instead of collecting the test process's heap.</summary>
    private sealed class CountingProcessMemory : IProcessMemory
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public TrimResult Trim()
        {
            Interlocked.Increment(ref _count);
            return new TrimResult(1 << 20, 1 << 20, 0);
        }

        public Task WaitForAsync(int count) => Eventually.HoldsAsync(() => Count >= count, $"{count} trim(s)");
    }
}
