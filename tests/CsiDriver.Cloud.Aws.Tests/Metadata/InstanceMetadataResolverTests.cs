using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Kubernetes;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Tests.Metadata;

[Trait("Category", "Unit")]
public sealed class InstanceMetadataResolverTests
{
    private static KubernetesNode Node(string? providerId, Dictionary<string, string>? labels = null) =>
        new("node-1", providerId, labels ?? new Dictionary<string, string>(), [], "1");

    private static InstanceMetadataResolver Resolver(AwsBackendOptions options, ImdsClient? imds, IKubernetesNodeApi? api, string? nodeName = "node-1") =>
        new(Options.Create(options), Options.Create(new DriverOptions()), imds, api is null ? null : new KubernetesNodeMetadata(api), NullLogger<InstanceMetadataResolver>.Instance,
            key => key == "NODE_NAME" ? nodeName : null);

    private static ImdsClient UnreachableImds() =>
        new(new HttpClient { BaseAddress = new Uri("http://127.0.0.1:1"), Timeout = TimeSpan.FromSeconds(2) });

    [Theory]
    [InlineData("aws:///us-east-1a/i-0123", "us-east-1a", "i-0123")]
    [InlineData("aws:///i-0123", null, "i-0123")]
    public void Parses_provider_ids(string providerId, string? zone, string instanceId)
    {
        Assert.Equal((zone, instanceId), KubernetesNodeMetadata.ParseProviderId(providerId));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("gce://project/zone/name")]
    [InlineData("aws:///us-east-1a/")]
    public void Rejects_other_provider_ids(string? providerId)
    {
        Assert.Null(KubernetesNodeMetadata.ParseProviderId(providerId));
    }

    [Fact]
    public async Task Flags_naming_instance_and_zone_need_no_source()
    {
        var api = new Mock<IKubernetesNodeApi>(MockBehavior.Strict);
        var resolver = Resolver(new AwsBackendOptions { InstanceId = "i-flag", AvailabilityZone = "us-west-2c", InstanceType = "m5.large" }, null, api.Object);

        var metadata = await resolver.GetAsync(CancellationToken.None);

        Assert.Equal(("i-flag", "us-west-2c", "us-west-2", "m5.large"), (metadata.InstanceId, metadata.AvailabilityZone, metadata.Region, metadata.InstanceType));
    }

    [Fact]
    public async Task Falls_back_to_the_node_object_when_imds_is_unreachable()
    {
        var api = new Mock<IKubernetesNodeApi>();
        api.Setup(a => a.GetNodeAsync("node-1", It.IsAny<CancellationToken>())).ReturnsAsync(Node("aws:///eu-central-1a/i-0k8s", new()
        {
            ["topology.kubernetes.io/zone"] = "eu-central-1a",
            ["node.kubernetes.io/instance-type"] = "c6i.large",
            ["topology.k8s.aws/zone-id"] = "euc1-az2",
        }));
        var resolver = Resolver(new AwsBackendOptions(), UnreachableImds(), api.Object);

        var metadata = await resolver.GetAsync(CancellationToken.None);

        Assert.Equal(new InstanceMetadata("i-0k8s", "eu-central-1", "eu-central-1a", "euc1-az2", "c6i.large", null), metadata);
    }

    [Fact]
    public async Task Source_order_is_respected_and_flags_override_fields()
    {
        await using var imds = await FakeImds.StartAsync();
        imds.Values["instance-id"] = "i-imds";
        imds.Values["placement/availability-zone"] = "us-east-1a";
        var api = new Mock<IKubernetesNodeApi>();
        api.Setup(a => a.GetNodeAsync("node-1", It.IsAny<CancellationToken>())).ReturnsAsync(Node("aws:///us-east-1b/i-k8s"));
        using var http = new HttpClient { BaseAddress = new Uri(imds.BaseAddress) };
        var options = new AwsBackendOptions { MetadataSources = ["kubernetes", "imds"], InstanceType = "r5.large" };

        var metadata = await Resolver(options, new ImdsClient(http), api.Object).GetAsync(CancellationToken.None);

        Assert.Equal("i-k8s", metadata.InstanceId);
        Assert.Equal("r5.large", metadata.InstanceType);
        Assert.Empty(imds.Requests);
    }

    [Fact]
    public async Task Imds_first_by_default()
    {
        await using var imds = await FakeImds.StartAsync();
        imds.Values["instance-id"] = "i-imds";
        imds.Values["placement/availability-zone"] = "us-east-1a";
        var api = new Mock<IKubernetesNodeApi>(MockBehavior.Strict);
        using var http = new HttpClient { BaseAddress = new Uri(imds.BaseAddress) };

        var metadata = await Resolver(new AwsBackendOptions(), new ImdsClient(http), api.Object).GetAsync(CancellationToken.None);

        Assert.Equal("i-imds", metadata.InstanceId);
        Assert.Equal("us-east-1", metadata.Region);
    }

    [Fact]
    public async Task Every_source_failing_is_unavailable_naming_each()
    {
        var api = new Mock<IKubernetesNodeApi>();
        api.Setup(a => a.GetNodeAsync("node-1", It.IsAny<CancellationToken>())).ReturnsAsync((KubernetesNode?)null);

        var error = await Assert.ThrowsAsync<StorageException>(() => Resolver(new AwsBackendOptions(), UnreachableImds(), api.Object).GetAsync(CancellationToken.None));

        Assert.Equal(FailureKind.Unavailable, error.Kind);
        Assert.Contains("imds:", error.Message, StringComparison.Ordinal);
        Assert.Contains("kubernetes:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_kubernetes_api_is_skipped()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            Resolver(new AwsBackendOptions { MetadataSources = ["kubernetes"] }, null, null).GetAsync(CancellationToken.None));

        Assert.Contains("not available", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_without_aws_provider_id_is_reported()
    {
        var api = new Mock<IKubernetesNodeApi>();
        api.Setup(a => a.GetNodeAsync("node-1", It.IsAny<CancellationToken>())).ReturnsAsync(Node("kind://docker/kind/node-1"));

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            Resolver(new AwsBackendOptions { MetadataSources = ["kubernetes"] }, null, api.Object).GetAsync(CancellationToken.None));

        Assert.Contains("providerID", error.Message, StringComparison.Ordinal);
    }
}
