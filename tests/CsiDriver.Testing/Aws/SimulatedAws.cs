using Amazon.EC2;
using CsiDriver.Cloud.Aws.Ec2;
using Amazon.Runtime;
using CsiDriver.Cloud.Aws;
using CsiDriver.Cloud.Local;
using CsiDriver.Core;
using CsiDriver.Host;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Testing.Aws;

/// <summary>Configurations of the real driver with <c>--backend aws</c> pointed at an <see cref="Ec2Simulator"/>.</summary>
public static class SimulatedAws
{
    /// <summary>The zone and instance the controller says it runs on (so no instance metadata is asked).</summary>
    public const string ControllerInstanceId = "i-0c0c0c0c";

    public const string ControllerZone = "us-east-1a";

    /// <summary>
    /// A controller-mode driver on a unix socket in <paramref name="directory"/>, talking to the simulator with
    /// fake credentials, with poll intervals short enough for tests. The controller's own instance is seeded.
    /// </summary>
    public static DriverConfiguration ControllerConfiguration(TestDirectory directory, Ec2Simulator simulator, string logLevel = "Warning")
    {
        simulator.AddInstance(Ec2InstanceSeed.WithRootVolume(ControllerInstanceId, ControllerZone));
        return new DriverConfiguration(
            new DriverOptions
            {
                Endpoint = "unix://" + directory.Path("csi.sock"),
                Mode = DriverMode.Controller,
                NodeId = ControllerInstanceId,
                Backend = BackendKind.Aws,
                LogLevel = logLevel,
                // One test process hosts many drivers; the trim's collection is process-wide (IdleMemoryTrimmerTests cover it).
                TrimMemoryAfter = TimeSpan.Zero,
            },
            new LocalBackendOptions { StateDir = directory.Path("state") },
            new AwsBackendOptions
            {
                Region = simulator.Options.Region,
                Ec2Endpoint = simulator.Url,
                InstanceId = ControllerInstanceId,
                AvailabilityZone = ControllerZone,
                Credentials = new BasicAWSCredentials("test", "test"),
                Tuning = new AwsTuning
                {
                    PollInitialInterval = TimeSpan.FromMilliseconds(20),
                    PollMaxInterval = TimeSpan.FromMilliseconds(250),
                    NotFoundGrace = TimeSpan.FromSeconds(10),
                    WaitTimeout = TimeSpan.FromSeconds(60),
                    ModifyCoalesceWindow = TimeSpan.FromMilliseconds(20),
                    // Never the link-local metadata address from a test: a closed loopback port fails fast.
                    ImdsEndpoint = "http://127.0.0.1:9",
                },
            });
    }

    /// <summary>Starts the simulator-backed controller; <paramref name="services"/> may replace registrations (last one wins).</summary>
    public static Task<RunningDriver> StartControllerAsync(
        TestDirectory directory,
        Ec2Simulator simulator,
        Action<DriverConfiguration>? configure = null,
        Action<IServiceCollection, DriverConfiguration>? services = null)
    {
        var configuration = ControllerConfiguration(directory, simulator);
        configure?.Invoke(configuration);
        return RunningDriver.StartAsync(configuration, configureServices: services is null ? null : s => services(s, configuration));
    }

    /// <summary>
    /// Replaces the provider's EC2 client with one in the SDK's Standard retry mode (per-request retries with
    /// backoff, no client-side rate limiter), for comparing against the provider's own client.
    /// </summary>
    public static void UseStandardRetries(IServiceCollection services, DriverConfiguration configuration) =>
        services.AddSingleton(_ => Ec2Clients.Shared(new AmazonEC2Client(
            configuration.Aws.Credentials ?? new BasicAWSCredentials("test", "test"),
            new AmazonEC2Config
            {
                ServiceURL = configuration.Aws.Ec2Endpoint,
                AuthenticationRegion = configuration.Aws.Region,
                RetryMode = RequestRetryMode.Standard,
                MaxErrorRetry = 10,
            })));

    /// <summary>
    /// The provider's own client set-up (a client per bucket, standard mode) with <paramref name="maxErrorRetry"/>
    /// SDK retries instead of eight, so a test of an error outlasting the retries does not sit through a minute of backoff.
    /// </summary>
    public static Action<IServiceCollection, DriverConfiguration> WithSdkRetries(int maxErrorRetry) =>
        (services, configuration) => services.AddSingleton(_ => new Ec2Clients(() =>
        {
            var config = Ec2ClientFactory.CreateConfig(configuration.Aws.Region!, configuration.Aws.Ec2Endpoint);
            config.MaxErrorRetry = maxErrorRetry;
            return new AmazonEC2Client(configuration.Aws.Credentials ?? new BasicAWSCredentials("test", "test"), config);
        }));
}
