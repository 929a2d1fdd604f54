using Csi.V1;
using CsiDriver.Core.Volumes;
using CsiDriver.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Host.Tests.Startup;

public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task A_call_in_flight_when_shutdown_starts_still_completes()
    {
        using var dir = new TestDirectory("graceful");
        FakeVolumeProvider? backend = null;
        var driver = await RunningDriver.StartAsync(RunningDriver.LocalConfiguration(dir), configureServices: services =>
        {
            services.AddSingleton<FakeVolumeProvider>();
            services.AddSingleton<IVolumeProvider>(sp => backend = sp.GetRequiredService<FakeVolumeProvider>());
        });
        // Resolve the backend once so the test can hold CreateVolume in flight.
        await driver.Identity.ProbeAsync(new ProbeRequest());
        backend!.CreateGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var request = new CreateVolumeRequest { Name = "pvc-graceful" };
        request.VolumeCapabilities.Add(new VolumeCapability
        {
            Mount = new VolumeCapability.Types.MountVolume(),
            AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
        });
        var call = driver.Controller.CreateVolumeAsync(request).ResponseAsync;
        await backend.CreateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var stopping = driver.DisposeAsync().AsTask();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted, "shutdown must wait for the call in flight");
        backend.CreateGate.SetResult();

        var response = await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("vol-pvc-graceful", response.Volume.VolumeId);
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(File.Exists(dir.Path("csi.sock")), "the socket is removed once stopped");
    }
}
