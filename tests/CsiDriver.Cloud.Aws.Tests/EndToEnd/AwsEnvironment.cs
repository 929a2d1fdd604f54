using CsiDriver.Host;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>An EC2 simulator with three instances and the real driver (controller, --backend aws) talking to it over HTTP, served on a unix socket.</summary>
internal sealed class AwsEnvironment : IAsyncDisposable
{
    private readonly TestDirectory _directory;

    private AwsEnvironment(TestDirectory directory, Ec2Simulator simulator, RunningDriver driver)
    {
        _directory = directory;
        Simulator = simulator;
        Driver = driver;
    }

    public Ec2Simulator Simulator { get; }

    public RunningDriver Driver { get; }

    public Csi.V1.Controller.ControllerClient Controller => Driver.Controller;

    public static async Task<AwsEnvironment> StartAsync(
        string name,
        Action<Ec2SimulatorOptions>? simulator = null,
        Action<DriverConfiguration>? driver = null,
        Action<IServiceCollection, DriverConfiguration>? services = null)
    {
        var directory = new TestDirectory(name);
        var options = new Ec2SimulatorOptions();
        simulator?.Invoke(options);
        var sim = await Ec2Simulator.StartAsync(options);
        try
        {
            sim.AddInstance(Ec2InstanceSeed.WithRootVolume(AwsRequests.NodeA, "us-east-1a"));
            sim.AddInstance(Ec2InstanceSeed.WithRootVolume(AwsRequests.NodeA2, "us-east-1a"));
            sim.AddInstance(Ec2InstanceSeed.WithRootVolume(AwsRequests.NodeB, "us-east-1b"));
            var running = await SimulatedAws.StartControllerAsync(directory, sim, driver, services);
            return new AwsEnvironment(directory, sim, running);
        }
        catch
        {
            await sim.DisposeAsync();
            directory.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Driver.DisposeAsync();
        await Simulator.DisposeAsync();
        _directory.Dispose();
    }
}
