using Amazon;
using Amazon.EC2;
using Amazon.Runtime;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>Builds the EC2 client: region, endpoint override, retry mode, default credential chain.</summary>
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

    public static AmazonEC2Config CreateConfig(string region, string? endpoint, string retryMode = "standard")
    {
        var config = new AmazonEC2Config
        {
            // Standard: retries with jittered exponential backoff. Adaptive also rate-limits client-side, which
            // collapsed under sustained throttling in our measurements (see AwsBackendOptions.RetryMode).
            RetryMode = retryMode == "adaptive" ? RequestRetryMode.Adaptive : RequestRetryMode.Standard,
            // More attempts than the default 3: a throttled call waiting out a refill is cheaper than a CO-level retry.
            MaxErrorRetry = 8,
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
    public static IAmazonEC2 Create(string region, string? endpoint, AWSCredentials? credentials, string retryMode = "standard")
    {
        var config = CreateConfig(region, endpoint, retryMode);
        return credentials is null ? new AmazonEC2Client(config) : new AmazonEC2Client(credentials, config);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
