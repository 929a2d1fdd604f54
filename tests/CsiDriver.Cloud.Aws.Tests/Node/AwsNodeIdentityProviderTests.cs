using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Cloud.Aws.Node;
using CsiDriver.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Tests.Node;

[Trait("Category", "Unit")]
public sealed class AwsNodeIdentityProviderTests
{
    private static AwsNodeIdentityProvider Provider(InstanceMetadata metadata, DriverOptions options)
    {
        var source = new Mock<IInstanceMetadataProvider>();
        source.Setup(s => s.GetAsync(It.IsAny<CancellationToken>())).ReturnsAsync(metadata);
        var finder = new EbsDeviceFinder(
            Options.Create(new AwsBackendOptions { Tuning = new AwsTuning { HostRoot = Path.Combine(Path.GetTempPath(), "no-such-root-" + Guid.NewGuid()) } }),
            NullLogger<EbsDeviceFinder>.Instance);
        return new AwsNodeIdentityProvider(source.Object, finder, Options.Create(options));
    }

    [Fact]
    public async Task Reports_instance_id_limit_from_type_and_zone_topology()
    {
        var identity = await Provider(new InstanceMetadata("i-1", "us-east-1", "us-east-1a", "use1-az1", "m5.large", null, NetworkInterfaces: 2, EbsVolumesAtLaunch: 1),
            new DriverOptions()).GetAsync(CancellationToken.None);

        Assert.Equal("i-1", identity.NodeId);
        Assert.Equal(25, identity.MaxVolumesPerNode);
        Assert.Equal("us-east-1a", identity.Topology["topology.kubernetes.io/zone"]);
        Assert.Equal("use1-az1", identity.Topology["topology.k8s.aws/zone-id"]);
    }

    [Fact]
    public async Task Volume_attach_limit_flag_overrides_the_table()
    {
        var identity = await Provider(new InstanceMetadata("i-1", "us-east-1", "us-east-1a", null, "m5.large", null),
            new DriverOptions { VolumeAttachLimit = 7 }).GetAsync(CancellationToken.None);

        Assert.Equal(7, identity.MaxVolumesPerNode);
        Assert.False(identity.Topology.ContainsKey("topology.k8s.aws/zone-id"));
    }
}
