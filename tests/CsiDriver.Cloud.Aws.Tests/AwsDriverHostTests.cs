using Amazon.EC2;
using Amazon.Runtime;
using Csi.V1;
using CsiDriver.Cloud.Local;
using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Host;
using CsiDriver.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Cloud.Aws.Tests;

/// <summary>The real driver host with --backend aws on a real unix socket: the whole service graph resolves.</summary>
public sealed class AwsDriverHostTests
{
    [Fact]
    public async Task Driver_with_aws_backend_starts_and_answers_probe_over_the_socket()
    {
        using var dir = new TestDirectory("aws-host");
        var configuration = new DriverConfiguration(
            new DriverOptions { Endpoint = "unix://" + dir.Path("csi.sock"), Backend = BackendKind.Aws, LogLevel = "Warning" },
            new LocalBackendOptions(),
            new AwsBackendOptions
            {
                Region = "us-east-1",
                Ec2Endpoint = "http://127.0.0.1:9",
                InstanceId = "i-0host",
                AvailabilityZone = "us-east-1b",
                InstanceType = "m5.large",
                Credentials = new BasicAWSCredentials("AKIDTEST", "secret"),
                Tuning = new AwsTuning { PollInitialInterval = TimeSpan.FromMilliseconds(10), PollMaxInterval = TimeSpan.FromMilliseconds(50) },
            });
        await using var driver = await RunningDriver.StartAsync(configuration);

        var probe = await driver.Identity.ProbeAsync(new ProbeRequest());

        Assert.True(probe.Ready ?? false);
        var client = driver.Services.GetRequiredService<IAmazonEC2>();
        Assert.StartsWith("http://127.0.0.1:9", client.Config.ServiceURL, StringComparison.Ordinal);
        var identity = await driver.Services.GetRequiredService<INodeIdentityProvider>().GetAsync(CancellationToken.None);
        Assert.Equal("i-0host", identity.NodeId);
    }

    [Fact]
    public async Task A_node_whose_instance_metadata_does_not_resolve_fails_at_start_before_the_socket_listens()
    {
        using var dir = new TestDirectory("aws-host");
        var configuration = new DriverConfiguration(
            new DriverOptions { Endpoint = "unix://" + dir.Path("csi.sock"), Mode = DriverMode.Node, Backend = BackendKind.Aws, LogLevel = "Critical" },
            new LocalBackendOptions(),
            new AwsBackendOptions
            {
                MetadataSources = ["imds"],
                // A closed loopback port: IMDS refuses at once.
                Tuning = new AwsTuning { ImdsEndpoint = "http://127.0.0.1:9" },
            });
        await using var app = DriverHost.Build(configuration);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("--instance-id", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Path("csi.sock")), "the start-up step runs before the CSI socket listens");
    }
}
