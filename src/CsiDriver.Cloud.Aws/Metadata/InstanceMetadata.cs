using System.Text.RegularExpressions;

namespace CsiDriver.Cloud.Aws.Metadata;

/// <summary>Who this EC2 instance is: the facts the node and the controller need.</summary>
/// <param name="NetworkInterfaces">Attached ENIs (they share the Nitro attachment slots with volumes).</param>
/// <param name="EbsVolumesAtLaunch">EBS volumes from the launch mapping (root included) that are not ours but use slots.</param>
public sealed partial record InstanceMetadata(
    string InstanceId,
    string Region,
    string AvailabilityZone,
    string? AvailabilityZoneId,
    string? InstanceType,
    string? OutpostArn,
    int NetworkInterfaces = 1,
    int EbsVolumesAtLaunch = 1)
{
    /// <summary>The region of a zone: us-east-1a → us-east-1, us-west-2-lax-1a → us-west-2.</summary>
    public static string? RegionOfZone(string? zone)
    {
        if (string.IsNullOrEmpty(zone))
        {
            return null;
        }
        var match = RegionPattern().Match(zone);
        return match.Success ? match.Value : null;
    }

    [GeneratedRegex(@"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+")]
    private static partial Regex RegionPattern();
}

/// <summary>This instance's metadata, resolved once from flags, IMDS and the Kubernetes Node object.</summary>
public interface IInstanceMetadataProvider
{
    Task<InstanceMetadata> GetAsync(CancellationToken cancellationToken);
}
