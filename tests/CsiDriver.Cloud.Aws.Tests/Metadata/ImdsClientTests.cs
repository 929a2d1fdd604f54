using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Tests.Metadata;

[Trait("Category", "Unit")]
public sealed class ImdsClientTests
{
    private static void Fill(FakeImds imds)
    {
        imds.Values["instance-id"] = "i-0abc";
        imds.Values["placement/availability-zone"] = "eu-west-1b";
        imds.Values["placement/availability-zone-id"] = "euw1-az2";
        imds.Values["placement/region"] = "eu-west-1";
        imds.Values["instance-type"] = "m5.xlarge";
        imds.Values["network/interfaces/macs/"] = "0a:00:00:00:00:01/\n0a:00:00:00:00:02/";
        imds.Values["block-device-mapping/"] = "ami\nebs2\nroot";
    }

    [Fact]
    public async Task Reads_instance_metadata_with_one_token()
    {
        await using var imds = await FakeImds.StartAsync();
        Fill(imds);
        using var http = new HttpClient { BaseAddress = new Uri(imds.BaseAddress) };
        var client = new ImdsClient(http);

        var metadata = await client.GetInstanceMetadataAsync(CancellationToken.None);

        Assert.Equal(new InstanceMetadata("i-0abc", "eu-west-1", "eu-west-1b", "euw1-az2", "m5.xlarge", null, NetworkInterfaces: 2, EbsVolumesAtLaunch: 2), metadata);
        Assert.Equal("PUT token", imds.Requests.First());
        Assert.Equal(1, imds.Requests.Count(r => r == "PUT token"));
    }

    [Fact]
    public async Task Outpost_arn_is_read_when_present()
    {
        await using var imds = await FakeImds.StartAsync();
        Fill(imds);
        imds.Values["outpost-arn"] = "arn:aws:outposts:eu-west-1:1:outpost/op-1";
        using var http = new HttpClient { BaseAddress = new Uri(imds.BaseAddress) };

        var metadata = await new ImdsClient(http).GetInstanceMetadataAsync(CancellationToken.None);

        Assert.Equal("arn:aws:outposts:eu-west-1:1:outpost/op-1", metadata.OutpostArn);
    }

    [Fact]
    public async Task Missing_value_is_null_and_missing_instance_id_is_unavailable()
    {
        await using var imds = await FakeImds.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(imds.BaseAddress) };
        var client = new ImdsClient(http);

        Assert.Null(await client.GetAsync("instance-type", CancellationToken.None));
        var error = await Assert.ThrowsAsync<StorageException>(() => client.GetInstanceMetadataAsync(CancellationToken.None));
        Assert.Equal(FailureKind.Unavailable, error.Kind);
    }

    [Fact]
    public void Region_is_derived_from_zone_names()
    {
        Assert.Equal("us-east-1", InstanceMetadata.RegionOfZone("us-east-1a"));
        Assert.Equal("us-west-2", InstanceMetadata.RegionOfZone("us-west-2-lax-1a"));
        Assert.Equal("us-gov-west-1", InstanceMetadata.RegionOfZone("us-gov-west-1a"));
        Assert.Null(InstanceMetadata.RegionOfZone("local"));
    }
}
