namespace CsiDriver.Cloud.Aws;

/// <summary>Settings of the AWS EBS backend.</summary>
public sealed class AwsBackendOptions
{
    /// <summary>AWS region; when null, from AWS_REGION / AWS_DEFAULT_REGION or instance metadata.</summary>
    public string? Region { get; set; }

    /// <summary>EC2 endpoint override; AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL also apply.</summary>
    public string? Ec2Endpoint { get; set; }

    /// <summary>Tags put on every volume and snapshot: key=value,key=value.</summary>
    public IReadOnlyDictionary<string, string> ExtraTags { get; set; } = new Dictionary<string, string>();

    /// <summary>Where node metadata comes from, in order: imds, kubernetes.</summary>
    public IReadOnlyList<string> MetadataSources { get; set; } = ["imds", "kubernetes"];

    /// <summary>Explicit node metadata; each overrides what the sources say.</summary>
    public string? InstanceId { get; set; }

    public string? AvailabilityZone { get; set; }

    public string? AvailabilityZoneId { get; set; }

    public string? InstanceType { get; set; }

    public string? OutpostArn { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var source in MetadataSources)
        {
            if (source is not ("imds" or "kubernetes"))
            {
                errors.Add($"--metadata-sources: unknown source '{source}' (use imds, kubernetes)");
            }
        }
        if (Ec2Endpoint is not null && !Uri.TryCreate(Ec2Endpoint, UriKind.Absolute, out _))
        {
            errors.Add($"--aws-ec2-endpoint must be an absolute URL, got '{Ec2Endpoint}'");
        }
        return errors;
    }
}
