using Amazon;
using Amazon.EC2;
using Amazon.Runtime;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>Builds the EC2 client: region, endpoint override, adaptive retries, default credential chain.</summary>
public static class Ec2ClientFactory
{
    /// <summary>
    /// The endpoint override in precedence order: --aws-ec2-endpoint, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL.
    /// Null means the SDK's regional endpoint.
    /// </summary>
    public static string? ResolveEndpoint(AwsBackendOptions options, Func<string, string?> environment) =>
        NonEmpty(options.Ec2Endpoint) ?? NonEmpty(environment("AWS_ENDPOINT_URL_EC2")) ?? NonEmpty(environment("AWS_ENDPOINT_URL"));

    /// <summary>The region from the flag or the environment; null when only instance metadata can tell.</summary>
    public static string? ResolveRegion(AwsBackendOptions options, Func<string, string?> environment) =>
        NonEmpty(options.Region) ?? NonEmpty(environment("AWS_REGION")) ?? NonEmpty(environment("AWS_DEFAULT_REGION"));

    public static AmazonEC2Config CreateConfig(string region, string? endpoint)
    {
        var config = new AmazonEC2Config
        {
            // Adaptive: the SDK retries throttled calls and slows its own request rate client-side.
            RetryMode = RequestRetryMode.Adaptive,
        };
        if (endpoint is not null)
        {
            // ServiceURL replaces the regional endpoint; signing still needs the region.
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        return config;
    }

    /// <summary>The client; credentials null means the SDK's default chain (env, web identity, container, instance profile).</summary>
    public static IAmazonEC2 Create(string region, string? endpoint, AWSCredentials? credentials)
    {
        var config = CreateConfig(region, endpoint);
        return credentials is null ? new AmazonEC2Client(config) : new AmazonEC2Client(credentials, config);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
