using Amazon.Runtime;
using CsiDriver.Cloud.Aws.Ec2;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

[Trait("Category", "Unit")]
public sealed class Ec2ClientFactoryTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] values) =>
        key => values.FirstOrDefault(v => v.Key == key).Value;

    [Fact]
    public void Flag_beats_service_specific_beats_global_endpoint()
    {
        var env = Env(("AWS_ENDPOINT_URL_EC2", "http://ec2.local"), ("AWS_ENDPOINT_URL", "http://all.local"));

        Assert.Equal("http://flag.local", Ec2ClientFactory.ResolveEndpoint(new AwsBackendOptions { Ec2Endpoint = "http://flag.local" }, env));
        Assert.Equal("http://ec2.local", Ec2ClientFactory.ResolveEndpoint(new AwsBackendOptions(), env));
        Assert.Equal("http://all.local", Ec2ClientFactory.ResolveEndpoint(new AwsBackendOptions(), Env(("AWS_ENDPOINT_URL", "http://all.local"))));
        Assert.Null(Ec2ClientFactory.ResolveEndpoint(new AwsBackendOptions(), Env()));
    }

    [Fact]
    public void Region_from_flag_then_environment()
    {
        Assert.Equal("eu-west-1", Ec2ClientFactory.ResolveRegion(new AwsBackendOptions { Region = "eu-west-1" }, Env(("AWS_REGION", "us-east-2"))));
        Assert.Equal("us-east-2", Ec2ClientFactory.ResolveRegion(new AwsBackendOptions(), Env(("AWS_REGION", "us-east-2"))));
        Assert.Equal("ap-south-1", Ec2ClientFactory.ResolveRegion(new AwsBackendOptions(), Env(("AWS_DEFAULT_REGION", "ap-south-1"))));
        Assert.Null(Ec2ClientFactory.ResolveRegion(new AwsBackendOptions(), Env()));
    }

    [Fact]
    public void Config_uses_standard_retries_by_default_and_the_endpoint_override()
    {
        var config = Ec2ClientFactory.CreateConfig("us-west-2", "http://127.0.0.1:4566");

        Assert.Equal(RequestRetryMode.Standard, config.RetryMode);
        Assert.Equal(8, config.MaxErrorRetry);
        Assert.Equal(RequestRetryMode.Adaptive, Ec2ClientFactory.CreateConfig("us-west-2", null, "adaptive").RetryMode);
        Assert.StartsWith("http://127.0.0.1:4566", config.ServiceURL, StringComparison.Ordinal);
        Assert.Equal("us-west-2", config.AuthenticationRegion);
    }

    [Fact]
    public void Config_without_override_uses_the_regional_endpoint()
    {
        var config = Ec2ClientFactory.CreateConfig("us-west-2", null);

        Assert.Equal("us-west-2", config.RegionEndpoint.SystemName);
        Assert.Null(config.ServiceURL);
    }
}
