using CsiDriver.Core.Errors;
using CsiDriver.Kubernetes;

namespace CsiDriver.Cloud.Aws.Metadata;

/// <summary>
/// Instance metadata from this node's Kubernetes Node object, for nodes where IMDS is blocked (hop limit 1
/// with pod networking): the providerID aws:///us-east-1a/i-0123 and the well-known labels.
/// </summary>
public sealed class KubernetesNodeMetadata(IKubernetesNodeApi api)
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";
    public const string RegionLabel = "topology.kubernetes.io/region";
    public const string InstanceTypeLabel = "node.kubernetes.io/instance-type";
    public const string ZoneIdLabel = "topology.k8s.aws/zone-id";

    public async Task<InstanceMetadata> GetAsync(string nodeName, CancellationToken cancellationToken)
    {
        KubernetesNode? node;
        try
        {
            node = await api.GetNodeAsync(nodeName, cancellationToken).ConfigureAwait(false);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw StorageException.PermissionDenied($"reading Node {nodeName}: {ex.Message}");
        }
        if (node is null)
        {
            throw StorageException.NotFound($"Kubernetes Node {nodeName} does not exist");
        }
        var (providerZone, instanceId) = ParseProviderId(node.ProviderId)
            ?? throw StorageException.FailedPrecondition($"Node {nodeName} has no AWS providerID (got '{node.ProviderId}')");
        var zone = node.Labels.GetValueOrDefault(ZoneLabel) ?? providerZone
            ?? throw StorageException.FailedPrecondition($"Node {nodeName} names no zone (label {ZoneLabel} or providerID)");
        var region = node.Labels.GetValueOrDefault(RegionLabel) ?? InstanceMetadata.RegionOfZone(zone)
            ?? throw StorageException.FailedPrecondition($"Node {nodeName}: cannot tell the region of zone {zone}");
        return new InstanceMetadata(instanceId, region, zone, node.Labels.GetValueOrDefault(ZoneIdLabel),
            node.Labels.GetValueOrDefault(InstanceTypeLabel), OutpostArn: null);
    }

    /// <summary>aws:///us-east-1a/i-0123 → (us-east-1a, i-0123); aws:///i-0123 → (null, i-0123); otherwise null.</summary>
    public static (string? Zone, string InstanceId)? ParseProviderId(string? providerId)
    {
        if (string.IsNullOrEmpty(providerId) || !providerId.StartsWith("aws://", StringComparison.Ordinal))
        {
            return null;
        }
        var parts = providerId["aws://".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !parts[^1].StartsWith("i-", StringComparison.Ordinal))
        {
            return null;
        }
        return (parts.Length >= 2 ? parts[^2] : null, parts[^1]);
    }
}
