using CsiDriver.Core.Volumes;

namespace CsiDriver.Core.Node;

/// <summary>What NodeGetInfo reports: id, attach limit (0 = no limit), topology.</summary>
public sealed record NodeIdentity(string NodeId, long MaxVolumesPerNode, TopologySegments Topology);

/// <summary>Finds out who this node is (flags, instance metadata, the Kubernetes Node object).</summary>
public interface INodeIdentityProvider
{
    Task<NodeIdentity> GetAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Finds the block device of an attached volume on this node from the publish_context the controller returned.
/// It must verify the device really is that volume (backing file, serial) so a stale link never mounts
/// the wrong data. Not attached (yet) → NotFound.
/// </summary>
public interface IDeviceFinder
{
    Task<string> FindDeviceAsync(string volumeId, IReadOnlyDictionary<string, string> publishContext, CancellationToken cancellationToken);

    /// <summary>
    /// What tells this volume apart from an earlier, deleted one with the same id (a backend that derives ids from
    /// names reuses them), or null when the backend never reuses an id or no longer knows the volume. The node keys
    /// what it remembers about a volume (never format after raw use) on it, so a re-created volume starts afresh.
    /// </summary>
    string? IncarnationOf(string volumeId) => null;
}
