using Amazon.EC2;
using Amazon.Runtime;
using CsiDriver.Cloud.Aws.Node;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Observability;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Tests;

[Trait("Category", "Unit")]
public sealed class AwsBackendRegistrationTests
{
    [Fact]
    public async Task Wires_provider_client_and_node_parts_from_explicit_options()
    {
        var options = new AwsBackendOptions
        {
            Region = "us-east-1",
            Ec2Endpoint = "http://127.0.0.1:9",
            InstanceId = "i-test",
            AvailabilityZone = "us-east-1a",
            InstanceType = "m5.large",
            Credentials = new BasicAWSCredentials("AKIDTEST", "secret"),
        };
        var driverOptions = new DriverOptions { Backend = BackendKind.Aws };
        var services = new ServiceCollection();
        services.AddLogging(l => l.ClearProviders());
        services.AddDriverOptions(driverOptions);
        services.AddSingleton<DriverMetrics>();
        services.AddAwsBackend(options);
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<IAmazonEC2>();
        Assert.StartsWith("http://127.0.0.1:9", client.Config.ServiceURL, StringComparison.Ordinal);
        Assert.Equal(RequestRetryMode.Standard, client.Config.RetryMode);
        // A client per EC2 throttling bucket: Describe* share one, each mutating action has its own.
        var clients = provider.GetRequiredService<CsiDriver.Cloud.Aws.Ec2.Ec2Clients>();
        Assert.Same(client, clients.For("DescribeVolumes"));
        Assert.Same(clients.For("DescribeSnapshots"), clients.For("DescribeInstances"));
        Assert.NotSame(clients.For("AttachVolume"), clients.For("CreateVolume"));
        Assert.Same(clients.For("AttachVolume"), clients.For("AttachVolume"));
        Assert.IsType<EbsVolumeProvider>(provider.GetRequiredService<IVolumeProvider>());
        Assert.IsType<EbsDeviceFinder>(provider.GetRequiredService<IDeviceFinder>());
        var identity = await provider.GetRequiredService<INodeIdentityProvider>().GetAsync(CancellationToken.None);
        Assert.Equal("i-test", identity.NodeId);
        Assert.Equal("us-east-1a", identity.Topology[EbsVolumeProvider.ZoneKey]);
    }
}
