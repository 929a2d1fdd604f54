using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Who this node is for the local backend: --node-id or the host name, the configured zone, and the attach limit
/// (--volume-attach-limit, else <see cref="LocalVolumeProvider.DefaultMaxVolumesPerNode"/>).
/// </summary>
public sealed class LocalNodeIdentity(DriverOptions driverOptions, LocalBackendOptions options) : INodeIdentityProvider
{
    public static string NodeIdOf(DriverOptions driverOptions) => driverOptions.NodeId ?? Environment.MachineName;

    public Task<NodeIdentity> GetAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new NodeIdentity(
            NodeIdOf(driverOptions),
            driverOptions.VolumeAttachLimit > 0 ? driverOptions.VolumeAttachLimit : LocalVolumeProvider.DefaultMaxVolumesPerNode,
            new TopologySegments { [LocalVolumeProvider.ZoneKey] = options.Zone }));
}
