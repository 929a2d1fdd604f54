using Amazon.EC2;
using Amazon.Runtime;
using CsiDriver.Testing.Aws;
using Microsoft.Extensions.Time.Testing;

namespace CsiDriver.Cloud.Aws.Tests.Simulator;

/// <summary>The real AWSSDK EC2 client pointed at a simulator, as the provider builds it.</summary>
internal static class SimulatorClient
{
    public static AmazonEC2Client Create(Ec2Simulator simulator, int maxErrorRetry = 0)
    {
        var config = new AmazonEC2Config
        {
            ServiceURL = simulator.Url,
            AuthenticationRegion = simulator.Options.Region,
            MaxErrorRetry = maxErrorRetry,
            RetryMode = RequestRetryMode.Standard,
        };
        return new AmazonEC2Client(new BasicAWSCredentials("test", "test"), config);
    }

    /// <summary>A simulator with one instance per zone: i-0000000a (us-east-1a), i-0000000b (us-east-1b).</summary>
    public static async Task<Ec2Simulator> StartAsync(Action<Ec2SimulatorOptions>? configure = null)
    {
        var options = new Ec2SimulatorOptions();
        configure?.Invoke(options);
        var simulator = await Ec2Simulator.StartAsync(options);
        simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(InstanceA, "us-east-1a"));
        simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(InstanceB, "us-east-1b"));
        return simulator;
    }

    /// <summary>A simulator as <see cref="StartAsync"/> on a fake clock the test moves, and a client pointed at it.</summary>
    public static async Task<ClockedSimulator> StartOnFakeClockAsync(Action<Ec2SimulatorOptions> configure)
    {
        var clock = new FakeTimeProvider();
        var simulator = await StartAsync(o =>
        {
            o.TimeProvider = clock;
            configure(o);
        });
        return new ClockedSimulator(clock, simulator, Create(simulator));
    }

    public const string InstanceA = "i-0000000a";

    public const string InstanceB = "i-0000000b";
}

/// <summary>A simulator on a fake clock and the SDK client pointed at it; disposing closes both.</summary>
internal sealed record ClockedSimulator(FakeTimeProvider Clock, Ec2Simulator Simulator, AmazonEC2Client Ec2) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        Ec2.Dispose();
        await Simulator.DisposeAsync();
    }
}
