using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Who this node is for the local backend: --node-id or the host name, the configured zone, and the attach limit
/// (--volume-attach-limit, else <see cref="LocalVolumeProvider.DefaultMaxVolumesPerNode"/>).
/// </summary>
public sealed class LocalNodeIdentity(IOptions<DriverOptions> driver, IOptions<LocalBackendOptions> local) : INodeIdentityProvider
{
    private readonly DriverOptions _driverOptions = driver.Value;
    private readonly LocalBackendOptions _options = local.Value;

    public static string NodeIdOf(DriverOptions driverOptions) => driverOptions.NodeId ?? Environment.MachineName;

    public Task<NodeIdentity> GetAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new NodeIdentity(
            NodeIdOf(_driverOptions),
            _driverOptions.VolumeAttachLimit > 0 ? _driverOptions.VolumeAttachLimit : LocalVolumeProvider.DefaultMaxVolumesPerNode,
            new TopologySegments { [LocalVolumeProvider.ZoneKey] = _options.Zone }));
}
